//! `decide`: what a command does to the state, as events or a rejection. Pure: time comes in as
//! an argument, as does the random tracking token of a new ticket.

use chrono::{DateTime, Utc};
use protocol::{Command, ErrorCode, Role, TicketRef, TicketStatus};

use super::rules::{CounterNo, Rules, ServiceId};
use super::select::select_next;
use super::state::{Counter, Event, State, TicketId};

/// Who sends a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub device: String,
    pub role: Role,
}

/// What the reply of an accepted command shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Ticket(TicketId),
    Counter(CounterNo),
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

fn reject<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection {
        code,
        message: message.into(),
    })
}

/// Everything a command needs besides the state that a pure function cannot make itself.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub now: DateTime<Utc>,
    /// Unguessable token for a ticket's tracking page, used only by `issue_ticket`.
    pub fresh_track: &'a str,
}

fn allowed(role: Role, command: &Command) -> bool {
    use Command as C;
    match command {
        C::IssueTicket { .. } => matches!(role, Role::Kiosk | Role::Admin),
        C::Login { .. }
        | C::Logout {}
        | C::CallNext {}
        | C::Recall {}
        | C::CallTicket { .. }
        | C::StartServing {}
        | C::Finish { .. }
        | C::NoShow {}
        | C::Transfer { .. }
        | C::Pause {}
        | C::Resume {} => role == Role::Counter,
        C::Rate { .. } => matches!(role, Role::Counter | Role::Kiosk | Role::Admin),
        C::DeviceStatus { .. } => true,
        C::CancelTicket { .. }
        | C::SetCounterServices { .. }
        | C::SetServiceOpen { .. }
        | C::CloseCounter { .. } => role == Role::Admin,
    }
}

