//! A push endpoint is chosen by whoever holds the ticket: the hub must not be made to send
//! requests into the centre's own network. `https` only; the host's every address must be a
//! public one, checked after resolving, and the request goes to the address checked (a name
//! that resolves differently a second later gains nothing).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use hyper::Uri;

/// Longest endpoint accepted (the push services' are about 200 characters).
pub const MAX_ENDPOINT: usize = 1024;

/// Where a request goes: the URL's parts and the address it was checked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, as given.
    pub path: String,
    pub addr: SocketAddr,
}

impl Target {
    /// `https://host[:port]`: a VAPID token's audience.
    pub fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        let default = if self.https { 443 } else { 80 };
        if self.port == default {
            format!("{scheme}://{}", self.host)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error("not a URL the hub can send to")]
    Malformed,
    #[error("only https endpoints are accepted")]
    NotHttps,
    #[error("the host does not resolve")]
    Unresolved,
    #[error("the host is, or resolves to, an address inside a network ({0})")]
    Inside(IpAddr),
}

/// Whether `ip` is one anybody on the internet could reach (not loopback, private, link-local,
/// multicast, shared, documentation or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || first == 0x2001 && v6.segments()[1] == 0x0db8 // documentation
                || first == 0x0064 && v6.segments()[1] == 0xff9b // NAT64 into anything
                || v6.segments()[..6] == [0; 6]) // IPv4-compatible
        }
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_multicast()
        || v4.is_broadcast()
        || v4.is_unspecified()
        || v4.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && v4.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19))) // benchmarking
}

/// The URL's parts, before resolving.
fn parse(endpoint: &str, insecure: bool) -> Result<(bool, String, u16, String), Refused> {
    if endpoint.len() > MAX_ENDPOINT || endpoint.chars().any(|c| c.is_control()) {
        return Err(Refused::Malformed);
    }
    let uri: Uri = endpoint.parse().map_err(|_| Refused::Malformed)?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") if insecure => false,
        Some(_) => return Err(Refused::NotHttps),
        None => return Err(Refused::Malformed),
    };
    let authority = uri.authority().ok_or(Refused::Malformed)?;
    if authority.as_str().contains('@') {
        return Err(Refused::Malformed);
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    if host.is_empty() {
        return Err(Refused::Malformed);
    }
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    let path = uri
        .path_and_query()
        .map_or("/".to_string(), |p| p.as_str().to_string());
    Ok((https, host.to_string(), port, path))
}

/// The endpoint checked and resolved now. `insecure` (a test bench only) allows `http` and
/// addresses inside a network.
pub async fn resolve(endpoint: &str, insecure: bool) -> Result<Target, Refused> {
    let (https, host, port, path) = parse(endpoint, insecure)?;
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| Refused::Unresolved)?
            .collect(),
    };
    let first = *addrs.first().ok_or(Refused::Unresolved)?;
    if !insecure && let Some(inside) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(Refused::Inside(inside.ip()));
    }
    Ok(Target {
        https,
        host,
        port,
        path,
        addr: first,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_https_to_public_addresses() {
        let ok = resolve("https://203.0.113.7/push/abc?x=1", false).await;
        assert!(
            matches!(ok, Err(Refused::Inside(_))),
            "documentation range: {ok:?}"
        );
        let ok = resolve("https://8.8.8.8:8443/push/abc?x=1", false)
            .await
            .expect("public");
        assert_eq!(
            (ok.https, ok.port, ok.path.as_str()),
            (true, 8443, "/push/abc?x=1")
        );
        assert_eq!(ok.origin(), "https://8.8.8.8:8443");
        assert_eq!(
            resolve("http://8.8.8.8/p", false).await,
            Err(Refused::NotHttps)
        );
        assert_eq!(
            resolve("ftp://8.8.8.8/p", false).await,
            Err(Refused::NotHttps)
        );
        assert_eq!(
            resolve("https://user@8.8.8.8/p", false).await,
            Err(Refused::Malformed)
        );
        assert_eq!(resolve("not a url", false).await, Err(Refused::Malformed));
        let long = format!("https://8.8.8.8/{}", "a".repeat(MAX_ENDPOINT));
        assert_eq!(resolve(&long, false).await, Err(Refused::Malformed));
    }

    #[tokio::test]
    async fn addresses_inside_a_network_are_refused_by_literal_and_by_name() {
        for inside in [
            "https://127.0.0.1/p",
            "https://10.1.2.3/p",
            "https://172.16.0.9/p",
            "https://192.168.1.10/p",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/p",
            "https://224.0.0.1/p",
            "https://0.0.0.0/p",
            "https://[::1]/p",
            "https://[fe80::1]/p",
            "https://[fd00::1]/p",
            "https://[ff02::1]/p",
            "https://[::ffff:10.0.0.1]/p",
            // A name is refused for what it resolves to.
            "https://localhost/p",
        ] {
            assert!(
                matches!(resolve(inside, false).await, Err(Refused::Inside(_))),
                "{inside}"
            );
        }
        // A test bench may send to its own loopback receiver.
        let bench = resolve("http://127.0.0.1:9/p", true)
            .await
            .expect("allowed");
        assert!(!bench.https);
    }

    #[test]
    fn public_addresses_are_public() {
        for ip in [
            "8.8.8.8",
            "142.250.4.95",
            "2001:4860:4860::8888",
            "2a00:1450::1",
        ] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
    }
}
