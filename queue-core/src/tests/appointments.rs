//! Appointments: slots, booking limits, quarantine, check-in windows, missed bookings, and the
//! calling order's guarantee (rules, then properties).

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use protocol::{Command, ErrorCode, TicketStatus};

use super::{World, counter, kiosk, monday_morning, rules};
use crate::appointments::{BookingStatus, Holder, slots_on};
use crate::rules::{AppointmentRule, Hours, ServiceId};
use crate::state::Event;
use crate::{Subject, TicketId};

/// The sample centre with TP bookable: 15-minute slots of 2 places, 08:00–11:00 on weekdays,
/// check-in from 30 minutes before to 15 after.
fn booking_rules() -> crate::Rules {
    let mut r = rules();
    if let Some(tp) = r.services.get_mut(&ServiceId::from("TP")) {
        tp.appointments = Some(AppointmentRule {
            slot: TimeDelta::minutes(15),
            per_slot: 2,
            days_ahead: 6,
            hours: Some(Hours::parse_one_line("mon-fri 08:00-11:00").expect("hours")),
            early: TimeDelta::minutes(30),
            late: TimeDelta::minutes(15),
            province_share: 0,
        });
    }
    r
}

/// Monday 2026-11-23 at `hh:mm` in Hanoi.
fn monday(hm: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("2026-11-23T{hm}:00+07:00"))
        .expect("time")
        .with_timezone(&Utc)
}

fn phone(n: u32) -> Holder {
    Holder::Phone(format!("hash-of-phone-{n}"))
}

impl World {
    fn at(&mut self, hm: &str) {
        self.now = monday(hm);
        self.tick();
    }

    /// A booking for `holder`: its code, or the rejection's code.
    fn book(&mut self, start: DateTime<Utc>, holder: Holder) -> Result<String, ErrorCode> {
        self.tracks += 1;
        let track = format!("track{}", self.tracks);
        let code = super::test_code(self.tracks);
        let d = crate::decide::appointments::book(
            &self.rules,
            &self.state,
            "TP",
            start,
            holder,
            crate::Context {
                now: self.now,
                fresh_track: &track,
                fresh_code: &code,
            },
        )
        .map_err(|r| r.code)?;
        for e in d.events.clone() {
            self.apply(e);
        }
        let Subject::Appointment(code) = d.subject else {
            panic!("a booking answers with its code")
        };
        Ok(code)
    }

    fn check_in(&mut self, code: &str) -> Result<(TicketId, usize), ErrorCode> {
        let d = self
            .run(
                &kiosk(),
                Command::CheckIn {
                    code: code.into(),
                    phone: None,
                },
            )
            .map_err(|r| r.code)?;
        let Subject::Ticket(id) = d.subject else {
            panic!("a check-in answers with a ticket")
        };
        Ok((id, d.events.len()))
    }

    fn cancel(&mut self, code: &str, holder: &Holder) -> Result<(), ErrorCode> {
        let d = crate::decide::appointments::cancel(&self.state, code, Some(holder))
            .map_err(|r| r.code)?;
        for e in d.events {
            self.apply(e);
        }
        Ok(())
    }
}

#[test]
fn a_service_has_its_slots_in_its_appointment_hours() {
    let r = booking_rules();
    let tp = &r.services[&ServiceId::from("TP")];
    let monday = monday_morning().date_naive();
    let slots = slots_on(&r, tp, monday);
    assert_eq!(slots.len(), 12, "08:00 to 11:00 in quarters");
    assert_eq!(slots[0].start, self::monday("08:00"));
    assert_eq!(slots[11].end, self::monday("11:00"));
    let sunday = monday + TimeDelta::days(6);
    assert!(slots_on(&r, tp, sunday).is_empty());
    let gt = &r.services[&ServiceId::from("GT")];
    assert!(slots_on(&r, gt, monday).is_empty(), "walk-in only");
}

