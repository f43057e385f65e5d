//! Read-only access, with typed rows, for everything but the engine: reports, the province's
//! shipper, backups, the doctor, tests. Safe while a hub serves the file (WAL: a reader sees
//! the last commit and never blocks the writer).

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, Row};

use crate::error::LedgerError;
use crate::rows::{
    AppointmentRow, EventRow, TicketRow, booking_status_from_text, status_from_text,
};
use crate::schema;

pub struct Reader {
    conn: Connection,
}

/// How many rows each table holds (the hostile tests check that refusals write none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub events: u64,
    pub tickets: u64,
    pub replies: u64,
    pub frames: u64,
}

/// What the province's shipper sends in one batch, read from one snapshot of the database.
#[derive(Debug, Default, Clone)]
pub struct Shipment {
    /// Events after the asked-for `seq`, in order.
    pub events: Vec<EventRow>,
    /// The tickets those events changed, as they stand after the last of them.
    pub tickets: Vec<TicketRow>,
    /// The bookings those events changed, likewise.
    pub appointments: Vec<AppointmentRow>,
    /// The tracking codes of those tickets (by id): the province keeps only their hashes, to
    /// open a ticket's page from anywhere.
    pub tracks: Vec<(u64, String)>,
    /// The last event of the whole local log.
    pub last_seq: u64,
    /// When the event the shipment follows was recorded (`None`: no such event here).
    pub after_at: Option<DateTime<Utc>>,
}

const TICKET_COLUMNS: &str = "id, day, number, service, priority, status, issued_at, \
     first_called_at, called_at, serving_at, finished_at, counter, staff, recalls, transfers, \
     overdue_wait, overdue_service, rating, seq, rated_by, rating_reasons";

const EVENT_COLUMNS: &str = "seq, at, day, kind, device, staff, body";

/// A ticket row as SQLite hands it over, before its values are checked.
struct RawTicket {
    id: i64,
    day: String,
    number: String,
    service: String,
    priority: Option<String>,
    status: String,
    times: [Option<String>; 5],
    counter: Option<i64>,
    staff: Option<String>,
    recalls: i64,
    transfers: i64,
    overdue_wait: bool,
    overdue_service: bool,
    rating: Option<i64>,
    seq: Option<i64>,
    rated_by: Option<String>,
    rating_reasons: Option<String>,
}

fn raw_ticket(r: &Row) -> rusqlite::Result<RawTicket> {
    Ok(RawTicket {
        id: r.get(0)?,
        day: r.get(1)?,
        number: r.get(2)?,
        service: r.get(3)?,
        priority: r.get(4)?,
        status: r.get(5)?,
        times: [r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?],
        counter: r.get(11)?,
        staff: r.get(12)?,
        recalls: r.get(13)?,
        transfers: r.get(14)?,
        overdue_wait: r.get(15)?,
        overdue_service: r.get(16)?,
        rating: r.get(17)?,
        seq: r.get(18)?,
        rated_by: r.get(19)?,
        rating_reasons: r.get(20)?,
    })
}

fn time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| e.to_string())
}

impl RawTicket {
    fn checked(self) -> Result<TicketRow, LedgerError> {
        let id = self.id as u64;
        let bad = |column: &'static str, value: &str, reason: String| LedgerError::BadTicket {
            id,
            column,
            value: value.to_string(),
            reason,
        };
        const TIMES: [&str; 5] = [
            "issued_at",
            "first_called_at",
            "called_at",
            "serving_at",
            "finished_at",
        ];
        let mut times = [None; 5];
        for (i, text) in self.times.iter().enumerate() {
            if let Some(text) = text {
                times[i] = Some(time(text).map_err(|e| bad(TIMES[i], text, e))?);
            }
        }
        let [
            issued_at,
            first_called_at,
            called_at,
            serving_at,
            finished_at,
        ] = times;
        let small = |column: &'static str, n: i64| -> Result<u32, LedgerError> {
            u32::try_from(n).map_err(|e| bad(column, &n.to_string(), e.to_string()))
        };
        Ok(TicketRow {
            id,
            day: self
                .day
                .parse()
                .map_err(|e: chrono::ParseError| bad("day", &self.day, e.to_string()))?,
            status: status_from_text(&self.status)
                .ok_or_else(|| bad("status", &self.status, "not a status this hub knows".into()))?,
            issued_at: issued_at.ok_or_else(|| bad("issued_at", "", "missing".into()))?,
            first_called_at,
            called_at,
            serving_at,
            finished_at,
            counter: self.counter.map(|c| small("counter", c)).transpose()?,
            recalls: small("recalls", self.recalls)?,
            transfers: small("transfers", self.transfers)?,
            rating: self
                .rating
                .map(|r| u8::try_from(r).map_err(|e| bad("rating", &r.to_string(), e.to_string())))
                .transpose()?,
            rated_by: self
                .rated_by
                .as_deref()
                .map(|t| {
                    crate::rows::rated_by_from_text(t)
                        .ok_or_else(|| bad("rated_by", t, "not a rater this hub knows".into()))
                })
                .transpose()?,
            rating_reasons: self
                .rating_reasons
                .as_deref()
                .map(|t| t.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
            seq: self.seq.unwrap_or(0) as u64,
            number: self.number,
            service: self.service,
            priority: self.priority,
            staff: self.staff,
            overdue_wait: self.overdue_wait,
            overdue_service: self.overdue_service,
        })
    }
}

