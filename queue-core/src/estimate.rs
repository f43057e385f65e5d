//! Waiting estimates: from the queue ahead, the counters open for the service and the service's
//! recent service times (the configured target until the day has some).

use super::rules::{Rules, ServiceId};
use super::state::State;

/// Average service time of a service in seconds.
pub fn average_service_secs(rules: &Rules, state: &State, service: &ServiceId) -> f64 {
    let recent = state.services.get(service).map(|d| &d.recent_service_secs);
    match recent {
        Some(r) if !r.is_empty() => r.iter().sum::<i64>() as f64 / r.len() as f64,
        _ => rules
            .services
            .get(service)
            .map_or(600.0, |s| s.target_service.num_seconds() as f64),
    }
}

/// Counters open now that would call a ticket of this service and class.
pub fn open_counters(state: &State, service: &ServiceId, priority: bool) -> u32 {
    state
        .counters
        .values()
        .filter(|c| c.is_open() && c.services.contains(service) && (priority || !c.priority_only))
        .count() as u32
}

/// Minutes until a ticket with `ahead` tickets before it is called; `None` when no counter that
/// serves it is open.
pub fn eta_minutes(
    rules: &Rules,
    state: &State,
    service: &ServiceId,
    ahead: u32,
    priority: bool,
) -> Option<u32> {
    Some(minutes_for(
        ahead,
        secs_per_ticket_ahead(rules, state, service, priority)?,
    ))
}

/// Seconds each waiting ticket ahead adds to the wait; `None` when no counter that serves the
/// service and class is open. The same for every ticket of a queue: a snapshot asks once.
pub fn secs_per_ticket_ahead(
    rules: &Rules,
    state: &State,
    service: &ServiceId,
    priority: bool,
) -> Option<f64> {
    let counters = open_counters(state, service, priority);
    (counters > 0).then(|| average_service_secs(rules, state, service) / f64::from(counters))
}

/// Minutes until the call with `ahead` tickets before, at `secs_per_ahead`.
pub fn minutes_for(ahead: u32, secs_per_ahead: f64) -> u32 {
    (f64::from(ahead) * secs_per_ahead / 60.0).ceil() as u32
}

/// Ahead-counts of every waiting ticket in the service's queue, in call order.
pub fn queue_positions(state: &State, service: &ServiceId) -> Vec<(super::state::TicketId, u32)> {
    let Some(day) = state.services.get(service) else {
        return vec![];
    };
    day.queue
        .iter()
        .enumerate()
        .map(|(i, k)| (k.id, i as u32))
        .collect()
}

/// How many waiting tickets of its service are ahead of a given waiting ticket.
pub fn ahead_of(state: &State, ticket: super::state::TicketId) -> Option<u32> {
    let t = state.ticket(ticket)?;
    if t.status != protocol::TicketStatus::Waiting {
        return None;
    }
    if let Some(c) = t.for_counter {
        let q = state.directed.get(&c)?;
        return Some(q.iter().take_while(|k| k.id != ticket).count() as u32);
    }
    let day = state.services.get(&t.service)?;
    if t.held {
        // Held for its slot: when it starts, everyone waiting now is still before it.
        return Some(day.queue.len() as u32);
    }
    let key = t.queue_key();
    // A new normal ticket is last: answer without walking the queue.
    if day.queue.last() == Some(&key) {
        return Some(day.queue.len() as u32 - 1);
    }
    Some(day.queue.range(..key).count() as u32)
}

/// Whether a waiting ticket has at most `limit` tickets ahead of it: walks at most `limit + 1`
/// places, so checking every followed ticket after each change stays cheap.
pub fn ahead_at_most(state: &State, ticket: super::state::TicketId, limit: u32) -> bool {
    let Some(t) = state.ticket(ticket) else {
        return false;
    };
    if t.status != protocol::TicketStatus::Waiting {
        return false;
    }
    let take = limit as usize + 1;
    if let Some(c) = t.for_counter {
        return state
            .directed
            .get(&c)
            .is_some_and(|q| q.iter().take(take).any(|k| k.id == ticket));
    }
    let Some(day) = state.services.get(&t.service) else {
        return false;
    };
    if t.held {
        return day.queue.len() <= limit as usize;
    }
    day.queue.range(..t.queue_key()).take(take).count() <= limit as usize
}
