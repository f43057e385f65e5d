//! What the two hubs of a pair say to each other on `/replicate` (JSON text frames).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use ledger::{Recorded, ReplyKey, StoredReply};
use queue_core::{CommandId, DeviceId, StaffCode};

use super::Mode;

/// From the hub that connects.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromStandby {
    /// "I follow you: I hold everything up to `seq`, which is of term `term`."
    Follow { token: String, seq: u64, term: u64 },
    /// "What are you?" — answered with [`FromPrimary::Standing`], then the link closes.
    Ask { token: String },
    /// "I have everything up to `seq` on disk."
    Ack { seq: u64 },
    /// `hub promote` on this standby's machine: become the primary in a new term (refused
    /// while behind, unless `force`). Answered with [`FromPrimary::Promoted`] or a refusal.
    Promote { token: String, force: bool },
}

/// From the hub that is followed (or asked).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromPrimary {
    /// The link is accepted: what the standby must hold besides the log.
    Start {
        term: u64,
        head: u64,
        secrets: HashMap<String, String>,
        display_generations: HashMap<String, u64>,
    },
    /// Committed events in order, with the replies committed with them.
    Batch(Box<Batch>),
    /// A counter display was revoked, or a secret replaced (the service day's key at a new
    /// day: the standby destroys the old one with its primary).
    Settings {
        display_generations: HashMap<String, u64>,
        #[serde(default)]
        secrets: HashMap<String, String>,
    },
    /// The answer to `promote`: the new term, and the last event (its `term_started`).
    Promoted { term: u64, seq: u64 },
    /// The answer to `ask`.
    Standing { mode: Mode, term: u64, seq: u64 },
    /// Not followed: why (`unauthorized`, `not_primary`, `diverged`), in words.
    Refused { reason: String, message: String },
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Batch {
    /// The primary's last `seq` when it sent this.
    pub head: u64,
    /// The primary waits for this standby's acknowledgements.
    pub sync: bool,
    pub events: Vec<Event>,
    #[serde(default)]
    pub replies: Vec<Reply>,
}

impl Batch {
    /// The batch in parts that each hold one service day's events (a part starts at a
    /// `day_started`), the replies with the last: a standby commits each part on its own, as its
    /// primary committed a new day apart from the day before (the old day's tickets are written
    /// before the new day expires them). A catch-up gathers many of the primary's commits.
    pub fn by_day(self) -> Vec<Batch> {
        let Batch {
            head,
            sync,
            events,
            replies,
        } = self;
        let mut parts: Vec<Vec<Event>> = vec![vec![]];
        for event in events {
            let new_day = matches!(
                queue_core::persisted::decode(&event.body),
                Ok(queue_core::Event::DayStarted { .. })
            );
            if new_day && parts.last().is_some_and(|p| !p.is_empty()) {
                parts.push(vec![]);
            }
            if let Some(part) = parts.last_mut() {
                part.push(event);
            }
        }
        let last = parts.len() - 1;
        let mut replies = Some(replies);
        parts
            .into_iter()
            .enumerate()
            .map(|(i, events)| Batch {
                head,
                sync,
                events,
                replies: if i == last {
                    replies.take().unwrap_or_default()
                } else {
                    vec![]
                },
            })
            .collect()
    }
}

/// One event of the log as stored: its envelope, its body (format 1) and its wire frame.
#[derive(Debug, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub day: NaiveDate,
    pub device: String,
    #[serde(default)]
    pub staff: Option<String>,
    pub body: String,
    /// Absent when the primary's retention had dropped it (a standby far behind).
    #[serde(default)]
    pub wire: Option<String>,
}

impl Event {
    pub fn of(rec: &Recorded, wire: Option<&str>) -> Event {
        Event {
            seq: rec.seq,
            at: rec.at,
            day: rec.day,
            device: rec.device.0.clone(),
            staff: rec.staff.as_ref().map(|s| s.0.clone()),
            body: queue_core::persisted::encode(&rec.event),
            wire: wire.map(str::to_string),
        }
    }

    pub fn of_row(row: &ledger::EventRow, wire: Option<String>) -> Event {
        Event {
            seq: row.seq,
            at: row.at,
            day: row.day,
            device: row.device.clone(),
            staff: row.staff.clone(),
            body: row.body.clone(),
            wire,
        }
    }

    /// The event as the log records it, or why its body is unreadable.
    pub fn recorded(&self) -> Result<Recorded, String> {
        let event = queue_core::persisted::decode(&self.body)
            .map_err(|e| format!("event {}: {e}", self.seq))?;
        Ok(Recorded {
            seq: self.seq,
            at: self.at,
            day: self.day,
            device: DeviceId(self.device.clone()),
            staff: self.staff.clone().map(StaffCode),
            event,
        })
    }
}

/// A command's reply, by the device and the id it chose.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reply {
    pub day: NaiveDate,
    pub device: String,
    pub id: String,
    pub text: String,
}

impl Reply {
    pub fn of(r: &StoredReply) -> Reply {
        Reply {
            day: r.day,
            device: r.key.device.0.clone(),
            id: r.key.id.0.clone(),
            text: r.text.clone(),
        }
    }

    pub fn stored(&self) -> StoredReply {
        StoredReply {
            day: self.day,
            key: ReplyKey {
                device: DeviceId(self.device.clone()),
                id: CommandId(self.id.clone()),
            },
            text: self.text.clone(),
        }
    }
}

/// The text of a message (serialising these types cannot fail: strings, numbers and maps of
/// them).
pub fn text<T: Serialize>(message: &T) -> String {
    serde_json::to_string(message).unwrap_or_default()
}
