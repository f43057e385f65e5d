//! What a citizen decides from the tracking page, with no device of the centre's: giving the
//! place up.

use protocol::{ErrorCode, TicketStatus};

use super::common::{Decision, Rejection, Subject, done, reject};
use crate::state::{Event, State, TicketId};

/// The device name a citizen's own changes are recorded under (the event's `by`).
pub const CITIZEN: &str = "citizen";

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
