//! The engine on a manual clock, one batch at a time: what each request is answered, and what
//! the database holds afterwards.

use std::path::PathBuf;

use chrono::TimeDelta;

use super::*;
use crate::clock::ManualClock;

struct Bench {
    _dir: tempfile::TempDir,
    db: PathBuf,
    clock: Arc<ManualClock>,
    engine: Engine,
}

/// An engine on a new database, Monday 09:00 in Hà Nội (every demo service open).
fn bench() -> Bench {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let clock = Arc::new(ManualClock::at("2026-11-23T09:00:00+07:00"));
    let config = Arc::new(Config::demo().expect("the demo configuration"));
    let (engine, _requests, _handle) = open(config, &db, clock.clone(), None).expect("opened");
    Bench {
        _dir: dir,
        db,
        clock,
        engine,
    }
}

/// A kiosk's press with command id `id`.
fn press(id: &str, expires_at: Option<DateTime<Utc>>) -> (Request, Reply) {
    let (respond, reply) = oneshot::channel();
    let request = Request::Command {
        actor: Actor {
            device: "kiosk-1".into(),
            role: Role::Kiosk,
        },
        id: id.into(),
        command: Command::IssueTicket {
            service: "TP".into(),
            priority: None,
            phone: None,
        },
        expires_at,
        staff: None,
        respond,
    };
    (request, reply)
}

fn answer(reply: Reply) -> p::Reply {
    let text = reply.blocking_recv().expect("answered");
    match serde_json::from_str::<p::ServerMessage>(text.as_str()).expect("a server message") {
        p::ServerMessage::Reply(r) => r,
        other => panic!("not a reply: {other:?}"),
    }
}

fn code(reply: &p::Reply) -> Option<ErrorCode> {
    reply.error.as_ref().map(|e| e.code)
}

impl Bench {
    fn reader(&self) -> ledger::Reader {
        ledger::Reader::open(&self.db).expect("the database")
    }
}

#[test]
fn a_new_log_begins_with_its_day() {
    let b = bench();
    let events = b.reader().events_after(0, 10).expect("events");
    assert_eq!(
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["day_started"]
    );
    assert_eq!(b.engine.seq, 1);
}

#[test]
fn a_retried_command_is_answered_from_memory_and_acts_once() {
    let mut b = bench();
    let (first, reply) = press("k:1", None);
    b.engine.process(vec![first], None).expect("committed");
    let first_text = answer(reply);
    assert!(first_text.ok, "{first_text:?}");
    let ticket = first_text
        .result
        .as_ref()
        .and_then(|r| r.ticket())
        .expect("a ticket")
        .clone();

    // The same id again, in a later batch and in the same one: the same answer, no new ticket.
    let (again, reply_again) = press("k:1", None);
    let (twice, reply_twice) = press("k:1", None);
    b.engine
        .process(vec![again, twice], None)
        .expect("nothing to commit");
    assert_eq!(answer(reply_again), first_text);
    assert_eq!(answer(reply_twice), first_text);

    let tickets = b.reader().tickets().expect("tickets");
    assert_eq!(tickets.len(), 1);
    assert_eq!(
        (tickets[0].id, tickets[0].number.as_str()),
        (ticket.id, ticket.number.as_str())
    );
    let counts = b.reader().counts().expect("counts");
    assert_eq!((counts.events, counts.replies), (2, 1));

    // Another id is another press.
    let (other, reply_other) = press("k:2", None);
    b.engine.process(vec![other], None).expect("committed");
    assert_ne!(
        answer(reply_other).result.and_then(|r| r.into_ticket()),
        Some(ticket)
    );
}

#[test]
fn an_expired_command_is_refused_with_the_hubs_time_and_leaves_nothing() {
    let mut b = bench();
    let now = b.clock.now();
    let (late, reply) = press("k:1", Some(now - TimeDelta::seconds(1)));
    b.engine
        .process(vec![late], None)
        .expect("nothing to commit");
    let refused = answer(reply);
    assert!(!refused.ok);
    assert_eq!(code(&refused), Some(ErrorCode::Expired));
    assert_eq!(
        refused.now,
        Some(now),
        "the hub's clock, to correct the client's"
    );
    let counts = b.reader().counts().expect("counts");
    assert_eq!((counts.events, counts.tickets, counts.replies), (1, 0, 0));

    // Within its deadline, the same id acts: the refusal was not remembered.
    let (in_time, reply) = press("k:1", Some(now + TimeDelta::seconds(8)));
    b.engine.process(vec![in_time], None).expect("committed");
    assert!(answer(reply).ok);
    assert_eq!(b.reader().tickets().expect("tickets").len(), 1);
}

#[test]
fn a_failed_commit_answers_internal_to_every_command_of_its_batch() {
    let mut b = bench();
    let lock = ledger::testing::hold_write_lock(&b.db).expect("locked");
    let presses: Vec<_> = ["k:1", "k:2", "k:3"]
        .iter()
        .map(|id| press(id, None))
        .collect();
    let (requests, replies): (Vec<_>, Vec<_>) = presses.into_iter().unzip();
    b.engine
        .process(requests, None)
        .expect_err("the database is locked");
    for reply in replies {
        assert_eq!(code(&answer(reply)), Some(ErrorCode::Internal));
    }
    assert!(
        b.engine.health.borrow().writes.is_some(),
        "/healthz says the database refuses writes"
    );
    drop(lock);

    // What the engine does after a failed batch: rebuild from disk, which has none of it.
    b.engine.reload().expect("rebuilt");
    assert_eq!(b.engine.seq, 1);
    assert!(b.reader().tickets().expect("tickets").is_empty());
    // The failed ids were never remembered: a retry acts, and the disk works again.
    let (retry, reply) = press("k:1", None);
    b.engine.process(vec![retry], None).expect("committed");
    assert!(answer(reply).ok);
    assert_eq!(b.reader().tickets().expect("tickets").len(), 1);
    assert!(b.engine.health.borrow().writes.is_none());
}