#[test]
fn a_slot_holds_its_places_and_a_phone_its_bookings() {
    let mut w = World::with_rules(booking_rules());
    w.now = monday("07:00");
    let nine = monday("09:00");
    assert_eq!(
        w.book(monday("09:05"), phone(1)),
        Err(ErrorCode::NotBookable),
        "not a slot's start"
    );
    assert_eq!(
        w.book(monday("06:00"), phone(1)),
        Err(ErrorCode::NotBookable),
        "before the hours"
    );
    assert_eq!(
        w.book(nine + TimeDelta::days(7), phone(1)),
        Err(ErrorCode::NotBookable),
        "beyond six days ahead"
    );
    assert!(
        w.book(nine + TimeDelta::days(4), phone(9)).is_ok(),
        "Friday"
    );
    assert!(w.book(nine, phone(1)).is_ok());
    assert!(w.book(nine, phone(2)).is_ok());
    assert_eq!(w.book(nine, phone(3)), Err(ErrorCode::SlotFull));
    assert_eq!(w.book(nine, Holder::Staff), Err(ErrorCode::SlotFull));
    // Two bookings a phone a day, whatever the slots; staff bookings have no such limit.
    assert!(w.book(monday("10:00"), phone(1)).is_ok());
    assert_eq!(
        w.book(monday("10:30"), phone(1)),
        Err(ErrorCode::LimitReached)
    );
    assert!(
        w.book(monday("10:30") + TimeDelta::days(1), phone(1))
            .is_ok(),
        "another day"
    );
    assert!(w.book(monday("10:30"), Holder::Staff).is_ok());
    assert!(w.book(monday("10:30"), Holder::Staff).is_ok());
    assert_eq!(
        w.book(monday("10:30"), Holder::Staff),
        Err(ErrorCode::SlotFull)
    );
    // A slot that has started is not bookable.
    w.now = monday("09:00");
    assert_eq!(
        w.book(monday("09:00"), Holder::Staff),
        Err(ErrorCode::NotBookable)
    );
}

#[test]
fn a_cancelled_place_is_bookable_again_only_after_the_quarantine() {
    let mut w = World::with_rules(booking_rules());
    w.now = monday("07:00");
    let nine = monday("09:00");
    let first = w.book(nine, phone(1)).expect("book");
    w.book(nine, phone(2)).expect("book");
    assert_eq!(
        w.cancel(&first, &phone(2)),
        Err(ErrorCode::NotFound),
        "only its holder cancels it"
    );
    assert_eq!(w.cancel("NOT-A-CODE", &phone(1)), Err(ErrorCode::NotFound));
    w.cancel(&first.to_lowercase(), &phone(1))
        .expect("cancel, typed in small letters");
    w.cancel(&first, &phone(1))
        .expect("cancelling twice is no error");
    assert_eq!(
        w.state.book.get(&first).map(|b| b.status),
        Some(BookingStatus::Cancelled)
    );
    assert_eq!(
        w.book(nine, phone(3)),
        Err(ErrorCode::SlotFull),
        "quarantined: the freed place cannot be handed over"
    );
    w.advance(10);
    assert!(
        w.book(nine, phone(3)).is_ok(),
        "free again after 10 minutes"
    );
    // A cancelled booking no longer counts against its phone.
    assert!(w.book(monday("10:00"), phone(1)).is_ok());
    assert!(w.book(monday("10:15"), phone(1)).is_ok());
}

#[test]
fn check_in_opens_early_closes_late_and_gives_one_ticket() {
    let mut w = World::with_rules(booking_rules());
    w.now = monday("07:00");
    let code = w.book(monday("09:00"), phone(1)).expect("book");
    w.at("08:29");
    assert_eq!(w.check_in(&code), Err(ErrorCode::AppointmentEarly));
    let message = w
        .run(
            &kiosk(),
            Command::CheckIn {
                code: code.clone(),
                phone: None,
            },
        )
        .expect_err("early")
        .message;
    assert!(message.contains("08:30"), "says when it opens: {message}");
    assert_eq!(
        w.check_in("ZZZZZZZZ"),
        Err(ErrorCode::NotFound),
        "not a code"
    );
    assert_eq!(
        w.rejects(
            &counter(1),
            Command::CheckIn {
                code: code.clone(),
                phone: None
            }
        ),
        ErrorCode::Forbidden
    );
    w.at("08:30");
    let (ticket, events) = w.check_in(&code).expect("on time");
    assert_eq!(events, 2, "a ticket and the check-in");
    let t = w.state.ticket(ticket).expect("ticket");
    assert_eq!(t.service, ServiceId::from("TP"));
    assert_eq!(
        t.appointment.as_ref().map(|a| a.start),
        Some(monday("09:00"))
    );
    // From any kiosk, again: the same ticket, nothing new.
    assert_eq!(w.check_in(&code.to_lowercase()), Ok((ticket, 0)));
    assert_eq!(w.state.tickets().count(), 1);
    assert_eq!(
        w.state.book.get(&code).map(|b| (b.status, b.ticket)),
        Some((BookingStatus::CheckedIn, Some(ticket)))
    );

    let late = w.book(monday("09:15"), phone(2)).expect("book");
    w.at("09:29");
    assert!(w.check_in(&late).is_ok(), "the last minute of the window");
    let later = w.book(monday("09:45"), phone(3)).expect("book");
    w.at("10:00");
    w.advance(1);
    assert_eq!(w.check_in(&later), Err(ErrorCode::AppointmentLate));
}

