//! What every command's decision shares: who acts, what comes out, and the checks and lookups
//! the commands have in common.

use chrono::{DateTime, Utc};
use protocol::{ErrorCode, Role, TicketRef, TicketStatus};

use crate::rules::{CounterNo, DeviceId};
use crate::state::{Counter, Event, State, Ticket, TicketId};

/// Who sends a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub device: DeviceId,
    pub role: Role,
}

/// What the reply of an accepted command shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Ticket(TicketId),
    Counter(CounterNo),
    /// A booking, by its code.
    Appointment(String),
    Nothing,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub events: Vec<Event>,
    pub subject: Subject,
}

/// A business rejection: a value, not a failure of the hub.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Rejection {
    pub code: ErrorCode,
    pub message: String,
}

pub(super) fn reject<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection {
        code,
        message: message.into(),
    })
}

/// Everything a command needs besides the state that a pure function cannot make itself.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub now: DateTime<Utc>,
    /// Unguessable token for a ticket's tracking page, used by `issue_ticket` and `check_in`.
    pub fresh_track: &'a str,
    /// An unused, unguessable booking code, used only by `book_appointment`.
    pub fresh_code: &'a str,
}

pub(super) fn done(events: Vec<Event>, subject: Subject) -> Result<Decision, Rejection> {
    Ok(Decision { events, subject })
}

pub(super) fn called(c: &Counter, ticket: TicketId, recall: bool) -> Event {
    let staff = c
        .session
        .as_ref()
        .map(|s| s.staff.clone())
        .unwrap_or_default();
    Event::TicketCalled {
        ticket,
        counter: c.number,
        staff,
        recall,
    }
}

pub(super) fn check_rating(rating: Option<u8>) -> Result<Option<u8>, Rejection> {
    match rating {
        Some(r) if !(1..=4).contains(&r) => {
            reject(ErrorCode::BadRequest, "rating must be 1, 2, 3 or 4")
        }
        r => Ok(r),
    }
}

pub(super) fn find_ticket<'a>(state: &'a State, r: &TicketRef) -> Result<&'a Ticket, Rejection> {
    let found = match r {
        TicketRef::Id(id) => state.ticket(TicketId(*id)),
        TicketRef::Number(n) => state.ticket_by_label(n),
    };
    found.ok_or(Rejection {
        code: ErrorCode::NotFound,
        message: "no such ticket today".into(),
    })
}

pub(super) fn own_counter<'a>(state: &'a State, actor: &Actor) -> Result<&'a Counter, Rejection> {
    state
        .counter_of_device(actor.device.as_str())
        .ok_or(Rejection {
            code: ErrorCode::Forbidden,
            message: "log in to a counter first".into(),
        })
}

pub(super) fn ensure_not_paused(c: &Counter) -> Result<(), Rejection> {
    if c.paused {
        return reject(
            ErrorCode::InvalidState,
            "the counter is paused; resume it first",
        );
    }
    Ok(())
}

/// The counter's current ticket, which must be in one of `states`.
pub(super) fn current<'a>(
    state: &'a State,
    actor: &Actor,
    states: &[TicketStatus],
    what: &str,
) -> Result<(&'a Counter, TicketId), Rejection> {
    let c = own_counter(state, actor)?;
    let Some(t) = c.current.and_then(|id| state.ticket(id)) else {
        return reject(
            ErrorCode::InvalidState,
            format!("no current ticket to {what}"),
        );
    };
    if !states.contains(&t.status) {
        return reject(
            ErrorCode::InvalidState,
            format!("cannot {what} ticket {} now", t.label),
        );
    }
    Ok((c, t.id))
}

/// Calling the next citizen while one is in service finishes that service first; a citizen who
/// was called but not yet served must be recalled, started, transferred or marked no-show.
pub(super) fn finish_in_service(state: &State, c: &Counter) -> Result<Vec<Event>, Rejection> {
    match c.current.and_then(|id| state.ticket(id)) {
        None => Ok(vec![]),
        Some(t) if t.status == TicketStatus::Serving => Ok(vec![Event::TicketFinished {
            ticket: t.id,
            rating: None,
        }]),
        Some(t) => reject(
            ErrorCode::InvalidState,
            format!(
                "ticket {} was called and not served yet: recall it, start it or mark it no-show",
                t.label
            ),
        ),
    }
}
