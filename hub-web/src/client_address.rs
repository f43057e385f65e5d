//! Who a request comes from, for the allowances counted per address (the booking API, the
//! sign-in back-offs). Behind a reverse proxy (TLS in front of the hub) every request comes
//! from the proxy: a proxy the configuration trusts (`[limits] trusted_proxies`) names the
//! client in `X-Forwarded-For`, and the last address there — the one the proxy itself added —
//! is the client. From anyone else the header is ignored, so it cannot be forged.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

use super::state::AppState;

/// The client behind `peer`.
pub fn client_address(app: &AppState, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if !app.config.trusted_proxies.contains(&peer.ip()) {
        return peer.ip();
    }
    forwarded_for(headers).unwrap_or(peer.ip())
}

/// The last address of the `X-Forwarded-For` headers.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|last| last.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_added_the_last_address() {
        let mut h = HeaderMap::new();
        assert_eq!(forwarded_for(&h), None);
        h.append(
            "x-forwarded-for",
            "203.0.113.9, 10.0.0.7".parse().expect("value"),
        );
        assert_eq!(forwarded_for(&h), "10.0.0.7".parse().ok());
        h.append("x-forwarded-for", "192.0.2.44".parse().expect("value"));
        assert_eq!(forwarded_for(&h), "192.0.2.44".parse().ok());
        let mut bad = HeaderMap::new();
        bad.append("x-forwarded-for", "not-an-address".parse().expect("value"));
        assert_eq!(forwarded_for(&bad), None);
    }
}
