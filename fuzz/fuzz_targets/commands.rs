//! Fuzzes what a hub does with what devices send: each input line is one WebSocket text message,
//! taken in turn from a kiosk, two counters and an admin. Lines that parse as commands go through
//! the queue core (decide, then evolve), the clock moves on by the line's length in minutes and
//! `tick` runs, and after every step the admin snapshot is built and serialised — the same code
//! paths the engine runs, without the database. Any panic is a bug; so is a number given twice.

#![no_main]

use std::collections::BTreeSet;
use std::sync::OnceLock;

use chrono::{DateTime, TimeDelta, Utc};
use queue_core::{self as core, Actor, CenterInfo, Context, Rules, State, TicketId, Views};
use libfuzzer_sys::fuzz_target;
use protocol::{ClientMessage, Command, Role};

/// The core's sample centre: three services (one with hours and one with only three numbers),
/// three counters (one for priority only).
fn centre() -> &'static (Rules, CenterInfo) {
    static CENTRE: OnceLock<(Rules, CenterInfo)> = OnceLock::new();
    CENTRE.get_or_init(|| (queue_core::sample::rules(), queue_core::sample::center()))
}

fn actor(i: usize) -> Actor {
    let (device, role) = match i % 4 {
        0 => ("kiosk-1", Role::Kiosk),
        1 => ("counter-1", Role::Counter),
        2 => ("counter-2", Role::Counter),
        _ => ("admin", Role::Admin),
    };
    Actor {
        device: device.into(),
        role,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (rules, center) = centre();
    let mut now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-23T08:00:00+07:00")
        .expect("time")
        .with_timezone(&Utc);
    let day = rules.service_day(now);
    let mut state = State::new_day(rules, day, TicketId(1), &[]);
    let start = core::Event::DayStarted {
        day,
        next_ticket_id: TicketId(1),
        sessions: vec![],
    };
    state.evolve(rules, now, &start);
    let mut numbers: BTreeSet<(chrono::NaiveDate, String)> = BTreeSet::new();
    for (i, line) in text.lines().take(200).enumerate() {
        let command = match serde_json::from_str::<ClientMessage>(line) {
            Ok(ClientMessage::Cmd(m)) => Command::from_message(&m).ok(),
            _ => None,
        };
        // Staff logins in the fuzzer need no PIN: the core never sees PINs.
        if let Some(command) = command {
            let track = format!("t{i}");
            let cx = Context {
                now,
                fresh_track: &track,
            };
            if let Ok(d) = core::decide(rules, &state, &actor(i), &command, cx) {
                for e in &d.events {
                    if let core::Event::TicketIssued { .. } = e {
                        state.evolve(rules, now, e);
                        let newest = state.tickets().max_by_key(|t| t.id).expect("issued");
                        assert!(
                            numbers.insert((state.day, newest.label.clone())),
                            "number {} issued twice",
                            newest.label
                        );
                    } else {
                        state.evolve(rules, now, e);
                    }
                }
            }
        }
        now += TimeDelta::minutes((line.len() % 97) as i64);
        for e in core::tick(rules, &state, now) {
            state.evolve(rules, now, &e);
        }
        let views = Views {
            rules,
            center,
            state: &state,
            now,
        };
        let snapshot = views.snapshot(true);
        let _ = serde_json::to_string(&snapshot).expect("a snapshot always serialises");
    }
});
