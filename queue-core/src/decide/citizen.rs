//! What a citizen decides from the tracking page, with no device of the centre's: giving the
//! place up, following the ticket from afar (push, SMS) — and what the log keeps of the notices.

use protocol::{ErrorCode, FollowChannel, NoticeKind, TicketStatus};

use super::common::{Decision, Rejection, Subject, done, reject};
use crate::state::{Event, State, TicketId};

/// The device name a citizen's own changes are recorded under (the event's `by`).
pub const CITIZEN: &str = protocol::CITIZEN_ACTOR;

/// The citizen gives the place up, so that the board and the counters stop counting them. Only
/// while waiting: once called, the clerk at the counter decides (a no-show, or serving).
pub fn leave(state: &State, ticket: TicketId) -> Result<Decision, Rejection> {
    let Some(t) = state.ticket(ticket) else {
        return reject(ErrorCode::NotFound, "no such ticket today");
    };
    if t.status != TicketStatus::Waiting {
        return reject(
            ErrorCode::InvalidState,
            format!(
                "ticket {} is no longer waiting, so its place cannot be given up here",
                t.label
            ),
        );
    }
    done(
        vec![Event::TicketCancelled { ticket: t.id }],
        Subject::Ticket(t.id),
    )
}

/// At most this many phones follow one ticket by push (a ticket's code is printed on paper: a
/// stranger who reads it must not flood the hub with subscriptions).
pub const MAX_PUSH_FOLLOWERS: usize = 2;

/// A phone starts following the ticket from afar. `replaces`: the follower it takes the place
/// of (the same browser subscribing again, maybe with new keys).
pub fn follow(
    state: &State,
    ticket: TicketId,
    channel: FollowChannel,
    sealed: String,
    replaces: Option<u8>,
) -> Result<Decision, Rejection> {
    let Some(t) = state.ticket(ticket).filter(|t| t.status.is_active()) else {
        return reject(
            ErrorCode::NotFound,
            "no ticket of today in the queue has this code",
        );
    };
    let following = state.following.get(&ticket);
    let others = following.map_or(0, |f| {
        f.followers
            .iter()
            .filter(|x| x.channel == channel && Some(x.id) != replaces)
            .count()
    });
    if channel == FollowChannel::Push && others >= MAX_PUSH_FOLLOWERS {
        return reject(
            ErrorCode::LimitReached,
            format!(
                "ticket {} is already followed by {MAX_PUSH_FOLLOWERS} phones",
                t.label
            ),
        );
    }
    let next = following.map_or(0, |f| f.next_id);
    if next == u8::MAX {
        return reject(
            ErrorCode::LimitReached,
            "this ticket was followed too many times",
        );
    }
    let mut events = Vec::new();
    if let Some(old) =
        replaces.filter(|r| following.is_some_and(|f| f.followers.iter().any(|x| x.id == *r)))
    {
        events.push(Event::TicketUnfollowed {
            ticket,
            follower: old,
            gone: false,
        });
    }
    events.push(Event::TicketFollowed {
        ticket,
        follower: next,
        channel,
        sealed,
    });
    done(events, Subject::Ticket(ticket))
}

/// The citizen stops following by `channel` (every phone that did).
pub fn unfollow(
    state: &State,
    ticket: TicketId,
    channel: FollowChannel,
) -> Result<Decision, Rejection> {
    if state.ticket(ticket).is_none() {
        return reject(ErrorCode::NotFound, "no ticket of today has this code");
    }
    let events = state
        .following
        .get(&ticket)
        .map(|f| {
            f.followers
                .iter()
                .filter(|x| x.channel == channel)
                .map(|x| Event::TicketUnfollowed {
                    ticket,
                    follower: x.id,
                    gone: false,
                })
                .collect()
        })
        .unwrap_or_default();
    done(events, Subject::Ticket(ticket))
}

/// How a notice's sending ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// Failed for good, after the retries.
    Failed,
    /// The push service says the subscription no longer exists (`404`, `410`).
    Gone,
}

/// What the log keeps of a notice's end: nothing for a follower no longer there.
pub fn notified(
    state: &State,
    ticket: TicketId,
    follower: u8,
    notice: NoticeKind,
    delivery: Delivery,
) -> Vec<Event> {
    let present = state
        .following
        .get(&ticket)
        .is_some_and(|f| f.followers.iter().any(|x| x.id == follower));
    if !present {
        return vec![];
    }
    match delivery {
        Delivery::Gone => vec![Event::TicketUnfollowed {
            ticket,
            follower,
            gone: true,
        }],
        Delivery::Delivered | Delivery::Failed => vec![Event::TicketNotified {
            ticket,
            follower,
            notice,
            delivered: delivery == Delivery::Delivered,
        }],
    }
}

/// The followers to tell "near" now: not yet told, of a waiting ticket with at most `near_ahead`
/// people before it. Cheap for many followers: it counts at most `near_ahead + 1` places each.
pub fn due_near(
    state: &State,
    near_ahead: impl Fn(&crate::rules::ServiceId) -> u32,
) -> Vec<(TicketId, u8)> {
    let mut due = Vec::new();
    for (id, f) in &state.following {
        if f.followers.iter().all(|x| x.told_near) {
            continue;
        }
        let Some(t) = state.ticket(*id) else { continue };
        if !crate::estimate::ahead_at_most(state, *id, near_ahead(&t.service)) {
            continue;
        }
        due.extend(
            f.followers
                .iter()
                .filter(|x| !x.told_near)
                .map(|x| (*id, x.id)),
        );
    }
    due
}
