//! Appointments asked for over HTTP (the booking page, `/api/appointments`): a citizen's
//! booking and cancellation go through the core's decisions and the batch's commit like any
//! command, and are answered after it; the free slots and a booking's state are read from the
//! engine's state after the commit, like tracking look-ups.

use chrono::{DateTime, NaiveDate, Utc};
use protocol as p;
use queue_core::appointments::{CODE_ALPHABET, CODE_LEN, Holder, slots_on, within_days_ahead};
use queue_core::decide::appointments as decide;
use queue_core::{Actor, Context, Decision, DeviceId, Rejection, Rules, ServiceId, State, Views};
use rand::Rng;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::frames;

/// The device name the booking page's changes are recorded under.
pub const BOOKING_PAGE: &str = "dat-lich";
/// … and those the province's door tells of.
pub const PROVINCE_DOOR: &str = "cong-tinh";

/// What the booking page asks to change.
#[derive(Debug)]
pub enum BookingAsk {
    Book {
        service: String,
        start: DateTime<Utc>,
        holder: Holder,
    },
    Cancel {
        code: String,
        holder: Holder,
    },
    /// From the province's door (`province::bookings`): a booking made there, or cancelled.
    Learn {
        code: String,
        service: String,
        start: DateTime<Utc>,
        cancelled: bool,
    },
}

/// What the booking page asks to see.
#[derive(Debug)]
pub enum BookingLook {
    /// The slots of a service on a local date that have not started, with their free places.
    Slots { service: String, date: NaiveDate },
    /// A booking by its code (as typed).
    Code(String),
}

#[derive(Debug)]
pub enum BookingSeen {
    /// `None`: no such service takes appointments.
    Slots(Option<Vec<SlotFree>>),
    Booking(Option<p::Appointment>),
}

/// A slot as the page lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotFree {
    pub start: p::WireTime,
    pub end: p::WireTime,
    pub free: u32,
}

/// A fresh booking code nobody holds.
pub fn fresh_code(taken: impl Fn(&str) -> bool) -> String {
    let mut rng = rand::rng();
    loop {
        let code: String = (0..CODE_LEN)
            .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
            .collect();
        if !taken(&code) {
            return code;
        }
    }
}

/// What the core decides of a change asked by the booking page (`code`: a fresh code).
pub fn decide(
    rules: &Rules,
    state: &State,
    now: DateTime<Utc>,
    ask: BookingAsk,
    code: &str,
) -> Result<Decision, Rejection> {
    let cx = Context {
        now,
        fresh_track: "",
        fresh_code: code,
    };
    match ask {
        BookingAsk::Book {
            service,
            start,
            holder,
        } => decide::book(rules, state, &service, start, holder, cx),
        BookingAsk::Cancel { code, holder } => decide::cancel(state, &code, Some(&holder)),
        BookingAsk::Learn {
            code,
            service,
            start,
            cancelled,
        } => decide::learn(rules, state, &code, (&service, start), cancelled, now),
    }
}

/// The actor the booking page's changes are recorded under.
pub fn page_actor() -> Actor {
    Actor {
        device: DeviceId::from(BOOKING_PAGE),
        role: p::Role::Tracker,
    }
}

/// Who a change is recorded under: the booking page, or the province's door.
pub fn actor_of(ask: &BookingAsk) -> Actor {
    match ask {
        BookingAsk::Learn { .. } => Actor {
            device: DeviceId::from(PROVINCE_DOOR),
            role: p::Role::Tracker,
        },
        _ => page_actor(),
    }
}

/// What the booking page asked to see, as `state` has it.
pub fn look(
    rules: &Rules,
    state: &State,
    views: &Views<'_>,
    now: DateTime<Utc>,
    look: BookingLook,
) -> BookingSeen {
    match look {
        BookingLook::Slots { service, date } => {
            let Some(rule) = rules
                .services
                .get(&ServiceId::from(service.as_str()))
                .filter(|r| r.appointments.is_some())
            else {
                return BookingSeen::Slots(None);
            };
            if !within_days_ahead(rules, rule, date, now) {
                return BookingSeen::Slots(Some(vec![]));
            }
            let slots = slots_on(rules, rule, date)
                .into_iter()
                .filter(|s| s.start > now)
                .map(|s| SlotFree {
                    start: views.time(s.start),
                    end: views.time(s.end),
                    free: state.book.free(rules, rule, s.start, now),
                })
                .collect();
            BookingSeen::Slots(Some(slots))
        }
        BookingLook::Code(typed) => BookingSeen::Booking(
            queue_core::appointments::normalise_code(&typed)
                .and_then(|code| state.book.get(&code))
                .map(|b| views.appointment(b)),
        ),
    }
}

/// A reply's JSON carrying a booking.
pub fn reply(appointment: p::Appointment) -> Utf8Bytes {
    frames::reply(p::Reply {
        id: BOOKING_PAGE.into(),
        ok: true,
        result: Some(p::ReplyResult::Appointment {
            appointment: Box::new(appointment),
        }),
        error: None,
        now: None,
    })
}

/// A look-up waiting for the commit.
pub(super) type Look = (BookingLook, oneshot::Sender<BookingSeen>);
