//! Which waiting ticket a counter calls next.
//!
//! 1. A ticket transferred to this very counter, oldest first.
//! 2. Otherwise priority before normal across the counter's services, then the counter's order of
//!    preference among its services, then the oldest place in the queue — except that after
//!    `max_priority_in_row` priority calls made while a normal ticket waited, the next call takes
//!    the best normal ticket, so normal tickets never starve.
//! 3. A priority-only counter takes priority tickets only.
//!
//! Whenever a ticket this counter may serve is waiting, one is chosen: a counter asking for the
//! next ticket never leaves one waiting.

use super::rules::Rules;
use super::state::{Counter, QueueKey, State, TicketId};

pub fn select_next(rules: &Rules, state: &State, counter: &Counter) -> Option<TicketId> {
    if let Some(key) = state.directed.get(&counter.number).and_then(|q| q.first()) {
        return Some(key.id);
    }
    // Best (rank, key) of each class over the counter's services, rank = order of preference.
    let mut best_priority: Option<(usize, QueueKey)> = None;
    let mut best_normal: Option<(usize, QueueKey)> = None;
    for (rank, service) in counter.services.iter().enumerate() {
        let Some(queue) = state.services.get(service).map(|d| &d.queue) else {
            continue;
        };
        if best_priority.is_none()
            && let Some(k) = queue.first().filter(|k| !k.normal)
        {
            best_priority = Some((rank, *k));
        }
        if best_normal.is_none()
            && let Some(k) = queue.iter().next_back().filter(|k| k.normal)
        {
            // The first normal key: the smallest key that is normal.
            let first_normal = queue
                .range(
                    QueueKey {
                        normal: true,
                        place: 0,
                        id: TicketId(0),
                    }..,
                )
                .next()
                .copied()
                .unwrap_or(*k);
            best_normal = Some((rank, first_normal));
        }
    }
    if counter.priority_only {
        return best_priority.map(|(_, k)| k.id);
    }
    match (best_priority, best_normal) {
        (Some((_, p)), Some(_)) if counter.priority_streak < rules.max_priority_in_row => {
            Some(p.id)
        }
        (_, Some((_, n))) => Some(n.id),
        (Some((_, p)), None) => Some(p.id),
        (None, None) => None,
    }
}
