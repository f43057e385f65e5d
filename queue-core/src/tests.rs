//! Rule tests for the core: given a centre and some events, when a command, then events or a
//! rejection. Plus properties (proptest) over random days.

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use protocol::{Command, ErrorCode, Role, TicketRef, TicketStatus};

use super::*;

fn rules() -> Rules {
    crate::sample::rules()
}

/// Monday 2026-11-23, 09:00 in Hanoi.
fn monday_morning() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T09:00:00+07:00")
        .expect("time")
        .with_timezone(&Utc)
}

/// A centre, its state and a clock: commands go through `decide` then `evolve`, as in the hub.
struct World {
    rules: Rules,
    state: State,
    now: DateTime<Utc>,
    log: Vec<(DateTime<Utc>, Event)>,
    tracks: u64,
}

/// The `n`th booking code of a test: distinct for every `n`, in the codes' alphabet.
fn test_code(mut n: u64) -> String {
    let alphabet = crate::appointments::CODE_ALPHABET;
    let mut code = String::new();
    for _ in 0..crate::appointments::CODE_LEN {
        code.push(char::from(alphabet[(n % alphabet.len() as u64) as usize]));
        n /= alphabet.len() as u64;
    }
    code
}

fn kiosk() -> Actor {
    Actor {
        device: "kiosk-1".into(),
        role: Role::Kiosk,
    }
}

fn counter(n: u32) -> Actor {
    Actor {
        device: format!("counter-{n}").into(),
        role: Role::Counter,
    }
}

impl World {
    fn new() -> World {
        World::with_rules(rules())
    }

    fn with_rules(rules: Rules) -> World {
        let now = monday_morning();
        let day = rules.service_day(now);
        let start = Event::DayStarted {
            day,
            next_ticket_id: TicketId(1),
            sessions: vec![],
        };
        let mut w = World {
            state: State::new_day(&rules, day, TicketId(1), &[]),
            rules,
            now,
            log: vec![],
            tracks: 0,
        };
        w.apply(start);
        w
    }

    fn apply(&mut self, e: Event) {
        self.state.evolve(&self.rules, self.now, &e);
        self.log.push((self.now, e));
    }

    fn run(&mut self, actor: &Actor, command: Command) -> Result<Decision, Rejection> {
        self.tracks += 1;
        let track = format!("track{}", self.tracks);
        let code = test_code(self.tracks);
        let d = decide(
            &self.rules,
            &self.state,
            actor,
            &command,
            Context {
                now: self.now,
                fresh_track: &track,
                fresh_code: &code,
            },
        )?;
        for e in d.events.clone() {
            self.apply(e);
        }
        Ok(d)
    }

    fn tick(&mut self) -> Vec<Event> {
        let events = tick(&self.rules, &self.state, self.now);
        for e in events.clone() {
            self.apply(e);
        }
        events
    }

    fn advance(&mut self, minutes: i64) {
        self.now += TimeDelta::minutes(minutes);
    }

    fn issue(&mut self, service: &str, priority: Option<&str>) -> String {
        let d = self
            .run(
                &kiosk(),
                Command::IssueTicket {
                    service: service.into(),
                    priority: priority.map(str::to_string),
                    phone: None,
                },
            )
            .expect("issue");
        let Subject::Ticket(id) = d.subject else {
            panic!("issue returns a ticket")
        };
        self.label(id)
    }

    fn label(&self, id: TicketId) -> String {
        self.state.ticket(id).expect("ticket").label.clone()
    }

    fn login(&mut self, n: u32) {
        let staff = format!("nv0{n}");
        self.run(
            &counter(n),
            Command::Login {
                counter: n,
                staff,
                pin: String::new(),
            },
        )
        .expect("login");
    }

    /// Finishes what the counter serves and calls the next; the label, or the rejection code.
    fn next(&mut self, n: u32) -> Result<String, ErrorCode> {
        if let Some(id) = self.state.counters[&CounterNo(n)].current
            && self
                .state
                .ticket(id)
                .is_some_and(|t| t.status == TicketStatus::Called)
        {
            self.run(&counter(n), Command::StartServing {})
                .map_err(|r| r.code)?;
        }
        let d = self
            .run(&counter(n), Command::CallNext {})
            .map_err(|r| r.code)?;
        let Subject::Ticket(id) = d.subject else {
            panic!("call returns a ticket")
        };
        Ok(self.label(id))
    }

    fn rejects(&mut self, actor: &Actor, command: Command) -> ErrorCode {
        self.run(actor, command).expect_err("rejected").code
    }
}

