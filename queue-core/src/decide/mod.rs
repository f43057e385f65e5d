//! `decide`: what a command does to the state, as events or a rejection. Pure: time comes in as
//! an argument, as does the random tracking token of a new ticket.
//!
//! The commands by who sends them: `issue` (kiosks), `counter` (clerks), `admin` (ratings,
//! device statuses and the admin's steering); `common` holds what they share.

use protocol::{Command, ErrorCode, Role};

use crate::appointments::Holder;
use crate::rules::{CounterNo, Rules};
use crate::state::State;

mod admin;
pub mod appointments;
pub mod citizen;
mod common;
mod counter;
mod issue;

use common::reject;
pub use common::{Actor, Context, Decision, Rejection, Subject};

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
        C::Rate { .. } => matches!(role, Role::Counter | Role::CounterDisplay),
        C::DeviceStatus { .. } => true,
        C::CancelTicket { .. }
        | C::SetCounterServices { .. }
        | C::SetServiceOpen { .. }
        | C::SetNotice { .. }
        | C::CloseCounter { .. }
        | C::BookAppointment { .. }
        | C::CancelAppointment { .. } => role == Role::Admin,
        C::CheckIn { .. } => matches!(role, Role::Kiosk | Role::Admin),
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
        C::IssueTicket {
            service, priority, ..
        } => issue::issue(rules, state, actor, service, priority.as_deref(), cx),
        C::Login { counter, staff, .. } => {
            counter::login(rules, state, actor, CounterNo(*counter), staff)
        }
        C::Logout {} => counter::logout(state, actor),
        C::CallNext {} => counter::call_next(rules, state, actor),
        C::CallTicket { number } => counter::call_ticket(state, actor, number),
        C::Recall {} => counter::recall(state, actor),
        C::StartServing {} => counter::start_serving(state, actor),
        C::Finish { rating } => counter::finish(rules, state, actor, *rating),
        C::NoShow {} => counter::no_show(rules, state, actor),
        C::Transfer { service, counter } => {
            counter::transfer(rules, state, actor, service.as_deref(), *counter)
        }
        C::Pause {} => counter::pause(state, actor),
        C::Resume {} => counter::resume(state, actor),
        C::Rate {
            ticket,
            rating,
            reasons,
        } => admin::rate(rules, state, actor, (ticket, *rating, reasons), cx.now),
        C::DeviceStatus { status } => admin::device_status(state, actor, status, cx.now),
        C::CancelTicket { ticket } => admin::cancel_ticket(state, ticket),
        C::SetCounterServices { counter, services } => {
            admin::set_counter_services(rules, state, *counter, services)
        }
        C::SetServiceOpen { service, open } => {
            admin::set_service_open(rules, state, service, *open)
        }
        C::CloseCounter { counter } => admin::close_counter(state, *counter),
        C::SetNotice { notice } => admin::set_notice(state, notice),
        C::CheckIn { code, .. } => appointments::check_in(rules, state, code, cx),
        C::BookAppointment { service, start } => appointments::book(
            rules,
            state,
            service,
            start.with_timezone(&chrono::Utc),
            Holder::Staff,
            cx,
        ),
        C::CancelAppointment { code } => appointments::cancel(state, code, None),
    }
}
