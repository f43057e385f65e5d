//! `/healthz` tells the truth: while the database refuses writes it answers 503 with the reason,
//! and it recovers by itself when writes succeed again. Nothing is acknowledged that is not on
//! disk meanwhile.

use protocol::{ErrorCode, Role};
use testkit::{Client, healthz, issue, start_hub};

#[tokio::test]
async fn healthz_says_so_while_commits_fail_and_recovers_by_itself() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let hub = start_hub(&db).await;
    assert_eq!(healthz(hub.addr).await.0, 200);
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;

    // Another process holds the database's write lock (as a stuck backup tool would): the
    // hub's commit waits its busy timeout, then fails.
    let blocker = ledger::testing::hold_write_lock(&db).expect("lock");
    let refused = kiosk
        .send(issue("TP"))
        .await
        .expect_err("not on disk, not acknowledged");
    assert_eq!(refused.code(), Some(ErrorCode::Internal));
    let (status, body) = healthz(hub.addr).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("failing") && body.contains("database"),
        "{body}"
    );

    // The lock goes away: the next ticket is written, and health comes back by itself.
    drop(blocker);
    kiosk
        .send(issue("TP"))
        .await
        .expect("issued once writes work again");
    assert_eq!(healthz(hub.addr).await.0, 200);
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_hub_whose_engine_cannot_go_on_exits_with_failure() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let mut hub = testkit::HubProcess::demo(std::path::Path::new(env!("CARGO_BIN_EXE_hub")), &db);
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    kiosk.send(issue("TP")).await.expect("issued");
    // The database is destroyed under the running hub (a failing disk, a careless copy): no
    // commit can succeed and the state cannot be rebuilt from it.
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", db.display());
        if let Ok(f) = std::fs::OpenOptions::new().write(true).open(&path) {
            let _ = f.set_len(0);
        }
        let _ = std::fs::write(&path, b"this is no longer a database file");
    }
    let _ = kiosk.send(issue("TP")).await;
    // The hub does not live on as a zombie: it says why, and exits with failure for its
    // service manager.
    let said = hub.wait_for_log("the engine stopped", std::time::Duration::from_secs(20));
    assert!(
        said.is_some(),
        "no word of the engine: {:?}",
        hub.log_lines()
    );
    let status = hub.child.wait().expect("the hub exits");
    assert!(!status.success(), "{status}");
}