#[test]
fn numbers_run_per_service_from_the_configured_start() {
    let mut w = World::new();
    assert_eq!(w.issue("TP", None), "A1001");
    assert_eq!(w.issue("TP", Some("elderly")), "A1002");
    assert_eq!(w.issue("GT", None), "B1");
    assert_eq!(w.issue("TP", None), "A1003");
}

#[test]
fn a_used_up_range_or_daily_limit_stops_issuing() {
    let mut w = World::new();
    for _ in 0..3 {
        w.issue("GT", None);
    }
    let code = w.rejects(
        &kiosk(),
        Command::IssueTicket {
            service: "GT".into(),
            priority: None,
            phone: None,
        },
    );
    assert_eq!(code, ErrorCode::DailyLimitReached);
}

#[test]
fn unknown_services_and_categories_are_refused() {
    let mut w = World::new();
    assert_eq!(
        w.rejects(
            &kiosk(),
            Command::IssueTicket {
                service: "XX".into(),
                priority: None,
                phone: None,
            }
        ),
        ErrorCode::UnknownService
    );
    assert_eq!(
        w.rejects(
            &kiosk(),
            Command::IssueTicket {
                service: "TP".into(),
                priority: Some("vip".into()),
                phone: None,
            }
        ),
        ErrorCode::BadRequest
    );
}

#[test]
fn services_close_outside_their_hours() {
    let mut w = World::new();
    w.now = DateTime::parse_from_rfc3339("2026-11-23T12:00:00+07:00")
        .expect("t")
        .with_timezone(&Utc);
    assert_eq!(
        w.rejects(
            &kiosk(),
            Command::IssueTicket {
                service: "DD".into(),
                priority: None,
                phone: None,
            }
        ),
        ErrorCode::ServiceClosed
    );
    // The tick announces the closing; at 13:30 it opens again.
    let events = w.tick();
    assert!(events.contains(&Event::ServiceChanged {
        service: ServiceId("DD".into()),
        admin_closed: false,
        hours_open: false
    }));
    w.now = DateTime::parse_from_rfc3339("2026-11-23T13:30:00+07:00")
        .expect("t")
        .with_timezone(&Utc);
    let events = w.tick();
    assert!(events.contains(&Event::ServiceChanged {
        service: ServiceId("DD".into()),
        admin_closed: false,
        hours_open: true
    }));
    assert_eq!(w.issue("DD", None), "C0001");
}

#[test]
fn roles_are_enforced() {
    let mut w = World::new();
    w.issue("TP", None);
    assert_eq!(
        w.rejects(&kiosk(), Command::CallNext {}),
        ErrorCode::Forbidden
    );
    let display = Actor {
        device: "display-1".into(),
        role: Role::Display,
    };
    assert_eq!(
        w.rejects(
            &display,
            Command::IssueTicket {
                service: "TP".into(),
                priority: None,
                phone: None,
            }
        ),
        ErrorCode::Forbidden
    );
    // A counter that has not logged in cannot call.
    assert_eq!(
        w.rejects(&counter(1), Command::CallNext {}),
        ErrorCode::Forbidden
    );
    let admin = Actor {
        device: "admin".into(),
        role: Role::Admin,
    };
    assert_eq!(
        w.rejects(&admin, Command::CallNext {}),
        ErrorCode::Forbidden
    );
}

#[test]
fn only_the_counter_that_served_may_rate_once_and_soon() {
    let mut w = World::new();
    w.login(1);
    w.login(2);
    let label = w.issue("TP", None);
    assert_eq!(w.next(1), Ok(label.clone()));
    w.run(&counter(1), Command::Finish { rating: None })
        .expect("finished");
    let rate = |r: u8| Command::Rate {
        ticket: TicketRef::Number(label.clone()),
        rating: r,
        reasons: vec![],
    };
    // A kiosk, an admin or another counter could fake the centre's satisfaction figures.
    assert_eq!(w.rejects(&kiosk(), rate(4)), ErrorCode::Forbidden);
    let admin = Actor {
        device: "admin".into(),
        role: Role::Admin,
    };
    assert_eq!(w.rejects(&admin, rate(4)), ErrorCode::Forbidden);
    assert_eq!(w.rejects(&counter(2), rate(1)), ErrorCode::Forbidden);
    w.advance(5);
    w.run(&counter(1), rate(3))
        .expect("the serving counter rates");
    assert_eq!(w.rejects(&counter(1), rate(4)), ErrorCode::InvalidState);

    // Too late: the window is ten minutes.
    let late = w.issue("TP", None);
    assert_eq!(w.next(1), Ok(late.clone()));
    w.run(&counter(1), Command::Finish { rating: None })
        .expect("finished");
    w.advance(11);
    assert_eq!(
        w.rejects(
            &counter(1),
            Command::Rate {
                ticket: TicketRef::Number(late),
                rating: 4,
                reasons: vec![],
            }
        ),
        ErrorCode::InvalidState
    );
}

