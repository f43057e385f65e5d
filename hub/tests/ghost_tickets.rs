//! No ticket for nobody: a kiosk press that was not answered in time is abandoned by the kiosk
//! and refused by the hub when a copy reaches it late.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use protocol::{Command, ErrorCode, Role};
use serde_json::{Value, json};
use testkit::{Client, HubProcess, start_hub};
use tokio_tungstenite::tungstenite::Message;

fn issue() -> Command {
    Command::IssueTicket {
        service: "TP".into(),
        priority: None,
    }
}

/// Sends SIGSTOP or SIGCONT to the hub process.
fn signal(hub: &HubProcess, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &hub.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[tokio::test]
async fn a_press_abandoned_while_the_hub_was_stopped_never_becomes_a_ticket() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let hub = HubProcess::demo(std::path::Path::new(env!("CARGO_BIN_EXE_hub")), &db);
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;

    // The hub freezes (a stuck disk, a debugger, an overloaded box); the citizen taps.
    signal(&hub, "-STOP");
    let pressed = kiosk
        .hub
        .send_within(issue(), Duration::from_millis(1500))
        .await;
    assert_eq!(
        pressed.expect_err("abandoned").code(),
        Some(ErrorCode::Expired)
    );
    // The hub wakes up and reads the press that waited in its socket: too late to act on it.
    signal(&hub, "-CONT");
    let later = testkit::ticket_of(&kiosk.send(issue()).await.expect("the next press works"));
    let (_, snapshot) = Client::connect(hub.addr, Role::Counter, "counter-1").await;
    let waiting: Vec<_> = snapshot.waiting.iter().map(|t| t.number.clone()).collect();
    assert_eq!(
        waiting,
        vec![later.number],
        "no ticket for the citizen who left"
    );
    hub.kill();
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next message that is not an event.
async fn next_reply(ws: &mut Ws) -> Value {
    loop {
        match tokio::time::timeout(testkit::WAIT, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(t.as_str()).expect("json");
                if v["type"] != "event" {
                    return v;
                }
            }
            Ok(Some(Ok(_))) => continue,
            other => panic!("no reply: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_hub_refuses_a_command_past_its_expires_at_and_keeps_a_fresh_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", hub.addr))
        .await
        .expect("connect");
    let hello = json!({"type": "hello", "protocol": 1, "role": "kiosk", "device": "kiosk-1",
                       "token": "demo-kiosk-1"});
    ws.send(Message::text(hello.to_string()))
        .await
        .expect("hello");
    let welcome = next_reply(&mut ws).await;
    let hub_now: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(welcome["now"].clone()).expect("the welcome says the hub's time");
    let press = |id: &str, expires_at: chrono::DateTime<chrono::Utc>| {
        json!({"type": "cmd", "id": id, "cmd": "issue_ticket", "args": {"service": "TP"},
               "expires_at": expires_at})
        .to_string()
    };
    let stale = press("kiosk-1:stale", hub_now - chrono::TimeDelta::seconds(1));
    let fresh = press("kiosk-1:fresh", hub_now + chrono::TimeDelta::seconds(60));
    for text in [stale, fresh] {
        ws.send(Message::text(text)).await.expect("send");
    }
    let mut replies = std::collections::HashMap::new();
    while replies.len() < 2 {
        let v = next_reply(&mut ws).await;
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
    let hub = hub::Hub::start_with_clock(
        testkit::demo_config(),
        &dir.path().join("hub.db"),
        "127.0.0.1:0".parse().expect("addr"),
        clock.clone(),
    )
    .await
    .expect("hub");
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    // The hub's clock is set forward an hour after the kiosk learnt it.
    clock.step(chrono::TimeDelta::hours(1));
    let ticket = kiosk
        .hub
        .send_within(issue(), Duration::from_secs(5))
        .await
        .expect("issued after one correction");
    assert_eq!(testkit::ticket_of(&ticket).number, "A1001");
    hub.stop().await.expect("stop");
}
