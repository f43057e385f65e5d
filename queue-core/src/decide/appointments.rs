//! Appointments: booking a slot, cancelling it, and checking in at the kiosk for a ticket.

use chrono::{DateTime, Utc};
use protocol::{ErrorCode, TicketStatus};

use super::common::{Context, Decision, Rejection, Subject, done, reject};
use crate::appointments::{
    BookingStatus, Holder, check_in_window, normalise_code, slot_at, within_days_ahead,
};
use crate::rules::{Rules, ServiceId};
use crate::state::{Event, Seat, State};

/// A place in `service`'s slot starting at `start`, for `holder`, under the code the context
/// brings.
pub fn book(
    rules: &Rules,
    state: &State,
    service: &str,
    start: DateTime<Utc>,
    holder: Holder,
    cx: Context<'_>,
) -> Result<Decision, Rejection> {
    let id = ServiceId::from(service);
    let Some(rule) = rules.services.get(&id).filter(|r| r.appointments.is_some()) else {
        return reject(
            ErrorCode::UnknownService,
            format!("no service {service:?} takes appointments"),
        );
    };
    let Some(slot) = slot_at(rules, rule, start) else {
        return reject(
            ErrorCode::NotBookable,
            "that time is not the start of a slot",
        );
    };
    if slot.start <= cx.now {
        return reject(ErrorCode::NotBookable, "that slot has already started");
    }
    let date = slot.start.with_timezone(&rules.tz).date_naive();
    if !within_days_ahead(rules, rule, date, cx.now) {
        return reject(ErrorCode::NotBookable, "that day cannot be booked yet");
    }
    if state.book.free(rules, rule, slot.start, cx.now) == 0 {
        return reject(ErrorCode::SlotFull, "that slot is full");
    }
    let limit = rules.appointment_limits.per_phone_per_day;
    if matches!(holder, Holder::Phone(_))
        && state
            .book
            .held_by(rules, &holder, rules.service_day(slot.start))
            >= limit
    {
        return reject(
            ErrorCode::LimitReached,
            format!("this phone number already holds {limit} bookings for that day"),
        );
    }
    if cx.fresh_code.is_empty() || state.book.get(cx.fresh_code).is_some() {
        return reject(ErrorCode::Internal, "no fresh booking code");
    }
    let code = cx.fresh_code.to_string();
    let event = Event::AppointmentBooked {
        code: code.clone(),
        service: id,
        start: slot.start,
        holder,
    };
    done(vec![event], Subject::Appointment(code))
}

/// Cancels a booking; `holder`, when given, must be the one who booked (anyone else is told
/// the code does not exist). Cancelling twice is answered like the first time.
pub fn cancel(state: &State, code: &str, holder: Option<&Holder>) -> Result<Decision, Rejection> {
    let unknown = || reject(ErrorCode::NotFound, "no booking with this code");
    let Some(code) = normalise_code(code) else {
        return unknown();
    };
    let Some(b) = state.book.get(&code) else {
        return unknown();
    };
    if holder.is_some_and(|h| *h != b.holder) {
        return unknown();
    }
    match b.status {
        BookingStatus::Booked => done(
            vec![Event::AppointmentCancelled { code: code.clone() }],
            Subject::Appointment(code),
        ),
        BookingStatus::Cancelled => done(vec![], Subject::Appointment(code)),
        BookingStatus::CheckedIn => reject(ErrorCode::InvalidState, "already checked in"),
        BookingStatus::Missed => reject(
            ErrorCode::InvalidState,
            "its check-in time is over: nothing to cancel",
        ),
    }
}

