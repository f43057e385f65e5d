use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use chrono::{DateTime, TimeDelta, Utc};

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

impl hub::clock::Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().wall
    }

    fn elapsed(&self) -> Duration {
        self.0.lock().monotonic
    }

    /// Completes once the test has moved the clock to `at` or beyond.
    fn sleep_until(&self, at: DateTime<Utc>) -> hub::clock::Sleep {
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

/// Monday 23 November 2026, 09:00 in Hà Nội: every demo service is open.
pub fn monday_morning() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T09:00:00+07:00")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}
