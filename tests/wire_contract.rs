//! The hub against a client written from `docs/PROTOCOL.md` alone: raw JSON over a WebSocket,
//! no project types. Hostile and malformed input must get clear errors and harm nothing.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use testkit::raw::{self, Ws};
use tokio_tungstenite::tungstenite::Message;

async fn start() -> (hub::Hub, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let config = testkit::real_clock_config();
    let hub = hub::Hub::start(
        config,
        &dir.path().join("hub.db"),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("hub");
    (hub, dir)
}

async fn reply_to(ws: &mut Ws, id: &str) -> Value {
    loop {
        let m = raw::next(ws).await.expect("a reply");
        if m["type"] == "reply" && m["id"] == id {
            return m;
        }
    }
}

async fn healthy(addr: SocketAddr) {
    // A fresh kiosk can still issue a ticket.
    let mut ws = raw::device(addr, "kiosk", "kiosk-2").await.0;
    let id = format!("kiosk-2:{}", rand_id());
    let cmd = json!({"type": "cmd", "id": id, "cmd": "issue_ticket", "args": {"service": "DD"}});
    raw::send(&mut ws, &cmd).await;
    assert_eq!(reply_to(&mut ws, &id).await["ok"], true);
}

fn rand_id() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7)
}

#[tokio::test]
async fn a_bad_token_gets_unauthorized_and_close_1008() {
    let (hub, _dir) = start().await;
    let mut ws = raw::open(hub.addr).await;
    let hello = json!({"type": "hello", "protocol": 1, "role": "kiosk", "device": "kiosk-1", "token": "guess"});
    raw::send(&mut ws, &hello).await;
    let err = raw::next(&mut ws).await.expect("error");
    assert_eq!(
        (err["type"].as_str(), err["code"].as_str()),
        (Some("error"), Some("unauthorized"))
    );
    let close = loop {
        match ws.next().await {
            Some(Ok(Message::Close(f))) => break f,
            Some(Ok(_)) => continue,
            _ => panic!("expected a close frame"),
        }
    };
    assert_eq!(close.map(|f| u16::from(f.code)), Some(1008));
    healthy(hub.addr).await;
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn malformed_unknown_and_oversize_messages_harm_nothing() {
    let (hub, _dir) = start().await;
    let mut ws = raw::device(hub.addr, "kiosk", "kiosk-1").await.0;

    ws.send(Message::text("{not json")).await.expect("send");
    let m = raw::next(&mut ws).await.expect("error");
    assert_eq!(
        (m["type"].as_str(), m["code"].as_str()),
        (Some("error"), Some("bad_request"))
    );

    ws.send(Message::text(json!({"type": "dance"}).to_string()))
        .await
        .expect("send");
    let m = raw::next(&mut ws).await.expect("error");
    assert_eq!(m["code"], "bad_request");
    assert!(m["message"].as_str().is_some_and(|s| s.contains("dance")));

    ws.send(Message::text(
        json!({"type": "cmd", "id": "k:1", "cmd": "fly", "args": {}}).to_string(),
    ))
    .await
    .expect("send");
    let m = reply_to(&mut ws, "k:1").await;
    assert_eq!(
        (m["ok"].as_bool(), m["error"]["code"].as_str()),
        (Some(false), Some("unknown_command"))
    );

    ws.send(Message::text(
        json!({"type": "cmd", "id": "k:2", "cmd": "issue_ticket", "args": {"service": 5}})
            .to_string(),
    ))
    .await
    .expect("send");
    assert_eq!(
        reply_to(&mut ws, "k:2").await["error"]["code"],
        "bad_request"
    );

    ws.send(Message::text(
        json!({"type": "cmd", "id": "k:3", "cmd": "issue_ticket", "args": {"service": "NOPE"}})
            .to_string(),
    ))
    .await
    .expect("send");
    let m = reply_to(&mut ws, "k:3").await;
    assert_eq!(m["error"]["code"], "unknown_service");
    assert!(
        m["error"]["message"]
            .as_str()
            .is_some_and(|s| s.contains("NOPE"))
    );

    ws.send(Message::Binary(vec![1u8, 2, 3].into()))
        .await
        .expect("send");
    assert_eq!(
        raw::next(&mut ws).await.expect("error")["code"],
        "bad_request"
    );

    // 2 MiB: the hub drops this connection and nothing else.
    let huge = json!({"type": "cmd", "id": "k:4", "cmd": "issue_ticket", "args": {"service": "x".repeat(2 << 20)}});
    let _ = ws.send(Message::text(huge.to_string())).await;
    assert!(
        raw::next(&mut ws).await.is_none(),
        "the oversize connection is closed"
    );
    healthy(hub.addr).await;
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_flood_is_rate_limited_and_the_hub_stays_up() {
    let (hub, _dir) = start().await;
    let mut ws = raw::device(hub.addr, "display", "display-1").await.0;
    // Far beyond the burst of 500: send, without reading, then count what came back.
    for i in 0..1500 {
        let cmd = json!({"type": "cmd", "id": format!("d:{i}"), "cmd": "device_status", "args": {"status": "ok"}});
        if ws.send(Message::text(cmd.to_string())).await.is_err() {
            break;
        }
    }
    // Every command gets exactly one reply, accepted or refused, unless the hub closes the flood.
    let (mut replies, mut limited) = (0, 0);
    while replies < 1500 {
        let Some(m) = raw::next(&mut ws).await else {
            break;
        };
        if m["type"] == "reply" {
            replies += 1;
            if m["error"]["code"] == "rate_limited" {
                limited += 1;
            }
        }
    }
    assert!(limited > 0, "no rate_limited replies among {replies}");
    assert!(
        replies - limited >= 500,
        "the burst allowance was not honoured: {replies} replies, {limited} limited"
    );
    healthy(hub.addr).await;
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn healthz_answers_with_json() {
    let (hub, _dir) = start().await;
    let mut stream = tokio::net::TcpStream::connect(hub.addr).await.expect("tcp");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut body = String::new();
    stream.read_to_string(&mut body).await.expect("read");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("\"status\":\"ok\""), "{body}");
    hub.stop().await.expect("stop");
}
