//! The database a centre runs on for a year: found only where it was put, copied while the hub
//! runs, checked on a schedule, and never holding an acknowledged ticket that is not on disk.

use std::path::Path;
use std::process::Command as Process;

use protocol::Role;
use testkit::{
    Client, HubProcess, StablePort, WAIT, healthz, hub_cli, issue, start_hub, start_hub_behind,
    ticket_of,
};

const HUB: &str = env!("CARGO_BIN_EXE_hub");

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_hub_starts_only_on_the_database_and_centre_it_is_given() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("centre.db");
    let db_arg = db.to_str().expect("utf-8");

    let no_db = hub_cli(HUB, &["--config", "demo", "--db", db_arg]);
    assert!(!no_db.status.success());
    let said = stderr(&no_db);
    assert!(
        said.contains(db_arg) && said.contains("--create-db"),
        "{said}"
    );
    assert!(!db.exists(), "nothing was created");

    let no_config = hub_cli(HUB, &["--db", db_arg, "--create-db"]);
    assert!(!no_config.status.success());
    assert!(
        stderr(&no_config).contains("--config demo"),
        "{}",
        stderr(&no_config)
    );

    let no_db_arg = hub_cli(HUB, &["--config", "demo"]);
    assert!(!no_db_arg.status.success());
    assert!(
        stderr(&no_db_arg).contains("--db"),
        "{}",
        stderr(&no_db_arg)
    );

    let on_the_lan = hub_cli(
        HUB,
        &[
            "--config",
            "demo",
            "--db",
            db_arg,
            "--create-db",
            "--listen",
            "0.0.0.0:0",
        ],
    );
    assert!(!on_the_lan.status.success());
    assert!(
        stderr(&on_the_lan).contains("demo tokens"),
        "{}",
        stderr(&on_the_lan)
    );
    assert!(!db.exists(), "refused before anything was created");
}

#[tokio::test]
async fn a_backup_taken_while_the_hub_runs_restores_every_ticket() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let stick = dir.path().join("usb");
    let port = StablePort::open().await;
    let hub = start_hub_behind(&db, &port).await;
    let addr = port.addr;
    let (kiosk, _) = Client::connect(addr, Role::Kiosk, "kiosk-1").await;
    let mut numbers = vec![];
    for _ in 0..5 {
        numbers.push(ticket_of(&kiosk.send(issue("TP")).await.expect("issued")).number);
    }
    let backup = |keep: &str| {
        let out = hub_cli(
            HUB,
            &[
                "backup",
                "--db",
                db.to_str().expect("utf-8"),
                stick.to_str().expect("utf-8"),
                "--keep",
                keep,
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let said = backup("2");
    assert!(said.contains("checked"), "{said}");
    backup("2");
    backup("2");
    let copies: Vec<_> = std::fs::read_dir(&stick)
        .expect("the stick")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    assert_eq!(copies.len(), 2, "rotated to two single files: {copies:?}");
    assert!(
        copies
            .iter()
            .all(|c| c.starts_with("hub-") && c.ends_with(".db"))
    );
    let newest = stick.join(copies.iter().max().expect("a copy"));
    kiosk
        .send(issue("TP"))
        .await
        .expect("a ticket after the backup");
    port.refuse();
    hub.stop().await.expect("stop");

    // The documented restore: stop, put the copy in place (without the old WAL), start.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::copy(&newest, &db).expect("restore");
    let hub = start_hub_behind(&db, &port).await;
    let (_, snapshot) = Client::connect(addr, Role::Counter, "counter-1").await;
    let restored: Vec<_> = snapshot.waiting.iter().map(|t| t.number.clone()).collect();
    assert_eq!(
        restored, numbers,
        "the copy holds exactly what was issued before it"
    );
    hub.stop().await.expect("stop");
}

#[test]
fn a_backup_of_a_missing_database_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = hub_cli(
        HUB,
        &[
            "backup",
            "--db",
            "/no/such/hub.db",
            dir.path().to_str().expect("utf-8"),
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no database at /no/such/hub.db"),
        "{}",
        stderr(&out)
    );
}

/// Overwrites page `page` (1-based, 4 KiB pages) of a database file with garbage.
#[tokio::test]
async fn the_integrity_check_finds_damage_and_healthz_says_so() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let hub = start_hub(&db).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    for _ in 0..50 {
        kiosk.send(issue("TP")).await.expect("issued");
    }
    let mut health = hub.health();
    hub.check_database_now();
    tokio::time::timeout(WAIT, health.wait_for(|h| h.damage.is_none() && h.seq > 0))
        .await
        .expect("checked")
        .expect("the hub runs");

    // Every page in the file itself (not only in the WAL), then a page of the ticket table
    // overwritten, as a failing disk would.
    ledger::testing::damage_the_tickets_table(&db).expect("damaged");
    hub.check_database_now();
    tokio::time::timeout(WAIT, health.wait_for(|h| h.damage.is_some()))
        .await
        .expect("the damage is found")
        .expect("the hub runs");
    let (status, body) = healthz(hub.addr).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("damaged") && body.contains("backup"),
        "{body}"
    );
    hub.stop().await.expect("stop");
}

