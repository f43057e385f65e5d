//! The tracking page and the tracker role: a phone sees its one ticket — the page, then live
//! updates over the WebSocket — and a wrong code sees nothing of anyone.

use std::net::SocketAddr;

use protocol::{Command, Role, TicketStatus};
use serde_json::json;
use testkit::raw::{self, Ws};
use testkit::*;

async fn tracker(addr: SocketAddr, token: &str) -> Ws {
    let mut ws = raw::open(addr).await;
    raw::send(&mut ws, &raw::hello_with_token("tracker", "phone", token)).await;
    ws
}

#[tokio::test]
async fn a_phone_follows_its_ticket_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let mine = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    let other = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    let track = mine
        .track
        .clone()
        .expect("the kiosk gets the tracking code");

    let (status, page) = raw::get(hub.addr, &format!("/t/{track}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(&mine.number));
    assert!(
        !page.contains(&other.number),
        "another ticket leaked into the page"
    );
    assert!(page.contains("Tư pháp – Hộ tịch"));

    let mut phone = tracker(hub.addr, &track).await;
    let first = raw::next(&mut phone).await.expect("open");
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
        let m = raw::next(&mut phone).await.expect("open");
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
    let call = json!({"type": "cmd", "id": "x", "cmd": "call_next", "args": {}});
    raw::send(&mut phone, &call).await;
    let refused = raw::next(&mut phone).await.expect("open");
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "forbidden");
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_wrong_code_shows_no_ticket_data() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let t = ticket_of(&kiosk.send(issue("GTVT")).await.expect("issued"));
    for path in [
        "/t/wrongcode123",
        "/t/%3Cscript%3E",
        &format!("/t/{}x", t.track.clone().unwrap_or_default()),
    ] {
        let (status, body) = raw::get(hub.addr, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(body.contains("Không tìm thấy"), "{path}");
        assert!(!body.contains(&t.number), "{path} shows a ticket");
    }
    let mut phone = tracker(hub.addr, "wrongcode123").await;
    let answer = raw::next(&mut phone).await.expect("open");
    assert_eq!(answer["type"], "error");
    assert_eq!(answer["code"], "not_found");
    hub.stop().await.expect("stop");
}
