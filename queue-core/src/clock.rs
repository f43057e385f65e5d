//! What happens because time passes: overdue tickets, the new service day, services opening and
//! closing by their hours. The hub calls `tick` before every batch of commands and whenever
//! `next_deadline` is reached, so every client hears it from one clock.

use chrono::{DateTime, TimeDelta, Utc};

use super::rules::Rules;
use super::state::{Event, State};

/// Events due at `now`, in the order they must be applied.
pub fn tick(rules: &Rules, state: &State, now: DateTime<Utc>) -> Vec<Event> {
    let today = rules.service_day(now);
    if today > state.day {
        // Everything still waiting or at a counter expires with the old day.
        return vec![Event::DayStarted {
            day: today,
            next_ticket_id: state.next_ticket_id,
            sessions: state.sessions(),
        }];
    }
    let mut events: Vec<Event> = state
        .deadlines
        .iter()
        .take_while(|(due, _, _)| *due <= now)
        .map(|&(_, ticket, phase)| Event::TicketOverdue { ticket, phase })
        .collect();
    events.extend(crate::decide::appointments::due(state, now));
    for (id, rule) in &rules.services {
        let Some(day) = state.services.get(id) else {
            continue;
        };
        let open = rules.within_hours(rule, now);
        if open != day.hours_open {
            events.push(Event::ServiceChanged {
                service: id.clone(),
                admin_closed: day.admin_closed,
                hours_open: open,
            });
        }
    }
    events
}

/// The next instant at which `tick` may have something to say.
pub fn next_deadline(rules: &Rules, state: &State, now: DateTime<Utc>) -> DateTime<Utc> {
    let mut next = rules.next_day_start(state.day);
    if let Some((due, _, _)) = state.deadlines.first() {
        next = next.min(*due);
    }
    if let Some((start, _)) = state.held.first() {
        next = next.min(*start);
    }
    if let Some(close) = state.book.next_window_close() {
        next = next.min(close);
    }
    if rules.has_hour_boundaries() {
        // Hours are given to the minute: look again at the start of the next minute.
        let secs = now.timestamp();
        let next_minute =
            DateTime::from_timestamp(secs - secs.rem_euclid(60) + 60, 0).unwrap_or(now);
        next = next.min(next_minute);
    }
    next.max(now - TimeDelta::seconds(1))
}