/// The hub binary with its database on a filesystem of `size` (a tmpfs in a mount namespace of
/// its own), copying the database out to `out` when it stops. Ends when stdin gets a line.
fn hub_on_a_tiny_disk(work: &Path, out: &Path, size: &str) -> HubProcess {
    let disk = work.join("disk");
    std::fs::create_dir_all(&disk).expect("mount point");
    let script = r#"
        set -e
        mount -t tmpfs -o size="$SIZE" tmpfs "$DISK"
        "$HUB" --config "$CONFIG" --db "$DISK/hub.db" --create-db --listen 127.0.0.1:0 &
        hub=$!
        read -r _
        kill -TERM "$hub"
        wait "$hub" || true
        cp "$DISK"/hub.db* "$OUT"/
    "#;
    let mut command = Process::new("unshare");
    command
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", script])
        .env("SIZE", size)
        .env("DISK", &disk)
        .env("OUT", out)
        .env("HUB", HUB)
        .env("CONFIG", testkit::real_clock_config_file(work))
        .stdin(std::process::Stdio::piped());
    HubProcess::start(command)
}

#[tokio::test]
async fn on_a_full_disk_healthz_fails_and_every_acknowledged_ticket_survives() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("bigger-disk");
    std::fs::create_dir_all(&out).expect("out");
    let mut hub = hub_on_a_tiny_disk(dir.path(), &out, "400k");
    let port = StablePort::open().await;
    port.forward_to(hub.addr);
    let addr = port.addr;
    let (kiosk, _) = Client::connect(addr, Role::Kiosk, "kiosk-1").await;
    let mut acknowledged = vec![];
    let mut refused = 0;
    while refused < 3 && acknowledged.len() < 20_000 {
        match kiosk.send(issue("TP")).await {
            Ok(r) => acknowledged.push(ticket_of(&r).number),
            Err(_) => refused += 1,
        }
    }
    assert_eq!(refused, 3, "the disk filled up");
    let (status, body) = healthz(addr).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("refuses writes"), "{body}");

    use std::io::Write;
    port.refuse();
    let stdin = hub.child.stdin.as_mut().expect("stdin");
    writeln!(stdin, "stop").expect("stop the hub");
    let status = hub.child.wait().expect("ends");
    assert!(status.success(), "the copy to the bigger disk was made");

    // The database moved to a bigger disk: every ticket that was acknowledged is there.
    let db = out.join("hub.db");
    let hub = start_hub_behind(&db, &port).await;
    let (_, snapshot) = Client::connect(addr, Role::Counter, "counter-1").await;
    let kept: Vec<_> = snapshot.waiting.iter().map(|t| t.number.clone()).collect();
    assert_eq!(kept, acknowledged);
    let (kiosk, _) = Client::connect(addr, Role::Kiosk, "kiosk-1").await;
    kiosk.send(issue("TP")).await.expect("issuing again");
    hub.stop().await.expect("stop");
}
