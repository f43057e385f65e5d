//! Rows as the rest of the hub sees them: typed, every value checked on the way out.

use chrono::{DateTime, NaiveDate, Utc};
use protocol::TicketStatus;

/// One ticket's current state, as the `tickets` table holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketRow {
    pub id: u64,
    /// The service day it was issued on.
    pub day: NaiveDate,
    pub number: String,
    pub service: String,
    pub priority: Option<String>,
    pub status: TicketStatus,
    pub issued_at: DateTime<Utc>,
    /// The first call (a recall does not move it).
    pub first_called_at: Option<DateTime<Utc>>,
    /// The latest call.
    pub called_at: Option<DateTime<Utc>>,
    pub serving_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub counter: Option<u32>,
    pub staff: Option<String>,
    pub recalls: u32,
    pub transfers: u32,
    pub overdue_wait: bool,
    pub overdue_service: bool,
    pub rating: Option<u8>,
    /// Who gave the rating.
    pub rated_by: Option<queue_core::RatedBy>,
    /// The reasons chosen with a low rating (configured ids).
    pub rating_reasons: Vec<String>,
    /// The event after which this state holds.
    pub seq: u64,
}

/// One event of the log, with its body as stored (format 1 of `queue_core::persisted`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub day: NaiveDate,
    /// The event's kind (`ticket_issued` …), as `queue_core::Event::kind` names it.
    pub kind: String,
    pub device: String,
    pub staff: Option<String>,
    pub body: String,
}

/// One booking's current state, as the `appointments` table holds it, with the first call of
/// its ticket (never who booked it).
#[derive(Debug, Clone, PartialEq)]
pub struct AppointmentRow {
    pub code: String,
    pub service: String,
    /// The service day of its slot.
    pub day: NaiveDate,
    pub start: DateTime<Utc>,
    pub status: queue_core::appointments::BookingStatus,
    pub booked_at: DateTime<Utc>,
    /// Booked by staff on a citizen's behalf (else by the citizen, with a phone number).
    pub by_staff: bool,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Its ticket, once checked in.
    pub ticket: Option<u64>,
    /// When its ticket was first called.
    pub called_at: Option<DateTime<Utc>>,
    /// Its service's target wait when it was written, in minutes.
    pub target_min: i64,
    pub seq: u64,
}

/// How a booking's status is written in the database (the wire's names).
pub fn booking_status_text(s: queue_core::appointments::BookingStatus) -> &'static str {
    use queue_core::appointments::BookingStatus as S;
    match s {
        S::Booked => "booked",
        S::CheckedIn => "checked_in",
        S::Cancelled => "cancelled",
        S::Missed => "missed",
    }
}

/// The booking status written as `text`, if this hub knows it.
pub fn booking_status_from_text(text: &str) -> Option<queue_core::appointments::BookingStatus> {
    use queue_core::appointments::BookingStatus as S;
    [S::Booked, S::CheckedIn, S::Cancelled, S::Missed]
        .into_iter()
        .find(|s| booking_status_text(*s) == text)
}

/// How the giver of a rating is written in the database.
pub fn rated_by_text(by: queue_core::RatedBy) -> &'static str {
    match by {
        queue_core::RatedBy::Citizen => "citizen",
        queue_core::RatedBy::Counter => "counter",
    }
}

/// The giver written as `text`, if this hub knows it.
pub fn rated_by_from_text(text: &str) -> Option<queue_core::RatedBy> {
    [queue_core::RatedBy::Citizen, queue_core::RatedBy::Counter]
        .into_iter()
        .find(|b| rated_by_text(*b) == text)
}

/// How a ticket status is written in the database (the wire's names).
pub fn status_text(s: TicketStatus) -> &'static str {
    use TicketStatus as S;
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

/// The status written as `text`, if this hub knows it.
pub fn status_from_text(text: &str) -> Option<TicketStatus> {
    use TicketStatus as S;
    [
        S::Waiting,
        S::Called,
        S::Serving,
        S::Done,
        S::NoShow,
        S::Transferred,
        S::Cancelled,
        S::Expired,
    ]
    .into_iter()
    .find(|s| status_text(*s) == text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_as_itself_and_its_wire_name() {
        for s in [
            TicketStatus::Waiting,
            TicketStatus::Called,
            TicketStatus::Serving,
            TicketStatus::Done,
            TicketStatus::NoShow,
            TicketStatus::Transferred,
            TicketStatus::Cancelled,
            TicketStatus::Expired,
        ] {
            assert_eq!(status_from_text(status_text(s)), Some(s));
            let wire = serde_json::to_value(s).expect("a status serialises");
            assert_eq!(wire.as_str(), Some(status_text(s)), "the wire's name");
        }
        assert_eq!(status_from_text("lost"), None);
    }
}
