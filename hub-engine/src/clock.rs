//! Where the hub's time comes from: one `Clock` for the engine (event times, service days) and
//! the deadline timer (overdue tickets), so that a test's clock, the demo's fast clock and the
//! system clock each drive both alike.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
#[cfg(not(target_os = "linux"))]
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Notify;

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

/// The hub's clock in a test: it stands still until the test moves it. `advance` and `set` let
/// time pass (wall and monotonic clock together); `step` sets only the wall clock, as NTP or an
/// operator would, leaving the monotonic clock where it was.
pub struct ManualClock(Arc<Shared>);

struct Shared {
    times: Mutex<Times>,
    moved: Notify,
}

#[derive(Clone, Copy)]
struct Times {
    wall: DateTime<Utc>,
    monotonic: Duration,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Times> {
        // A test that panicked while holding the lock has failed already; the time is still good.
        self.times.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Arc::new(Shared {
            times: Mutex::new(Times {
                wall: at,
                monotonic: Duration::ZERO,
            }),
            moved: Notify::new(),
        }))
    }

    /// A clock at a local time written as RFC 3339, e.g. `2026-11-23T09:00:00+07:00`.
    pub fn at(rfc3339: &str) -> ManualClock {
        let at = DateTime::parse_from_rfc3339(rfc3339)
            .unwrap_or_else(|e| panic!("{rfc3339:?} is not an RFC 3339 time: {e}"));
        ManualClock::new(at.with_timezone(&Utc))
    }

    /// Lets `by` pass.
    pub fn advance(&self, by: TimeDelta) {
        {
            let mut t = self.0.lock();
            t.wall += by;
            t.monotonic += by.to_std().unwrap_or(Duration::ZERO);
        }
        self.0.moved.notify_waiters();
    }

    /// Lets time pass until `to` (a `to` in the past is a backward step).
    pub fn set(&self, to: DateTime<Utc>) {
        let now = self.0.lock().wall;
        if to >= now {
            self.advance(to - now);
        } else {
            self.step(to - now);
        }
    }

    /// Sets the wall clock `by` forward (or back, when negative) without time passing.
    pub fn step(&self, by: TimeDelta) {
        self.0.lock().wall += by;
        self.0.moved.notify_waiters();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().wall
    }

    fn elapsed(&self) -> Duration {
        self.0.lock().monotonic
    }

    /// Completes once the test has moved the clock to `at` or beyond.
    fn sleep_until(&self, at: DateTime<Utc>) -> Sleep {
        let shared = self.0.clone();
        Box::pin(async move {
            loop {
                // Armed before the clock is read, so that a move in between is not missed.
                let moved = shared.moved.notified();
                tokio::pin!(moved);
                moved.as_mut().enable();
                if shared.lock().wall >= at {
                    return;
                }
                moved.await;
            }
        })
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
