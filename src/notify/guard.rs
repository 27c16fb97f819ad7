//! Where the server may send a user's notifications. A webhook or mail server address is the
//! user's to choose, so it could point the server at itself, the LAN or a cloud metadata
//! service. Every name is resolved here and every address it resolves to is checked; the
//! connection then goes only to the addresses checked (reqwest asks this resolver, so a second
//! lookup cannot answer differently). Literal addresses are checked before any connection.
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

fn v6_is_public(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_is_public(v4);
    }
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local (fd00:ec2::254 is a metadata address)
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b // NAT64 onto any v4 address
        || (first == 0 && ip.segments()[1..6].iter().all(|s| *s == 0))) // v4-compatible
}

/// Whether `ip` is an ordinary public internet address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_is_public(v4),
        IpAddr::V6(v6) => v6_is_public(v6),
    }
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
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
        ] {
            assert!(!is_public(bad.parse().unwrap()), "{bad}");
        }
        for good in ["1.1.1.1", "8.8.8.8", "203.0.114.1", "2606:4700::1111"] {
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
}
