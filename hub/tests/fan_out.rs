//! Live events are written to every connection as the shared bytes of their WebSocket frames,
//! beside answers written by the WebSocket library (`server/socket.rs`). A client that reads
//! late — its socket full, the hub's writes cut short halfway through a frame — must still get
//! every frame whole, in order, each answer once.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const LOOPBACK: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A connection with a tiny receive buffer: the hub's writes to it stop halfway soon.
async fn narrow(addr: SocketAddr, role: &str, device: &str) -> Ws {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(2048).expect("receive buffer");
    let stream = socket.connect(addr).await.expect("connect");
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), stream)
        .await
        .expect("handshake");
    let hello = json!({"type": "hello", "protocol": 1, "role": role, "device": device,
                       "token": format!("demo-{device}")});
    ws.send(Message::text(hello.to_string()))
        .await
        .expect("hello");
    let welcome = next_json(&mut ws).await.expect("welcome");
    assert_eq!(welcome["type"], "welcome");
    ws
}

async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("the hub answers in time")?
        {
            Ok(Message::Text(t)) => {
                return Some(serde_json::from_str(t.as_str()).expect("every frame is whole JSON"));
            }
            Ok(Message::Close(c)) => panic!("closed: {c:?}"),
            Err(e) => panic!("broken: {e}"),
            Ok(_) => continue,
        }
    }
}

#[tokio::test]
async fn a_late_reader_gets_every_frame_whole_in_order_and_every_answer_once() {
    let mut config = testkit::demo_config();
    config.limits.burst = 1_000_000;
    config.limits.per_second = 1_000_000;
    for s in config.rules.services.values_mut() {
        s.daily_limit = None;
        s.last_number = 99_999;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let hub = testkit::start_hub_with(config, &dir.path().join("hub.db"), LOOPBACK).await;
    let mut board = narrow(hub.addr, "display", "display-1").await;
    let mut kiosk = narrow(hub.addr, "kiosk", "kiosk-1").await;
    // Many commands, none of their answers read yet: the kiosk's answers (through the library)
    // and events (raw) pile up together behind a full socket, and so do the board's events.
    let commands = 600;
    for i in 0..commands {
        let m = json!({"type": "cmd", "id": format!("late:{i}"), "cmd": "issue_ticket",
                       "args": {"service": "TP"}});
        kiosk
            .send(Message::text(m.to_string()))
            .await
            .expect("send");
    }
    // Everything arrives, whole and in order.
    let mut answered = std::collections::HashSet::new();
    let mut kiosk_seqs = vec![];
    while answered.len() < commands || kiosk_seqs.len() < commands {
        let m = next_json(&mut kiosk).await.expect("the kiosk is served");
        match m["type"].as_str() {
            Some("reply") => {
                assert_eq!(m["ok"], true, "{m}");
                let id = m["id"].as_str().expect("id").to_string();
                assert!(answered.insert(id), "one answer per command");
            }
            Some("event") => kiosk_seqs.push(m["seq"].as_u64().expect("seq")),
            _ => {}
        }
    }
    let mut board_seqs = vec![];
    while board_seqs.len() < commands {
        let m = next_json(&mut board).await.expect("the board is served");
        if m["type"] == "event" {
            board_seqs.push(m["seq"].as_u64().expect("seq"));
        }
    }
    for seqs in [&kiosk_seqs, &board_seqs] {
        assert!(
            seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "events in order, none missing"
        );
    }
    assert_eq!(kiosk_seqs, board_seqs);
    hub.stop().await.expect("stop");
}
