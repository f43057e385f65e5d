//! Where the hub's time comes from: one `Clock` for the engine (event times, service days) and
//! the deadline timer (overdue tickets), so that a test's clock, the demo's fast clock and the
//! system clock each drive both alike.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
#[cfg(not(target_os = "linux"))]
use std::time::Instant;

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

/// The machine's clocks: `CLOCK_REALTIME`, and on Linux `CLOCK_BOOTTIME` — monotonic, and unlike
/// `CLOCK_MONOTONIC` (`Instant`) still counting while the machine is suspended, so that a hub PC
/// that slept through the night does not look to have jumped a day.
pub struct SystemClock {
    #[cfg(target_os = "linux")]
    origin: Duration,
    #[cfg(not(target_os = "linux"))]
    origin: Instant,
}

#[cfg(target_os = "linux")]
fn since_boot() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

impl SystemClock {
    pub fn new() -> SystemClock {
        SystemClock {
            #[cfg(target_os = "linux")]
            origin: since_boot(),
            #[cfg(not(target_os = "linux"))]
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
        #[cfg(target_os = "linux")]
        return since_boot().saturating_sub(self.origin);
        #[cfg(not(target_os = "linux"))]
        return self.origin.elapsed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clocks_monotonic_reading_moves_with_real_time() {
        let clock = SystemClock::new();
        let (a, wall_a) = (clock.elapsed(), clock.now());
        // Until the wall clock has seen 20 ms pass (the event itself, not a fixed wait).
        while clock.now() - wall_a < chrono::TimeDelta::milliseconds(20) {
            std::hint::spin_loop();
        }
        let (b, wall_b) = (clock.elapsed(), clock.now());
        let passed = b - a;
        assert!(passed >= Duration::from_millis(20), "{passed:?}");
        let wall = (wall_b - wall_a).to_std().unwrap_or_default();
        // Both clocks saw about the same time pass (no step happened in 20 ms).
        assert!(
            passed.abs_diff(wall) < Duration::from_millis(500),
            "{passed:?} vs {wall:?}"
        );
    }
}
