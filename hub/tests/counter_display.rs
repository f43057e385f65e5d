//! The citizen's side of the counter (`counter_display`), against the real binary: the screen at
//! a counter rates that counter's finished tickets once, with reasons for a low rating, and
//! while a counter has one the clerk's own ratings are refused.

use std::path::Path;
use std::sync::Arc;

use chrono::TimeDelta;
use hub_client::Update;
use protocol::{Command, ErrorCode, EventKind, RatingSource, Role, Ticket, TicketRef};
use testkit::{Client, HubProcess, ManualClock, WAIT, issue, ticket_of};

fn rate(ticket: &Ticket, rating: u8, reasons: &[&str]) -> Command {
    Command::Rate {
        ticket: TicketRef::Number(ticket.number.clone()),
        rating,
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
    }
}

async fn refused(client: &Client, command: Command) -> Option<ErrorCode> {
    client.send(command).await.err().and_then(|e| e.code())
}

#[tokio::test]
async fn the_citizen_rates_once_at_its_own_counter_and_the_clerk_cannot() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = HubProcess::demo(
        Path::new(env!("CARGO_BIN_EXE_hub")),
        &dir.path().join("hub.db"),
    );
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let (mut board, _) = Client::connect(hub.addr, Role::Display, "display-1").await;
    let clerk = Client::clerk(hub.addr, 1).await;
    let (pad, welcome) = Client::connect(hub.addr, Role::CounterDisplay, "pad-1").await;
    let other_pad = Client::pad(hub.addr, 2).await;

    // What the citizen's screen needs to show: its counter and clerk, and the rating scale.
    let counter = welcome
        .counters
        .iter()
        .find(|c| c.number == 1)
        .expect("its own counter");
    assert_eq!(counter.staff_name.as_deref(), Some("Nguyễn Thị Lan"));
    let levels: Vec<u8> = welcome.ratings.iter().map(|l| l.value).collect();
    assert_eq!(levels, [4, 3, 2, 1]);
    assert_eq!(welcome.ratings[0].name_vi, "Rất hài lòng");
    assert!(welcome.rating_reasons.iter().any(|r| r.id == "wait"));

    let served = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    let waiting = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    clerk.send(Command::CallNext {}).await.expect("call");
    // The clerk being rated does not hold the buttons.
    assert_eq!(
        refused(&clerk, Command::Finish { rating: Some(4) }).await,
        Some(ErrorCode::Forbidden)
    );
    clerk
        .send(Command::Finish { rating: None })
        .await
        .expect("a finish without a rating works as before");
    assert_eq!(
        refused(&clerk, rate(&served, 4, &[])).await,
        Some(ErrorCode::Forbidden)
    );
    // Another counter's screen, a ticket not finished, reasons that are not configured or
    // given for a good rating: refused, and nothing recorded.
    assert_eq!(
        refused(&other_pad, rate(&served, 1, &[])).await,
        Some(ErrorCode::Forbidden)
    );
    assert_eq!(
        refused(&pad, rate(&waiting, 3, &[])).await,
        Some(ErrorCode::InvalidState)
    );
    assert_eq!(
        refused(&pad, rate(&served, 1, &["bribe"])).await,
        Some(ErrorCode::BadRequest)
    );
    assert_eq!(
        refused(&pad, rate(&served, 4, &["wait"])).await,
        Some(ErrorCode::BadRequest)
    );
    assert_eq!(
        refused(&pad, rate(&served, 5, &[])).await,
        Some(ErrorCode::BadRequest)
    );
    // A counter display may only rate and report its status.
    assert_eq!(
        refused(&pad, Command::CallNext {}).await,
        Some(ErrorCode::Forbidden)
    );
    assert_eq!(refused(&pad, issue("TP")).await, Some(ErrorCode::Forbidden));

    let rated = ticket_of(
        &pad.send(rate(&served, 2, &["slow", "wait", "wait"]))
            .await
            .expect("the citizen rates"),
    );
    assert_eq!(rated.rating, Some(2));
    let (_, event) = tokio::time::timeout(WAIT, board.event(EventKind::TicketRated))
        .await
        .expect("every screen hears of it");
    assert_eq!(event.rating, Some(2));
    assert_eq!(event.source, Some(RatingSource::Citizen));
    // Each reason once, in the configuration's order.
    assert_eq!(
        event.reasons,
        Some(vec!["wait".to_string(), "slow".to_string()])
    );
    assert_eq!(
        refused(&pad, rate(&served, 4, &[])).await,
        Some(ErrorCode::InvalidState)
    );

    // A forged token for the screen is refused like any other.
    let mut forged =
        Client::connect_with_token(hub.addr, Role::CounterDisplay, "pad-1", "demo-pad-2");
    match forged.next_update().await {
        Update::Refused { error } => assert_eq!(error.code, ErrorCode::Unauthorized),
        other => panic!("expected a refusal, got {other:?}"),
    }
    hub.kill();
}

