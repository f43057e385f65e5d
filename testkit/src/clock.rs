use chrono::{DateTime, Utc};

pub use hub_engine::clock::ManualClock;

/// Monday 23 November 2026, 09:00 in Hà Nội: every demo service is open.
pub fn monday_morning() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T09:00:00+07:00")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}
