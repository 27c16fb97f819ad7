//! `modelscope-balance healthcheck`: asks the running server's `GET /health` on the configured
//! address and port, for a container's `HEALTHCHECK` (a `FROM scratch` image has no curl).
//! Exit status 0 when it answers 200 within the timeout, 1 otherwise.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use rocket::figment::Figment;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Where the server of this configuration answers: its address, or loopback when it listens
/// on every address.
pub fn health_url(figment: &Figment) -> Result<String, String> {
    let config = rocket::Config::try_from(figment).map_err(|e| format!("configuration: {e}"))?;
    if config.tls_enabled() {
        return Err("healthcheck speaks plain HTTP only; TLS is configured".into());
    }
    let ip = match config.address {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Ok(format!(
        "http://{}/health",
        SocketAddr::new(ip, config.port)
    ))
}

/// Asks `/health` once; `Ok` with the status line's reason, `Err` with what went wrong.
pub fn check(figment: &Figment) -> Result<String, String> {
    let url = health_url(figment)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let response = client
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url}: no answer ({})", kind(&e)))?;
        let status = response.status();
        if status.is_success() {
            Ok(format!("{url}: {status}"))
        } else {
            Err(format!("{url}: {status}"))
        }
    })
}

fn kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection refused or unreachable"
    } else {
        "request failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_address_means_loopback() {
        let figment = rocket::Config::figment()
            .merge(("address", "0.0.0.0"))
            .merge(("port", 8123));
        assert_eq!(
            health_url(&figment).unwrap(),
            "http://127.0.0.1:8123/health"
        );
        let figment = figment.merge(("address", "::"));
        assert_eq!(health_url(&figment).unwrap(), "http://[::1]:8123/health");
        let figment = figment.merge(("address", "10.1.2.3"));
        assert_eq!(health_url(&figment).unwrap(), "http://10.1.2.3:8123/health");
    }
}
