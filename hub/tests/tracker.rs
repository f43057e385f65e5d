//! The tracking page and the tracker role: a phone sees its one ticket — the page, then live
//! updates over the WebSocket — and a wrong code sees nothing of anyone.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use protocol::{Command, Role, TicketStatus};
use testkit::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(10);

/// A plain HTTP/1.1 GET: (status, body).
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .expect("request");
    let mut response = String::new();
    s.read_to_string(&mut response).await.expect("response");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn tracker(addr: SocketAddr, token: &str) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(url(addr))
        .await
        .expect("ws");
    let hello = serde_json::json!({"type": "hello", "protocol": 1, "role": "tracker",
                                   "device": "phone", "token": token});
    ws.send(Message::text(hello.to_string()))
        .await
        .expect("hello");
    ws
}

async fn next_json(ws: &mut Ws) -> serde_json::Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("readable");
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).expect("json");
        }
    }
}

#[tokio::test]
async fn a_phone_follows_its_ticket_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let mine = ticket_of(
        &kiosk
            .send(Command::IssueTicket {
                service: "TP".into(),
                priority: None,
            })
            .await
            .expect("issued"),
    );
    let other = ticket_of(
        &kiosk
            .send(Command::IssueTicket {
                service: "TP".into(),
                priority: None,
            })
            .await
            .expect("issued"),
    );
    let track = mine
        .track
        .clone()
        .expect("the kiosk gets the tracking code");

    let (status, page) = get(hub.addr, &format!("/t/{track}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(&mine.number));
    assert!(
        !page.contains(&other.number),
        "another ticket leaked into the page"
    );
    assert!(page.contains("Tư pháp – Hộ tịch"));

    let mut phone = tracker(hub.addr, &track).await;
    let first = next_json(&mut phone).await;
    assert_eq!(first["type"], "ticket");
    assert_eq!(first["ticket"]["number"], mine.number.as_str());
    assert_eq!(first["ticket"]["status"], "waiting");
    assert!(first["ticket"]["track"].is_null() && first["ticket"]["staff"].is_null());

    let (clerk, _) = Client::connect(hub.addr, Role::Counter, "counter-1").await;
    clerk
        .send(Command::Login {
            counter: 1,
            staff: "nv01".into(),
            pin: "1234".into(),
        })
        .await
        .expect("login");
    let called = ticket_of(&clerk.send(Command::CallNext {}).await.expect("called"));
    assert_eq!(called.number, mine.number);
    assert_eq!(called.status, TicketStatus::Called);
    let update = loop {
        let m = next_json(&mut phone).await;
        if m["ticket"]["status"] == "called" {
            break m;
        }
    };
    assert_eq!(update["ticket"]["counter"], 1);
    assert_eq!(
        update["ticket"]["number"],
        mine.number.as_str(),
        "only ever this ticket"
    );

    // A tracker only listens.
    phone
        .send(Message::text(
            r#"{"type":"cmd","id":"x","cmd":"call_next","args":{}}"#,
        ))
        .await
        .expect("send");
    let refused = next_json(&mut phone).await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "forbidden");
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_wrong_code_shows_no_ticket_data() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let t = ticket_of(
        &kiosk
            .send(Command::IssueTicket {
                service: "GTVT".into(),
                priority: None,
            })
            .await
            .expect("issued"),
    );
    for path in [
        "/t/wrongcode123",
        "/t/%3Cscript%3E",
        &format!("/t/{}x", t.track.clone().unwrap_or_default()),
    ] {
        let (status, body) = get(hub.addr, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(body.contains("Không tìm thấy"), "{path}");
        assert!(!body.contains(&t.number), "{path} shows a ticket");
    }
    let mut phone = tracker(hub.addr, "wrongcode123").await;
    let answer = next_json(&mut phone).await;
    assert_eq!(answer["type"], "error");
    assert_eq!(answer["code"], "not_found");
    hub.stop().await.expect("stop");
}
