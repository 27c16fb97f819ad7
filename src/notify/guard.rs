//! Where the server may send a user's notifications. A webhook or mail server address is the
//! user's to choose, so it could point the server at itself, the LAN or a cloud metadata
//! service. Every name is resolved here and every address it resolves to is checked; the
//! connection then goes only to the addresses checked (reqwest asks this resolver, so a second
//! lookup cannot answer differently). Literal addresses are checked before any connection.
//! An IPv6 address that carries an IPv4 address (mapped, compatible, SIIT, 6to4, NAT64,
//! Teredo) is judged by the IPv4 address it carries, for webhooks and mail servers alike.
//! `allow_private_webhooks = true` lifts the check for a receiver of your own on the LAN.

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The address is on loopback, a private or link-local network, or otherwise not public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the address is not a public internet address")]
pub struct AddressRefused;

fn v4_is_public(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: cloud metadata lives here
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// An IPv4 address from two 16-bit segments.
fn v4_of(high: u16, low: u16) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))
}

/// An IPv6 address that carries an IPv4 address (a translation or a tunnel) is judged by the
/// IPv4 address it carries: the packet ends up there. `None`: no such form, judge it as IPv6.
fn carried_v4_is_public(ip: Ipv6Addr) -> Option<bool> {
    let s = ip.segments();
    let tail = v4_of(s[6], s[7]);
    Some(match s {
        // IPv4-mapped ::ffff:a.b.c.d and SIIT ::ffff:0:a.b.c.d (RFC 6052/7915).
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0xffff, 0, _, _] => v4_is_public(tail),
        // IPv4-compatible ::a.b.c.d (deprecated); `::` and `::1` carry 0.0.0.0 and 0.0.0.1.
        [0, 0, 0, 0, 0, 0, _, _] => v4_is_public(tail),
        // 6to4: 2002:AABB:CCDD::/48 routes to AA.BB.CC.DD.
        [0x2002, high, low, ..] => v4_is_public(v4_of(high, low)),
        // NAT64's well-known prefix 64:ff9b::/96 translates to its last 32 bits.
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => v4_is_public(tail),
        // 64:ff9b:1::/48 is for local translators (RFC 8215, not globally reachable), and
        // the rest of 64:ff9b::/32 is unassigned: never public.
        [0x64, 0xff9b, ..] => false,
        // Teredo 2001:0::/32: the server's address in bits 32-63, the client's (inverted)
        // in the last 32; the traffic reaches both.
        [
            0x2001,
            0,
            server_high,
            server_low,
            _,
            _,
            client_high,
            client_low,
        ] => {
            v4_is_public(v4_of(server_high, server_low))
                && v4_is_public(v4_of(!client_high, !client_low))
        }
        _ => return None,
    })
}

fn v6_is_public(ip: Ipv6Addr) -> bool {
    if let Some(public) = carried_v4_is_public(ip) {
        return public;
    }
    let [first, second, ..] = ip.segments();
    !(ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local (fd00:ec2::254 is a metadata address)
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (first == 0x2001 && second == 0x0db8) // documentation
        || (first == 0x0100 && ip.segments()[1..4] == [0, 0, 0])) // discard-only 100::/64
}

/// Whether `ip` is an ordinary public internet address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_is_public(v4),
        IpAddr::V6(v6) => v6_is_public(v6),
    }
}

/// Whether a mail server named in a form may be public, decided from the form alone (nothing
/// is looked up): a literal address by [`is_public`], `localhost` (and `*.localhost`) never,
/// any other name always (it may resolve anywhere).
pub fn may_be_public(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return is_public(ip);
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    !(name == "localhost" || name.ends_with(".localhost"))
}

/// Resolves `host` and checks every address; all must be public unless `allow_private`.
pub async fn resolve(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, ResolveError> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return check(vec![SocketAddr::new(ip, port)], allow_private);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| ResolveError::NotFound)?
        .collect();
    check(addrs, allow_private)
}

fn check(addrs: Vec<SocketAddr>, allow_private: bool) -> Result<Vec<SocketAddr>, ResolveError> {
    if addrs.is_empty() {
        return Err(ResolveError::NotFound);
    }
    if !allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(ResolveError::Refused(AddressRefused));
    }
    Ok(addrs)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Refused(AddressRefused),
    #[error("the name does not resolve")]
    NotFound,
}

