//! The real `hub` binary, killed with SIGKILL in the middle of a burst of pipelined commands:
//! nothing acknowledged is lost and no number repeats afterwards. Written against the JSON wire
//! contract only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};
use testkit::{HubProcess, raw};

#[tokio::test]
async fn kill_9_during_a_burst_loses_no_acknowledged_ticket() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let HubProcess {
        child: mut hub,
        addr,
        ..
    } = HubProcess::demo(Path::new(env!("CARGO_BIN_EXE_hub")), &db);
    let (mut ws, _) = raw::device(addr, "kiosk", "kiosk-1").await;

    for i in 0..200 {
        let cmd = json!({"type": "cmd", "id": format!("kiosk-1:burst-{i}"), "cmd": "issue_ticket",
                         "args": {"service": if i % 2 == 0 { "TP" } else { "GTVT" }}});
        raw::send(&mut ws, &cmd).await;
    }
    // Kill the hub once some, but not all, replies are in.
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    let mut acked_ids: BTreeMap<String, u64> = BTreeMap::new();
    while acked.len() < 40 {
        let Some(msg) = raw::next(&mut ws).await else {
            break;
        };
        record(&msg, &mut acked, &mut acked_ids);
    }
    hub.kill().expect("SIGKILL");
    hub.wait().expect("reaped");
    // Replies already on the wire before the kill count as acknowledged too.
    while let Some(msg) = raw::next(&mut ws).await {
        record(&msg, &mut acked, &mut acked_ids);
    }
    assert!(
        acked.len() >= 40,
        "only {} acknowledged before the kill",
        acked.len()
    );

    let HubProcess {
        child: mut hub,
        addr,
        ..
    } = HubProcess::demo(Path::new(env!("CARGO_BIN_EXE_hub")), &db);
    let (_, welcome) = raw::device(addr, "admin", "admin").await;
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
    let (mut kiosk, _) = raw::device(addr, "kiosk", "kiosk-2").await;
    let mut all: BTreeSet<String> = waiting.values().cloned().collect();
    for i in 0..10 {
        let cmd = json!({"type": "cmd", "id": format!("kiosk-2:after-{i}"), "cmd": "issue_ticket", "args": {"service": "TP"}});
        raw::send(&mut kiosk, &cmd).await;
        let reply = loop {
            let m = raw::next(&mut kiosk).await.expect("reply");
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
    let (mut k1, _) = raw::device(addr, "kiosk", "kiosk-1").await;
    raw::send(&mut k1, &again).await;
    let reply = loop {
        let m = raw::next(&mut k1).await.expect("reply");
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
