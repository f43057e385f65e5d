//! What a clerk's commands do: login and logout, calling, serving, transfers, pauses.

use protocol::{ErrorCode, TicketStatus};

use super::common::{
    Actor, Decision, Rejection, Subject, called, check_rating, current, done, ensure_not_paused,
    finish_in_service, own_counter, reject,
};
use crate::rules::{CounterNo, Rules, ServiceId, StaffCode};
use crate::select::select_next;
use crate::state::{Counter, Event, State};

/// Logging out closes the counter; a ticket at the counter must be dealt with first.
pub(super) fn logout(state: &State, actor: &Actor) -> Result<Decision, Rejection> {
    let c = own_counter(state, actor)?;
    if c.current.is_some() {
        return reject(
            ErrorCode::InvalidState,
            "finish or transfer the current ticket before logging out",
        );
    }
    done(
        vec![Event::CounterClosed { counter: c.number }],
        Subject::Counter(c.number),
    )
}

/// Finishes what is in service and calls the next ticket by the calling rules.
pub(super) fn call_next(
    rules: &Rules,
    state: &State,
    actor: &Actor,
) -> Result<Decision, Rejection> {
    let c = own_counter(state, actor)?;
    ensure_not_paused(c)?;
    let mut events = finish_in_service(state, c)?;
    let Some(next) = select_next(rules, state, c) else {
        return reject(
            ErrorCode::QueueEmpty,
            "no ticket is waiting for this counter",
        );
    };
    events.push(called(c, next, false));
    done(events, Subject::Ticket(next))
}

/// Calls one ticket by its number (a waiting one, or a no-show who came back).
pub(super) fn call_ticket(
    state: &State,
    actor: &Actor,
    number: &str,
) -> Result<Decision, Rejection> {
    let c = own_counter(state, actor)?;
    ensure_not_paused(c)?;
    let Some(t) = state.ticket_by_label(number) else {
        return reject(ErrorCode::NotFound, format!("no ticket {number} today"));
    };
    if !matches!(t.status, TicketStatus::Waiting | TicketStatus::NoShow) {
        return reject(
            ErrorCode::InvalidState,
            format!("ticket {} is not waiting", t.label),
        );
    }
    let mut events = finish_in_service(state, c)?;
    events.push(called(c, t.id, false));
    done(events, Subject::Ticket(t.id))
}

/// Calls the current ticket again.
pub(super) fn recall(state: &State, actor: &Actor) -> Result<Decision, Rejection> {
    let (c, t) = current(state, actor, &[TicketStatus::Called], "recall")?;
    done(vec![called(c, t, true)], Subject::Ticket(t))
}

/// The citizen has arrived at the counter.
pub(super) fn start_serving(state: &State, actor: &Actor) -> Result<Decision, Rejection> {
    let (_, t) = current(state, actor, &[TicketStatus::Called], "start serving")?;
    done(vec![Event::TicketServing { ticket: t }], Subject::Ticket(t))
}

/// The citizen is served (rated or not).
pub(super) fn finish(
    rules: &Rules,
    state: &State,
    actor: &Actor,
    rating: Option<u8>,
) -> Result<Decision, Rejection> {
    let rating = check_rating(rating)?;
    let (counter, t) = current(
        state,
        actor,
        &[TicketStatus::Called, TicketStatus::Serving],
        "finish",
    )?;
    if rating.is_some() && rules.has_counter_display(counter.number) {
        return reject(ErrorCode::Forbidden, citizen_rates(counter.number));
    }
    // Finishing a ticket that was never started counts its service from the call.
    done(
        vec![Event::TicketFinished { ticket: t, rating }],
        Subject::Ticket(t),
    )
}

/// The citizen did not come, after the configured recalls.
pub(super) fn no_show(rules: &Rules, state: &State, actor: &Actor) -> Result<Decision, Rejection> {
    let (_, t) = current(state, actor, &[TicketStatus::Called], "mark as no-show")?;
    let recalls = state.ticket(t).map_or(0, |t| t.recalls);
    if recalls < rules.recalls_before_no_show {
        let left = rules.recalls_before_no_show - recalls;
        return reject(
            ErrorCode::InvalidState,
            format!("recall {left} more time(s) before marking a no-show"),
        );
    }
    done(vec![Event::TicketNoShow { ticket: t }], Subject::Ticket(t))
}

