//! The durable ledger: SQLite in WAL mode with `synchronous=FULL`.
//!
//! - `events`: the append-only event log. Its `seq` is the protocol's `seq`. `body` is the core
//!   event (what the hub replays at start-up), `wire` the event as clients received it (what a
//!   province-wide report can ship and aggregate without this code).
//! - `tickets`: every ticket's current state, kept in the same transaction (reports, tracking).
//! - `replies`: the reply to every command id of the day, so a retried command answers the same.
//!
//! **Architecture invariant:** a batch of commands is answered only after `commit` returns.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use queue_core::persisted;
pub use queue_core::persisted::Recorded;
use queue_core::{StaffCode, Ticket};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error(
        "database {path} was written by a newer hub (schema {found}, this hub knows up to {known}); refusing to touch it"
    )]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error(
        "database {path} is damaged ({source}). It has been left as it is for inspection; start the hub with another --db and report it"
    )]
    Damaged {
        path: String,
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("event {seq} in the database cannot be read: {reason}")]
    BadEvent { seq: u64, reason: String },
}

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
    pub device: String,
    pub id: String,
}

/// Everything one group commit writes.
#[derive(Debug, Default)]
pub struct Batch {
    /// Events with their wire JSON.
    pub events: Vec<(Recorded, String)>,
    /// Tickets whose state changed, with their service day.
    pub tickets: Vec<(NaiveDate, Ticket)>,
    /// Answers to commands, kept so a retried command id gets the same answer.
    pub replies: Vec<StoredReply>,
    /// A service day that ended: its unfinished tickets are marked expired.
    pub expire_day: Option<NaiveDate>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.tickets.is_empty()
            && self.replies.is_empty()
            && self.expire_day.is_none()
    }
}

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "CREATE TABLE events (
        seq    INTEGER PRIMARY KEY,
        at     TEXT NOT NULL,
        day    TEXT NOT NULL,
        kind   TEXT NOT NULL,
        device TEXT NOT NULL,
        staff  TEXT,
        body   TEXT NOT NULL,
        wire   TEXT NOT NULL
     );
     CREATE INDEX events_day_starts ON events(seq) WHERE kind = 'day_started';
     CREATE TABLE tickets (
        id          INTEGER PRIMARY KEY,
        day         TEXT NOT NULL,
        number      TEXT NOT NULL,
        service     TEXT NOT NULL,
        priority    TEXT,
        status      TEXT NOT NULL,
        issued_at   TEXT NOT NULL,
        called_at   TEXT,
        serving_at  TEXT,
        finished_at TEXT,
        counter     INTEGER,
        staff       TEXT,
        recalls     INTEGER NOT NULL,
        transfers   INTEGER NOT NULL,
        overdue_wait    INTEGER NOT NULL,
        overdue_service INTEGER NOT NULL,
        rating      INTEGER,
        track       TEXT NOT NULL UNIQUE
     );
     CREATE INDEX tickets_day ON tickets(day);
     CREATE TABLE replies (
        day    TEXT NOT NULL,
        device TEXT NOT NULL,
        id     TEXT NOT NULL,
        reply  TEXT NOT NULL,
        PRIMARY KEY (day, device, id)
     ) WITHOUT ROWID;",
];

/// Databases up to this size are fully checked before the hub serves.
const CHECK_AT_START_BYTES: u64 = 64 * 1024 * 1024;

pub struct Store {
    conn: Connection,
}

fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let name = path.display().to_string();
        let wrap = |source: rusqlite::Error| {
            if is_damage(&source) {
                StoreError::Damaged {
                    path: name.clone(),
                    source,
                }
            } else {
                StoreError::Open {
                    path: name.clone(),
                    source,
                }
            }
        };
        let mut conn = Connection::open(path).map_err(wrap)?;
        // PRAGMAs outside any transaction: WAL survives power loss with synchronous=FULL.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(wrap)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(wrap)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(wrap)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(wrap)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(wrap)?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                path: name,
                found: version,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(wrap)?;
            tx.execute_batch(sql).map_err(wrap)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(wrap)?;
            tx.commit().map_err(wrap)?;
        }
        // A full check reads the whole file: at start-up for a database of up to a few months,
        // in the background for a bigger one, so that a restart stays within a second. Damage in
        // the pages the hub reads is still reported by SQLite itself when it reads them.
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if size <= CHECK_AT_START_BYTES {
            let check: String = conn
                .query_row("PRAGMA quick_check", [], |r| r.get(0))
                .map_err(wrap)?;
            if check != "ok" {
                return Err(StoreError::Damaged {
                    path: name,
                    source: rusqlite::Error::InvalidParameterName(check),
                });
            }
        } else {
            let path = path.to_path_buf();
            std::thread::spawn(move || {
                let check = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .and_then(|c| c.query_row("PRAGMA quick_check", [], |r| r.get::<_, String>(0)));
                match check {
                    Ok(ok) if ok == "ok" => tracing::info!("database check: ok"),
                    Ok(problem) => tracing::error!(%problem, "DATABASE DAMAGED: restore a backup"),
                    Err(e) => tracing::error!(error = %e, "database check failed"),
                }
            });
        }
        Ok(Store { conn })
    }

    pub fn last_seq(&self) -> Result<u64, StoreError> {
        let seq: Option<i64> = self
            .conn
            .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))?;
        Ok(seq.unwrap_or(0) as u64)
    }

    /// The events of the current service day: from the last `day_started` on (or all of them
    /// when the log has none yet).
    pub fn current_day_events(&self) -> Result<Vec<Recorded>, StoreError> {
        let from: Option<i64> = self.conn.query_row(
            "SELECT max(seq) FROM events WHERE kind = 'day_started'",
            [],
            |r| r.get(0),
        )?;
        self.events_from(from.unwrap_or(0) as u64)
    }

    /// Events with `seq >= from`, in order.
    pub fn events_from(&self, from: u64) -> Result<Vec<Recorded>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, at, day, device, staff, body FROM events WHERE seq >= ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([from as i64], |r| {
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
            let bad = |reason: String| StoreError::BadEvent { seq, reason };
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
    pub fn wire_after(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, wire FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt.query_map(params![after as i64, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Replies of a service day, keyed by `(device, command id)`.
    pub fn replies(&self, day: NaiveDate) -> Result<HashMap<ReplyKey, String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT device, id, reply FROM replies WHERE day = ?1")?;
        let rows = stmt.query_map([day.to_string()], |r| {
            let key = ReplyKey {
                device: r.get(0)?,
                id: r.get(1)?,
            };
            Ok((key, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The service day and id of the ticket with this tracking token.
    pub fn ticket_by_track(&self, track: &str) -> Result<Option<(NaiveDate, u64)>, StoreError> {
        let row: Option<(String, i64)> = self
            .conn
            .query_row(
                "SELECT day, id FROM tickets WHERE track = ?1",
                [track],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.and_then(|(d, id)| d.parse().ok().map(|d| (d, id as u64))))
    }

    /// Writes a batch in one transaction; returns once it is durable.
    pub fn commit(&mut self, batch: &Batch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO events (seq, at, day, kind, device, staff, body, wire) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
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
                    wire
                ])?;
            }
            if let Some(day) = batch.expire_day {
                tx.execute(
                    "UPDATE tickets SET status = 'expired' WHERE day = ?1 AND status IN ('waiting', 'called', 'serving')",
                    [day.to_string()],
                )?;
            }
            let mut up = tx.prepare_cached(
                "INSERT INTO tickets (id, day, number, service, priority, status, issued_at, called_at, serving_at,
                    finished_at, counter, staff, recalls, transfers, overdue_wait, overdue_service, rating, track)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
                 ON CONFLICT(id) DO UPDATE SET service = excluded.service, status = excluded.status,
                    called_at = excluded.called_at, serving_at = excluded.serving_at, finished_at = excluded.finished_at,
                    counter = excluded.counter, staff = excluded.staff, recalls = excluded.recalls,
                    transfers = excluded.transfers, overdue_wait = excluded.overdue_wait,
                    overdue_service = excluded.overdue_service, rating = excluded.rating",
            )?;
            for (day, t) in &batch.tickets {
                up.execute(params![
                    t.id.0 as i64,
                    day.to_string(),
                    t.label,
                    t.service.0,
                    t.priority.as_ref().map(|c| c.as_str()),
                    status_str(t.status),
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
                ])?;
            }
            let mut rep = tx.prepare_cached(
                "INSERT OR IGNORE INTO replies (day, device, id, reply) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for r in &batch.replies {
                rep.execute(params![r.day.to_string(), r.key.device, r.key.id, r.text])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

pub fn status_str(s: protocol::TicketStatus) -> &'static str {
    use protocol::TicketStatus as S;
    match s {
        S::Waiting => "waiting",
        S::Called => "called",
        S::Serving => "serving",
        S::Done => "done",
        S::NoShow => "no_show",
        S::Transferred => "transferred",
        S::Cancelled => "cancelled",
        S::Expired => "expired",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_from_a_newer_hub_is_refused_untouched() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("hub.db");
        drop(Store::open(&path).expect("fresh"));
        {
            let conn = Connection::open(&path).expect("open");
            conn.pragma_update(None, "user_version", 99).expect("bump");
        }
        match Store::open(&path) {
            Err(StoreError::TooNew { found: 99, .. }) => {}
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
        let err = Store::open(&path).err().expect("refused");
        assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
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
        let mut store = Store::open(&path).expect("open");
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
        let store = Store::open(&path).expect("reopen");
        assert_eq!(store.last_seq().expect("seq"), 1);
        assert_eq!(store.current_day_events().expect("events").len(), 1);
        assert_eq!(store.replies(day).expect("replies").len(), 1);
    }
}
