//! Where the hub's time comes from: one `Clock` for the engine (event times, service days) and
//! the deadline timer (overdue tickets), so that a test's clock, the demo's fast clock and the
//! system clock each drive both alike.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// The timer never sleeps longer than this at once: the wall clock may be set meanwhile.
pub const LONGEST_SLEEP: Duration = Duration::from_secs(60);

pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

pub trait Clock: Send + Sync {
    /// The wall-clock time: what events are stamped with and service days are decided by.
    fn now(&self) -> DateTime<Utc>;

    /// Time since an arbitrary origin that only moves forward, at the pace of real time — a wall
    /// clock that is set (NTP, an operator, a board without a battery) does not move it. The
    /// hub compares the two to notice a wall clock that jumped.
    fn elapsed(&self) -> Duration;

    /// Completes when `now()` may have reached `at` (or after at most [`LONGEST_SLEEP`]).
    fn sleep_until(&self, at: DateTime<Utc>) -> Sleep {
        let wait = (at - self.now()).to_std().unwrap_or(Duration::ZERO);
        // A few milliseconds late rather than early: a deadline met exactly is due.
        Box::pin(tokio::time::sleep(
            wait.min(LONGEST_SLEEP) + Duration::from_millis(5),
        ))
    }
}

/// The machine's clocks: `CLOCK_REALTIME` and `CLOCK_MONOTONIC` (through `Instant`).
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> SystemClock {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn elapsed(&self) -> Duration {
        self.origin.elapsed()
    }
}