/// An event row as SQLite hands it over, before its values are checked.
struct RawEvent {
    seq: i64,
    at: String,
    day: String,
    kind: String,
    device: String,
    staff: Option<String>,
    body: String,
}

fn raw_event(r: &Row) -> rusqlite::Result<RawEvent> {
    Ok(RawEvent {
        seq: r.get(0)?,
        at: r.get(1)?,
        day: r.get(2)?,
        kind: r.get(3)?,
        device: r.get(4)?,
        staff: r.get(5)?,
        body: r.get(6)?,
    })
}

impl RawEvent {
    fn checked(self) -> Result<EventRow, LedgerError> {
        let seq = self.seq as u64;
        let bad = |reason: String| LedgerError::BadEvent { seq, reason };
        Ok(EventRow {
            seq,
            at: time(&self.at).map_err(|e| bad(format!("time {:?}: {e}", self.at)))?,
            day: self
                .day
                .parse()
                .map_err(|e: chrono::ParseError| bad(format!("day {:?}: {e}", self.day)))?,
            kind: self.kind,
            device: self.device,
            staff: self.staff,
            body: self.body,
        })
    }
}

fn tracks_where(conn: &Connection, range: [i64; 2]) -> Result<Vec<(u64, String)>, LedgerError> {
    let mut stmt =
        conn.prepare("SELECT id, track FROM tickets WHERE seq > ?1 AND seq <= ?2 ORDER BY id")?;
    let rows = stmt.query_map(range, |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn tickets_where(
    conn: &Connection,
    condition: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<TicketRow>, LedgerError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE {condition} ORDER BY id"
    ))?;
    let rows = stmt.query_map(params, raw_ticket)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row?.checked()?);
    }
    Ok(out)
}

const APPOINTMENT_COLUMNS: &str = "a.code, a.service, a.day, a.start, a.status, a.booked_at, \
     a.by_staff, a.checked_in_at, a.cancelled_at, t.first_called_at, a.target_min, a.seq, a.ticket";

/// Bookings matching `condition` (on `a`, the appointments), by their slot, with the first call
/// of their ticket.
fn appointments_where(
    conn: &Connection,
    condition: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<AppointmentRow>, LedgerError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM appointments a LEFT JOIN tickets t ON t.id = a.ticket
         WHERE {condition} ORDER BY a.start, a.code"
    ))?;
    let rows = stmt.query_map(params, |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            [
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ],
            r.get::<_, bool>(6)?,
            [
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<String>>(9)?,
            ],
            r.get::<_, i64>(10)?,
            r.get::<_, i64>(11)?,
            r.get::<_, Option<i64>>(12)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (
            code,
            service,
            [day, start, status, booked_at],
            by_staff,
            optional,
            target_min,
            seq,
            ticket,
        ) = row?;
        let bad = |column: &'static str, value: &str| LedgerError::BadAppointment {
            code: code.clone(),
            column,
            value: value.to_string(),
        };
        let at = |column: &'static str, text: &str| time(text).map_err(|_| bad(column, text));
        let maybe = |column: &'static str, text: &Option<String>| {
            text.as_deref().map(|t| at(column, t)).transpose()
        };
        let [checked_in_at, cancelled_at, called_at] = &optional;
        out.push(AppointmentRow {
            day: day.parse().map_err(|_| bad("day", &day))?,
            start: at("start", &start)?,
            status: booking_status_from_text(&status).ok_or_else(|| bad("status", &status))?,
            booked_at: at("booked_at", &booked_at)?,
            by_staff,
            checked_in_at: maybe("checked_in_at", checked_in_at)?,
            cancelled_at: maybe("cancelled_at", cancelled_at)?,
            called_at: maybe("first_called_at", called_at)?,
            target_min,
            seq: seq as u64,
            ticket: ticket.map(|t| t as u64),
            service,
            code,
        });
    }
    Ok(out)
}