pub fn decide(
    rules: &Rules,
    state: &State,
    actor: &Actor,
    command: &Command,
    cx: Context<'_>,
) -> Result<Decision, Rejection> {
    if !allowed(actor.role, command) {
        return reject(
            ErrorCode::Forbidden,
            format!("a {} may not {}", actor.role.as_str(), command.name()),
        );
    }
    use Command as C;
    match command {
        C::IssueTicket { service, priority } => {
            issue(rules, state, actor, service, priority.as_deref(), cx)
        }
        C::Login { counter, staff, .. } => login(rules, state, actor, CounterNo(*counter), staff),
        C::Logout {} => {
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
        C::CallNext {} => {
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
        C::CallTicket { number } => {
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
        C::Recall {} => {
            let (c, t) = current(state, actor, &[TicketStatus::Called], "recall")?;
            done(vec![called(c, t, true)], Subject::Ticket(t))
        }
        C::StartServing {} => {
            let (_, t) = current(state, actor, &[TicketStatus::Called], "start serving")?;
            done(vec![Event::TicketServing { ticket: t }], Subject::Ticket(t))
        }
        C::Finish { rating } => {
            let rating = check_rating(*rating)?;
            let (_, t) = current(
                state,
                actor,
                &[TicketStatus::Called, TicketStatus::Serving],
                "finish",
            )?;
            // Finishing a ticket that was never started counts its service from the call.
            done(
                vec![Event::TicketFinished { ticket: t, rating }],
                Subject::Ticket(t),
            )
        }
        C::NoShow {} => {
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
        C::Transfer { service, counter } => {
            let (c, t) = current(
                state,
                actor,
                &[TicketStatus::Called, TicketStatus::Serving],
                "transfer",
            )?;
            let ticket_service = state.ticket(t).map(|t| t.service.clone());
            let to_service = match service {
                Some(s) => {
                    let id = ServiceId(s.clone());
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
                    let n = CounterNo(*n);
                    if !rules.counters.contains_key(&n) {
                        return reject(ErrorCode::UnknownCounter, format!("no counter {n}"));
                    }
                    if n == c.number {
                        return reject(
                            ErrorCode::BadRequest,
                            "cannot transfer to the same counter",
                        );
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
        C::Pause {} => {
            let c = own_counter(state, actor)?;
            let events = if c.paused {
                vec![]
            } else {
                vec![Event::CounterPaused { counter: c.number }]
            };
            done(events, Subject::Counter(c.number))
        }
        C::Resume {} => {
            let c = own_counter(state, actor)?;
            let events = if c.paused {
                vec![Event::CounterResumed { counter: c.number }]
            } else {
                vec![]
            };
            done(events, Subject::Counter(c.number))
        }
        C::Rate { ticket, rating } => {
            let Some(rating) = check_rating(Some(*rating))? else {
                return reject(ErrorCode::BadRequest, "rating is required");
            };
            let t = find_ticket(state, ticket)?;
            if t.status != TicketStatus::Done {
                return reject(
                    ErrorCode::InvalidState,
                    format!("ticket {} is not finished", t.label),
                );
            }
            if t.rating.is_some() {
                return reject(
                    ErrorCode::InvalidState,
                    format!("ticket {} is already rated", t.label),
                );
            }
            done(
                vec![Event::TicketRated {
                    ticket: t.id,
                    rating,
                }],
                Subject::Ticket(t.id),
            )
        }
        C::DeviceStatus { status } => {
            let valid = !status.is_empty()
                && status.len() <= 40
                && status
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                return reject(
                    ErrorCode::BadRequest,
                    "status must be a short snake_case word such as paper_out",
                );
            }
            let unchanged = state.device_status.get(&actor.device) == Some(status);
            let events = if unchanged {
                vec![]
            } else {
                vec![Event::DeviceStatus {
                    device: actor.device.clone(),
                    status: status.clone(),
                }]
            };
            done(events, Subject::Nothing)
        }
        C::CancelTicket { ticket } => {
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
        C::SetCounterServices { counter, services } => {
            let n = CounterNo(*counter);
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
        C::SetServiceOpen { service, open } => {
            let id = ServiceId(service.clone());
            let Some(day) = state
                .services
                .get(&id)
                .filter(|_| rules.services.contains_key(&id))
            else {
                return reject(ErrorCode::UnknownService, format!("no service {service:?}"));
            };
            let events = if day.admin_closed != *open {
                vec![]
            } else {
                vec![Event::ServiceChanged {
                    service: id,
                    admin_closed: !*open,
                    hours_open: day.hours_open,
                }]
            };
            done(events, Subject::Nothing)
        }
        C::CloseCounter { counter } => {
            let n = CounterNo(*counter);
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
    }
}

fn done(events: Vec<Event>, subject: Subject) -> Result<Decision, Rejection> {
    Ok(Decision { events, subject })
}

fn called(c: &Counter, ticket: TicketId, recall: bool) -> Event {
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

fn check_rating(rating: Option<u8>) -> Result<Option<u8>, Rejection> {
    match rating {
        Some(r) if !(1..=4).contains(&r) => {
            reject(ErrorCode::BadRequest, "rating must be 1, 2, 3 or 4")
        }
        r => Ok(r),
    }
}

fn find_ticket<'a>(state: &'a State, r: &TicketRef) -> Result<&'a super::state::Ticket, Rejection> {
    let found = match r {
        TicketRef::Id(id) => state.ticket(*id),
        TicketRef::Number(n) => state.ticket_by_label(n),
    };
    found.ok_or(Rejection {
        code: ErrorCode::NotFound,
        message: "no such ticket today".into(),
    })
}

fn own_counter<'a>(state: &'a State, actor: &Actor) -> Result<&'a Counter, Rejection> {
    state.counter_of_device(&actor.device).ok_or(Rejection {
        code: ErrorCode::Forbidden,
        message: "log in to a counter first".into(),
    })
}

fn ensure_not_paused(c: &Counter) -> Result<(), Rejection> {
    if c.paused {
        return reject(
            ErrorCode::InvalidState,
            "the counter is paused; resume it first",
        );
    }
    Ok(())
}

/// The counter's current ticket, which must be in one of `states`.
fn current<'a>(
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
fn finish_in_service(state: &State, c: &Counter) -> Result<Vec<Event>, Rejection> {
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

fn issue(
    rules: &Rules,
    state: &State,
    actor: &Actor,
    service: &str,
    priority: Option<&str>,
    cx: Context<'_>,
) -> Result<Decision, Rejection> {
    let id = ServiceId(service.to_string());
    let Some(rule) = rules.services.get(&id) else {
        return reject(ErrorCode::UnknownService, format!("no service {service:?}"));
    };
    if let Some(p) = priority
        && rules.category(p).is_none()
    {
        return reject(ErrorCode::BadRequest, format!("no priority category {p:?}"));
    }
    let day = state.services.get(&id);
    if day.is_some_and(|d| d.admin_closed) || !rules.within_hours(rule, cx.now) {
        return reject(
            ErrorCode::ServiceClosed,
            format!("{} is closed now", rule.name_vi),
        );
    }
    let next = day.map_or(rule.first_number, |d| d.next_number);
    let issued = day.map_or(0, |d| d.issued);
    if next > rule.last_number || rule.daily_limit.is_some_and(|l| issued >= l) {
        return reject(
            ErrorCode::DailyLimitReached,
            format!("{}: no more numbers today", rule.name_vi),
        );
    }
    let _ = actor;
    let ticket = state.next_ticket_id;
    let event = Event::TicketIssued {
        ticket,
        service: id,
        priority: priority.map(str::to_string),
        number: next,
        label: rule.label(next),
        track: cx.fresh_track.to_string(),
    };
    done(vec![event], Subject::Ticket(ticket))
}

fn login(
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
        .is_some_and(|s| s.device == actor.device && s.staff == staff)
    {
        return done(events, Subject::Counter(counter));
    }
    // Leaving another counter (this device's, or this clerk's elsewhere) closes it, unless a
    // citizen is still there.
    let mut others: Vec<&Counter> = Vec::new();
    for other in [
        state.counter_of_device(&actor.device),
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
        staff: staff.to_string(),
    });
    done(events, Subject::Counter(counter))
}