#[test]
fn a_new_service_day_comes_before_the_batchs_commands_and_forgets_yesterdays_ids() {
    let mut b = bench();
    let (first, reply) = press("k:1", None);
    b.engine.process(vec![first], None).expect("committed");
    let monday = answer(reply).result.and_then(|r| r.into_ticket());
    b.clock.advance(TimeDelta::days(1));
    let (tuesday, reply) = press("k:1", None);
    b.engine.process(vec![tuesday], None).expect("committed");
    let tuesday = answer(reply).result.and_then(|r| r.into_ticket());
    assert_ne!(tuesday, monday, "a new day's press, not yesterday's answer");
    let kinds: Vec<String> = b
        .reader()
        .events_after(0, 10)
        .expect("events")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "day_started",
            "ticket_issued",
            "day_started",
            "ticket_issued"
        ]
    );
    let tickets = b.reader().tickets().expect("tickets");
    assert_eq!(
        tickets.iter().map(|t| t.status).collect::<Vec<_>>(),
        [p::TicketStatus::Expired, p::TicketStatus::Waiting],
        "Monday's unserved ticket expired with its day"
    );
}

/// A standby's engine given a primary's log as a standby gets it after a long absence (replies
/// first, then events, the service day turning on the way), then promoted: the same rows, and a
/// press retried on it gets the primary's answer.
#[test]
fn a_standby_engine_keeps_the_primarys_log_across_a_day_and_takes_over() {
    use crate::pair::messages;
    let mut primary = bench();
    let (first, reply) = press("k:monday", None);
    primary
        .engine
        .process(vec![first], None)
        .expect("committed");
    assert!(answer(reply).ok);
    primary.clock.advance(TimeDelta::days(1));
    let (second, reply) = press("k:tuesday", None);
    primary
        .engine
        .process(vec![second], None)
        .expect("committed");
    let tuesday = answer(reply);
    assert!(tuesday.ok, "{tuesday:?}");

    let dir = tempfile::tempdir().expect("tmp");
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "engine-test-secret-0123456789\n").expect("secret");
    let mut config = Config::demo().expect("demo");
    config.replication = Some(centre_config::Replication {
        peer: "ws://127.0.0.1:9".into(),
        token_file: secret,
        sync_timeout: std::time::Duration::from_millis(100),
        ca_file: None,
        pin: None,
        live_buffer: centre_config::DEFAULT_LIVE_BUFFER,
    });
    let db = dir.path().join("standby.db");
    Writer::open(&db)
        .expect("db")
        .set_role(Some("standby"))
        .expect("a standby's");
    let (mut standby, _requests, _handle) =
        open(Arc::new(config), &db, primary.clock.clone(), None).expect("opened");
    assert_eq!(standby.seq, 0, "a standby's log begins with its primary's");

    let mut reader = primary.reader();
    let rows = reader
        .replication_after(0, 1000)
        .expect("the primary's log");
    let head = rows.last().map_or(0, |(e, _)| e.seq);
    let replies = reader
        .replies_since(rows[0].0.day)
        .expect("replies")
        .iter()
        .map(messages::Reply::of)
        .collect();
    let events = rows
        .iter()
        .map(|(row, wire)| messages::Event::of_row(row, wire.clone()))
        .collect();
    let batches = [
        messages::Batch {
            head,
            sync: false,
            events: vec![],
            replies,
        },
        messages::Batch {
            head,
            sync: false,
            events,
            replies: vec![],
        },
        messages::Batch {
            head,
            sync: true,
            events: vec![],
            replies: vec![],
        },
    ];
    for batch in batches.into_iter().flat_map(messages::Batch::by_day) {
        let (respond, acked) = oneshot::channel();
        let request = Request::Replicated {
            batch: Box::new(batch),
            respond,
        };
        standby.process(vec![request], None).expect("committed");
        // Each batch acknowledged with what is on disk: nothing after the replies, then all.
        let on_disk = acked.blocking_recv().expect("acked");
        assert_eq!(on_disk, Ok(standby.seq));
    }
    assert_eq!(standby.seq, head);
    let tickets = |db: &std::path::Path| {
        ledger::Reader::open(db)
            .expect("db")
            .tickets()
            .expect("tickets")
    };
    assert_eq!(tickets(&primary.db), tickets(&db), "the same rows, derived");

    let (respond, promoted) = oneshot::channel();
    standby
        .process(
            vec![Request::Promote {
                force: false,
                respond,
            }],
            None,
        )
        .expect("committed");
    assert_eq!(promoted.blocking_recv().expect("answered"), Ok(1));
    let (again, reply) = press("k:tuesday", None);
    standby.process(vec![again], None).expect("committed");
    assert_eq!(
        answer(reply),
        tuesday,
        "the primary's answer, from the standby's memory"
    );
}
