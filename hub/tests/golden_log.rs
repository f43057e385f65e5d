//! The golden event log: `golden/events-v1.jsonl` holds the rows of an event log exactly as the
//! first version of the hub wrote them (a scripted day and the start of the next, with every
//! kind of event), and `golden/state-day*.txt` the state that version had after them. Every
//! future version must decode those bodies and rebuild the same state: the on-disk format is a
//! contract (see `queue_core::persisted`), and these files are never regenerated.

use std::fmt::Write as _;

use centre_config::Config;
use chrono::{DateTime, NaiveDate, Utc};
use queue_core::persisted;
use queue_core::{Event, Recorded, Rules, State};

const CENTRE: &str = include_str!("golden/centre.toml");
const LOG: &str = include_str!("golden/events-v1.jsonl");
const DAY1: &str = include_str!("golden/state-day1.txt");
const DAY2: &str = include_str!("golden/state-day2.txt");

fn rules() -> Rules {
    Config::parse(CENTRE, "golden/centre.toml")
        .expect("the golden centre")
        .rules
}

/// The rows of the log, decoded by the same code the store uses.
fn log() -> Vec<Recorded> {
    LOG.lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).expect("a JSON row");
            let text = |k: &str| row[k].as_str().unwrap_or_else(|| panic!("{k} in {line}"));
            Recorded {
                seq: row["seq"].as_u64().expect("seq"),
                at: DateTime::parse_from_rfc3339(text("at"))
                    .expect("at")
                    .with_timezone(&Utc),
                day: text("day").parse::<NaiveDate>().expect("day"),
                device: text("device").into(),
                staff: row["staff"].as_str().map(Into::into),
                event: persisted::decode(text("body"))
                    .unwrap_or_else(|e| panic!("seq {}: {e}", row["seq"])),
            }
        })
        .collect()
}

/// Replays records from a `day_started`, as the hub does at start-up.
fn replay(rules: &Rules, records: &[Recorded]) -> State {
    let Some(Event::DayStarted {
        day,
        next_ticket_id,
        sessions,
    }) = records.first().map(|r| &r.event)
    else {
        panic!("a day's log begins with day_started");
    };
    let mut state = State::new_day(rules, *day, *next_ticket_id, sessions);
    for r in records {
        state.evolve(rules, r.at, &r.event);
    }
    state
}

#[test]
fn the_golden_log_replays_to_the_same_state() {
    let rules = rules();
    let records = log();
    assert_eq!(records.len(), 65);
    let second_day = records
        .iter()
        .rposition(|r| matches!(r.event, Event::DayStarted { .. }))
        .expect("a second day");
    assert!(second_day > 0, "the log spans two service days");
    assert_eq!(digest(&replay(&rules, &records[..second_day])), DAY1);
    // The live hub went on from day one; a restart on day two replays from its `day_started`.
    // Both must agree with what the first version had — but a restart forgets device statuses
    // (they are not carried by `day_started`), so that line is compared on the full replay only.
    assert_eq!(digest(&replay(&rules, &records)), DAY2);
    let restarted = digest(&replay(&rules, &records[second_day..]));
    let without_devices: String = DAY2
        .lines()
        .filter(|l| !l.starts_with("device "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(restarted, without_devices);
}

#[test]
fn the_golden_log_has_every_kind_of_event() {
    let kinds: std::collections::BTreeSet<&str> = log()
        .iter()
        .map(|r| match &r.event {
            // `kind()` is the wire kind: counter events share one; tell them apart here.
            Event::CounterOpened { .. } => "counter_opened",
            Event::CounterClosed { .. } => "counter_closed",
            Event::CounterPaused { .. } => "counter_paused",
            Event::CounterResumed { .. } => "counter_resumed",
            Event::CounterServicesSet { .. } => "counter_services_set",
            e => e.kind(),
        })
        .collect();
    assert_eq!(kinds.len(), 17, "{kinds:?}");
}

#[test]
fn bodies_written_today_read_back_unchanged() {
    for r in log() {
        let again = persisted::decode(&persisted::encode(&r.event)).expect("our own body");
        assert_eq!(again, r.event);
    }
}

#[test]
fn the_sample_centre_is_the_golden_centre() {
    // The core's tests and the fuzzer use `queue_core::sample`, built in code; it must stay the
    // centre the golden log was written with.
    assert_eq!(queue_core::sample::rules(), rules());
}

/// What a service day's state is, in words that do not depend on how it is stored in memory.
pub fn digest(s: &State) -> String {
    let mut out = String::new();
    let t = |d: Option<DateTime<Utc>>| d.map_or("-".to_string(), |d| d.to_rfc3339());
    writeln!(out, "day {} next_ticket_id {}", s.day, s.next_ticket_id).unwrap();
    for k in s.tickets() {
        writeln!(
            out,
            "ticket {} {} service={} number={} priority={:?} status={:?} issued={} queued={} called={} serving={} finished={} counter={:?} staff={:?} for_counter={:?} recalls={} transfers={} overdue_wait={} overdue_service={} rating={:?} track={}",
            k.id, k.label, k.service, k.number, k.priority.as_ref().map(|c| c.as_str()), k.status, k.issued_at.to_rfc3339(), k.queued_at.to_rfc3339(),
            t(k.called_at), t(k.serving_at), t(k.finished_at), k.counter.map(|c| c.0), k.staff.as_ref().map(|s| s.as_str()), k.for_counter.map(|c| c.0),
            k.recalls, k.transfers, k.overdue_wait, k.overdue_service, k.rating, k.track
        )
        .unwrap();
    }
    for c in s.counters.values() {
        writeln!(
            out,
            "counter {} services={:?} priority_only={} session={:?} paused={} current={:?} streak={} served={} no_shows={} wait_secs={} calls={} service_secs={}",
            c.number.0,
            c.services.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
            c.priority_only,
            c.session.as_ref().map(|s| (s.device.as_str(), s.staff.as_str())),
            c.paused, c.current.map(|t| t.0), c.priority_streak, c.served_today, c.no_shows_today,
            c.wait_secs_total, c.calls_today, c.service_secs_total
        )
        .unwrap();
    }
    for (id, d) in &s.services {
        let queue: Vec<u64> = d.queue.iter().map(|k| k.id.0).collect();
        writeln!(
            out,
            "service {} next_number={} issued={} admin_closed={} hours_open={} recent={:?} queue={:?} directed={} overdue_waiting={}",
            id, d.next_number, d.issued, d.admin_closed, d.hours_open, d.recent_service_secs, queue, d.directed, d.overdue_waiting
        )
        .unwrap();
    }
    for (c, q) in &s.directed {
        let ids: Vec<u64> = q.iter().map(|k| k.id.0).collect();
        writeln!(out, "directed {} {:?}", c.0, ids).unwrap();
    }
    for (due, id, phase) in &s.deadlines {
        writeln!(out, "deadline {} {} {:?}", due.to_rfc3339(), id, phase).unwrap();
    }
    for c in &s.recent_calls {
        writeln!(
            out,
            "call {} {} {} recall={}",
            c.ticket,
            c.counter.0,
            c.at.to_rfc3339(),
            c.recall
        )
        .unwrap();
    }
    for (d, st) in &s.device_status {
        writeln!(out, "device {d} {st}").unwrap();
    }
    out
}
