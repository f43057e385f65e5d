//! Appointments asked for over HTTP (the booking page, `/api/appointments`): a citizen's
//! booking and cancellation go through the core's decisions and the batch's commit like any
//! command, and are answered after it; the free slots and a booking's state are read from the
//! engine's state after the commit, like tracking look-ups.

use chrono::{DateTime, NaiveDate, Utc};
use protocol::{self as p, ErrorCode};
use queue_core::appointments::{CODE_ALPHABET, CODE_LEN, Holder, slots_on, within_days_ahead};
use queue_core::decide::appointments as decide;
use queue_core::{Actor, Context, DeviceId, ServiceId};
use rand::Rng;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{Engine, Pending};
use crate::frames::{self, error_reply};

/// The device name the booking page's changes are recorded under.
pub const BOOKING_PAGE: &str = "dat-lich";

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

impl Engine {
    /// A change asked by the booking page, decided now and answered (as a reply's JSON) after
    /// the commit.
    pub(super) fn booking(
        &mut self,
        now: DateTime<Utc>,
        ask: BookingAsk,
        pending: &mut Pending,
    ) -> Utf8Bytes {
        let code = fresh_code(|c| self.state.book.get(c).is_some());
        let cx = Context {
            now,
            fresh_track: "",
            fresh_code: &code,
        };
        let rules = &self.config.rules;
        let decided = match ask {
            BookingAsk::Book {
                service,
                start,
                holder,
            } => decide::book(rules, &self.state, &service, start, holder, cx),
            BookingAsk::Cancel { code, holder } => {
                decide::cancel(&self.state, &code, Some(&holder))
            }
        };
        let decision = match decided {
            Ok(d) => d,
            Err(r) => return error_reply(BOOKING_PAGE, r.code, r.message),
        };
        let actor = Actor {
            device: DeviceId::from(BOOKING_PAGE),
            role: p::Role::Tracker,
        };
        for e in decision.events {
            self.apply(now, &actor, None, e, pending);
        }
        let booking = match &decision.subject {
            queue_core::Subject::Appointment(code) => self.state.book.get(code),
            _ => None,
        };
        match booking {
            Some(b) => frames::reply(p::Reply {
                id: BOOKING_PAGE.into(),
                ok: true,
                result: Some(p::ReplyResult::Appointment {
                    appointment: Box::new(self.views(now).appointment(b)),
                }),
                error: None,
                now: None,
            }),
            None => error_reply(
                BOOKING_PAGE,
                ErrorCode::Internal,
                "the booking went missing",
            ),
        }
    }

    /// What the booking page asked to see, as the committed state has it.
    pub(super) fn booking_look(&self, now: DateTime<Utc>, look: BookingLook) -> BookingSeen {
        let rules = &self.config.rules;
        let views = self.views(now);
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
                        free: self.state.book.free(rules, rule, s.start, now),
                    })
                    .collect();
                BookingSeen::Slots(Some(slots))
            }
            BookingLook::Code(typed) => BookingSeen::Booking(
                queue_core::appointments::normalise_code(&typed)
                    .and_then(|code| self.state.book.get(&code))
                    .map(|b| views.appointment(b)),
            ),
        }
    }
}

/// A look-up waiting for the commit.
pub(super) type Look = (BookingLook, oneshot::Sender<BookingSeen>);