#[test]
fn a_device_flipping_its_status_is_slowed_down() {
    let mut w = World::new();
    let status = |s: &str| Command::DeviceStatus { status: s.into() };
    let changes = |w: &World| {
        w.log
            .iter()
            .filter(|(_, e)| matches!(e, Event::DeviceStatus { .. }))
            .count()
    };
    w.run(&kiosk(), status("paper_out")).expect("a change");
    assert_eq!(w.rejects(&kiosk(), status("ok")), ErrorCode::RateLimited);
    w.run(&kiosk(), status("paper_out"))
        .expect("the same status again is a no-op");
    assert_eq!(changes(&w), 1, "one broadcast for all of that");
    w.now += TimeDelta::seconds(1);
    w.run(&kiosk(), status("ok")).expect("a change, later");
    assert_eq!(changes(&w), 2);
}

#[test]
fn a_snapshot_places_every_waiting_ticket_as_a_single_look_up_would() {
    let mut w = World::new();
    w.login(1);
    w.login(2);
    for (service, priority) in [
        ("TP", None),
        ("TP", Some("elderly")),
        ("TP", None),
        ("DD", None),
        ("TP", Some("pregnant")),
        ("TP", None),
    ] {
        w.issue(service, priority);
    }
    // One ticket sent to counter 2 only: it waits in that counter's own queue.
    w.next(1).expect("a call");
    w.run(
        &counter(1),
        Command::Transfer {
            service: None,
            counter: Some(2),
        },
    )
    .expect("transferred");
    let center = crate::sample::center();
    let views = Views::new(&w.rules, &center, &w.state, w.now);
    let snapshot = views.snapshot(true);
    assert_eq!(snapshot.waiting.len(), 6);
    for v in &snapshot.waiting {
        let t = w.state.ticket(TicketId(v.id)).expect("ticket");
        assert_eq!(v, &views.ticket(t, true), "{}", v.number);
    }
    let light = views.light_snapshot(true);
    assert!(light.waiting.is_empty());
    assert_eq!(light.services, snapshot.services);
    assert_eq!(light.counters, snapshot.counters);
    // A phone finds its ticket by its code, and only by its code.
    let t = w.state.tickets().next().expect("a ticket");
    assert_eq!(w.state.ticket_by_track(&t.track).map(|x| x.id), Some(t.id));
    assert!(w.state.ticket_by_track("").is_none());
    assert!(w.state.ticket_by_track("nope").is_none());
}

#[test]
fn priority_first_but_never_more_than_three_in_a_row_while_normals_wait() {
    let mut w = World::new();
    w.login(1);
    let normals: Vec<String> = (0..3).map(|_| w.issue("TP", None)).collect();
    let priorities: Vec<String> = (0..5).map(|_| w.issue("TP", Some("elderly"))).collect();
    let calls: Vec<String> = (0..8).map(|_| w.next(1).expect("a ticket")).collect();
    let expected = [
        &priorities[0],
        &priorities[1],
        &priorities[2],
        &normals[0],
        &priorities[3],
        &priorities[4],
        &normals[1],
        &normals[2],
    ];
    assert_eq!(calls.iter().collect::<Vec<_>>(), expected);
    assert_eq!(w.next(1), Err(ErrorCode::QueueEmpty));
}

#[test]
fn priority_calls_without_normals_waiting_do_not_count() {
    let mut w = World::new();
    w.login(1);
    for _ in 0..4 {
        w.issue("TP", Some("pregnant"));
    }
    for _ in 0..3 {
        w.next(1).expect("priority");
    }
    let normal = w.issue("TP", None);
    let p = w
        .state
        .tickets()
        .filter(|t| t.status == TicketStatus::Waiting && t.is_priority())
        .count();
    assert_eq!(p, 1);
    // The streak restarted when no normal was waiting: the last priority still goes first.
    assert_ne!(w.next(1).expect("call"), normal);
    assert_eq!(w.next(1).expect("call"), normal);
}

#[test]
fn the_counter_order_of_preference_decides_between_services() {
    let mut w = World::new();
    w.login(1);
    w.login(2);
    let a = w.issue("TP", None);
    let b = w.issue("GT", None);
    // Counter 2 prefers GT even though the TP ticket is older.
    assert_eq!(w.next(2).expect("call"), b);
    assert_eq!(w.next(1).expect("call"), a);
}

#[test]
fn a_priority_only_counter_never_takes_normal_tickets() {
    let mut w = World::new();
    w.login(3);
    w.issue("TP", None);
    assert_eq!(w.next(3), Err(ErrorCode::QueueEmpty));
    let p = w.issue("GT", Some("disabled"));
    assert_eq!(w.next(3).expect("call"), p);
}

