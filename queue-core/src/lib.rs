//! The queue core: numbering, priority, calling, overdue and waiting estimates.
//!
//! **Architecture invariant:** nothing here does I/O or reads the clock. Time and randomness are
//! arguments, so every rule is reproducible in tests, in the day simulator, on replay and under
//! the fuzzer. The crate cannot break this by accident: it depends on no crate that can do I/O,
//! and `scripts/check-deps` (run by CI) fails if one appears in its dependency tree.
//!
//! The shape is a decider: `decide(command, state) -> events`, `State::evolve(event)`, and
//! `tick(now)` for what time alone causes. `views` projects the state onto the wire types;
//! `figures` turns ticket rows into managers' figures; `persisted` is the log's on-disk form.

pub mod appointments;
pub mod booking_figures;
pub mod clock;
pub mod decide;
pub mod estimate;
pub mod figures;
pub mod persisted;
pub mod rules;
pub mod sample;
pub mod select;
pub mod state;
pub mod views;

#[cfg(test)]
mod tests;

pub use clock::{next_deadline, tick};
pub use decide::{Actor, Context, Decision, Rejection, Subject, decide};
pub use persisted::Recorded;
pub use rules::{
    Category, CategoryId, CommandId, CounterNo, CounterRule, DeviceId, Hours, Rules, ServiceId,
    ServiceRule, StaffCode,
};
pub use state::{CarriedSession, Event, Phase, RatedBy, State, Ticket, TicketId};
pub use views::{Before, CenterInfo, Views};
