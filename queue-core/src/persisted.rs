//! The event log as it is kept on disk: a contract with every database ever written.
//!
//! An event's `body` is the JSON of [`Event`] in **format 1** (serde's shape of the enum as of
//! 2026-11: `{"kind": "ticket_issued", "ticket": 1, …}`). Old logs are replayed at every start,
//! so the shape may grow (a new variant, a new field with a default) but never change. A change
//! that renames or removes anything must keep reading format 1 here — decode the old shape into a
//! private `v1` type and convert — and `hub/tests/golden_log.rs`, which replays a committed log
//! written by the first version, proves it still gives the same state.

use chrono::{DateTime, NaiveDate, Utc};

use crate::rules::{DeviceId, StaffCode};
use crate::state::Event;

/// The body format this code writes.
pub const EVENT_FORMAT: u32 = 1;

/// One event with its envelope, as written to the log.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub day: NaiveDate,
    pub device: DeviceId,
    pub staff: Option<StaffCode>,
    pub event: Event,
}

/// A body that is not an event of any known format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableEvent(pub String);

impl std::fmt::Display for UnreadableEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unreadable event body: {}", self.0)
    }
}

impl std::error::Error for UnreadableEvent {}

/// The body to store for an event.
pub fn encode(event: &Event) -> String {
    // Serialising this enum cannot fail: every field is a string, number, date or list of them.
    serde_json::to_string(event).unwrap_or_default()
}

/// The event a stored body holds.
pub fn decode(body: &str) -> Result<Event, UnreadableEvent> {
    serde_json::from_str(body).map_err(|e| UnreadableEvent(e.to_string()))
}