#[test]
fn no_show_needs_the_configured_recalls() {
    let mut w = World::new();
    w.login(1);
    w.issue("TP", None);
    w.next(1).expect("call");
    assert_eq!(
        w.rejects(&counter(1), Command::NoShow {}),
        ErrorCode::InvalidState
    );
    w.run(&counter(1), Command::Recall {}).expect("recall");
    assert_eq!(
        w.rejects(&counter(1), Command::NoShow {}),
        ErrorCode::InvalidState
    );
    w.run(&counter(1), Command::Recall {}).expect("recall");
    w.run(&counter(1), Command::NoShow {}).expect("no-show");
    assert_eq!(w.state.counters[&CounterNo(1)].no_shows_today, 1);
    assert!(w.state.counters[&CounterNo(1)].current.is_none());
}

#[test]
fn calling_again_while_a_citizen_is_called_but_not_served_is_refused() {
    let mut w = World::new();
    w.login(1);
    w.issue("TP", None);
    w.issue("TP", None);
    w.run(&counter(1), Command::CallNext {}).expect("call");
    assert_eq!(
        w.rejects(&counter(1), Command::CallNext {}),
        ErrorCode::InvalidState
    );
    // Once serving, calling next finishes the current one first.
    w.run(&counter(1), Command::StartServing {}).expect("start");
    let d = w.run(&counter(1), Command::CallNext {}).expect("call");
    assert!(matches!(d.events[0], Event::TicketFinished { .. }));
    assert_eq!(w.state.counters[&CounterNo(1)].served_today, 1);
}

#[test]
fn a_late_citizen_can_be_called_by_number_after_a_no_show() {
    let mut w = World::new();
    w.login(1);
    let a = w.issue("TP", None);
    w.next(1).expect("call");
    w.run(&counter(1), Command::Recall {}).expect("recall");
    w.run(&counter(1), Command::Recall {}).expect("recall");
    w.run(&counter(1), Command::NoShow {}).expect("no-show");
    let d = w
        .run(
            &counter(1),
            Command::CallTicket {
                number: a.to_lowercase(),
            },
        )
        .expect("call by number");
    let Subject::Ticket(id) = d.subject else {
        panic!()
    };
    assert_eq!(w.state.ticket(id).expect("t").status, TicketStatus::Called);
    assert_eq!(
        w.rejects(
            &counter(2),
            Command::CallTicket {
                number: "A9999".into()
            }
        ),
        ErrorCode::Forbidden
    );
    w.login(2);
    assert_eq!(
        w.rejects(
            &counter(2),
            Command::CallTicket {
                number: "A1999".into()
            }
        ),
        ErrorCode::NotFound
    );
}

#[test]
fn transfer_to_a_service_keeps_the_place_and_to_a_counter_goes_first_there() {
    let mut w = World::new();
    w.login(1);
    w.login(2);
    let first = w.issue("TP", None);
    w.advance(1);
    let gt = w.issue("GT", None);
    assert_eq!(w.next(1).expect("call"), first);
    // The TP citizen also needs transport: moved to GT, ahead of the later GT ticket.
    w.run(
        &counter(1),
        Command::Transfer {
            service: Some("GT".into()),
            counter: None,
        },
    )
    .expect("transfer");
    assert_eq!(w.next(2).expect("call"), first);
    w.run(
        &counter(2),
        Command::Transfer {
            service: None,
            counter: Some(1),
        },
    )
    .expect("transfer to counter 1");
    let elderly = w.issue("TP", Some("elderly"));
    // Counter 1 takes the ticket sent to it before anything else, even a priority one.
    assert_eq!(w.next(1).expect("call"), first);
    assert_eq!(w.next(2).expect("call"), elderly);
    assert_eq!(w.next(2).expect("call"), gt);
    assert_eq!(
        w.rejects(
            &counter(2),
            Command::Transfer {
                service: None,
                counter: Some(2)
            }
        ),
        ErrorCode::BadRequest
    );
}

#[test]
fn overdue_is_announced_once_when_the_target_passes() {
    let mut w = World::new();
    w.login(1);
    w.issue("TP", None);
    w.advance(19);
    assert!(w.tick().is_empty());
    assert!(next_deadline(&w.rules, &w.state, w.now) <= w.now + TimeDelta::minutes(1));
    w.advance(2);
    let events = w.tick();
    assert!(
        matches!(
            events.as_slice(),
            [Event::TicketOverdue {
                phase: Phase::Waiting,
                ..
            }]
        ),
        "{events:?}"
    );
    assert!(w.tick().is_empty());
    assert_eq!(w.state.services[&ServiceId("TP".into())].overdue_waiting, 1);
    w.next(1).expect("call");
    assert_eq!(w.state.services[&ServiceId("TP".into())].overdue_waiting, 0);
    w.run(&counter(1), Command::StartServing {}).expect("start");
    w.advance(11);
    let events = w.tick();
    assert!(
        matches!(
            events.as_slice(),
            [Event::TicketOverdue {
                phase: Phase::Serving,
                ..
            }]
        ),
        "{events:?}"
    );
}

