//! What a kiosk's press does: a number in the service's range, priority if claimed.

use protocol::ErrorCode;

use super::common::{Actor, Context, Decision, Rejection, Subject, done, reject};
use crate::rules::{CategoryId, Rules, ServiceId};
use crate::state::{Event, State};

/// A ticket for `service`, priority when a category is claimed.
pub(super) fn issue(
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
        priority: priority.map(CategoryId::from),
        number: next,
        label: rule.label(next),
        track: cx.fresh_track.to_string(),
        appointment: None,
    };
    done(vec![event], Subject::Ticket(ticket))
}