/// The resolver the notification client uses (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            match resolve(&host, 0, allow_private).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                Err(error) => Err(Box::new(error) as Box<dyn StdError + Send + Sync>),
            }
        })
    }
}

/// Whether a failed request was stopped by this guard (anywhere in its chain of causes).
pub fn refused_in(error: &(dyn StdError + 'static)) -> bool {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(error) = cause {
        if matches!(
            error.downcast_ref::<ResolveError>(),
            Some(ResolveError::Refused(_))
        ) || error.downcast_ref::<AddressRefused>().is_some()
        {
            return true;
        }
        cause = error.source();
    }
    false
}

/// Checks a URL's host when it is a literal address (names are checked by the resolver).
pub fn check_literal_host(url: &reqwest::Url, allow_private: bool) -> Result<(), AddressRefused> {
    let host = url.host_str().unwrap_or("");
    let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    else {
        return Ok(());
    };
    if allow_private || is_public(ip) {
        Ok(())
    } else {
        Err(AddressRefused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for bad in [
            "127.0.0.1",
            "127.8.9.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "100::1",
            "2001:db8::1",
        ] {
            assert!(!is_public(bad.parse().unwrap()), "{bad}");
        }
        for good in ["1.1.1.1", "8.8.8.8", "203.0.114.1", "2606:4700::1111"] {
            assert!(is_public(good.parse().unwrap()), "{good}");
        }
    }

    /// Issue 19, item 6: every IPv6 form that carries an IPv4 address is judged by it.
    #[test]
    fn ipv6_translations_are_judged_by_the_ipv4_they_carry() {
        for bad in [
            "::ffff:127.0.0.1",          // IPv4-mapped
            "::ffff:169.254.169.254",    // mapped metadata
            "::127.0.0.1",               // IPv4-compatible
            "::10.0.0.1",                // compatible, private
            "::ffff:0:127.0.0.1",        // SIIT
            "::ffff:0:a9fe:a9fe",        // SIIT metadata
            "2002:7f00:1::",             // 6to4 of 127.0.0.1
            "2002:a9fe:a9fe::1",         // 6to4 of the metadata service
            "2002:c0a8:101::",           // 6to4 of 192.168.1.1
            "64:ff9b::7f00:1",           // NAT64 of 127.0.0.1
            "64:ff9b::a9fe:a9fe",        // NAT64 of the metadata service
            "64:ff9b:1::7f00:1",         // local-use NAT64
            "64:ff9b:1:ffff::808:808",   // local-use NAT64, whatever it carries
            "2001:0:7f00:1::f7f7:f7f7",  // Teredo, server 127.0.0.1
            "2001:0:808:808::80ff:fefe", // Teredo, client 127.0.1.1 (inverted)
        ] {
            assert!(!is_public(bad.parse().unwrap()), "{bad}");
        }
        for good in [
            "::ffff:8.8.8.8",
            "::ffff:0:8.8.8.8",
            "2002:808:808::1",
            "64:ff9b::808:808",
            "2001:0:808:808::f7f7:f7f7", // Teredo, server 8.8.8.8, client 8.8.8.8
        ] {
            assert!(is_public(good.parse().unwrap()), "{good}");
        }
    }

    #[tokio::test]
    async fn names_are_resolved_and_every_address_checked() {
        assert_eq!(
            resolve("localhost", 80, false).await,
            Err(ResolveError::Refused(AddressRefused))
        );
        assert!(resolve("127.0.0.1", 80, true).await.is_ok());
        assert_eq!(
            resolve("[::1]", 80, false).await,
            Err(ResolveError::Refused(AddressRefused))
        );
        let url = reqwest::Url::parse("http://169.254.169.254/latest").unwrap();
        assert_eq!(check_literal_host(&url, false), Err(AddressRefused));
        assert!(check_literal_host(&url, true).is_ok());
    }

    #[test]
    fn a_mail_host_may_be_public_unless_its_form_says_otherwise() {
        for public in ["smtp.example.com", "8.8.8.8", "[2606:4700::1111]", "relay"] {
            assert!(may_be_public(public), "{public}");
        }
        for private in [
            "localhost",
            "mail.localhost.",
            "127.0.0.1",
            "10.0.0.5",
            "::ffff:0:10.0.0.5",
        ] {
            assert!(!may_be_public(private), "{private}");
        }
    }
}