/// Sends the current ticket to another service's queue, or to one counter.
pub(super) fn transfer(
    rules: &Rules,
    state: &State,
    actor: &Actor,
    service: Option<&str>,
    counter: Option<u32>,
) -> Result<Decision, Rejection> {
    let (c, t) = current(
        state,
        actor,
        &[TicketStatus::Called, TicketStatus::Serving],
        "transfer",
    )?;
    let ticket_service = state.ticket(t).map(|t| t.service.clone());
    let to_service = match service {
        Some(s) => {
            let id = ServiceId(s.to_string());
            if !rules.services.contains_key(&id) {
                return reject(ErrorCode::UnknownService, format!("no service {s:?}"));
            }
            id
        }
        None => match (counter, ticket_service) {
            (Some(_), Some(s)) => s,
            _ => {
                return reject(
                    ErrorCode::BadRequest,
                    "transfer needs a service or a counter",
                );
            }
        },
    };
    let to_counter = match counter {
        Some(n) => {
            let n = CounterNo(n);
            if !rules.counters.contains_key(&n) {
                return reject(ErrorCode::UnknownCounter, format!("no counter {n}"));
            }
            if n == c.number {
                return reject(ErrorCode::BadRequest, "cannot transfer to the same counter");
            }
            Some(n)
        }
        None => None,
    };
    let events = vec![Event::TicketTransferred {
        ticket: t,
        service: to_service,
        counter: to_counter,
        keep_place: rules.transfer_keeps_place,
    }];
    done(events, Subject::Ticket(t))
}

/// A break: the counter calls nobody until it resumes.
pub(super) fn pause(state: &State, actor: &Actor) -> Result<Decision, Rejection> {
    let c = own_counter(state, actor)?;
    let events = if c.paused {
        vec![]
    } else {
        vec![Event::CounterPaused { counter: c.number }]
    };
    done(events, Subject::Counter(c.number))
}

/// Back from a break.
pub(super) fn resume(state: &State, actor: &Actor) -> Result<Decision, Rejection> {
    let c = own_counter(state, actor)?;
    let events = if c.paused {
        vec![Event::CounterResumed { counter: c.number }]
    } else {
        vec![]
    };
    done(events, Subject::Counter(c.number))
}

/// A clerk opens a counter (the PIN was checked by the hub before this).
pub(super) fn login(
    rules: &Rules,
    state: &State,
    actor: &Actor,
    counter: CounterNo,
    staff: &str,
) -> Result<Decision, Rejection> {
    let Some(target) = state.counters.get(&counter) else {
        return reject(ErrorCode::UnknownCounter, format!("no counter {counter}"));
    };
    if !rules.staff_names.contains_key(staff) {
        return reject(ErrorCode::Unauthorized, "wrong staff code or PIN");
    }
    let mut events = Vec::new();
    // The same clerk on the same device: nothing to do (a retried or repeated login).
    if target
        .session
        .as_ref()
        .is_some_and(|s| s.device == actor.device && s.staff.as_str() == staff)
    {
        return done(events, Subject::Counter(counter));
    }
    // Leaving another counter (this device's, or this clerk's elsewhere) closes it, unless a
    // citizen is still there.
    let mut others: Vec<&Counter> = Vec::new();
    for other in [
        state.counter_of_device(actor.device.as_str()),
        state.counter_of_staff(staff),
    ]
    .into_iter()
    .flatten()
    {
        if other.number != counter && !others.iter().any(|o| o.number == other.number) {
            others.push(other);
        }
    }
    for other in others {
        if other.current.is_some() {
            return reject(
                ErrorCode::InvalidState,
                format!(
                    "counter {} still has a ticket; finish or transfer it first",
                    other.number
                ),
            );
        }
        events.push(Event::CounterClosed {
            counter: other.number,
        });
    }
    events.push(Event::CounterOpened {
        counter,
        device: actor.device.clone(),
        staff: StaffCode::from(staff),
    });
    done(events, Subject::Counter(counter))
}

/// Why a counter with a counter display may not rate its own tickets.
pub(super) fn citizen_rates(counter: CounterNo) -> String {
    format!(
        "counter {counter} has a screen facing the citizen: the citizen rates the service there; \
         finish without a rating"
    )
}