#[test]
fn a_new_service_day_expires_what_waits_and_restarts_numbering() {
    let mut w = World::new();
    w.login(1);
    w.issue("TP", None);
    w.issue("TP", None);
    w.next(1).expect("call");
    w.now = DateTime::parse_from_rfc3339("2026-11-24T00:00:00+07:00")
        .expect("t")
        .with_timezone(&Utc);
    let events = w.tick();
    assert!(matches!(events.as_slice(), [Event::DayStarted { .. }]));
    assert_eq!(w.state.day.to_string(), "2026-11-24");
    assert_eq!(w.state.tickets().count(), 0);
    assert_eq!(w.state.waiting_count(&ServiceId("TP".into())), 0);
    // Ticket ids keep growing; numbers start again; the clerk is still logged in.
    assert_eq!(w.issue("TP", None), "A1001");
    assert_eq!(w.state.next_ticket_id, TicketId(4));
    assert!(w.state.counters[&CounterNo(1)].session.is_some());
}

#[test]
fn estimates_follow_the_queue_and_the_open_counters() {
    let mut w = World::new();
    let tp = ServiceId("TP".into());
    w.issue("TP", None);
    w.issue("TP", None);
    w.issue("TP", None);
    assert_eq!(
        estimate::eta_minutes(&w.rules, &w.state, &tp, 3, false),
        None
    );
    w.login(1);
    assert_eq!(
        estimate::eta_minutes(&w.rules, &w.state, &tp, 3, false),
        Some(30)
    );
    w.login(2);
    assert_eq!(
        estimate::eta_minutes(&w.rules, &w.state, &tp, 3, false),
        Some(15)
    );
    // Recent service times replace the target once there are some: 4 minutes here.
    w.next(1).expect("call");
    w.advance(4);
    w.run(&counter(1), Command::Finish { rating: Some(4) })
        .expect("finish");
    assert_eq!(
        estimate::eta_minutes(&w.rules, &w.state, &tp, 3, false),
        Some(6)
    );
}

#[test]
fn login_moves_a_clerk_and_refuses_to_abandon_a_citizen() {
    let mut w = World::new();
    w.login(1);
    w.issue("TP", None);
    w.next(1).expect("call");
    // nv01 tries to open counter 2 from the same device while a citizen stands at counter 1.
    let code = w.rejects(
        &counter(1),
        Command::Login {
            counter: 2,
            staff: "nv01".into(),
            pin: String::new(),
        },
    );
    assert_eq!(code, ErrorCode::InvalidState);
    w.run(&counter(1), Command::Finish { rating: None })
        .expect("finish");
    w.run(
        &counter(1),
        Command::Login {
            counter: 2,
            staff: "nv01".into(),
            pin: String::new(),
        },
    )
    .expect("move");
    assert!(w.state.counters[&CounterNo(1)].session.is_none());
    assert_eq!(
        w.state.counter_of_device("counter-1").map(|c| c.number),
        Some(CounterNo(2))
    );
    w.run(&counter(1), Command::Logout {}).expect("logout");
    assert!(w.state.counter_of_device("counter-1").is_none());
}

#[test]
fn replaying_the_log_rebuilds_the_same_state() {
    let mut w = World::new();
    w.login(1);
    w.login(3);
    for i in 0..10 {
        w.issue(
            if i % 4 == 0 { "GT" } else { "TP" },
            (i % 3 == 1).then_some("elderly"),
        );
        w.advance(3);
        if i % 2 == 0 {
            let _ = w.next(1);
            let _ = w.next(3);
        }
        w.tick();
    }
    let rebuilt = rebuild(&w);
    assert_eq!(rebuilt, w.state);
}

fn rebuild(w: &World) -> State {
    let Some((
        _,
        Event::DayStarted {
            day,
            next_ticket_id,
            sessions,
        },
    )) = w.log.first()
    else {
        panic!("log starts a day")
    };
    let mut s = State::new_day(&w.rules, *day, *next_ticket_id, sessions);
    for (at, e) in &w.log {
        s.evolve(&w.rules, *at, e);
    }
    s
}

// ------------------------------------------------------------------ properties

