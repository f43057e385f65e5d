//! The hub against a device that misbehaves, as someone holding a device token would: refused
//! commands must cost nothing durable, and reconnecting must not refill a device's rate limit.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn hello(addr: SocketAddr, role: &str, device: &str) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("connect");
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
        match tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("the hub answers in time")?
        {
            Ok(Message::Text(t)) => return serde_json::from_str(t.as_str()).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// Sends `n` commands, then reads their `n` replies; returns how many were refused with `code`.
async fn burst(ws: &mut Ws, prefix: &str, n: usize, cmd: &str, code: &str) -> usize {
    for i in 0..n {
        let m = json!({"type": "cmd", "id": format!("{prefix}:{i}"), "cmd": cmd,
                       "args": {"status": "ok"}});
        ws.send(Message::text(m.to_string())).await.expect("send");
    }
    let (mut replies, mut refused) = (0, 0);
    while replies < n {
        let m = next_json(ws).await.expect("a reply for every command");
        if m["type"] == "reply" {
            replies += 1;
            if m["error"]["code"] == code {
                refused += 1;
            }
        }
    }
    refused
}

fn count(db: &std::path::Path, table: &str) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("the database");
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

#[tokio::test]
async fn refused_commands_write_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let hub = testkit::start_hub(&db).await;
    let events_at_start = count(&db, "events");
    let mut board = hello(hub.addr, "display", "display-1").await;
    // A board may not call: 300 refusals, and 300 unchanged statuses (accepted, no effect).
    let forbidden = burst(&mut board, "d", 300, "call_next", "forbidden").await;
    assert_eq!(forbidden, 300);
    burst(&mut board, "s", 1, "device_status", "-").await;
    burst(&mut board, "t", 300, "device_status", "-").await;
    hub.stop().await.expect("stop");
    assert_eq!(
        count(&db, "replies"),
        1,
        "only the one status change is remembered"
    );
    assert_eq!(
        count(&db, "events"),
        events_at_start + 1,
        "one device_status event, nothing for the refusals"
    );
}

#[tokio::test]
async fn reconnecting_does_not_refill_a_device_rate_limit() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = testkit::start_hub(&dir.path().join("hub.db")).await;
    // The demo centre allows a burst of 500 messages, then 200 a second.
    let mut first = hello(hub.addr, "display", "display-1").await;
    // The bucket is emptied after this instant, so it cannot have refilled for longer since.
    let started = Instant::now();
    let limited = burst(&mut first, "a", 500, "device_status", "rate_limited").await;
    assert_eq!(limited, 0, "the burst is allowed");
    drop(first);
    let mut second = hello(hub.addr, "display", "display-1").await;
    // (Fewer than the 200 refusals in a row after which the hub closes a flooding connection.)
    let limited = burst(&mut second, "b", 150, "device_status", "rate_limited").await;
    // Tokens come back at 200 a second since the bucket was emptied, not all at once.
    let refilled = (started.elapsed().as_secs_f64() * 200.0).ceil() as usize;
    assert!(
        limited + refilled >= 150,
        "{limited} of 150 limited, at most {refilled} tokens refilled"
    );
    hub.stop().await.expect("stop");
}
