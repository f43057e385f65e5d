use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// The hub's clock in a test: it stands still until the test moves it.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(at))
    }

    /// A clock at a local time written as RFC 3339, e.g. `2026-11-23T09:00:00+07:00`.
    pub fn at(rfc3339: &str) -> ManualClock {
        let at = DateTime::parse_from_rfc3339(rfc3339)
            .unwrap_or_else(|e| panic!("{rfc3339:?} is not an RFC 3339 time: {e}"));
        ManualClock::new(at.with_timezone(&Utc))
    }

    pub fn advance(&self, by: TimeDelta) {
        *self.lock() += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.lock() = to;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A test that panicked while holding the lock has failed already; the time is still good.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl hub::engine::Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

/// Monday 23 November 2026, 09:00 in Hà Nội: every demo service is open.
pub fn monday_morning() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T09:00:00+07:00")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}