#[test]
fn a_booking_not_checked_in_is_missed_when_its_window_closes() {
    let mut w = World::with_rules(booking_rules());
    w.now = monday("07:00");
    let code = w.book(monday("09:00"), phone(1)).expect("book");
    w.at("09:14");
    assert!(w.tick().is_empty());
    w.now = monday("09:15");
    let events = w.tick();
    assert_eq!(
        events,
        vec![Event::AppointmentMissed { code: code.clone() }]
    );
    assert_eq!(
        w.state.book.get(&code).map(|b| b.status),
        Some(BookingStatus::Missed)
    );
    assert!(w.tick().is_empty(), "once");
    assert_eq!(w.check_in(&code), Err(ErrorCode::AppointmentLate));
    assert_eq!(w.cancel(&code, &phone(1)), Err(ErrorCode::InvalidState));
    assert_eq!(
        w.state.book.next_window_close(),
        None,
        "nothing left to wake up for"
    );
}

#[test]
fn an_early_appointment_waits_for_its_slot_and_a_late_one_keeps_its_place() {
    let mut w = World::with_rules(booking_rules());
    w.login(1);
    w.now = monday("07:00");
    let early = w.book(monday("09:00"), phone(1)).expect("book");
    let late = w.book(monday("09:15"), phone(2)).expect("book");
    w.at("08:40");
    w.check_in(&early).expect("check in early");
    assert_eq!(
        w.state.waiting_count(&ServiceId::from("TP")),
        1,
        "counted as waiting"
    );
    assert!(
        crate::next_deadline(&w.rules, &w.state, w.now) <= monday("09:00"),
        "the hub wakes up by its slot"
    );
    w.at("08:50");
    let w1 = w.issue("TP", None);
    w.at("08:55");
    let w2 = w.issue("TP", None);
    w.at("09:00");
    w.at("09:05");
    let w3 = w.issue("TP", None);
    w.at("09:20");
    let w4 = w.issue("TP", None);
    w.at("09:25");
    w.check_in(&late).expect("within its window");
    let a_early = w.label(w.state.book.get(&early).and_then(|b| b.ticket).expect("t"));
    let a_late = w.label(w.state.book.get(&late).and_then(|b| b.ticket).expect("t"));
    let order: Vec<String> = (0..6).map(|_| w.next(1).expect("call")).collect();
    assert_eq!(order, vec![w1, w2, a_early, w3, a_late, w4]);
}

#[test]
fn check_in_for_a_slot_at_the_day_start_opens_with_its_day() {
    // Slots round the clock: the one at midnight opens at midnight, not the evening before, when
    // its ticket would have expired with the old day.
    let mut rules = booking_rules();
    if let Some(a) = rules
        .services
        .get_mut(&ServiceId::from("TP"))
        .and_then(|s| s.appointments.as_mut())
    {
        a.hours = None;
    }
    let mut w = World::with_rules(rules);
    w.now = monday("22:00");
    let midnight = monday("00:00") + TimeDelta::days(1);
    let code = w.book(midnight, phone(1)).expect("book");
    w.now = midnight - TimeDelta::minutes(10);
    w.tick();
    assert_eq!(w.check_in(&code), Err(ErrorCode::AppointmentEarly));
    w.now = midnight;
    w.tick();
    let (ticket, _) = w.check_in(&code).expect("in its own day");
    assert_eq!(w.label(ticket), "A1001");
}

#[test]
fn the_book_outlives_the_service_day() {
    let mut w = World::with_rules(booking_rules());
    w.now = monday("10:00");
    let tomorrow = monday("09:00") + TimeDelta::days(1);
    let code = w.book(tomorrow, phone(1)).expect("book");
    w.now = tomorrow - TimeDelta::minutes(20);
    w.tick();
    assert_eq!(w.state.day, tomorrow.date_naive(), "a new day started");
    let (ticket, _) = w.check_in(&code).expect("checked in the next day");
    assert_eq!(w.label(ticket), "A1001", "numbered in the new day");
    // A day later its ticket has expired with its day; the booking still says which it was.
    w.advance(24 * 60);
    w.tick();
    assert!(w.state.ticket(ticket).is_none());
    assert_eq!(
        w.state.book.get(&code).and_then(|b| b.number.clone()),
        Some("A1001".into())
    );
}

// ------------------------------------------------------------------ properties