#[tokio::test]
async fn a_rating_after_the_window_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::at("2026-11-23T09:00:00+07:00"));
    let hub = testkit::start_hub_on(&clock, &dir.path().join("hub.db")).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let clerk = Client::clerk(hub.addr, 1).await;
    let pad = Client::pad(hub.addr, 1).await;
    let late = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    clerk.send(Command::CallNext {}).await.expect("call");
    clerk
        .send(Command::Finish { rating: None })
        .await
        .expect("finish");
    // The demo's rating_window_min is 10: the citizen has long gone.
    clock.advance(TimeDelta::minutes(11));
    assert_eq!(
        refused(&pad, rate(&late, 4, &[])).await,
        Some(ErrorCode::InvalidState)
    );
    // Within the window it is taken.
    let on_time = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    clerk.send(Command::CallNext {}).await.expect("call");
    clerk
        .send(Command::Finish { rating: None })
        .await
        .expect("finish");
    clock.advance(TimeDelta::minutes(9));
    let rated = ticket_of(&pad.send(rate(&on_time, 3, &[])).await.expect("rated"));
    assert_eq!(rated.rating, Some(3));
    hub.stop().await.expect("stop");
}

/// The same rules as a client written from the protocol page alone sees them: raw JSON.
#[tokio::test]
async fn the_counter_display_section_of_the_protocol_in_raw_json() {
    use serde_json::json;
    use testkit::raw;
    let dir = tempfile::tempdir().expect("tmp");
    let hub = HubProcess::demo(
        Path::new(env!("CARGO_BIN_EXE_hub")),
        &dir.path().join("hub.db"),
    );
    let (mut pad, welcome) = raw::device(hub.addr, "counter_display", "pad-2").await;
    let snapshot = &welcome["snapshot"];
    assert_eq!(snapshot["ratings"][0]["value"], 4, "{snapshot}");
    assert!(snapshot["ratings"][3]["name_vi"].is_string());
    assert!(
        snapshot["rating_reasons"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );
    assert!(
        snapshot["counters"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["number"] == 2)),
        "its own counter is in the snapshot"
    );
    let (mut kiosk, _) = raw::device(hub.addr, "kiosk", "kiosk-1").await;
    let (mut counter, _) = raw::device(hub.addr, "counter", "counter-2").await;
    let ask = |id: &str, cmd: &str, args: serde_json::Value| json!({"type": "cmd", "id": id, "cmd": cmd, "args": args});
    raw::send(&mut pad, &ask("p1", "call_next", json!({}))).await;
    let refused = raw::next_of(&mut pad, "reply").await.expect("a reply");
    assert_eq!(refused["error"]["code"], "forbidden", "{refused}");
    raw::send(
        &mut kiosk,
        &ask("k1", "issue_ticket", json!({"service": "TP"})),
    )
    .await;
    let issued = raw::next_of(&mut kiosk, "reply").await.expect("issued");
    let number = issued["result"]["ticket"]["number"].clone();
    for (id, cmd, args) in [
        (
            "c1",
            "login",
            json!({"counter": 2, "staff": "nv02", "pin": "1234"}),
        ),
        ("c2", "call_next", json!({})),
        ("c3", "finish", json!({"rating": 4})),
    ] {
        raw::send(&mut counter, &ask(id, cmd, args)).await;
        let reply = raw::next_of(&mut counter, "reply").await.expect("a reply");
        if cmd == "finish" {
            assert_eq!(reply["error"]["code"], "forbidden", "{reply}");
        } else {
            assert_eq!(reply["ok"], true, "{reply}");
        }
    }
    raw::send(&mut counter, &ask("c4", "finish", json!({}))).await;
    let finished = raw::next_of(&mut counter, "reply").await.expect("a reply");
    assert_eq!(finished["ok"], true, "{finished}");
    let rate = json!({"ticket": number, "rating": 1, "reasons": ["attitude"]});
    raw::send(&mut pad, &ask("p2", "rate", rate.clone())).await;
    // The reply and the event, in whichever order they come.
    let (mut rated, mut reply) = (None, None);
    while rated.is_none() || reply.is_none() {
        let m = raw::next(&mut pad).await.expect("open");
        if m["type"] == "event" && m["event"]["kind"] == "ticket_rated" {
            rated = Some(m);
        } else if m["type"] == "reply" && m["id"] == "p2" {
            reply = Some(m);
        }
    }
    let (rated, reply) = (rated.unwrap_or_default(), reply.unwrap_or_default());
    assert_eq!(rated["event"]["rating"], 1);
    assert_eq!(rated["event"]["reasons"], json!(["attitude"]));
    assert_eq!(rated["event"]["source"], "citizen");
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(reply["result"]["ticket"]["rating"], 1);
    raw::send(&mut pad, &ask("p3", "rate", rate)).await;
    let again = raw::next_of(&mut pad, "reply").await.expect("a reply");
    assert_eq!(
        again["error"]["code"], "invalid_state",
        "rated once: {again}"
    );
    hub.kill();
}
