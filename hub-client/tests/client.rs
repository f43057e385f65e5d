//! The reconnecting client against a scripted fake hub: gap detection, resume_from, and an
//! unanswered command resent with its original id after a reconnect.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hub_client::*;
use protocol::*;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

fn snapshot() -> Value {
    json!({
        "center": {"name": "Trung tâm", "name_en": "Centre", "service_day": "2026-11-23",
                   "timezone": "Asia/Ho_Chi_Minh", "now": "2026-11-23T08:00:00+07:00"},
        "categories": [], "services": [], "counters": [], "waiting": [], "recent_calls": []
    })
}

fn event(seq: u64) -> String {
    json!({"type": "event", "seq": seq, "at": "2026-11-23T08:00:00+07:00", "event": {"kind": "device_status"}}).to_string()
}

async fn next_update(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Update>) -> Update {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("update in time")
        .expect("running")
}

async fn read_json(ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>) -> Value {
    loop {
        match ws.next().await.expect("message").expect("ok") {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("json"),
            _ => continue,
        }
    }
}

#[tokio::test]
async fn a_gap_makes_the_client_resume_and_an_unanswered_command_is_resent() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut config = ClientConfig::new(
        format!("ws://{addr}/ws"),
        Role::Kiosk,
        "kiosk-1",
        "secret-token",
    );
    config.backoff_min = Duration::from_millis(10);
    let (client, mut updates) = HubClient::connect(config);

    // First connection: a snapshot at seq 1, event 2, then event 4 — event 3 is missing.
    let (tcp, _) = listener.accept().await.expect("accept");
    let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("ws");
    let hello = read_json(&mut ws).await;
    assert_eq!(
        (hello["type"].as_str(), hello["token"].as_str()),
        (Some("hello"), Some("secret-token"))
    );
    assert!(hello.get("resume_from").is_none());
    ws.send(Message::text(
        json!({"type": "welcome", "seq": 1, "snapshot": snapshot()}).to_string(),
    ))
    .await
    .expect("send");
    assert!(matches!(
        next_update(&mut updates).await,
        Update::Snapshot { seq: 1, .. }
    ));

    // A command goes out; this hub never answers it.
    let sender = client.clone();
    let command = tokio::spawn(async move {
        sender
            .send(Command::IssueTicket {
                service: "TP".into(),
                priority: None,
                phone: None,
            })
            .await
    });
    let cmd = read_json(&mut ws).await;
    let cmd_id = cmd["id"].as_str().expect("id").to_string();
    assert!(cmd_id.starts_with("kiosk-1:"));

    ws.send(Message::text(event(2))).await.expect("send");
    ws.send(Message::text(event(4))).await.expect("send");
    match next_update(&mut updates).await {
        Update::Event(f) => assert_eq!(f.seq, 2),
        other => panic!("expected event 2, got {other:?}"),
    }

    // Second connection: the client asks to resume from 2 and resends the command, same id.
    let (tcp, _) = listener.accept().await.expect("accept again");
    let mut ws2 = tokio_tungstenite::accept_async(tcp).await.expect("ws");
    let hello = read_json(&mut ws2).await;
    assert_eq!(hello["resume_from"].as_u64(), Some(2));
    ws2.send(Message::text(
        json!({"type": "welcome", "seq": 2, "replay": true}).to_string(),
    ))
    .await
    .expect("send");
    let resent = read_json(&mut ws2).await;
    assert_eq!(resent["id"].as_str(), Some(cmd_id.as_str()));
    ws2.send(Message::text(event(3))).await.expect("send");
    ws2.send(Message::text(event(4))).await.expect("send");
    let reply = json!({"type": "reply", "id": cmd_id, "ok": false, "error": {"code": "service_closed", "message": "closed"}});
    ws2.send(Message::text(reply.to_string()))
        .await
        .expect("send");

    let mut seqs = Vec::new();
    while seqs.len() < 2 {
        match next_update(&mut updates).await {
            Update::Event(f) => seqs.push(f.seq),
            Update::Offline { .. } | Update::Resumed { seq: 2, .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seqs, vec![3, 4]);
    let outcome = tokio::time::timeout(Duration::from_secs(10), command)
        .await
        .expect("in time")
        .expect("task");
    assert_eq!(
        outcome.expect_err("refused").code(),
        Some(ErrorCode::ServiceClosed)
    );
}

#[tokio::test]
async fn the_client_moves_to_the_hub_that_serves_and_says_the_term_it_saw() {
    let standby = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let primary = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (a, b) = (
        standby.local_addr().expect("addr"),
        primary.local_addr().expect("addr"),
    );
    let mut config = ClientConfig::new(
        format!("ws://{a}/ws, ws://{b}/ws"),
        Role::Kiosk,
        "kiosk-1",
        "secret-token",
    );
    config.backoff_min = Duration::from_millis(10);
    let (_client, mut updates) = HubClient::connect(config);

    // The first address is a standby: it refuses, naming the primary.
    let (tcp, _) = standby.accept().await.expect("accept");
    let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("ws");
    let hello = read_json(&mut ws).await;
    assert!(hello.get("term").is_none(), "{hello}");
    let refusal = json!({"type": "error", "code": "not_primary", "message": format!("the primary is ws://{b}")});
    ws.send(Message::text(refusal.to_string()))
        .await
        .expect("send");

    // The next one serves, in term 2.
    let (tcp, _) = primary.accept().await.expect("accept");
    let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("ws");
    read_json(&mut ws).await;
    let welcome = json!({"type": "welcome", "seq": 1, "snapshot": snapshot(), "term": 2, "term_proof": "proof-of-2"});
    ws.send(Message::text(welcome.to_string()))
        .await
        .expect("send");
    loop {
        if let Update::Snapshot { seq: 1, .. } = next_update(&mut updates).await {
            break;
        }
    }
    drop(ws);

    // It goes down: the client tries the other address, telling the term it saw, with its proof.
    let (tcp, _) = standby.accept().await.expect("accept again");
    let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("ws");
    let hello = read_json(&mut ws).await;
    assert_eq!(hello["term"], 2, "{hello}");
    assert_eq!(hello["term_proof"], "proof-of-2", "{hello}");
    assert_eq!(hello["resume_from"], 1, "{hello}");
}

/// A port nobody listens on.
fn closed_port() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

async fn offline(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Update>) -> bool {
    match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
        Ok(Some(Update::Offline { switching, .. })) => switching,
        other => panic!("expected offline, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn with_two_hubs_an_outage_is_a_switch_for_fifteen_seconds_then_offline() {
    let url = format!("ws://{}/ws,ws://{}/ws", closed_port(), closed_port());
    let (_client, mut rx) =
        HubClient::connect(ClientConfig::new(&url, Role::Kiosk, "kiosk-1", "token"));
    let started = tokio::time::Instant::now();
    assert!(offline(&mut rx).await, "first: switching");
    assert!(!offline(&mut rx).await, "then: offline");
    assert!(started.elapsed() >= SWITCHING_FOR);
    // With one hub there is nothing to switch to: offline at once.
    let url = format!("ws://{}/ws", closed_port());
    let (_client, mut rx) =
        HubClient::connect(ClientConfig::new(&url, Role::Kiosk, "kiosk-1", "token"));
    assert!(!offline(&mut rx).await);
}
