//! Per-address allowances: each client address gets a small budget of requests (token buckets,
//! stricter for holding a place). Behind the province's load balancer every request comes from
//! the balancer: only a proxy the door trusts (`--trusted-proxies`) names the client, in the
//! last `X-Forwarded-For` entry — the one it added itself; from anyone else that header is
//! ignored, so a client cannot forge its way to a fresh budget. The budgets are each instance's
//! own (a client's requests spread over two instances get two budgets: the per-phone caps, in
//! the database, are what hold across instances).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::http::HeaderMap;

/// Addresses remembered at once; beyond, the one quiet longest is forgotten (never everyone new
/// refused).
const MAX_ADDRESSES: usize = 4096;

#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    pub burst: f64,
    pub per_second: f64,
}

/// Holding a place: 5 at once, then one every 20 seconds.
pub const HOLDS: Allowance = Allowance {
    burst: 5.0,
    per_second: 0.05,
};
/// Reading slots, challenges, confirming: 60 at once, then 2 a second.
pub const LOOKS: Allowance = Allowance {
    burst: 60.0,
    per_second: 2.0,
};

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Debug, Default)]
pub struct Limits {
    holds: HashMap<IpAddr, Bucket>,
    looks: HashMap<IpAddr, Bucket>,
}

impl Limits {
    /// Whether `client` may make one more request of this kind now.
    pub fn take(&mut self, client: IpAddr, hold: bool, now: Instant) -> bool {
        let (map, allowance) = if hold {
            (&mut self.holds, HOLDS)
        } else {
            (&mut self.looks, LOOKS)
        };
        if map.len() >= MAX_ADDRESSES
            && !map.contains_key(&client)
            && let Some(oldest) = map.iter().min_by_key(|(_, b)| b.last).map(|(a, _)| *a)
        {
            map.remove(&oldest);
        }
        let bucket = map.entry(client).or_insert(Bucket {
            tokens: allowance.burst,
            last: now,
        });
        let refill =
            now.saturating_duration_since(bucket.last).as_secs_f64() * allowance.per_second;
        bucket.tokens = (bucket.tokens + refill).min(allowance.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The client behind `peer`: the last `X-Forwarded-For` address when `peer` is a trusted proxy.
pub fn client_address(trusted: &[IpAddr], peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if !trusted.contains(&peer.ip()) {
        return peer.ip();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|last| last.trim().parse().ok())
        .unwrap_or(peer.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn a_forwarded_address_counts_only_from_a_trusted_proxy() {
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            "198.51.100.7, 203.0.113.9".parse().expect("value"),
        );
        let proxy: SocketAddr = "10.0.0.2:4000".parse().expect("peer");
        let stranger: SocketAddr = "192.0.2.5:4000".parse().expect("peer");
        assert_eq!(
            client_address(&[addr("10.0.0.2")], proxy, &h),
            addr("203.0.113.9")
        );
        assert_eq!(
            client_address(&[addr("10.0.0.2")], stranger, &h),
            addr("192.0.2.5"),
            "a forged header from anyone else is ignored"
        );
        assert_eq!(client_address(&[], proxy, &h), addr("10.0.0.2"));
    }

    #[test]
    fn an_address_spends_its_burst_then_waits_and_strangers_never_crowd_out_newcomers() {
        let mut limits = Limits::default();
        let t0 = Instant::now();
        let me = addr("203.0.113.9");
        for _ in 0..5 {
            assert!(limits.take(me, true, t0));
        }
        assert!(!limits.take(me, true, t0), "the burst is spent");
        assert!(limits.take(me, false, t0), "looking has its own budget");
        assert!(limits.take(me, true, t0 + std::time::Duration::from_secs(20)));
        for n in 0..(MAX_ADDRESSES as u32 + 10) {
            let a = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            assert!(limits.take(a, true, t0), "a newcomer is served");
        }
        assert!(limits.holds.len() <= MAX_ADDRESSES);
    }
}
