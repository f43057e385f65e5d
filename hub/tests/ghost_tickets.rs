//! No ticket for nobody: a kiosk press that was not answered in time is abandoned by the kiosk
//! and refused by the hub when a copy reaches it late.

use std::time::Duration;

use protocol::{ErrorCode, Role};
use serde_json::json;
use testkit::{Client, HubProcess, issue, raw, start_hub};

#[tokio::test]
async fn a_press_abandoned_while_the_hub_was_stopped_never_becomes_a_ticket() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let hub = HubProcess::demo(std::path::Path::new(env!("CARGO_BIN_EXE_hub")), &db);
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;

    // The hub freezes (a stuck disk, a debugger, an overloaded box); the citizen taps.
    hub.freeze();
    let pressed = kiosk
        .hub
        .send_within(issue("TP"), Duration::from_millis(1500))
        .await;
    assert_eq!(
        pressed.expect_err("abandoned").code(),
        Some(ErrorCode::Expired)
    );
    // The hub wakes up and reads the press that waited in its socket: too late to act on it.
    hub.thaw();
    let later = testkit::ticket_of(&kiosk.send(issue("TP")).await.expect("the next press works"));
    let (_, snapshot) = Client::connect(hub.addr, Role::Counter, "counter-1").await;
    let waiting: Vec<_> = snapshot.waiting.iter().map(|t| t.number.clone()).collect();
    assert_eq!(
        waiting,
        vec![later.number],
        "no ticket for the citizen who left"
    );
    hub.kill();
}

#[tokio::test]
async fn the_hub_refuses_a_command_past_its_expires_at_and_keeps_a_fresh_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (mut ws, welcome) = raw::device(hub.addr, "kiosk", "kiosk-1").await;
    let hub_now: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(welcome["now"].clone()).expect("the welcome says the hub's time");
    let press = |id: &str, expires_at: chrono::DateTime<chrono::Utc>| {
        json!({"type": "cmd", "id": id, "cmd": "issue_ticket", "args": {"service": "TP"},
               "expires_at": expires_at})
    };
    let stale = press("kiosk-1:stale", hub_now - chrono::TimeDelta::seconds(1));
    let fresh = press("kiosk-1:fresh", hub_now + chrono::TimeDelta::seconds(60));
    for command in [stale, fresh] {
        raw::send(&mut ws, &command).await;
    }
    let mut replies = std::collections::HashMap::new();
    while replies.len() < 2 {
        let v = raw::next_of(&mut ws, "reply").await.expect("a reply");
        replies.insert(v["id"].as_str().unwrap_or_default().to_string(), v);
    }
    assert_eq!(replies["kiosk-1:stale"]["ok"], false);
    assert_eq!(replies["kiosk-1:stale"]["error"]["code"], "expired");
    assert_eq!(replies["kiosk-1:fresh"]["ok"], true);
    assert_eq!(
        replies["kiosk-1:fresh"]["result"]["ticket"]["number"],
        "A1001"
    );
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_kiosk_whose_idea_of_the_hubs_clock_is_stale_corrects_it_and_gets_its_ticket() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = std::sync::Arc::new(testkit::ManualClock::new(testkit::monday_morning()));
    let hub = testkit::start_hub_on(&clock, &dir.path().join("hub.db")).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    // The hub's clock is set forward an hour after the kiosk learnt it.
    clock.step(chrono::TimeDelta::hours(1));
    let ticket = kiosk
        .hub
        .send_within(issue("TP"), Duration::from_secs(5))
        .await
        .expect("issued after one correction");
    assert_eq!(testkit::ticket_of(&ticket).number, "A1001");
    hub.stop().await.expect("stop");
}