/// The ticket of a booking, at the kiosk: the same one again for a code already checked in.
pub fn check_in(
    rules: &Rules,
    state: &State,
    code: &str,
    cx: Context<'_>,
) -> Result<Decision, Rejection> {
    let unknown = || {
        reject(
            ErrorCode::NotFound,
            "Không tìm thấy lịch hẹn với mã này. / No booking with this code.",
        )
    };
    let Some(code) = normalise_code(code) else {
        return unknown();
    };
    let Some(b) = state.book.get(&code) else {
        return unknown();
    };
    let Some((from, until)) = check_in_window(rules, &b.service, b.start) else {
        return unknown();
    };
    let hm = |t: DateTime<Utc>| t.with_timezone(&rules.tz).format("%H:%M").to_string();
    let day = |t: DateTime<Utc>| t.with_timezone(&rules.tz).format("%d/%m/%Y").to_string();
    let late = || {
        reject(
            ErrorCode::AppointmentLate,
            format!(
                "Đã hết giờ nhận số cho lịch hẹn này (đến {} ngày {}). Quý khách có thể lấy số thường. / Check-in for this appointment closed at {} on {}; you may take a normal ticket.",
                hm(until),
                day(until),
                hm(until),
                day(until)
            ),
        )
    };
    match b.status {
        BookingStatus::Cancelled => return unknown(),
        BookingStatus::Missed => return late(),
        BookingStatus::CheckedIn => {
            return match b.ticket.and_then(|t| state.ticket(t)) {
                Some(t) => done(vec![], Subject::Ticket(t.id)),
                None => late(),
            };
        }
        BookingStatus::Booked => {}
    }
    if cx.now < from {
        return reject(
            ErrorCode::AppointmentEarly,
            format!(
                "Chưa đến giờ nhận số: lịch hẹn lúc {} ngày {}, nhận số từ {}. / Too early: the appointment is at {} on {}; check-in opens at {}.",
                hm(b.start),
                day(b.start),
                hm(from),
                hm(b.start),
                day(b.start),
                hm(from)
            ),
        );
    }
    // The window is [from, until): at `until` the booking is missed.
    if cx.now >= until {
        return late();
    }
    let Some(rule) = rules.services.get(&b.service) else {
        return unknown();
    };
    let service_day = state.services.get(&b.service);
    if service_day.is_some_and(|d| d.admin_closed) {
        return reject(
            ErrorCode::ServiceClosed,
            format!("{} is closed now", rule.name_vi),
        );
    }
    let number = service_day.map_or(rule.first_number, |d| d.next_number);
    if number > rule.last_number {
        return reject(
            ErrorCode::DailyLimitReached,
            format!("{}: no more numbers today", rule.name_vi),
        );
    }
    // On time: its place is the one it would have had, issued at its slot's start. Early: held
    // out of the queue until then.
    let place = (cx.now >= b.start).then(|| state.place_as_of(b.start));
    let ticket = state.next_ticket_id;
    let events = vec![
        Event::TicketIssued {
            ticket,
            service: b.service.clone(),
            priority: None,
            number,
            label: rule.label(number),
            track: cx.fresh_track.to_string(),
            appointment: Some(Seat {
                code: code.clone(),
                start: b.start,
                place,
            }),
        },
        Event::AppointmentCheckedIn {
            code,
            ticket,
            number: rule.label(number),
        },
    ];
    done(events, Subject::Ticket(ticket))
}

/// What time does to appointments: held tickets join their queue when their slot starts, and
/// bookings whose check-in window closed without a check-in are missed.
pub fn due(state: &State, now: DateTime<Utc>) -> Vec<Event> {
    let queued = state
        .held
        .iter()
        .take_while(|(start, _)| *start <= now)
        .filter(|(_, id)| {
            state
                .ticket(*id)
                .is_some_and(|t| t.held && t.status == TicketStatus::Waiting)
        })
        .map(|&(start, ticket)| Event::TicketQueued {
            ticket,
            place: state.place_as_of(start),
        });
    let missed = state
        .book
        .missed_by(now)
        .map(|code| Event::AppointmentMissed {
            code: code.to_string(),
        });
    queued.chain(missed).collect()
}
