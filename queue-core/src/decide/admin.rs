//! What the centre's commands do: ratings, device statuses, and the admin's steering (cancel a
//! ticket, move a counter between services, open or close a service, close a counter, the
//! boards' notice).

use chrono::{DateTime, TimeDelta, Utc};
use protocol::{ErrorCode, Role, TicketRef, TicketStatus};

use super::common::{Actor, Decision, Rejection, Subject, check_rating, done, find_ticket, reject};
use crate::rules::{CounterNo, LOW_RATING, Rules, ServiceId};
use crate::state::{Event, RatedBy, State};

/// A citizen's rating of a finished ticket, once and soon after: from the counter's own screen
/// where it has one (the clerk being rated does not hold the buttons), else from the counter
/// that served it. The satisfaction figures a centre reports come from these.
pub(super) fn rate(
    rules: &Rules,
    state: &State,
    actor: &Actor,
    (ticket, rating, reasons): (&TicketRef, u8, &[String]),
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    let Some(rating) = check_rating(Some(rating))? else {
        return reject(ErrorCode::BadRequest, "rating is required");
    };
    let reasons = check_reasons(rules, rating, reasons)?;
    let t = find_ticket(state, ticket)?;
    let (own, source) = match actor.role {
        Role::CounterDisplay => (
            rules.counter_displays.get(&actor.device).copied(),
            RatedBy::Citizen,
        ),
        _ => (
            state
                .counter_of_device(actor.device.as_str())
                .map(|c| c.number),
            RatedBy::Counter,
        ),
    };
    if t.status != TicketStatus::Done {
        return reject(
            ErrorCode::InvalidState,
            format!("ticket {} is not finished", t.label),
        );
    }
    if own.is_none() || t.counter != own {
        return reject(
            ErrorCode::Forbidden,
            format!("only the counter that served {} may rate it", t.label),
        );
    }
    if let (RatedBy::Counter, Some(counter)) = (source, own)
        && rules.has_counter_display(counter)
    {
        return reject(ErrorCode::Forbidden, super::counter::citizen_rates(counter));
    }
    if t.rating.is_some() {
        return reject(
            ErrorCode::InvalidState,
            format!("ticket {} is already rated", t.label),
        );
    }
    if t.finished_at.is_none_or(|f| now - f > rules.rating_window) {
        return reject(
            ErrorCode::InvalidState,
            format!("ticket {} was finished too long ago to be rated", t.label),
        );
    }
    done(
        vec![Event::TicketRated {
            ticket: t.id,
            rating,
            reasons,
            source,
        }],
        Subject::Ticket(t.id),
    )
}

/// The reasons of a rating: configured ids, each once, in the configuration's order; only for a
/// low rating (a citizen pleased has nothing to explain).
fn check_reasons(rules: &Rules, rating: u8, reasons: &[String]) -> Result<Vec<String>, Rejection> {
    if reasons.is_empty() {
        return Ok(vec![]);
    }
    if rating > LOW_RATING {
        return reject(
            ErrorCode::BadRequest,
            format!("reasons are for ratings of {LOW_RATING} and below"),
        );
    }
    if let Some(unknown) = reasons
        .iter()
        .find(|r| !rules.rating_reasons.iter().any(|c| &c.id == *r))
    {
        return reject(
            ErrorCode::BadRequest,
            format!(
                "unknown reason {:?}",
                unknown.chars().take(40).collect::<String>()
            ),
        );
    }
    Ok(rules
        .rating_reasons
        .iter()
        .filter(|c| reasons.contains(&c.id))
        .map(|c| c.id.clone())
        .collect())
}

/// A device may change its status at most this often: each change is broadcast to every screen,
/// so a device flipping between two words would flood the boards. (The hub spaces a device's
/// changes by 2 s before they get here; this is the rule underneath.)
pub const STATUS_CHANGE_INTERVAL: TimeDelta = TimeDelta::seconds(1);

