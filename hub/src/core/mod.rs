//! The queue core: numbering, priority, calling, overdue and waiting estimates.
//!
//! **Architecture invariant:** nothing here does I/O or reads the clock. Time and randomness are
//! arguments, so every rule is reproducible in tests, in the day simulator and on replay.
//! The shape is a decider: `decide(command, state) -> events`, `State::evolve(event)`, and
//! `tick(now)` for what time alone causes.

pub mod clock;
pub mod decide;
pub mod estimate;
pub mod rules;
pub mod select;
pub mod state;

#[cfg(test)]
mod tests;

pub use clock::{next_deadline, tick};
pub use decide::{Actor, Context, Decision, Rejection, Subject, decide};
pub use rules::{Category, CounterNo, CounterRule, Hours, Rules, ServiceId, ServiceRule};
pub use state::{CarriedSession, Event, Phase, State, Ticket, TicketId};
