//! The tables of the centre's database and how a file comes to have them.
//!
//! - `events`: the append-only event log. Its `seq` is the protocol's `seq`. `body` is the core
//!   event (what the hub replays at start-up), format 1 of `queue_core::persisted`.
//! - `frames`: the event as clients received it, by `seq` (what a reconnecting client is
//!   replayed), for the last days only.
//! - `tickets`: every ticket's current state, kept in the same transaction (reports, tracking,
//!   the province); `seq` is the event after which the row's state holds.
//! - `replies`: the reply to every command id of the day, so a retried command answers the same.
//! - `maintenance`: when the database was last checked; each counter display's cookie
//!   generation; the centre's secrets (the key of the phone numbers' hashes).
//! - `appointments`: every booking's current state (never who booked), kept like `tickets`.
//!
//! A schema change is a new entry at the end of `MIGRATIONS`, never an edit of an old one.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{LedgerError, opening};

pub(crate) const MIGRATIONS: &[&str] = &[
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
    // 2: retention — the wire frames in a table of their own, so that dropping old ones frees
    // whole pages (a shrunken row frees none); scheduled checks; the first call's time (a recall
    // must not lengthen the wait a report shows).
    "CREATE TABLE maintenance (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
     ) WITHOUT ROWID;
     CREATE TABLE frames (
        seq  INTEGER PRIMARY KEY,
        wire TEXT NOT NULL
     );
     INSERT INTO frames (seq, wire)
        SELECT seq, wire FROM events
        WHERE day >= (SELECT date(max(day), '-7 days') FROM events);
     ALTER TABLE events DROP COLUMN wire;
     ALTER TABLE tickets ADD COLUMN first_called_at TEXT;
     UPDATE tickets SET first_called_at = called_at;",
    // 3: shipping to the province — each ticket row says after which event its state holds, so
    // the shipper sends, with events (a, b], exactly the tickets that changed in them. Rows from
    // before count as changed by their day's last event: a year of tickets then goes to the
    // province spread over the batches of its days, not in one giant batch at the end.
    "ALTER TABLE tickets ADD COLUMN seq INTEGER;
     CREATE TEMP TABLE day_last (day TEXT PRIMARY KEY, seq INTEGER NOT NULL);
     INSERT INTO day_last SELECT day, max(seq) FROM events GROUP BY day;
     UPDATE tickets SET seq = coalesce(
        (SELECT seq FROM day_last WHERE day_last.day = tickets.day),
        (SELECT max(seq) FROM events));
     DROP TABLE day_last;
     CREATE INDEX tickets_seq ON tickets(seq);",
    // 4: counter displays — who gave a ticket's rating (`citizen` on the counter's screen, or
    // `counter`), and the reasons chosen with a low one (configured ids, comma-separated).
    // Ratings from before came from counters.
    "ALTER TABLE tickets ADD COLUMN rated_by TEXT;
     ALTER TABLE tickets ADD COLUMN rating_reasons TEXT;
     UPDATE tickets SET rated_by = 'counter' WHERE rating IS NOT NULL;",
    // 5: appointments — a booking is made days before its slot, so a restarted hub reads the
    // appointment events of the last days besides the current day's; each booking's current
    // state for the figures and the province, written with its events (`seq` as for tickets).
    // No phone number, nor its hash: who booked is in the event log only.
    "CREATE INDEX events_appointments ON events(seq) WHERE kind LIKE 'appointment_%';
     CREATE TABLE appointments (
        code          TEXT PRIMARY KEY,
        service       TEXT NOT NULL,
        day           TEXT NOT NULL,
        start         TEXT NOT NULL,
        status        TEXT NOT NULL,
        booked_at     TEXT NOT NULL,
        by_staff      INTEGER NOT NULL,
        checked_in_at TEXT,
        cancelled_at  TEXT,
        ticket        INTEGER,
        target_min    INTEGER NOT NULL,
        seq           INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX appointments_day ON appointments(day);
     CREATE INDEX appointments_seq ON appointments(seq);",
    // 6: terms — a standby hub that takes over starts a new term with a `term_started` event;
    // which term an event of the log belongs to is a look-up in this (tiny) index.
    "CREATE INDEX events_terms ON events(seq) WHERE kind = 'term_started';",
];

/// The schema this code reads and writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// The WAL is truncated back to this after a checkpoint.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Opens (creating if need be) the database for its one writer, set up for durability, and
/// brings its schema up to [`VERSION`]. A newer schema is refused untouched.
pub(crate) fn open_for_writing(path: &Path) -> Result<Connection, LedgerError> {
    let name = path.display().to_string();
    let wrap = opening(path);
    let mut conn = Connection::open(path).map_err(&wrap)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(&wrap)?;
    let found = version(&conn).map_err(&wrap)?;
    if found == 0 {
        // Only possible before the file has its first page (switching to WAL writes it). An
        // old database keeps `NONE`: its freed pages are still reused, just not given back.
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
            .map_err(&wrap)?;
    }
    // PRAGMAs outside any transaction: WAL survives power loss with synchronous=FULL.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(&wrap)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(&wrap)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(&wrap)?;
    // A replaced secret (yesterday's key of the phone numbers) is overwritten where it lay,
    // at no extra I/O: the page is being written anyway.
    conn.pragma_update(None, "secure_delete", "FAST")
        .map_err(&wrap)?;
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
        .map_err(&wrap)?;
    if found > VERSION {
        return Err(LedgerError::TooNew {
            path: name,
            found,
            known: VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&wrap)?;
        tx.execute_batch(sql).map_err(&wrap)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(&wrap)?;
        tx.commit().map_err(&wrap)?;
    }
    Ok(conn)
}

/// Opens an existing database read-only, at exactly this code's schema: an older file is left
/// for a hub to upgrade (a reader never writes to a file a hub may hold), a newer one refused.
pub(crate) fn open_read_only(path: &Path) -> Result<Connection, LedgerError> {
    if !path.is_file() {
        return Err(LedgerError::NoDatabase(path.to_path_buf()));
    }
    let wrap = opening(path);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(&wrap)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(&wrap)?;
    let found = version(&conn).map_err(&wrap)?;
    let path = path.display().to_string();
    if found > VERSION {
        return Err(LedgerError::TooNew {
            path,
            found,
            known: VERSION,
        });
    }
    if found < VERSION {
        return Err(LedgerError::Older {
            path,
            found,
            known: VERSION,
        });
    }
    Ok(conn)
}