#[derive(Debug, Clone)]
enum Step {
    WalkIn,
    /// Check in the booking of the slot this many quarters after 08:00.
    CheckIn(usize),
    Call,
    Wait(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::WalkIn),
        3 => (0..12usize).prop_map(Step::CheckIn),
        4 => Just(Step::Call),
        4 => (1..12i64).prop_map(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// An appointment checked in on time is never behind a normal ticket issued after its slot
    /// started; a walk-in is overtaken only by appointments whose slot started within the late
    /// window before it was issued, at most the places of those slots; everyone is called.
    #[test]
    fn appointments_keep_their_slot_without_starving_walk_ins(steps in prop::collection::vec(step(), 1..80)) {
        let mut w = World::with_rules(booking_rules());
        w.now = monday("07:00");
        let codes: Vec<[String; 2]> = (0..12)
            .map(|q| {
                let start = monday("08:00") + TimeDelta::minutes(15 * q as i64);
                let a = w.book(start, Holder::Staff).expect("book");
                let b = w.book(start, Holder::Staff).expect("book");
                [a, b]
            })
            .collect();
        w.login(1);
        w.at("07:45");
        let mut used = [0usize; 12];
        let mut called: Vec<TicketId> = vec![];
        for s in steps {
            match s {
                Step::WalkIn => { w.issue("TP", None); }
                Step::CheckIn(q) => {
                    if used[q] < 2 && w.check_in(&codes[q][used[q]]).is_ok() {
                        used[q] += 1;
                    }
                }
                Step::Call => {
                    if let Ok(label) = w.next(1) {
                        called.push(w.state.ticket_by_label(&label).expect("t").id);
                    }
                }
                Step::Wait(m) => { w.advance(m); w.tick(); }
            }
        }
        // Everyone still waiting is called in the end: nobody starves.
        w.advance(300);
        w.tick();
        while let Ok(label) = w.next(1) {
            called.push(w.state.ticket_by_label(&label).expect("t").id);
        }
        let late = TimeDelta::minutes(15);
        for (i, a) in called.iter().enumerate() {
            let ta = w.state.ticket(*a).expect("t");
            let Some(slot) = ta.appointment.as_ref().map(|x| x.start) else { continue };
            // Walk-ins called before it while it was checked in were there before its slot.
            for b in &called[..i] {
                let tb = w.state.ticket(*b).expect("t");
                let while_waiting = tb.first_called_at.is_some_and(|c| c > ta.issued_at);
                prop_assert!(
                    tb.appointment.is_some() || !while_waiting || tb.issued_at <= slot,
                    "{} (walk-in at {}) called before {} (slot {})",
                    tb.label, tb.issued_at, ta.label, slot
                );
            }
        }
        for (i, walk_in) in called.iter().enumerate() {
            let t = w.state.ticket(*walk_in).expect("t");
            if t.appointment.is_some() || t.status == TicketStatus::Waiting { continue }
            let this_slots = (0..12)
                .map(|q| monday("08:00") + TimeDelta::minutes(15 * q as i64))
                .filter(|s| *s < t.issued_at && *s + late >= t.issued_at)
                .count();
            // Appointments checked in after it and called before it.
            let overtook = called[..i]
                .iter()
                .filter_map(|b| w.state.ticket(*b))
                .filter(|b| b.appointment.is_some() && b.issued_at > t.issued_at)
                .count();
            prop_assert!(overtook <= 2 * this_slots, "{} overtaken {} times", t.label, overtook);
        }
        let waiting = w.state.tickets().filter(|t| t.status == TicketStatus::Waiting).count();
        prop_assert_eq!(waiting, 0);
    }
}

/// The booking rules with one of each slot's two places the province's, and passes of the
/// province key seeded with `1` honoured for centre "cau-giay".
fn shared_rules() -> crate::Rules {
    let mut r = booking_rules();
    if let Some(a) = r
        .services
        .get_mut(&ServiceId::from("TP"))
        .and_then(|s| s.appointments.as_mut())
    {
        a.province_share = 1;
    }
    r.province_passes = Some(crate::rules::ProvincePasses {
        centre: "cau-giay".into(),
        keys: vec![province_key(1).verifying_key()],
    });
    r
}

fn province_key(seed: u8) -> province_pass::PassKey {
    province_pass::PassKey::from_bytes(&[seed; 32])
}

fn pass(centre: &str, start: DateTime<Utc>, code: &str, key: u8) -> String {
    province_pass::Pass {
        centre: centre.into(),
        service: "TP".into(),
        start,
        code: code.into(),
    }
    .sign(&province_key(key))
}

#[test]
fn the_provinces_share_of_a_slot_is_not_the_centres_to_book() {
    let mut w = World::with_rules(shared_rules());
    w.now = monday("07:00");
    let nine = monday("09:00");
    assert!(w.book(nine, phone(1)).is_ok());
    assert_eq!(
        w.book(nine, phone(2)),
        Err(ErrorCode::SlotFull),
        "one of two places is the province's"
    );
    // The province's booking, learned, takes none of the centre's places.
    let d = crate::decide::appointments::learn(
        &w.rules,
        &w.state,
        "PRVNCAAA",
        ("TP", monday("09:15")),
        false,
        w.now,
    )
    .expect("learned");
    assert_eq!(d.events.len(), 1);
    for e in d.events {
        w.apply(e);
    }
    assert!(w.book(monday("09:15"), phone(3)).is_ok());
}

#[test]
fn a_province_pass_checks_in_offline_once() {
    let mut w = World::with_rules(shared_rules());
    w.at("08:50");
    let nine = monday("09:00");
    let text = pass("cau-giay", nine, "KE4PX9MT", 1);
    let (ticket, events) = w.check_in(&text).expect("the pass is honoured unknown");
    assert_eq!(events, 3, "booked, issued, checked in");
    assert_eq!(
        w.state.book.get("KE4PX9MT").map(|b| (&b.holder, b.status)),
        Some((&Holder::Province, BookingStatus::CheckedIn))
    );
    assert!(w.state.ticket(ticket).is_some());
    assert_eq!(
        w.check_in(&text),
        Err(ErrorCode::InvalidState),
        "a pass counts once"
    );
    assert_eq!(
        w.check_in("KE4PX9MT"),
        Err(ErrorCode::InvalidState),
        "and so does its code typed"
    );
    // Learning of it afterwards changes nothing.
    let d = crate::decide::appointments::learn(
        &w.rules,
        &w.state,
        "KE4PX9MT",
        ("TP", nine),
        false,
        w.now,
    )
    .expect("known");
    assert!(d.events.is_empty());
}

#[test]
fn a_pass_of_another_key_centre_or_slot_is_refused() {
    let mut w = World::with_rules(shared_rules());
    w.at("08:50");
    let nine = monday("09:00");
    for (text, why) in [
        (pass("cau-giay", nine, "KE4PX9MT", 2), "another key"),
        (pass("ba-dinh", nine, "KE4PX9MT", 1), "another centre"),
    ] {
        assert_eq!(w.check_in(&text), Err(ErrorCode::NotFound), "{why}");
    }
    assert_eq!(
        w.check_in(&pass("cau-giay", monday("10:30"), "KE4PX9MT", 1)),
        Err(ErrorCode::AppointmentEarly),
        "its window is not open"
    );
    // A code the centre itself gave is not the province's to take.
    let own = w.book(monday("10:00"), phone(1)).expect("booked");
    assert_eq!(
        w.check_in(&pass("cau-giay", nine, &own, 1)),
        Err(ErrorCode::NotFound)
    );
    let mut no_passes = shared_rules();
    no_passes.province_passes = None;
    let mut w = World::with_rules(no_passes);
    w.at("08:50");
    assert_eq!(
        w.check_in(&pass("cau-giay", nine, "KE4PX9MT", 1)),
        Err(ErrorCode::NotFound),
        "a centre without booking keys honours no pass"
    );
}

#[test]
fn a_booking_cancelled_at_the_province_is_cancelled_here_and_no_later_ones_learned() {
    let mut w = World::with_rules(shared_rules());
    w.now = monday("07:00");
    let learn = |w: &World, start: DateTime<Utc>, cancelled: bool| {
        crate::decide::appointments::learn(
            &w.rules,
            &w.state,
            "KE4PX9MT",
            ("TP", start),
            cancelled,
            w.now,
        )
        .map(|d| d.events)
    };
    let booked = learn(&w, monday("09:00"), false).expect("learned");
    for e in booked {
        w.apply(e);
    }
    assert_eq!(
        learn(&w, monday("09:00"), false).map(|e| e.len()),
        Ok(0),
        "read twice, learned once"
    );
    let cancelled = learn(&w, monday("09:00"), true).expect("cancelled");
    assert_eq!(cancelled.len(), 1);
    for e in cancelled {
        w.apply(e);
    }
    assert_eq!(
        w.state.book.get("KE4PX9MT").map(|b| b.status),
        Some(BookingStatus::Cancelled)
    );
    assert!(
        learn(&w, monday("09:30"), false).is_err(),
        "the code is another booking's"
    );
    w.now = monday("09:20");
    let mut fresh = World::with_rules(shared_rules());
    fresh.now = w.now;
    assert_eq!(
        learn(&fresh, monday("09:00"), false).map(|e| e.len()),
        Ok(0),
        "its check-in is over: the province counts it missed"
    );
}