#[derive(Debug, Clone)]
enum Op {
    Issue {
        service: usize,
        priority: Option<usize>,
    },
    CallNext(u32),
    Start(u32),
    Finish(u32),
    Recall(u32),
    NoShow(u32),
    Transfer {
        counter: u32,
        service: usize,
    },
    Pause(u32),
    Resume(u32),
    Wait(i64),
}

const SERVICES: [&str; 2] = ["TP", "GT"];
const CATEGORIES: [&str; 3] = ["elderly", "pregnant", "disabled"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..2usize, prop::option::weighted(0.4, 0..3usize)).prop_map(|(service, priority)| Op::Issue { service, priority }),
        5 => (1..=3u32).prop_map(Op::CallNext),
        2 => (1..=3u32).prop_map(Op::Start),
        3 => (1..=3u32).prop_map(Op::Finish),
        1 => (1..=3u32).prop_map(Op::Recall),
        1 => (1..=3u32).prop_map(Op::NoShow),
        1 => (1..=3u32, 0..2usize).prop_map(|(counter, service)| Op::Transfer { counter, service }),
        1 => (1..=3u32).prop_map(Op::Pause),
        1 => (1..=3u32).prop_map(Op::Resume),
        2 => (1..30i64).prop_map(Op::Wait),
    ]
}

/// Runs random operations, checking invariants after each; returns the world and its calls.
fn play(ops: &[Op]) -> (World, Vec<(u32, TicketId, bool, bool)>) {
    let mut w = World::new();
    for n in 1..=3 {
        w.login(n);
    }
    // (counter, ticket, priority, a normal ticket this counter may serve was waiting)
    let mut calls = Vec::new();
    for op in ops {
        let (n, cmd) = match op {
            Op::Issue { service, priority } => {
                let _ = w.run(
                    &kiosk(),
                    Command::IssueTicket {
                        service: SERVICES[*service].into(),
                        priority: priority.map(|p| CATEGORIES[p].to_string()),
                        phone: None,
                    },
                );
                continue;
            }
            Op::Wait(m) => {
                w.advance(*m);
                w.tick();
                continue;
            }
            Op::CallNext(n) => (*n, Command::CallNext {}),
            Op::Start(n) => (*n, Command::StartServing {}),
            Op::Finish(n) => (*n, Command::Finish { rating: None }),
            Op::Recall(n) => (*n, Command::Recall {}),
            Op::NoShow(n) => (*n, Command::NoShow {}),
            Op::Transfer { counter, service } => (
                *counter,
                Command::Transfer {
                    service: Some(SERVICES[*service].into()),
                    counter: None,
                },
            ),
            Op::Pause(n) => (*n, Command::Pause {}),
            Op::Resume(n) => (*n, Command::Resume {}),
        };
        let normal_waiting = w.state.normal_waiting_for(&w.state.counters[&CounterNo(n)]);
        if let Ok(d) = w.run(&counter(n), cmd) {
            for e in &d.events {
                if let Event::TicketCalled {
                    ticket,
                    recall: false,
                    ..
                } = e
                {
                    let priority = w.state.ticket(*ticket).is_some_and(|t| t.is_priority());
                    calls.push((n, *ticket, priority, normal_waiting));
                }
            }
        }
        check_invariants(&w);
    }
    (w, calls)
}

fn check_invariants(w: &World) {
    // No ticket held by two counters, and each held ticket knows its counter.
    let mut held = std::collections::BTreeSet::new();
    for c in w.state.counters.values() {
        if let Some(id) = c.current {
            assert!(held.insert(id), "ticket {id} held by two counters");
            let t = w.state.ticket(id).expect("held ticket exists");
            assert_eq!(t.counter, Some(c.number));
            assert!(matches!(
                t.status,
                TicketStatus::Called | TicketStatus::Serving
            ));
        }
    }
    // Queue indices agree with the tickets.
    let waiting = w
        .state
        .tickets()
        .filter(|t| t.status == TicketStatus::Waiting)
        .count() as u32;
    let indexed: u32 = w
        .state
        .services
        .keys()
        .map(|s| w.state.waiting_count(s))
        .sum();
    assert_eq!(waiting, indexed, "waiting tickets and queue index disagree");
}