fn events_after(conn: &Connection, after: u64, limit: usize) -> Result<Vec<EventRow>, LedgerError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2"
    ))?;
    let rows = stmt.query_map(
        [after as i64, limit.min(i64::MAX as usize) as i64],
        raw_event,
    )?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row?.checked()?);
    }
    Ok(out)
}

fn last_seq(conn: &Connection) -> Result<u64, LedgerError> {
    let seq: Option<i64> = conn.query_row("SELECT max(seq) FROM events", [], |r| r.get(0))?;
    Ok(seq.unwrap_or(0) as u64)
}

impl Reader {
    /// Opens an existing database read-only. A file of an older schema is refused (a hub
    /// upgrades it when it next starts): a reader never writes to a file a hub may hold.
    pub fn open(path: &Path) -> Result<Reader, LedgerError> {
        Ok(Reader {
            conn: schema::open_read_only(path)?,
        })
    }

    /// The last event's `seq` (0: none yet).
    pub fn last_seq(&self) -> Result<u64, LedgerError> {
        last_seq(&self.conn)
    }

    /// The last event's `seq` and service day, if there is one.
    pub fn last_event(&self) -> Result<Option<(u64, NaiveDate)>, LedgerError> {
        let row: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT seq, day FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(seq, day)| {
            let seq = seq as u64;
            day.parse()
                .map(|d| (seq, d))
                .map_err(|e: chrono::ParseError| LedgerError::BadEvent {
                    seq,
                    reason: format!("day {day:?}: {e}"),
                })
        })
        .transpose()
    }

    /// Events with `seq > after`, at most `limit`, in order.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<EventRow>, LedgerError> {
        events_after(&self.conn, after, limit)
    }

    /// What a standby hub needs to follow this log from `after`: the next events (at most
    /// `limit`, read in one transaction) with their wire frames (absent when retention dropped
    /// them).
    pub fn replication_after(
        &mut self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(EventRow, Option<String>)>, LedgerError> {
        let tx = self.conn.transaction()?;
        let events = events_after(&tx, after, limit)?;
        let mut frames: std::collections::HashMap<u64, String> = std::collections::HashMap::new();
        if let (Some(first), Some(last)) = (events.first(), events.last()) {
            let mut stmt =
                tx.prepare("SELECT seq, wire FROM frames WHERE seq >= ?1 AND seq <= ?2")?;
            let rows = stmt.query_map([first.seq as i64, last.seq as i64], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (seq, wire) = row?;
                frames.insert(seq, wire);
            }
        }
        Ok(events
            .into_iter()
            .map(|e| {
                let wire = frames.remove(&e.seq);
                (e, wire)
            })
            .collect())
    }

    /// The term of the log at `seq` (0: before any hub took over).
    pub fn term_at(&self, seq: u64) -> Result<u64, LedgerError> {
        crate::writer::term_at(&self.conn, seq)
    }

    /// What this database's hub is to its pair (`None`: the primary).
    pub fn role(&self) -> Result<Option<String>, LedgerError> {
        crate::writer::role(&self.conn)
    }

    /// Every secret of the centre, by key.
    pub fn secrets(&self) -> Result<Vec<(String, String)>, LedgerError> {
        crate::writer::secrets(&self.conn)
    }

    /// Replies of service days from `from` on.
    pub fn replies_since(&self, from: NaiveDate) -> Result<Vec<crate::StoredReply>, LedgerError> {
        crate::writer::replies_since(&self.conn, from)
    }

    /// The tickets of service days `from..=to`, by id.
    pub fn tickets_of_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<TicketRow>, LedgerError> {
        tickets_where(
            &self.conn,
            "day >= ?1 AND day <= ?2",
            [from.to_string(), to.to_string()],
        )
    }

    /// The bookings for the service days `from..=to`, by their slot.
    pub fn appointments_of_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AppointmentRow>, LedgerError> {
        appointments_where(
            &self.conn,
            "a.day >= ?1 AND a.day <= ?2",
            [from.to_string(), to.to_string()],
        )
    }

    /// Every ticket of every day, by id.
    pub fn tickets(&self) -> Result<Vec<TicketRow>, LedgerError> {
        tickets_where(&self.conn, "1", [])
    }

    /// The events after `after` (at most `limit`) and the tickets they changed, read in one
    /// read transaction, so the tickets are exactly the events' doing.
    pub fn shipment(&mut self, after: u64, limit: usize) -> Result<Shipment, LedgerError> {
        let tx = self.conn.transaction()?;
        let last_seq = last_seq(&tx)?;
        let after_at: Option<String> = tx
            .query_row(
                "SELECT at FROM events WHERE seq = ?1",
                [after as i64],
                |r| r.get(0),
            )
            .optional()?;
        let after_at = after_at
            .map(|at| {
                time(&at).map_err(|e| LedgerError::BadEvent {
                    seq: after,
                    reason: format!("time {at:?}: {e}"),
                })
            })
            .transpose()?;
        let events = events_after(&tx, after, limit)?;
        let (tickets, appointments, tracks) = match events.last() {
            Some(last) => {
                let range = [after as i64, last.seq as i64];
                (
                    tickets_where(&tx, "seq > ?1 AND seq <= ?2", range)?,
                    appointments_where(&tx, "a.seq > ?1 AND a.seq <= ?2", range)?,
                    tracks_where(&tx, range)?,
                )
            }
            None => (vec![], vec![], vec![]),
        };
        Ok(Shipment {
            events,
            tickets,
            appointments,
            tracks,
            last_seq,
            after_at,
        })
    }

    /// Rows per table.
    pub fn counts(&self) -> Result<Counts, LedgerError> {
        let count = |table: &str| -> Result<u64, LedgerError> {
            let n: i64 =
                self.conn
                    .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
            Ok(n as u64)
        };
        Ok(Counts {
            events: count("events")?,
            tickets: count("tickets")?,
            replies: count("replies")?,
            frames: count("frames")?,
        })
    }

    /// When the last integrity check finished, and what it found (`None`: never checked).
    pub fn last_check(&self) -> Result<Option<(DateTime<Utc>, String)>, LedgerError> {
        crate::writer::last_check(&self.conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Writer;

    fn database() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("hub.db");
        drop(Writer::open(&path).expect("created"));
        (dir, path)
    }

    fn insert_ticket(path: &Path, status: &str) {
        let conn = Connection::open(path).expect("open");
        conn.execute(
            "INSERT INTO tickets (id, day, number, service, status, issued_at, recalls,
                transfers, overdue_wait, overdue_service, track, seq)
             VALUES (17, '2026-11-23', 'A1001', 'TP', ?1, '2026-11-23T01:00:00+00:00', 0, 0, 0, 0,
                'x', 1)",
            [status],
        )
        .expect("ticket");
    }

    #[test]
    fn an_unknown_status_is_an_error_naming_the_ticket() {
        let (_dir, path) = database();
        insert_ticket(&path, "lost");
        let day: NaiveDate = "2026-11-23".parse().expect("day");
        let err = Reader::open(&path)
            .expect("open")
            .tickets_of_days(day, day)
            .expect_err("refused");
        let text = err.to_string();
        assert!(
            text.contains("ticket 17") && text.contains("\"lost\""),
            "{text}"
        );
    }

    #[test]
    fn a_known_status_reads_as_its_type() {
        let (_dir, path) = database();
        insert_ticket(&path, "no_show");
        let day: NaiveDate = "2026-11-23".parse().expect("day");
        let rows = Reader::open(&path)
            .expect("open")
            .tickets_of_days(day, day)
            .expect("read");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].status, protocol::TicketStatus::NoShow);
        assert_eq!(rows[0].number, "A1001");
    }

    #[test]
    fn a_reader_never_upgrades_an_older_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("hub.db");
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(schema::MIGRATIONS[0]).expect("schema 1");
            conn.pragma_update(None, "user_version", 1)
                .expect("version");
        }
        let err = Reader::open(&path).err().expect("refused");
        assert!(matches!(err, LedgerError::Older { found: 1, .. }), "{err}");
        let conn = Connection::open(&path).expect("still there");
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(v, 1, "untouched");
    }

    #[test]
    fn a_missing_file_is_not_created() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("none.db");
        assert!(matches!(
            Reader::open(&path),
            Err(LedgerError::NoDatabase(_))
        ));
        assert!(!path.exists());
    }
}