/// A device's state (`paper_out` …), kept only when it changes.
pub(super) fn device_status(
    state: &State,
    actor: &Actor,
    status: &protocol::DeviceState,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    let word = status.as_str();
    let valid = !word.is_empty()
        && word.len() <= 40
        && word
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        return reject(
            ErrorCode::BadRequest,
            "status must be a short snake_case word such as paper_out",
        );
    }
    let unchanged = state.device_status.get(&actor.device) == Some(status);
    if unchanged {
        return done(vec![], Subject::Nothing);
    }
    if let Some(last) = state.device_status_at.get(&actor.device)
        && now - *last < STATUS_CHANGE_INTERVAL
    {
        return reject(
            ErrorCode::RateLimited,
            "this device's status changes too often; report it again in a few seconds",
        );
    }
    done(
        vec![Event::DeviceStatus {
            device: actor.device.clone(),
            status: status.clone(),
        }],
        Subject::Nothing,
    )
}

/// The longest notice, in characters: what a board scrolls readably.
pub const NOTICE_MAX_CHARS: usize = 300;

/// The boards' notice for the rest of the day.
pub(super) fn set_notice(state: &State, notice: &str) -> Result<Decision, Rejection> {
    let notice = notice.split_whitespace().collect::<Vec<_>>().join(" ");
    if notice.chars().count() > NOTICE_MAX_CHARS {
        return reject(
            ErrorCode::BadRequest,
            format!("a notice has at most {NOTICE_MAX_CHARS} characters"),
        );
    }
    if notice.chars().any(char::is_control) {
        return reject(ErrorCode::BadRequest, "a notice is one line of text");
    }
    if state.notice.as_deref() == Some(notice.as_str()) {
        return done(vec![], Subject::Nothing);
    }
    done(vec![Event::NoticeChanged { notice }], Subject::Nothing)
}

/// Cancels a ticket that has not been served.
pub(super) fn cancel_ticket(state: &State, ticket: &TicketRef) -> Result<Decision, Rejection> {
    let t = find_ticket(state, ticket)?;
    if !matches!(t.status, TicketStatus::Waiting | TicketStatus::Called) {
        return reject(
            ErrorCode::InvalidState,
            format!("ticket {} is no longer waiting", t.label),
        );
    }
    done(
        vec![Event::TicketCancelled { ticket: t.id }],
        Subject::Ticket(t.id),
    )
}

/// Moves a counter to other services (in order of preference).
pub(super) fn set_counter_services(
    rules: &Rules,
    state: &State,
    counter: u32,
    services: &[String],
) -> Result<Decision, Rejection> {
    let n = CounterNo(counter);
    if !state.counters.contains_key(&n) {
        return reject(ErrorCode::UnknownCounter, format!("no counter {n}"));
    }
    let mut ids: Vec<ServiceId> = Vec::new();
    for s in services {
        let id = ServiceId(s.clone());
        if !rules.services.contains_key(&id) {
            return reject(ErrorCode::UnknownService, format!("no service {s:?}"));
        }
        if ids.contains(&id) {
            return reject(ErrorCode::BadRequest, format!("service {s:?} listed twice"));
        }
        ids.push(id);
    }
    if ids.is_empty() {
        return reject(
            ErrorCode::BadRequest,
            "a counter serves at least one service",
        );
    }
    done(
        vec![Event::CounterServicesSet {
            counter: n,
            services: ids,
        }],
        Subject::Counter(n),
    )
}

/// Opens or closes a service for the rest of the day.
pub(super) fn set_service_open(
    rules: &Rules,
    state: &State,
    service: &str,
    open: bool,
) -> Result<Decision, Rejection> {
    let id = ServiceId(service.to_string());
    let Some(day) = state
        .services
        .get(&id)
        .filter(|_| rules.services.contains_key(&id))
    else {
        return reject(ErrorCode::UnknownService, format!("no service {service:?}"));
    };
    let events = if day.admin_closed != open {
        vec![]
    } else {
        vec![Event::ServiceChanged {
            service: id,
            admin_closed: !open,
            hours_open: day.hours_open,
        }]
    };
    done(events, Subject::Nothing)
}

/// Closes a counter whose clerk has left without logging out.
pub(super) fn close_counter(state: &State, counter: u32) -> Result<Decision, Rejection> {
    let n = CounterNo(counter);
    let Some(c) = state.counters.get(&n) else {
        return reject(ErrorCode::UnknownCounter, format!("no counter {n}"));
    };
    if c.current.is_some() {
        return reject(
            ErrorCode::InvalidState,
            "the counter still has a ticket; transfer or finish it first",
        );
    }
    let events = if c.session.is_some() {
        vec![Event::CounterClosed { counter: n }]
    } else {
        vec![]
    };
    done(events, Subject::Counter(n))
}