#[test]
fn a_citizen_gives_up_a_waiting_place_but_not_a_called_one() {
    let mut w = World::new();
    w.login(1);
    let first = w.issue("TP", None);
    let second = w.issue("TP", None);
    let id = |w: &World, label: &str| {
        w.state
            .tickets()
            .find(|t| t.label == label)
            .map(|t| t.id)
            .expect("issued")
    };
    let second_id = id(&w, &second);
    let d = decide::citizen::leave(&w.state, second_id).expect("waiting");
    assert_eq!(d.events, vec![Event::TicketCancelled { ticket: second_id }]);
    for e in d.events {
        w.apply(e);
    }
    assert_eq!(
        w.next(1),
        Ok(first.clone()),
        "the one who left is not called"
    );
    let called = decide::citizen::leave(&w.state, id(&w, &first)).expect_err("called");
    assert_eq!(called.code, ErrorCode::InvalidState);
    let again = decide::citizen::leave(&w.state, second_id).expect_err("gone");
    assert_eq!(again.code, ErrorCode::InvalidState);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn numbers_are_unique_within_the_day(ops in prop::collection::vec(op(), 1..150)) {
        let (w, _) = play(&ops);
        let mut labels: Vec<&str> = w.state.tickets().map(|t| t.label.as_str()).collect();
        let n = labels.len();
        labels.sort_unstable();
        labels.dedup();
        prop_assert_eq!(labels.len(), n);
    }

    #[test]
    fn the_fairness_bound_holds_at_every_counter(ops in prop::collection::vec(op(), 1..200)) {
        let (w, calls) = play(&ops);
        for n in 1..=3u32 {
            let mut streak = 0;
            for (_, _, priority, normal_waiting) in calls.iter().filter(|c| c.0 == n) {
                if *priority && *normal_waiting {
                    streak += 1;
                    prop_assert!(streak <= w.rules.max_priority_in_row, "counter {n}: {streak} priority calls in a row while normals waited");
                } else {
                    streak = 0;
                }
            }
        }
    }

    #[test]
    fn within_a_service_and_class_tickets_are_called_in_issue_order(ops in prop::collection::vec(op(), 1..200)) {
        let (w, calls) = play(&ops);
        let mut last: std::collections::BTreeMap<(ServiceId, bool), TicketId> = Default::default();
        for (_, id, priority, _) in &calls {
            let t = w.state.ticket(*id).expect("called ticket");
            // A transferred ticket keeps its issue-time place in its new queue, so the order
            // holds only for tickets that never moved.
            if t.transfers > 0 {
                continue;
            }
            let key = (t.service.clone(), *priority);
            if let Some(prev) = last.get(&key) {
                prop_assert!(prev < id, "{} called after a newer ticket of its class", t.label);
            }
            last.insert(key, *id);
        }
    }

    #[test]
    fn every_waiting_ticket_is_called_when_counters_keep_calling(ops in prop::collection::vec(op(), 1..150)) {
        let (mut w, _) = play(&ops);
        for n in 1..=3 {
            let _ = w.run(&counter(n), Command::Resume {});
        }
        // Counters keep calling, clearing whoever stands before them, until none gets a ticket.
        for _ in 0..1000 {
            let mut any = false;
            for n in 1..=3u32 {
                if let Some(id) = w.state.counters[&CounterNo(n)].current {
                    let status = w.state.ticket(id).map(|t| t.status);
                    if status == Some(TicketStatus::Called) {
                        w.run(&counter(n), Command::StartServing {}).expect("start");
                    }
                    w.run(&counter(n), Command::Finish { rating: None }).expect("finish");
                }
                if w.run(&counter(n), Command::CallNext {}).is_ok() {
                    any = true;
                }
            }
            if !any {
                break;
            }
        }
        let left: Vec<&str> = w.state.tickets().filter(|t| t.status == TicketStatus::Waiting).map(|t| t.label.as_str()).collect();
        prop_assert!(left.is_empty(), "still waiting: {left:?}");
    }

    #[test]
    fn replay_rebuilds_the_state(ops in prop::collection::vec(op(), 1..120)) {
        let (w, _) = play(&ops);
        prop_assert_eq!(rebuild(&w), w.state);
    }
}

#[test]
fn a_wait_ends_at_the_first_call_whatever_recalls_follow_and_transfers_are_counted() {
    let mut w = World::new();
    w.issue("TP", None);
    w.issue("TP", None);
    w.login(1);
    w.advance(10);
    w.next(1).expect("called after 10 minutes");
    w.advance(5);
    w.run(&counter(1), Command::Recall {}).expect("recalled");
    w.advance(5);
    w.run(
        &counter(1),
        Command::Transfer {
            service: None,
            counter: Some(2),
        },
    )
    .expect("transferred");
    let rows = crate::figures::rows_of_day(&w.state);
    let figures = &crate::figures::summarize(&rows, crate::figures::By::Total)[0].1;
    // One ticket waited 10 minutes (recall and transfer after it do not lengthen that).
    assert_eq!(figures.wait_avg_min, Some(10.0));
    assert_eq!(figures.transferred, 1);
}

