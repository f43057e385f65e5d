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

/// The booking a kiosk's check-in names: one in the book, or one a province pass brings that
/// the hub has not heard of yet (the link to the province was down).
struct Named {
    code: String,
    service: ServiceId,
    start: DateTime<Utc>,
    /// From a pass, not in the book: booked here with its check-in.
    learned: bool,
}

/// The ticket of a booking, at the kiosk: the same one again for a code of the centre's own
/// already checked in. `code` is what was typed or scanned: a booking code, or the pass of a
/// booking made at the province's door, honoured offline and only once.
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
    let named = named(rules, state, code)?;
    let Named {
        code,
        service,
        start,
        learned,
    } = named;
    let Some((from, until)) = check_in_window(rules, &service, start) else {
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
    if let Some(b) = state.book.get(&code) {
        match b.status {
            BookingStatus::Cancelled => return unknown(),
            BookingStatus::Missed => return late(),
            // A province's booking is counted once: its pass (or code) used again is refused,
            // and says which number it gave.
            BookingStatus::CheckedIn if b.holder == Holder::Province => {
                let number = b.number.as_deref().unwrap_or("?");
                let at = b.checked_in_at.map(hm).unwrap_or_default();
                return reject(
                    ErrorCode::InvalidState,
                    format!(
                        "Lịch hẹn này đã được dùng để lấy số {number} lúc {at}. / This booking was already used for ticket {number} at {at}."
                    ),
                );
            }
            BookingStatus::CheckedIn => {
                return match b.ticket.and_then(|t| state.ticket(t)) {
                    Some(t) => done(vec![], Subject::Ticket(t.id)),
                    None => late(),
                };
            }
            BookingStatus::Booked => {}
        }
    }
    if cx.now < from {
        return reject(
            ErrorCode::AppointmentEarly,
            format!(
                "Chưa đến giờ nhận số: lịch hẹn lúc {} ngày {}, nhận số từ {}. / Too early: the appointment is at {} on {}; check-in opens at {}.",
                hm(start),
                day(start),
                hm(from),
                hm(start),
                day(start),
                hm(from)
            ),
        );
    }
    // The window is [from, until): at `until` the booking is missed.
    if cx.now >= until {
        return late();
    }
    let Some(rule) = rules.services.get(&service) else {
        return unknown();
    };
    let service_day = state.services.get(&service);
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
    let place = (cx.now >= start).then(|| state.place_as_of(start));
    let ticket = state.next_ticket_id;
    let mut events = Vec::with_capacity(3);
    if learned {
        events.push(Event::AppointmentBooked {
            code: code.clone(),
            service: service.clone(),
            start,
            holder: Holder::Province,
        });
    }
    events.extend([
        Event::TicketIssued {
            ticket,
            service: service.clone(),
            priority: None,
            number,
            label: rule.label(number),
            track: cx.fresh_track.to_string(),
            appointment: Some(Seat {
                code: code.clone(),
                start,
                place,
            }),
        },
        Event::AppointmentCheckedIn {
            code,
            ticket,
            number: rule.label(number),
        },
    ]);
    done(events, Subject::Ticket(ticket))
}

/// The booking a typed code or a scanned pass names.
fn named(rules: &Rules, state: &State, code: &str) -> Result<Named, Rejection> {
    if province_pass::looks_like_pass(code) {
        return from_pass(rules, state, code);
    }
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
    Ok(Named {
        service: b.service.clone(),
        start: b.start,
        code,
        learned: false,
    })
}

/// The booking a province pass names, if this centre honours it: signed by the province, for
/// this centre and a field that takes appointments, and not the code of another booking.
fn from_pass(rules: &Rules, state: &State, text: &str) -> Result<Named, Rejection> {
    let refuse = |message: &str| reject(ErrorCode::NotFound, message.to_string());
    let Some(passes) = &rules.province_passes else {
        return refuse(
            "Trung tâm này không nhận lịch hẹn đặt qua cổng dịch vụ của tỉnh. / This centre takes no bookings made at the province's door.",
        );
    };
    let pass = match province_pass::Pass::verify(text, &passes.keys) {
        Ok(pass) => pass,
        Err(province_pass::PassError::BadSignature) => {
            return refuse(
                "Mã lịch hẹn không đúng chữ ký của tỉnh. / This booking's code is not signed by the province.",
            );
        }
        Err(_) => {
            return refuse(
                "Không đọc được mã lịch hẹn, xin quét lại. / The booking's code could not be read; please scan it again.",
            );
        }
    };
    if pass.centre != passes.centre {
        return refuse(
            "Lịch hẹn này đặt cho một trung tâm khác. / This booking is for another centre.",
        );
    }
    let service = ServiceId::from(pass.service.as_str());
    if rules
        .services
        .get(&service)
        .and_then(|r| r.appointments.as_ref())
        .is_none()
    {
        return refuse(
            "Lĩnh vực của lịch hẹn này không còn nhận lịch hẹn. / This booking's field no longer takes appointments.",
        );
    }
    let learned = match state.book.get(&pass.code) {
        None => true,
        Some(b)
            if b.holder == Holder::Province && b.service == service && b.start == pass.start =>
        {
            false
        }
        // Another booking has this code (one chance in 10^10): the pass is not it.
        Some(_) => {
            return refuse(
                "Mã lịch hẹn trùng với một lịch hẹn khác, xin liên hệ quầy hướng dẫn. / This booking's code is another booking's; please ask at the information desk.",
            );
        }
    };
    Ok(Named {
        code: pass.code,
        service,
        start: pass.start,
        learned,
    })
}

/// What the hub makes of a booking the province's door tells it of (`cancelled`: cancelled
/// there): booked in the province's share if new and its check-in not over, cancelled if it
/// was booked; nothing if the hub already has it so (the door's list is read again and again).
pub fn learn(
    rules: &Rules,
    state: &State,
    code: &str,
    (service, start): (&str, DateTime<Utc>),
    cancelled: bool,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    let id = ServiceId::from(service);
    let Some(code) = normalise_code(code).filter(|c| c == code) else {
        return reject(ErrorCode::BadRequest, "not a booking code");
    };
    match state.book.get(&code) {
        Some(b) if b.holder != Holder::Province || b.service != id || b.start != start => reject(
            ErrorCode::InvalidState,
            "the code is another booking's at this centre",
        ),
        Some(b) if cancelled && b.status == BookingStatus::Booked => done(
            vec![Event::AppointmentCancelled { code: code.clone() }],
            Subject::Appointment(code),
        ),
        Some(_) => done(vec![], Subject::Appointment(code)),
        None if cancelled => done(vec![], Subject::Appointment(code)),
        None => {
            if rules
                .services
                .get(&id)
                .and_then(|r| r.appointments.as_ref())
                .is_none()
            {
                return reject(
                    ErrorCode::UnknownService,
                    format!("no service {service:?} takes appointments"),
                );
            }
            // A booking whose check-in is over is the province's to count as missed; learned
            // now, it would be booked and missed at once, and again after the book forgot it.
            match check_in_window(rules, &id, start) {
                Some((_, until)) if now < until => done(
                    vec![Event::AppointmentBooked {
                        code: code.clone(),
                        service: id,
                        start,
                        holder: Holder::Province,
                    }],
                    Subject::Appointment(code),
                ),
                _ => done(vec![], Subject::Appointment(code)),
            }
        }
    }
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
