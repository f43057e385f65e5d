//! The real `hub` binary, killed with SIGKILL in the middle of a burst of pipelined commands:
//! nothing acknowledged is lost and no number repeats afterwards. Written against the JSON wire
//! contract only.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::process::Child;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The hub binary on a free port with the demo centre.
fn spawn_hub(db: &std::path::Path) -> (Child, SocketAddr) {
    let hub = testkit::HubProcess::demo(std::path::Path::new(env!("CARGO_BIN_EXE_hub")), db);
    (hub.child, hub.addr)
}

async fn connect(addr: SocketAddr, role: &str, device: &str) -> (Ws, Value) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("connect");
    let hello = json!({"type": "hello", "protocol": 1, "role": role, "device": device, "token": format!("demo-{device}")});
    ws.send(Message::text(hello.to_string()))
        .await
        .expect("hello");
    let welcome = next_json(&mut ws).await.expect("welcome");
    assert_eq!(welcome["type"], "welcome");
    (ws, welcome)
}

async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .ok()??
        {
            Ok(Message::Text(t)) => return serde_json::from_str(t.as_str()).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

#[tokio::test]
async fn kill_9_during_a_burst_loses_no_acknowledged_ticket() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let (mut hub, addr) = spawn_hub(&db);
    let (mut ws, _) = connect(addr, "kiosk", "kiosk-1").await;

    for i in 0..200 {
        let cmd = json!({"type": "cmd", "id": format!("kiosk-1:burst-{i}"), "cmd": "issue_ticket",
                         "args": {"service": if i % 2 == 0 { "TP" } else { "GTVT" }}});
        ws.send(Message::text(cmd.to_string())).await.expect("send");
    }
    // Kill the hub once some, but not all, replies are in.
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    let mut acked_ids: BTreeMap<String, u64> = BTreeMap::new();
    while acked.len() < 40 {
        let Some(msg) = next_json(&mut ws).await else {
            break;
        };
        record(&msg, &mut acked, &mut acked_ids);
    }
    hub.kill().expect("SIGKILL");
    hub.wait().expect("reaped");
    // Replies already on the wire before the kill count as acknowledged too.
    while let Some(msg) = next_json(&mut ws).await {
        record(&msg, &mut acked, &mut acked_ids);
    }
    assert!(
        acked.len() >= 40,
        "only {} acknowledged before the kill",
        acked.len()
    );

    let (mut hub, addr) = spawn_hub(&db);
    let (_, welcome) = connect(addr, "admin", "admin").await;
    let waiting: BTreeMap<u64, String> = welcome["snapshot"]["waiting"]
        .as_array()
        .expect("waiting list")
        .iter()
        .map(|t| {
            (
                t["id"].as_u64().expect("id"),
                t["number"].as_str().expect("number").to_string(),
            )
        })
        .collect();
    for (id, number) in &acked {
        assert_eq!(
            waiting.get(id),
            Some(number),
            "acknowledged ticket {number} lost"
        );
    }
    // New tickets after the restart never reuse a number.
    let (mut kiosk, _) = connect(addr, "kiosk", "kiosk-2").await;
    let mut all: BTreeSet<String> = waiting.values().cloned().collect();
    for i in 0..10 {
        let cmd = json!({"type": "cmd", "id": format!("kiosk-2:after-{i}"), "cmd": "issue_ticket", "args": {"service": "TP"}});
        kiosk
            .send(Message::text(cmd.to_string()))
            .await
            .expect("send");
        let reply = loop {
            let m = next_json(&mut kiosk).await.expect("reply");
            if m["type"] == "reply" {
                break m;
            }
        };
        let number = reply["result"]["ticket"]["number"]
            .as_str()
            .expect("number")
            .to_string();
        assert!(all.insert(number.clone()), "number {number} issued twice");
    }
    // A command id acknowledged before the crash still answers with its first ticket.
    let (cmd_id, ticket_id) = acked_ids.iter().next().expect("one acked");
    let again =
        json!({"type": "cmd", "id": cmd_id, "cmd": "issue_ticket", "args": {"service": "TP"}});
    let (mut k1, _) = connect(addr, "kiosk", "kiosk-1").await;
    k1.send(Message::text(again.to_string()))
        .await
        .expect("send");
    let reply = loop {
        let m = next_json(&mut k1).await.expect("reply");
        if m["type"] == "reply" {
            break m;
        }
    };
    assert_eq!(reply["id"].as_str(), Some(cmd_id.as_str()));
    assert_eq!(reply["result"]["ticket"]["id"].as_u64(), Some(*ticket_id));
    hub.kill().expect("kill");
    let _ = hub.wait();
}

fn record(msg: &Value, acked: &mut BTreeMap<u64, String>, acked_ids: &mut BTreeMap<String, u64>) {
    if msg["type"] == "reply" && msg["ok"] == true {
        let t = &msg["result"]["ticket"];
        let id = t["id"].as_u64().expect("id");
        acked.insert(id, t["number"].as_str().expect("number").to_string());
        acked_ids.insert(msg["id"].as_str().expect("command id").to_string(), id);
    }
}