#[test]
fn times_shown_are_local_also_across_a_daylight_saving_change() {
    // Vietnam has no DST; a centre abroad (or a future rule) might: Europe/Berlin, 29 March
    // 2026, clocks go from 02:00 to 03:00.
    let mut rules = rules();
    rules.tz = "Europe/Berlin".parse().expect("tz");
    let center = crate::sample::center();
    let state = State::new_day(&rules, "2026-03-29".parse().expect("day"), TicketId(1), &[]);
    let at = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    };
    let views = Views::new(&rules, &center, &state, at("2026-03-29T12:00:00Z"));
    assert_eq!(
        views.time(at("2026-03-29T00:30:00Z")).to_rfc3339(),
        "2026-03-29T01:30:00+01:00"
    );
    assert_eq!(
        views.time(at("2026-03-29T12:00:00Z")).to_rfc3339(),
        "2026-03-29T14:00:00+02:00"
    );
    let steady = Views::new(&rules, &center, &state, at("2026-06-01T12:00:00Z"));
    assert_eq!(
        steady.time(at("2026-06-01T08:00:00Z")).to_rfc3339(),
        "2026-06-01T10:00:00+02:00"
    );
    assert_eq!(
        steady.time(at("2026-01-01T08:00:00Z")).to_rfc3339(),
        "2026-01-01T09:00:00+01:00",
        "far from now: looked up"
    );
}

#[test]
fn an_admin_sets_the_boards_notice_for_the_day() {
    let mut w = World::new();
    let admin = Actor {
        device: "console-ql01".into(),
        role: Role::Admin,
    };
    let set = |notice: &str| Command::SetNotice {
        notice: notice.into(),
    };
    let center = crate::sample::center();
    let shown = |w: &World| {
        Views::new(&w.rules, &center, &w.state, w.now)
            .light_snapshot(false)
            .center
            .notice
    };
    let configured = shown(&w);
    w.run(&admin, set("  Chiều nay   nghỉ từ 16:00  "))
        .expect("set");
    assert_eq!(shown(&w), "Chiều nay nghỉ từ 16:00");
    assert_eq!(
        w.run(&admin, set(&"x".repeat(301)))
            .map(|_| ())
            .unwrap_err()
            .code,
        ErrorCode::BadRequest
    );
    assert_eq!(
        w.run(&admin, set("a bell \u{7}"))
            .map(|_| ())
            .unwrap_err()
            .code,
        ErrorCode::BadRequest
    );
    assert_eq!(
        w.run(&counter(1), set("mine"))
            .map(|_| ())
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    let again = w.run(&admin, set("Chiều nay nghỉ từ 16:00")).expect("same");
    assert!(again.events.is_empty(), "nothing changed, nothing recorded");
    // The next day shows the configured notice again.
    w.advance(24 * 60);
    w.tick();
    assert_eq!(shown(&w), configured);
}

mod appointments;

#[test]
fn the_days_following_is_counted_for_the_console_after_tickets_end() {
    use crate::decide::citizen::{Delivery, follow, notified};
    use protocol::{FollowChannel, NoticeKind};
    let mut w = World::new();
    w.login(1);
    w.issue("TP", None);
    w.issue("TP", None);
    let ids: Vec<TicketId> = w.state.tickets().map(|t| t.id).collect();
    let (first, second) = (ids[0], ids[1]);
    for (ticket, channel) in [
        (first, FollowChannel::Push),
        (first, FollowChannel::Push),
        (second, FollowChannel::Sms),
    ] {
        let d = follow(&w.state, ticket, channel, "sealed".into(), None).expect("followed");
        for e in d.events {
            w.apply(e);
        }
    }
    for (ticket, delivery) in [(first, Delivery::Delivered), (second, Delivery::Failed)] {
        for e in notified(&w.state, ticket, 0, NoticeKind::Near, delivery) {
            w.apply(e);
        }
    }
    let expected = protocol::FollowingFigures {
        push: 1,
        sms: 1,
        delivered: 1,
        failed: 1,
    };
    assert_eq!(crate::figures::following(&w.state), expected);
    // Both served: their followers are gone, the day's figures stay.
    w.next(1).expect("first called");
    w.next(1).expect("second called");
    w.run(&counter(1), Command::StartServing {})
        .expect("serving");
    w.run(&counter(1), Command::Finish { rating: None })
        .expect("done");
    assert!(w.state.following.values().all(|f| f.followers.is_empty()));
    assert_eq!(crate::figures::following(&w.state), expected);
    let center = crate::sample::center();
    let views = Views::new(&w.rules, &center, &w.state, w.now);
    assert_eq!(views.snapshot(true).following, Some(expected));
    assert_eq!(views.snapshot(false).following, None, "admins only");
}
