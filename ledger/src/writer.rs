//! The one writer: the connection the hub's engine thread owns.
//!
//! **Retention** (docs/OPERATIONS.md): the event bodies and the ticket rows are the audit trail
//! and reports, kept for ever (about 1.5 KB a visit). The wire frames serve only replays to
//! clients that reconnect, which come from memory, and the replies only retries of a command;
//! frames older than [`KEEP_FRAMES_DAYS`] and replies older than [`KEEP_REPLIES_DAYS`] are
//! dropped when a service day starts, and the freed pages are given back to the file system
//! (`auto_vacuum = INCREMENTAL`). `journal_size_limit` keeps the WAL from staying large after a
//! burst.
//!
//! **Architecture invariant:** a batch of commands is answered only after `commit` returns.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::error::LedgerError;
use crate::rows::status_text;
use crate::schema;

use queue_core::appointments::{Booking, Holder};
use queue_core::persisted;
pub use queue_core::persisted::Recorded;
use queue_core::{CommandId, DeviceId, StaffCode, Ticket};

/// The answer to one command, by the device and the id it chose.
#[derive(Debug, Clone)]
pub struct StoredReply {
    pub day: NaiveDate,
    pub key: ReplyKey,
    /// The reply's JSON as it was sent.
    pub text: String,
}

/// A command as the idempotency memory knows it: who sent it, with which id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplyKey {
    pub device: DeviceId,
    pub id: CommandId,
}

/// Everything one group commit writes.
#[derive(Debug, Default)]
pub struct Batch {
    /// Events with their wire JSON.
    pub events: Vec<(Recorded, String)>,
    /// Tickets whose state changed, with their service day.
    pub tickets: Vec<(NaiveDate, Ticket)>,
    /// Bookings whose state changed, with their slot's service day and its service's target
    /// wait in minutes.
    pub appointments: Vec<(NaiveDate, Booking, i64)>,
    /// Answers to commands, kept so a retried command id gets the same answer.
    pub replies: Vec<StoredReply>,
    /// A service day that ended: its unfinished tickets are marked expired.
    pub expire_day: Option<NaiveDate>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.tickets.is_empty()
            && self.appointments.is_empty()
            && self.replies.is_empty()
            && self.expire_day.is_none()
    }
}

/// Days of wire frames kept (replays come from memory; a copy on disk helps an investigation).
pub const KEEP_FRAMES_DAYS: u64 = 7;
/// Days of replies kept (a retried command only ever matters on its own day).
pub const KEEP_REPLIES_DAYS: u64 = 2;
/// Free pages given back to the file system per maintenance run (4 KiB each: 256 MiB).
const VACUUM_PAGES_PER_RUN: i64 = 65_536;

