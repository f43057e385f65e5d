//! What one connection may do, and for how long the hub waits for it. Every number the
//! connections share is named here, once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use tokio::time::Instant;

use centre_config::Limits;

/// An HTTP request's head (also the WebSocket handshake) must arrive whole within this.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Plain-HTTP connections one address may hold at once (page loads, handshakes in progress).
pub const PENDING_PER_ADDRESS: usize = 32;
/// WebSocket connections that have not said hello yet, from all addresses together.
pub const PENDING_SOCKETS: usize = 1024;
/// Phones that may follow the same tracking code at once.
pub const TRACKERS_PER_CODE: usize = 3;
/// A tracking page whose ticket has not changed for this long is closed (the phone reconnects
/// when its owner looks at it again).
pub const TRACKER_IDLE: Duration = Duration::from_secs(30 * 60);
/// How long a stopping hub waits for its connections to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// A new connection must say hello within this.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the hub pings a quiet connection.
pub const PING_EVERY: Duration = Duration::from_secs(15);
/// A connection that has sent nothing (not even a pong) for this long is gone.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(60);
/// Refused (rate-limited) messages in a row before the connection is closed as a flood.
pub const MAX_REFUSED_IN_A_ROW: u32 = 200;
/// Longest command id a client may choose.
pub const MAX_COMMAND_ID: usize = 128;
/// Frames waiting to be written to one connection; a client that lets more pile up is too slow.
pub const OUTBOX: usize = 1024;
/// Read buffer of a connection: a device's messages are a few hundred bytes (a larger one
/// grows the buffer for itself), and a thousand screens are connected — 8 KiB each was 8 MB.
pub const READ_BUFFER: usize = 1024;
/// The kernel's send buffer of a connection (Linux doubles it for its bookkeeping). Left to
/// itself it grows to 4 MB per socket: a thousand stalled screens would hold 4 GB of kernel
/// memory, and a client that stopped reading would look fine until megabytes had piled up.
/// 64 KiB is a busy morning's events for a board several times over.
pub const SEND_BUFFER: usize = 64 * 1024;
/// A frame the client has not taken within this is not going to be: the connection is closed.
pub const SEND_DEADLINE: Duration = Duration::from_secs(10);
/// How long a closing connection may take to send its last answers and its close frame.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// A tracker's view is refreshed at most this often while events flow.
pub const TRACKER_REFRESH: Duration = Duration::from_millis(500);
/// Tracking codes are 20 letters and digits; anything longer is not looked up.
pub const MAX_TRACK_CODE: usize = 64;

/// A token bucket: `burst` at once, `per_second` after that.
pub struct TokenBucket {
    tokens: f64,
    last: Instant,
    burst: f64,
    per_second: f64,
}

impl TokenBucket {
    pub fn new(burst: f64, per_second: f64) -> TokenBucket {
        TokenBucket {
            tokens: burst,
            last: Instant::now(),
            burst,
            per_second,
        }
    }

    /// A device's messages, as configured in `[limits]`.
    pub fn for_messages(limits: Limits) -> TokenBucket {
        TokenBucket::new(f64::from(limits.burst), f64::from(limits.per_second))
    }

    /// Whether the bucket has refilled (nothing to remember about its owner).
    pub fn is_full(&self) -> bool {
        let refill = Instant::now().duration_since(self.last).as_secs_f64() * self.per_second;
        self.tokens + refill >= self.burst
    }

    /// Takes one token; false when the bucket is empty.
    pub fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

// ------------------------------------------------------------------ the booking API

/// Booking look-ups one address may make: a burst, then a steady rate.
const READS_BURST: f64 = 120.0;
const READS_PER_SECOND: f64 = 5.0;
/// Bookings and cancellations one address may make: thirty (a family, a counter clerk helping
/// at a shared PC, a client checking the API), then one every twenty seconds. What stops a
/// hoarder is this and the per-phone limit together.
const WRITES_BURST: f64 = 30.0;
const WRITES_PER_SECOND: f64 = 1.0 / 20.0;
/// Addresses remembered: beyond, the full buckets are forgotten, then the longest unused.
const MAX_ADDRESSES: usize = 4096;

/// Each address's allowance, for reads and for changes.
#[derive(Default)]
pub struct BookingLimits {
    reads: HashMap<IpAddr, TokenBucket>,
    writes: HashMap<IpAddr, TokenBucket>,
}

impl BookingLimits {
    pub fn take(&mut self, ip: IpAddr, write: bool) -> bool {
        let (map, burst, rate) = if write {
            (&mut self.writes, WRITES_BURST, WRITES_PER_SECOND)
        } else {
            (&mut self.reads, READS_BURST, READS_PER_SECOND)
        };
        if map.len() >= MAX_ADDRESSES && !map.contains_key(&ip) {
            map.retain(|_, b| !b.is_full());
            // Still full (thousands of addresses busy at once): the one unused the longest
            // makes room, never everyone new refused. Those just now held back stay held.
            while map.len() >= MAX_ADDRESSES {
                let Some(oldest) = map.iter().min_by_key(|(_, b)| b.last).map(|(a, _)| *a) else {
                    break;
                };
                map.remove(&oldest);
            }
        }
        map.entry(ip)
            .or_insert_with(|| TokenBucket::new(burst, rate))
            .take()
    }
}

/// What handlers share of the booking limits.
pub type SharedBookingLimits = std::sync::Arc<std::sync::Mutex<BookingLimits>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn address(n: u32) -> IpAddr {
        IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn thousands_of_busy_addresses_never_lock_out_a_new_one() {
        let mut limits = BookingLimits::default();
        // An address that used all its changes, and keeps trying…
        for _ in 0..WRITES_BURST as usize {
            assert!(limits.take(address(0), true));
        }
        // …among more busy addresses (buckets not full again) than are remembered.
        for n in 1..=MAX_ADDRESSES as u32 + 100 {
            assert!(limits.take(address(n), true), "address {n} is let in");
            if n % 500 == 0 {
                assert!(!limits.take(address(0), true), "still held back at {n}");
            }
        }
        assert!(limits.writes.len() <= MAX_ADDRESSES);
        // The longest unused made room; the one that keeps trying is still held back.
        assert!(!limits.writes.contains_key(&address(1)));
        assert!(!limits.take(address(0), true));
    }
}