fn maintenance(conn: &Connection, key: &str) -> Result<Option<String>, LedgerError> {
    Ok(conn
        .query_row("SELECT value FROM maintenance WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

/// The term of the log at `seq`: that of the last `term_started` at or before it (0: none).
pub(crate) fn term_at(conn: &Connection, seq: u64) -> Result<u64, LedgerError> {
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, body FROM events WHERE kind = 'term_started' AND seq <= ?1
             ORDER BY seq DESC LIMIT 1",
            [seq.min(i64::MAX as u64) as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((at, body)) = row else {
        return Ok(0);
    };
    match persisted::decode(&body) {
        Ok(queue_core::Event::TermStarted { term }) => Ok(term),
        Ok(_) => Ok(0),
        Err(e) => Err(LedgerError::BadEvent {
            seq: at as u64,
            reason: e.to_string(),
        }),
    }
}

pub(crate) fn secrets(conn: &Connection) -> Result<Vec<(String, String)>, LedgerError> {
    let mut stmt = conn.prepare("SELECT key, value FROM maintenance WHERE key LIKE 'secret:%'")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (key, value) = row?;
        out.push((key.trim_start_matches("secret:").to_string(), value));
    }
    Ok(out)
}

/// What this database's hub is to its pair (`hub standby`, `hub promote`): absent, the primary.
pub const ROLE_KEY: &str = "replication_role";

pub(crate) fn role(conn: &Connection) -> Result<Option<String>, LedgerError> {
    maintenance(conn, ROLE_KEY)
}

pub(crate) fn last_check(
    conn: &Connection,
) -> Result<Option<(DateTime<Utc>, String)>, LedgerError> {
    let at = maintenance(conn, "checked_at")?;
    let found = maintenance(conn, "check_found")?.unwrap_or_default();
    Ok(at
        .and_then(|a| DateTime::parse_from_rfc3339(&a).ok())
        .map(|a| (a.with_timezone(&Utc), found)))
}

pub(crate) fn replies_since(
    conn: &Connection,
    from: NaiveDate,
) -> Result<Vec<StoredReply>, LedgerError> {
    let mut stmt =
        conn.prepare("SELECT day, device, id, reply FROM replies WHERE day >= ?1 ORDER BY day")?;
    let rows = stmt.query_map([from.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (day, device, id, text) = row?;
        let day = day.parse().map_err(|_| LedgerError::BadSetting {
            what: format!("day {day:?} of a stored reply"),
        })?;
        out.push(StoredReply {
            day,
            key: ReplyKey {
                device: DeviceId(device),
                id: CommandId(id),
            },
            text,
        });
    }
    Ok(out)
}

/// What a maintenance run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub frames: usize,
    pub replies: usize,
    pub pages_freed: i64,
}

pub struct Writer {
    conn: Connection,
}

impl Writer {
    /// Opens the database for writing, creating it or bringing its schema up to date.
    pub fn open(path: &Path) -> Result<Writer, LedgerError> {
        Ok(Writer {
            conn: schema::open_for_writing(path)?,
        })
    }

    fn set_maintenance(&self, key: &str, value: &str) -> Result<(), LedgerError> {
        self.conn.execute(
            "INSERT INTO maintenance (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// When the last integrity check finished, and what it found (`None`: never checked).
    pub fn last_check(&self) -> Result<Option<(DateTime<Utc>, String)>, LedgerError> {
        last_check(&self.conn)
    }

    /// A secret of the centre's kept with its database (and its backups): the one stored
    /// under `key`, or `fresh()` stored now if there is none yet.
    pub fn secret(&self, key: &str, fresh: impl FnOnce() -> String) -> Result<String, LedgerError> {
        let key = format!("secret:{key}");
        if let Some(value) = maintenance(&self.conn, &key)? {
            return Ok(value);
        }
        let value = fresh();
        self.set_maintenance(&key, &value)?;
        Ok(value)
    }

    /// Every secret of the centre, by key (what a standby hub must hold to take over).
    pub fn secrets(&self) -> Result<Vec<(String, String)>, LedgerError> {
        secrets(&self.conn)
    }

    /// Keeps the primary's secret under `key` (a standby's own, if it made one, is replaced).
    /// The value it replaces is overwritten on its page (`secure_delete`), and the write-ahead
    /// log, which still holds the old page, is emptied: a replaced key is gone from the files.
    pub fn set_secret(&self, key: &str, value: &str) -> Result<(), LedgerError> {
        self.set_maintenance(&format!("secret:{key}"), value)?;
        // A reader holding an old snapshot makes the truncation partial; the next one finishes.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// The log's current term (0: no hub has taken over yet).
    pub fn term(&self) -> Result<u64, LedgerError> {
        term_at(&self.conn, u64::MAX)
    }

    /// The term of the log at `seq`.
    pub fn term_at(&self, seq: u64) -> Result<u64, LedgerError> {
        term_at(&self.conn, seq)
    }

    /// What this hub is to its pair: `standby`, `deposed` (a primary replaced by a newer term),
    /// or `None` — the primary.
    pub fn role(&self) -> Result<Option<String>, LedgerError> {
        role(&self.conn)
    }

    /// Records what this hub is to its pair (`None`: the primary).
    pub fn set_role(&self, role: Option<&str>) -> Result<(), LedgerError> {
        match role {
            Some(r) => self.set_maintenance(ROLE_KEY, r),
            None => {
                self.conn
                    .execute("DELETE FROM maintenance WHERE key = ?1", [ROLE_KEY])?;
                Ok(())
            }
        }
    }

    /// Each counter display's cookie generation (absent: 0). A cookie names the generation it
    /// was made in; revoking a display moves its generation on, so every older cookie fails.
    pub fn display_generations(&self) -> Result<HashMap<String, u64>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, value FROM maintenance WHERE key LIKE 'display_generation:%'")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut generations = HashMap::new();
        for row in rows {
            let (key, value) = row?;
            let device = key.trim_start_matches("display_generation:").to_string();
            let generation = value.parse().map_err(|_| LedgerError::BadSetting {
                what: format!("cookie generation of {device} ({value:?})"),
            })?;
            generations.insert(device, generation);
        }
        Ok(generations)
    }

    /// Records a counter display's new cookie generation (on disk before it is answered).
    pub fn set_display_generation(&self, device: &str, generation: u64) -> Result<(), LedgerError> {
        self.set_maintenance(
            &format!("display_generation:{device}"),
            &generation.to_string(),
        )
    }

    pub fn record_check(&self, at: DateTime<Utc>, found: &str) -> Result<(), LedgerError> {
        self.set_maintenance("checked_at", &at.to_rfc3339())?;
        self.set_maintenance("check_found", found)
    }

    /// Applies the retention for a hub whose current service day is `today`: frames of days
    /// before `today - KEEP_FRAMES_DAYS` and replies before `today - KEEP_REPLIES_DAYS` go, and
    /// some freed pages are given back. Both deletions are key ranges: a year-old database costs
    /// no more than a new one.
    pub fn prune(&mut self, today: NaiveDate) -> Result<Pruned, LedgerError> {
        let frames_before = today - chrono::Days::new(KEEP_FRAMES_DAYS);
        let replies_before = today - chrono::Days::new(KEEP_REPLIES_DAYS);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // The first event of the oldest day kept (the partial index holds one row a day).
        let keep_from: Option<i64> = tx.query_row(
            "SELECT min(seq) FROM events WHERE kind = 'day_started' AND day >= ?1",
            [frames_before.to_string()],
            |r| r.get(0),
        )?;
        let mut pruned = Pruned::default();
        if let Some(keep_from) = keep_from {
            // A range of the primary key: only the rows still there are visited.
            pruned.frames = tx.execute("DELETE FROM frames WHERE seq < ?1", [keep_from])?;
        }
        pruned.replies = tx.execute(
            "DELETE FROM replies WHERE day < ?1",
            [replies_before.to_string()],
        )?;
        tx.commit()?;
        let free_before: i64 = self
            .conn
            .pragma_query_value(None, "freelist_count", |r| r.get(0))?;
        // Gives pages back only under auto_vacuum; elsewhere SQLite reuses them for new rows.
        self.conn.execute_batch(&format!(
            "PRAGMA incremental_vacuum({VACUUM_PAGES_PER_RUN})"
        ))?;
        let free_after: i64 = self
            .conn
            .pragma_query_value(None, "freelist_count", |r| r.get(0))?;
        pruned.pages_freed = free_before - free_after;
        Ok(pruned)
    }

    pub fn last_seq(&self) -> Result<u64, LedgerError> {
        let seq: Option<i64> = self
            .conn
            .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))?;
        Ok(seq.unwrap_or(0) as u64)
    }

    /// The events of the current service day: from the last `day_started` on (or all of them
    /// when the log has none yet).
    pub fn current_day_events(&self) -> Result<Vec<Recorded>, LedgerError> {
        let from: Option<i64> = self.conn.query_row(
            "SELECT max(seq) FROM events WHERE kind = 'day_started'",
            [],
            |r| r.get(0),
        )?;
        self.events_from(from.unwrap_or(0) as u64)
    }

    /// Events with `seq >= from`, in order.
    pub fn events_from(&self, from: u64) -> Result<Vec<Recorded>, LedgerError> {
        self.events_where(
            "SELECT seq, at, day, device, staff, body FROM events WHERE seq >= ?1 ORDER BY seq",
            params![from as i64],
        )
    }

    /// The appointment events before `before` (the current day's start) of service days from
    /// `since` on: what the book of bookings holds besides the current day's events.
    pub fn appointment_events(
        &self,
        before: u64,
        since: NaiveDate,
    ) -> Result<Vec<Recorded>, LedgerError> {
        self.events_where(
            "SELECT seq, at, day, device, staff, body FROM events
             WHERE kind LIKE 'appointment_%' AND seq < ?1 AND day >= ?2 ORDER BY seq",
            params![before.min(i64::MAX as u64) as i64, since.to_string()],
        )
    }

    fn events_where(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Recorded>, LedgerError> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map(params, |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at, day, device, staff, body) = row?;
            let bad = |reason: String| LedgerError::BadEvent { seq, reason };
            let at = DateTime::parse_from_rfc3339(&at)
                .map_err(|e| bad(e.to_string()))?
                .with_timezone(&Utc);
            let day = day.parse::<NaiveDate>().map_err(|e| bad(e.to_string()))?;
            let event = persisted::decode(&body).map_err(|e| bad(e.to_string()))?;
            out.push(Recorded {
                seq,
                at,
                day,
                device: device.into(),
                staff: staff.map(StaffCode::from),
                event,
            });
        }
        Ok(out)
    }

    /// The wire JSON of events after `after`, at most `limit` of them, for replays.
    pub fn wire_after(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, wire FROM frames WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt.query_map(params![after as i64, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Replies of service days from `from` on, as stored (what a standby catching up needs for
    /// the idempotency memory).
    pub fn replies_since(&self, from: NaiveDate) -> Result<Vec<StoredReply>, LedgerError> {
        replies_since(&self.conn, from)
    }

    /// Replies of a service day, keyed by `(device, command id)`.
    pub fn replies(&self, day: NaiveDate) -> Result<HashMap<ReplyKey, String>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT device, id, reply FROM replies WHERE day = ?1")?;
        let rows = stmt.query_map([day.to_string()], |r| {
            let key = ReplyKey {
                device: DeviceId(r.get(0)?),
                id: CommandId(r.get(1)?),
            };
            Ok((key, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Writes a batch in one transaction; returns once it is durable.
    pub fn commit(&mut self, batch: &Batch) -> Result<(), LedgerError> {
        if batch.is_empty() {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO events (seq, at, day, kind, device, staff, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let mut frame = tx.prepare_cached("INSERT INTO frames (seq, wire) VALUES (?1, ?2)")?;
            for (r, wire) in &batch.events {
                let body = persisted::encode(&r.event);
                ins.execute(params![
                    r.seq as i64,
                    r.at.to_rfc3339(),
                    r.day.to_string(),
                    r.event.kind(),
                    r.device.as_str(),
                    r.staff.as_ref().map(|s| s.as_str()),
                    body,
                ])?;
                frame.execute(params![r.seq as i64, wire])?;
            }
            // The event after which the batch's ticket states hold (a batch without events
            // changes no ticket, but the last event so far is right for it too).
            let changed_at: Option<i64> = match batch.events.last() {
                Some((r, _)) => Some(r.seq as i64),
                None => tx.query_row("SELECT max(seq) FROM events", [], |r| r.get(0))?,
            };
            if let Some(day) = batch.expire_day {
                tx.execute(
                    "UPDATE tickets SET status = 'expired', seq = ?2 WHERE day = ?1 AND status IN ('waiting', 'called', 'serving')",
                    params![day.to_string(), changed_at],
                )?;
            }
            let mut up = tx.prepare_cached(
                "INSERT INTO tickets (id, day, number, service, priority, status, issued_at, called_at, serving_at,
                    finished_at, counter, staff, recalls, transfers, overdue_wait, overdue_service, rating, track,
                    first_called_at, seq, rated_by, rating_reasons)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
                    ?21, ?22)
                 ON CONFLICT(id) DO UPDATE SET service = excluded.service, status = excluded.status,
                    called_at = excluded.called_at, serving_at = excluded.serving_at, finished_at = excluded.finished_at,
                    counter = excluded.counter, staff = excluded.staff, recalls = excluded.recalls,
                    transfers = excluded.transfers, overdue_wait = excluded.overdue_wait,
                    overdue_service = excluded.overdue_service, rating = excluded.rating,
                    first_called_at = excluded.first_called_at, seq = excluded.seq,
                    rated_by = excluded.rated_by, rating_reasons = excluded.rating_reasons",
            )?;
            for (day, t) in &batch.tickets {
                up.execute(params![
                    t.id.0 as i64,
                    day.to_string(),
                    t.label,
                    t.service.0,
                    t.priority.as_ref().map(|c| c.as_str()),
                    status_text(t.status),
                    t.issued_at.to_rfc3339(),
                    t.called_at.map(|x| x.to_rfc3339()),
                    t.serving_at.map(|x| x.to_rfc3339()),
                    t.finished_at.map(|x| x.to_rfc3339()),
                    t.counter.map(|c| c.0),
                    t.staff.as_ref().map(|s| s.as_str()),
                    t.recalls,
                    t.transfers,
                    t.overdue_wait,
                    t.overdue_service,
                    t.rating,
                    t.track,
                    t.first_called_at.map(|x| x.to_rfc3339()),
                    changed_at,
                    t.rated_by.map(crate::rows::rated_by_text),
                    (!t.rating_reasons.is_empty()).then(|| t.rating_reasons.join(",")),
                ])?;
            }
            let mut booking = tx.prepare_cached(
                "INSERT INTO appointments (code, service, day, start, status, booked_at, by_staff,
                    checked_in_at, cancelled_at, ticket, target_min, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT(code) DO UPDATE SET status = excluded.status,
                    checked_in_at = excluded.checked_in_at, cancelled_at = excluded.cancelled_at,
                    ticket = excluded.ticket, seq = excluded.seq",
            )?;
            for (day, b, target_min) in &batch.appointments {
                booking.execute(params![
                    b.code,
                    b.service.as_str(),
                    day.to_string(),
                    b.start.to_rfc3339(),
                    crate::rows::booking_status_text(b.status),
                    b.booked_at.to_rfc3339(),
                    b.holder == Holder::Staff,
                    b.checked_in_at.map(|x| x.to_rfc3339()),
                    b.cancelled_at.map(|x| x.to_rfc3339()),
                    b.ticket.map(|t| t.0 as i64),
                    target_min,
                    changed_at,
                ])?;
            }
            let mut rep = tx.prepare_cached(
                "INSERT OR IGNORE INTO replies (day, device, id, reply) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for r in &batch.replies {
                rep.execute(params![
                    r.day.to_string(),
                    r.key.device.as_str(),
                    r.key.id.as_str(),
                    r.text
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_from_a_newer_hub_is_refused_untouched() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("hub.db");
        drop(Writer::open(&path).expect("fresh"));
        {
            let conn = Connection::open(&path).expect("open");
            conn.pragma_update(None, "user_version", 99).expect("bump");
        }
        match Writer::open(&path) {
            Err(LedgerError::TooNew { found: 99, .. }) => {}
            other => panic!("expected TooNew, got {:?}", other.map(|_| ())),
        }
        let conn = Connection::open(&path).expect("still there");
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(v, 99);
    }

    #[test]
    fn a_damaged_file_is_reported_and_kept() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("hub.db");
        let garbage =
            b"this is not a database, it is a ticket ledger someone overwrote".repeat(100);
        std::fs::write(&path, &garbage).expect("write");
        let err = Writer::open(&path).err().expect("refused");
        assert!(matches!(err, LedgerError::Damaged { .. }), "{err}");
        assert!(err.to_string().contains("left as it is"), "{err}");
        assert_eq!(std::fs::read(&path).expect("kept"), garbage);
    }

    #[test]
    fn a_reopened_database_keeps_its_schema_and_events() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("hub.db");
        let day: NaiveDate = "2026-11-23".parse().expect("day");
        let rec = Recorded {
            seq: 1,
            at: Utc::now(),
            day,
            device: "hub".into(),
            staff: None,
            event: queue_core::Event::DayStarted {
                day,
                next_ticket_id: queue_core::TicketId(1),
                sessions: vec![],
            },
        };
        let mut store = Writer::open(&path).expect("open");
        let batch = Batch {
            events: vec![(rec, "{}".into())],
            replies: vec![StoredReply {
                day,
                key: ReplyKey {
                    device: "kiosk-1".into(),
                    id: "k:1".into(),
                },
                text: "{\"ok\":true}".into(),
            }],
            ..Batch::default()
        };
        store.commit(&batch).expect("commit");
        drop(store);
        let store = Writer::open(&path).expect("reopen");
        assert_eq!(store.last_seq().expect("seq"), 1);
        assert_eq!(store.current_day_events().expect("events").len(), 1);
        assert_eq!(store.replies(day).expect("replies").len(), 1);
    }

    /// Ten service days, each a `day_started` and one reply.
    fn ten_days(store: &mut Writer, first: NaiveDate) {
        for n in 0..10u64 {
            let day = first + chrono::Days::new(n);
            let rec = Recorded {
                seq: n + 1,
                at: Utc::now(),
                day,
                device: "hub".into(),
                staff: None,
                event: queue_core::Event::DayStarted {
                    day,
                    next_ticket_id: queue_core::TicketId(1),
                    sessions: vec![],
                },
            };
            let batch = Batch {
                events: vec![(rec, "{\"frame\":true}".into())],
                replies: vec![StoredReply {
                    day,
                    key: ReplyKey {
                        device: "kiosk-1".into(),
                        id: format!("k:{n}").into(),
                    },
                    text: "{}".into(),
                }],
                ..Batch::default()
            };
            store.commit(&batch).expect("commit");
        }
    }

    #[test]
    fn retention_drops_old_frames_and_replies_keeps_the_audit_trail_and_does_no_work_twice() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut store = Writer::open(&dir.path().join("hub.db")).expect("open");
        let first: NaiveDate = "2026-11-01".parse().expect("day");
        ten_days(&mut store, first);
        let today: NaiveDate = "2026-11-10".parse().expect("day");
        let pruned = store.prune(today).expect("prune");
        // Frames of 1–2 November (before 3 November = today − 7) go; replies before the 8th.
        assert_eq!((pruned.frames, pruned.replies), (2, 7));
        let frames: Vec<(i64, String)> = store
            .conn
            .prepare("SELECT seq, wire FROM frames ORDER BY seq")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(
            frames.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            (3..=10).collect::<Vec<_>>()
        );
        assert_eq!(store.current_day_events().expect("events").len(), 1);
        assert_eq!(
            store.events_from(1).expect("bodies").len(),
            10,
            "bodies kept"
        );
        assert_eq!(store.replies(today).expect("today").len(), 1);
        assert_eq!(store.prune(today).expect("again"), Pruned::default());
        let next = store.prune(today + chrono::Days::new(1)).expect("next day");
        assert_eq!((next.frames, next.replies), (1, 1));
    }

    #[test]
    fn a_new_database_gives_freed_pages_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Writer::open(&dir.path().join("hub.db")).expect("open");
        let mode: i64 = store
            .conn
            .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, 2, "incremental");
    }

    #[test]
    fn a_first_schema_database_moves_its_recent_frames_out_of_the_event_log() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("hub.db");
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(schema::MIGRATIONS[0]).expect("schema 1");
            conn.pragma_update(None, "user_version", 1)
                .expect("version");
            for (seq, day) in [(1, "2026-11-01"), (2, "2026-11-01"), (3, "2026-11-20")] {
                conn.execute(
                    "INSERT INTO events VALUES (?1, '2026-11-01T01:00:00+00:00', ?2, 'day_started', 'hub', NULL, '{}', ?3)",
                    params![seq, day, format!("frame {seq}")],
                )
                .expect("event");
            }
        }
        let store = Writer::open(&path).expect("migrated");
        // Frames of the last week before the newest event move; older ones are dropped.
        assert_eq!(
            store.wire_after(0, 10).expect("frames"),
            vec![(3, "frame 3".to_string())]
        );
        assert_eq!(
            store.last_seq().expect("seq"),
            3,
            "the events themselves stay"
        );
        let columns: Vec<String> = store
            .conn
            .prepare("SELECT name FROM pragma_table_info('events')")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("names");
        assert!(!columns.contains(&"wire".to_string()), "{columns:?}");
    }

    #[test]
    fn a_second_schema_database_dates_each_tickets_state_by_its_days_last_event() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("hub.db");
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(schema::MIGRATIONS[0]).expect("schema 1");
            conn.execute_batch(schema::MIGRATIONS[1]).expect("schema 2");
            conn.pragma_update(None, "user_version", 2)
                .expect("version");
            for (seq, day) in [(1, "2026-11-01"), (2, "2026-11-01"), (3, "2026-11-02")] {
                conn.execute(
                    "INSERT INTO events VALUES (?1, '2026-11-01T01:00:00+00:00', ?2, 'ticket_issued', 'kiosk-1', NULL, '{}')",
                    params![seq, day],
                )
                .expect("event");
            }
            for (id, day) in [(1, "2026-11-01"), (2, "2026-11-02")] {
                conn.execute(
                    "INSERT INTO tickets (id, day, number, service, status, issued_at, recalls,
                        transfers, overdue_wait, overdue_service, track)
                     VALUES (?1, ?2, 'A1', 'TP', 'done', '2026-11-01T01:00:00+00:00', 0, 0, 0, 0, ?1)",
                    params![id, day],
                )
                .expect("ticket");
            }
        }
        let store = Writer::open(&path).expect("migrated");
        let seqs: Vec<(i64, i64)> = store
            .conn
            .prepare("SELECT id, seq FROM tickets ORDER BY id")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(seqs, vec![(1, 2), (2, 3)]);
    }
}
