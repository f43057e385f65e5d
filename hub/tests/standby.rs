//! Two real `hub` processes as a centre's pair of PCs: the standby holds every acknowledged
//! ticket when the primary dies, takes over when promoted, and no number is given twice.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hub_client::{ClientConfig, HubClient};
use protocol::Role;
use testkit::pair::{HubPair, in_sync};
use testkit::{hub_cli, issue, ticket_of};

const HUB: &str = env!("CARGO_BIN_EXE_hub");

fn exe() -> &'static Path {
    Path::new(HUB)
}

/// A kiosk that knows both hub PCs, retrying quickly.
fn kiosk(hubs: &str, n: usize) -> HubClient {
    let device = format!("kiosk-{n}");
    let mut config = ClientConfig::new(hubs, Role::Kiosk, &device, format!("demo-{device}"));
    config.backoff_max = Duration::from_millis(300);
    let (client, mut updates) = HubClient::connect(config);
    // The client lives while someone reads its updates.
    tokio::spawn(async move { while updates.recv().await.is_some() {} });
    client
}

/// `hub promote` against `member`'s hub, run as a technician would: its output and success.
async fn promote(member: &testkit::pair::PairMember, force: bool) -> (bool, String) {
    let config = member.config.display().to_string();
    let hub = format!("ws://{}", member.hub().addr);
    tokio::task::spawn_blocking(move || {
        let mut args = vec!["promote", "--config", &config, "--hub", &hub];
        if force {
            args.push("--force");
        }
        let out = hub_cli(HUB, &args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    })
    .await
    .expect("hub promote runs")
}

/// Every ticket row of a database: its number by id.
fn tickets(db: &Path) -> BTreeMap<u64, String> {
    ledger::Reader::open(db)
        .expect("readable")
        .tickets()
        .expect("tickets")
        .into_iter()
        .map(|t| (t.id, t.number))
        .collect()
}

/// Every event of a database as stored: seq, kind and body.
fn events(db: &Path) -> Vec<(u64, String, String)> {
    ledger::Reader::open(db)
        .expect("readable")
        .events_after(0, usize::MAX)
        .expect("events")
        .into_iter()
        .map(|e| (e.seq, e.kind, e.body))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_primary_killed_mid_burst_loses_nothing_acknowledged_and_repeats_no_number() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut pair = HubPair::in_step(dir.path(), HUB, 2000).await;

    let kiosks: Vec<HubClient> = (1..=4).map(|n| kiosk(&pair.hub_list(), n)).collect();
    let answered = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(tokio::sync::Notify::new());
    let mut presses = Vec::new();
    for (k, kiosk) in kiosks.iter().enumerate() {
        let (kiosk, answered, enough) = (kiosk.clone(), answered.clone(), enough.clone());
        presses.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for i in 0..50 {
                let id = format!("kiosk-{}:press-{i}", k + 1);
                let service = if i % 2 == 0 { "TP" } else { "GTVT" };
                let reply = kiosk
                    .send_with_id(id.clone(), issue(service))
                    .await
                    .unwrap_or_else(|e| panic!("{id}: {e}"));
                mine.push((id, ticket_of(&reply).number));
                if answered.fetch_add(1, Ordering::SeqCst) + 1 == 80 {
                    enough.notify_one();
                }
            }
            mine
        }));
    }
    enough.notified().await;
    let b_before = pair.b.health().await;
    pair.a.kill();
    let acked_at_kill = answered.load(Ordering::SeqCst);
    assert!(
        acked_at_kill < 200,
        "the primary must die mid-burst ({acked_at_kill} answered)"
    );
    assert_eq!(b_before["status"], "standby", "{b_before:#}");

    let (promoted, said) = promote(&pair.b, false).await;
    assert!(promoted, "a standby in step is promoted: {said}");
    assert!(said.contains("term 1"), "{said}");

    // The kiosks find the new primary by themselves and finish their presses.
    let mut issued: BTreeMap<String, String> = BTreeMap::new();
    for p in presses {
        for (id, number) in p.await.expect("the kiosk's presses") {
            issued.insert(id, number);
        }
    }
    assert_eq!(issued.len(), 200);
    let numbers: BTreeSet<&String> = issued.values().collect();
    assert_eq!(numbers.len(), 200, "a number was given twice: {issued:?}");

    // Every press again, as a kiosk retries after a restart: the same ticket each time — also
    // those the old primary answered before it died (its replies are on the standby).
    for (id, number) in &issued {
        let n: usize = id[6..7].parse().expect("kiosk number");
        let again = kiosks[n - 1]
            .send_with_id(id.clone(), issue("TP"))
            .await
            .expect("retried");
        assert_eq!(&ticket_of(&again).number, number, "{id} retried");
    }

    // The new primary's database holds each ticket exactly once.
    let rows = tickets(&pair.b.db);
    assert_eq!(rows.len(), 200, "{rows:?}");
    let stored: BTreeSet<&String> = rows.values().collect();
    assert_eq!(stored, numbers);
    let health = pair.b.health().await;
    assert_eq!(health["status"], "ok", "{health:#}");
    assert_eq!(health["replication"]["term"], 1);
    assert_eq!(health["replication"]["mode"], "primary");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_then_killed_standby_costs_the_timeout_once_and_catches_up() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut pair = HubPair::in_step(dir.path(), HUB, 300).await;
    let kiosk = kiosk(&pair.a.ws(), 1);
    kiosk.send(issue("TP")).await.expect("in step");

    pair.b.hub().freeze();
    for _ in 0..20 {
        kiosk
            .send(issue("TP"))
            .await
            .expect("answered without the standby");
    }
    let alone = pair.a.health().await;
    assert_eq!(alone["replication"]["standby"]["sync"], false, "{alone:#}");
    assert!(alone["replication"]["warning"].is_string(), "{alone:#}");
    assert!(
        pair.a
            .hub()
            .wait_for_log("did not confirm in time", testkit::WAIT)
            .is_some()
    );
    assert_eq!(
        pair.a
            .hub()
            .log_lines()
            .iter()
            .filter(|l| l.contains("did not confirm in time"))
            .count(),
        1,
        "the timeout is waited once, then the primary serves alone"
    );

    // The supervisor's console says so too.
    let body = serde_json::json!({"staff": "ql01", "pin": "1234"});
    let (status, response) = testkit::raw::request(
        pair.a.hub().addr,
        "POST",
        "/console/sign-in",
        None,
        Some(&body),
    )
    .await;
    assert_eq!(status, 200, "{response}");
    let cookie = testkit::raw::cookie_set(&response);
    let console_pair = |cookie: String| {
        let addr = pair.a.hub().addr;
        async move {
            let (status, response) =
                testkit::raw::request(addr, "GET", "/console/pair", Some(&cookie), None).await;
            assert_eq!(status, 200, "{response}");
            testkit::raw::json_body(&response)
        }
    };
    let seen = console_pair(cookie.clone()).await;
    assert!(seen["warning"].is_string(), "{seen:#}");

    pair.b.hub().thaw();
    let seq = alone["seq"].as_u64().expect("seq");
    pair.a.wait_health("in step again", in_sync).await;
    pair.b
        .wait_health("the standby caught up", |h| h["seq"].as_u64() >= Some(seq))
        .await;
    let seen = console_pair(cookie).await;
    assert!(seen["warning"].is_null(), "{seen:#}");
    assert_eq!(seen["standby"]["sync"], true, "{seen:#}");

    // Killed this time: the primary goes on alone, the restarted standby catches up.
    pair.b.kill();
    for _ in 0..10 {
        kiosk
            .send(issue("GTVT"))
            .await
            .expect("answered while the standby is down");
    }
    let head = pair.a.health().await["seq"].as_u64().expect("seq");
    pair.b.start(exe());
    pair.a
        .wait_health("in step after the restart", in_sync)
        .await;
    let b = pair
        .b
        .wait_health("the standby caught up", |h| h["seq"].as_u64() == Some(head))
        .await;
    assert_eq!(b["replication"]["primary"]["lag"], 0, "{b:#}");
    kiosk.send(issue("TP")).await.expect("in step again");
    let a_seq = pair.a.health().await["seq"].as_u64();
    pair.b
        .wait_health("the last one too", |h| h["seq"].as_u64() == a_seq)
        .await;
    assert_eq!(
        events(&pair.a.db),
        events(&pair.b.db),
        "the same log, event for event"
    );
    assert_eq!(tickets(&pair.a.db), tickets(&pair.b.db));

    // What `hub doctor` tells a technician on each PC.
    let doctor = |member: &testkit::pair::PairMember| {
        let (config, db) = (member.config.clone(), member.db.clone());
        tokio::task::spawn_blocking(move || {
            let out = hub_cli(
                HUB,
                &[
                    "doctor",
                    "--listen",
                    "127.0.0.1:0",
                    "--config",
                    &config.display().to_string(),
                    "--db",
                    &db.display().to_string(),
                ],
            );
            String::from_utf8_lossy(&out.stdout).to_string()
        })
    };
    let on_b = doctor(&pair.b).await.expect("doctor runs");
    assert!(on_b.contains("this standby follows the primary"), "{on_b}");
    assert!(on_b.contains("0 events behind"), "{on_b}");
    let on_a = doctor(&pair.a).await.expect("doctor runs");
    assert!(on_a.contains("follows this hub"), "{on_a}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_old_primary_restarted_after_a_promotion_does_not_issue_until_rejoined() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut pair = HubPair::in_step(dir.path(), HUB, 2000).await;
    let kiosk_a = kiosk(&pair.a.ws(), 1);
    let mut numbers = BTreeSet::new();
    for _ in 0..5 {
        numbers.insert(ticket_of(&kiosk_a.send(issue("TP")).await.expect("issued")).number);
    }
    drop(kiosk_a);

    // A standby is not promoted while its primary still serves.
    let (promoted, said) = promote(&pair.b, false).await;
    assert!(!promoted, "promoted beside a live primary: {said}");
    assert!(said.contains("still serves"), "{said}");

    pair.a.kill();
    let (promoted, said) = promote(&pair.b, false).await;
    assert!(promoted, "{said}");
    // The new primary's welcome carries its term and the proof a client echoes.
    let (_, welcome) = testkit::raw::device(pair.b.hub().addr, "display", "display-1").await;
    assert_eq!(welcome["term"], 1, "{welcome}");
    assert_eq!(
        welcome["term_proof"],
        hub_engine::pair::term_proof(testkit::pair::PAIR_SECRET, 1)
    );

    // The old primary comes back: it learns of term 1 from its peer and issues nothing.
    pair.a.start(exe());
    let replaced = pair.a.health().await;
    assert_eq!(replaced["status"], "replaced", "{replaced:#}");
    let mut ws = testkit::raw::open(pair.a.hub().addr).await;
    testkit::raw::send(&mut ws, &testkit::raw::demo_hello("kiosk", "kiosk-1")).await;
    let first = testkit::raw::next(&mut ws)
        .await
        .expect("an answer to hello");
    assert_eq!(first["type"], "error", "{first}");
    assert_eq!(first["code"], "not_primary", "{first}");
    assert!(
        first["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&pair.b.port.addr.to_string()),
        "the refusal names the primary: {first}"
    );
    drop(ws.close(None).await);
    // Its booking page and console refuse too, naming the primary.
    let (status, body) = testkit::raw::get_whole(pair.a.hub().addr, "/dat-lich").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not_primary"), "{body}");
    let (status, page) = testkit::raw::request_with_headers(
        pair.a.hub().addr,
        "GET",
        "/console",
        &[("Accept", "text/html")],
    )
    .await;
    assert_eq!(status, 503, "{page}");
    let console_b = format!("http://{}/console", pair.b.port.addr);
    assert!(
        page.contains(&console_b),
        "a person is sent to the primary: {page}"
    );
    // Still so after another restart.
    pair.a.kill();
    pair.a.start(exe());
    assert_eq!(pair.a.health().await["status"], "replaced");

    // Re-joined as the standby (its log kept aside), it follows the new primary.
    pair.a.kill();
    let out = hub_cli(
        HUB,
        &[
            "standby",
            "--config",
            &pair.a.config.display().to_string(),
            "--db",
            &pair.a.db.display().to_string(),
        ],
    );
    assert!(
        !out.status.success(),
        "an old primary's log is not overwritten without --resync"
    );
    testkit::hub_cli_ok(
        HUB,
        &[
            "standby",
            "--resync",
            "--config",
            &pair.a.config.display().to_string(),
            "--db",
            &pair.a.db.display().to_string(),
        ],
    );
    pair.a.start(exe());
    pair.b.wait_health("the old primary follows", in_sync).await;
    let kiosk_b = kiosk(&pair.hub_list(), 2);
    let ticket = ticket_of(
        &kiosk_b
            .send(issue("TP"))
            .await
            .expect("issued by the new primary"),
    );
    assert!(
        !numbers.contains(&ticket.number),
        "numbering goes on after {numbers:?}: {ticket:?}"
    );
    let b_seq = pair.b.health().await["seq"].as_u64();
    pair.a
        .wait_health("caught up", |h| h["seq"].as_u64() == b_seq)
        .await;
    assert_eq!(events(&pair.a.db), events(&pair.b.db));
    let backups = dir.path().join("backups");
    let said = testkit::hub_cli_ok(
        HUB,
        &[
            "backup",
            &backups.display().to_string(),
            "--db",
            &pair.a.db.display().to_string(),
        ],
    );
    assert!(said.contains("the primary makes the backups"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_standby_behind_its_primary_is_promoted_only_by_force_and_loudly() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut pair = HubPair::in_step(dir.path(), HUB, 300).await;
    let kiosk = kiosk(&pair.a.ws(), 1);
    kiosk.send(issue("TP")).await.expect("in step");
    // The standby dies; the primary issues alone; then the primary dies too.
    pair.b.kill();
    for _ in 0..5 {
        kiosk.send(issue("TP")).await.expect("alone");
    }
    pair.a.kill();
    pair.b.start(exe());

    let (promoted, said) = promote(&pair.b, false).await;
    assert!(!promoted, "a stale standby was promoted quietly: {said}");
    assert!(said.contains("WARNING"), "{said}");
    assert!(said.contains("behind"), "{said}");
    assert_eq!(pair.b.health().await["status"], "standby");

    let (promoted, said) = promote(&pair.b, true).await;
    assert!(promoted, "{said}");
    assert!(
        pair.b
            .hub()
            .wait_for_log("PROMOTED WHILE BEHIND", testkit::WAIT)
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_console_says_when_the_centre_runs_without_its_standby() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut pair = HubPair::in_step(dir.path(), HUB, 300).await;
    let base = format!("http://{}", pair.a.port.addr);
    let browser = testkit::Browser::start().await;
    browser
        .client
        .goto(&format!("{base}/console"))
        .await
        .expect("open");
    browser.type_into("#staff", "ql01").await;
    browser.type_into("#pin", "1234").await;
    browser.click("#signin-form button[type=submit]").await;
    browser
        .wait_for_text("pair", "Máy chủ dự phòng: đồng bộ")
        .await;

    pair.b.kill();
    let kiosk = kiosk(&pair.a.ws(), 1);
    kiosk.send(issue("TP")).await.expect("issued alone");
    browser
        .wait_for_text("alerts", "Máy chủ dự phòng không theo kịp")
        .await;
    if let Some(d) = std::env::var_os("CONSOLE_SCREENSHOTS") {
        browser
            .screenshot(&Path::new(&d).join("console-standby-away.png"))
            .await;
    }
    browser.close().await;
}

/// A standby's link that falls behind the commits (here: a live buffer of one commit while the
/// standby is frozen and the primary serves a burst alone) reads what it missed from the
/// database — events and the replies of their day — and the standby comes back in step.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lagged_link_catches_up_from_the_database_with_the_replies() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut pair = HubPair::new(dir.path(), HUB, 300).await;
    let mut text = std::fs::read_to_string(&pair.a.config).expect("a's configuration");
    assert!(
        text.trim_end()
            .ends_with(&format!("sync_timeout_ms = {}", 300))
    );
    text.push_str("live_buffer = 1\n");
    std::fs::write(&pair.a.config, text).expect("written");
    pair.start_in_step(HUB).await;

    pair.b.hub().freeze();
    let kiosks: Vec<HubClient> = (1..=4).map(|n| kiosk(&pair.hub_list(), n)).collect();
    let mut presses = Vec::new();
    for (k, kiosk) in kiosks.iter().enumerate() {
        let kiosk = kiosk.clone();
        presses.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for i in 0..60 {
                let id = format!("kiosk-{}:lag-{i}", k + 1);
                let reply = kiosk
                    .send_with_id(id.clone(), issue(if i % 2 == 0 { "TP" } else { "DD" }))
                    .await
                    .unwrap_or_else(|e| panic!("{id}: {e}"));
                mine.push((id, ticket_of(&reply).number));
            }
            mine
        }));
    }
    let mut issued = Vec::new();
    for p in presses {
        issued.extend(p.await.expect("the presses"));
    }
    pair.b.hub().thaw();
    pair.a.wait_health("back in step", in_sync).await;
    assert!(
        pair.a
            .hub()
            .wait_for_log("link fell behind the commits", testkit::WAIT)
            .is_some(),
        "the burst overran a live buffer of one"
    );
    assert_eq!(events(&pair.a.db), events(&pair.b.db));

    // The replies came with them: each press retried on the promoted standby, the same ticket.
    pair.a.kill();
    let (promoted, said) = promote(&pair.b, false).await;
    assert!(promoted, "{said}");
    for (id, number) in &issued {
        let n: usize = id[6..7].parse().expect("kiosk number");
        let again = kiosks[n - 1]
            .send_with_id(id.clone(), issue("TP"))
            .await
            .expect("retried on the new primary");
        assert_eq!(&ticket_of(&again).number, number, "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_standby_started_late_catches_up_with_the_day_and_its_replies() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut pair = HubPair::new(dir.path(), HUB, 2000).await;
    pair.a.start(exe());
    let kiosk = kiosk(&pair.hub_list(), 1);
    // More answers than a catch-up message carries, before the standby exists.
    let mut issued = Vec::new();
    for i in 0..2500 {
        let id = format!("kiosk-1:early-{i}");
        let reply = kiosk
            .send_with_id(
                id.clone(),
                issue(["TP", "GTVT", "DD", "DKKD", "LDTBXH"][i % 5]),
            )
            .await
            .expect("issued alone");
        issued.push((id, ticket_of(&reply).number));
    }
    pair.b.start(exe());
    pair.a
        .wait_health("the late standby in step", in_sync)
        .await;
    assert_eq!(events(&pair.a.db), events(&pair.b.db));

    pair.a.kill();
    let (promoted, said) = promote(&pair.b, false).await;
    assert!(promoted, "{said}");
    for (id, number) in issued.iter().step_by(97) {
        let again = kiosk
            .send_with_id(id.clone(), issue("TP"))
            .await
            .expect("retried on the new primary");
        assert_eq!(&ticket_of(&again).number, number, "{id}");
    }
    assert_eq!(tickets(&pair.b.db).len(), 2500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_device_deposes_its_primary_only_with_a_term_a_hub_of_the_pair_made() {
    let dir = tempfile::tempdir().expect("tmp");
    let pair = HubPair::in_step(dir.path(), HUB, 2000).await;
    let hello = |term: u64, proof: String| {
        let mut hello = testkit::raw::demo_hello("kiosk", "kiosk-1");
        hello["term"] = term.into();
        hello["term_proof"] = proof.into();
        hello
    };
    // A stolen kiosk token and a made-up term: the primary goes on.
    let mut ws = testkit::raw::open(pair.a.hub().addr).await;
    let forged = hello(7, "00".repeat(32));
    let welcome = testkit::raw::say(&mut ws, &forged).await;
    assert_eq!(welcome["type"], "welcome");
    drop(ws);
    assert_eq!(pair.a.health().await["status"], "ok");

    // A term the pair made (as a promoted hub's welcome carries it): the old primary stops.
    let mut ws = testkit::raw::open(pair.a.hub().addr).await;
    let proof = hub_engine::pair::term_proof(testkit::pair::PAIR_SECRET, 7);
    testkit::raw::send(&mut ws, &hello(7, proof)).await;
    let refused = testkit::raw::next(&mut ws).await.expect("an answer");
    assert_eq!(refused["code"], "not_primary", "{refused}");
    assert_eq!(pair.a.health().await["status"], "replaced");
}

/// What a stranger on the LAN gets from `/replicate`: nothing without the pair's secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicate_refuses_whoever_lacks_the_pairs_secret() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let dir = tempfile::tempdir().expect("tmp");
    let pair = HubPair::in_step(dir.path(), HUB, 2000).await;
    let say = |addr: std::net::SocketAddr, first: serde_json::Value| async move {
        let url = format!("ws://{addr}/replicate");
        let mut ws = hub_client::client::open_websocket(&url, None)
            .await
            .expect("the WebSocket opens");
        ws.send(Message::text(first.to_string()))
            .await
            .expect("sent");
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                serde_json::from_str::<serde_json::Value>(t.as_str()).expect("JSON")
            }
            other => panic!("no answer: {other:?}"),
        }
    };
    let wrong = "not-the-pair-secret-at-all";
    for first in [
        serde_json::json!({"type": "follow", "token": wrong, "seq": 0, "term": 0}),
        serde_json::json!({"type": "ask", "token": wrong}),
        serde_json::json!({"type": "promote", "token": wrong, "force": true}),
    ] {
        for addr in [pair.a.hub().addr, pair.b.hub().addr] {
            let answer = say(addr, first.clone()).await;
            assert_eq!(answer["type"], "refused", "{first} → {answer}");
            assert_eq!(answer["reason"], "unauthorized", "{first} → {answer}");
        }
    }
    let answer = say(pair.a.hub().addr, serde_json::json!({"type": "hello"})).await;
    assert_eq!(answer["reason"], "bad_request", "{answer}");
    // Nothing changed: the standby is still a standby, the primary still in step with it.
    assert_eq!(pair.b.health().await["status"], "standby");
    assert!(in_sync(&pair.a.health().await));
    // With the secret, a hub that asks is told what this one is.
    let answer = say(
        pair.a.hub().addr,
        serde_json::json!({"type": "ask", "token": testkit::pair::PAIR_SECRET}),
    )
    .await;
    assert_eq!(answer["type"], "standing", "{answer}");
    assert_eq!(answer["mode"], "primary", "{answer}");

    // A guesser on another address: five free tries, then refused before the WebSocket opens
    // (as wrong PINs are); the log counts them rather than writing a line each.
    let primary = pair.a.hub().addr;
    let from_the_lan = |first: serde_json::Value| async move {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.2:0".parse().expect("addr"))
            .expect("bind");
        let tcp = socket.connect(primary).await.expect("connect");
        let url = format!("ws://{primary}/replicate");
        let (mut ws, _) = tokio_tungstenite::client_async(url, tcp).await.ok()?;
        ws.send(Message::text(first.to_string())).await.ok()?;
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                serde_json::from_str::<serde_json::Value>(t.as_str()).ok()
            }
            _ => None,
        }
    };
    let guess = serde_json::json!({"type": "ask", "token": wrong});
    for n in 0..5 {
        let answer = from_the_lan(guess.clone()).await;
        assert_eq!(
            answer.map(|a| a["reason"].clone()),
            Some("unauthorized".into()),
            "guess {n}"
        );
    }
    assert_eq!(
        from_the_lan(guess.clone()).await,
        None,
        "the sixth is refused at once"
    );
    let right = serde_json::json!({"type": "ask", "token": testkit::pair::PAIR_SECRET});
    assert_eq!(
        from_the_lan(right).await,
        None,
        "even with the secret, until the wait is over"
    );
    let lines = pair
        .a
        .hub()
        .log_lines()
        .iter()
        .filter(|l| l.contains("the wrong secret"))
        .count();
    // 3 + 5 wrong secrets on this hub: lines at the 1st, 2nd, 4th and 8th.
    assert_eq!(lines, 4, "{:?}", pair.a.hub().log_lines());
    // The pair itself was not disturbed.
    assert!(in_sync(&pair.a.health().await));
}

/// Both PCs set up as primaries (a set-up mistake): each says so, loudly.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_primaries_by_mistake_say_so() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut pair = HubPair::new(dir.path(), HUB, 2000).await;
    // The second PC's database made a primary's after all.
    std::fs::remove_file(&pair.b.db).expect("the standby's database removed");
    pair.a.start(exe());
    pair.b.start(exe());
    for pc in [&pair.a, &pair.b] {
        let health = pc
            .wait_health("two primaries said", |h| {
                h["replication"]["warning"]
                    .as_str()
                    .is_some_and(|w| w.contains("a primary too"))
            })
            .await;
        assert_eq!(health["replication"]["mode"], "primary", "{health:#}");
        assert!(
            pc.hub()
                .wait_for_log("TWO PRIMARIES", testkit::WAIT)
                .is_some()
        );
    }
}

/// The standby's cable out while the primary serves alone, then the primary dead: the standby
/// (its process stopped, so that it hears nothing, as through a cut cable) is started again
/// and looks as it did, but a board served by the primary has seen more. Returns the pair (the
/// primary killed, the standby up) and the last event the board saw.
async fn cut_off_standby_and_dead_primary(dir: &Path) -> (HubPair, u64) {
    let mut pair = HubPair::in_step(dir, HUB, 300).await;
    let kiosk = kiosk(&pair.a.ws(), 1);
    kiosk.send(issue("TP")).await.expect("in step");
    pair.b.kill();
    let (mut board, _) = testkit::raw::device(pair.a.hub().addr, "display", "display-1").await;
    for _ in 0..5 {
        kiosk.send(issue("TP")).await.expect("issued alone");
    }
    // The board has each of them (the primary announces only what it committed).
    let head = pair.a.health().await["seq"].as_u64().expect("a seq");
    let mut seen = 0;
    while seen < head {
        let m = testkit::raw::next(&mut board).await.expect("an event");
        seen = seen.max(m["seq"].as_u64().unwrap_or(0));
    }
    pair.a.kill();
    pair.b.start(exe());
    pair.b
        .wait_health("the standby up again", |h| h["status"] == "standby")
        .await;
    (pair, seen)
}

/// The board's hello, as any client says it after a lost connection: the last event applied.
async fn board_knocks(addr: std::net::SocketAddr, seen: u64) -> serde_json::Value {
    let mut ws = testkit::raw::open(addr).await;
    let mut hello = testkit::raw::demo_hello("display", "display-1");
    hello["resume_from"] = seen.into();
    testkit::raw::send(&mut ws, &hello).await;
    testkit::raw::next(&mut ws).await.expect("an answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_board_that_saw_more_keeps_a_cut_off_standby_from_being_promoted() {
    let dir = tempfile::tempdir().expect("tmp");
    let (pair, seen) = cut_off_standby_and_dead_primary(dir.path()).await;
    let held = pair.b.health().await["seq"].as_u64().expect("a seq");
    assert!(
        held < seen,
        "the standby lacks what the primary issued alone"
    );
    // The board knocks on the standby: refused, and heard.
    let refused = board_knocks(pair.b.hub().addr, seen).await;
    assert_eq!(refused["code"], "not_primary", "{refused}");
    let health = pair
        .b
        .wait_health("the witness kept", |h| {
            h["replication"]["witness"].is_object()
        })
        .await;
    assert_eq!(health["replication"]["witness"]["seq"], seen, "{health:#}");
    assert_eq!(health["replication"]["witness"]["device"], "display-1");
    // The technician's `hub promote` is refused at once, and says why.
    let (promoted, said) = promote(&pair.b, false).await;
    assert!(!promoted, "{said}");
    assert!(
        said.contains("display-1") && said.contains(&format!("event {seen}")),
        "{said}"
    );
    // With --force (the old primary's disk is lost), it goes on, loudly.
    let (promoted, said) = promote(&pair.b, true).await;
    assert!(promoted, "{said}");
    assert!(
        pair.b
            .hub()
            .wait_for_log("PROMOTED AGAINST A WITNESS", testkit::WAIT)
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_standby_promoted_while_cut_off_stops_issuing_when_a_board_has_seen_more() {
    let dir = tempfile::tempdir().expect("tmp");
    let (pair, seen) = cut_off_standby_and_dead_primary(dir.path()).await;
    // Promoted before any device came, by force: the technician believed the old primary's
    // disk lost (without, it is refused: the standby never heard the primary since it started).
    let (promoted, said) = promote(&pair.b, false).await;
    assert!(!promoted, "{said}");
    let (promoted, said) = promote(&pair.b, true).await;
    assert!(promoted, "{said}");
    // The board comes back: it has seen events of the old term this hub gave other numbers.
    let refused = board_knocks(pair.b.hub().addr, seen).await;
    assert_eq!(refused["code"], "not_primary", "{refused}");
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("KHÔNG ĐƯỢC CẤP SỐ") && message.contains("display-1"),
        "{message}"
    );
    let health = pair.b.health().await;
    assert_eq!(health["replication"]["mode"], "standby", "{health:#}");
    assert!(
        health["replication"]["warning"]
            .as_str()
            .is_some_and(|w| w.contains("issued more"))
    );
    assert!(pair.b.hub().wait_for_log("SPLIT", testkit::WAIT).is_some());
    // Nothing is issued now: a kiosk is refused.
    let mut kiosk = testkit::raw::open(pair.b.hub().addr).await;
    testkit::raw::send(&mut kiosk, &testkit::raw::demo_hello("kiosk", "kiosk-1")).await;
    let answer = testkit::raw::next(&mut kiosk).await.expect("an answer");
    assert_eq!(answer["code"], "not_primary", "{answer}");
    // Until the technician decides, knowing now what is lost: --force, and it issues again,
    // the board included.
    let (promoted, said) = promote(&pair.b, true).await;
    assert!(promoted, "{said}");
    let welcome = board_knocks(pair.b.hub().addr, seen).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let (mut kiosk, _) = testkit::raw::device(pair.b.hub().addr, "kiosk", "kiosk-1").await;
    let press = serde_json::json!({"type": "cmd", "id": "kiosk-1:after", "cmd": "issue_ticket",
                                   "args": {"service": "TP"}});
    testkit::raw::send(&mut kiosk, &press).await;
    loop {
        let m = testkit::raw::next(&mut kiosk).await.expect("an answer");
        if m["type"] == "reply" {
            assert_eq!(m["ok"], true, "{m}");
            break;
        }
    }
}

/// The standby's own console: read only, and the supervisor's promotion with the PIN again and
/// the same refusals as `hub promote`. `CONSOLE_SCREENSHOTS=docs/screenshots` keeps its screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_standbys_console_shows_its_state_and_promotes_only_when_it_may() {
    use testkit::raw::{cookie_set, json_body, request};
    let dir = tempfile::tempdir().expect("tmp");
    let mut pair = HubPair::in_step(dir.path(), HUB, 2000).await;
    let standby = pair.b.hub().addr;
    let body = serde_json::json!({"staff": "ql01", "pin": "1234"});
    let (status, response) = request(standby, "POST", "/console/sign-in", None, Some(&body)).await;
    assert_eq!(status, 200, "{response}");
    let cookie = cookie_set(&response);
    let (status, page) = request(standby, "GET", "/console", Some(&cookie), None).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Chuyển thành máy chủ chính"),
        "the standby's own page"
    );
    let (_, answer) = request(standby, "GET", "/console/pair", Some(&cookie), None).await;
    let seen = json_body(&answer);
    assert_eq!(seen["mode"], "standby", "{seen}");
    assert_eq!(seen["primary"]["connected"], true, "{seen}");
    // Nothing else of the console is served here.
    let (status, _) = request(
        standby,
        "GET",
        "/console/figures?from=2026-01-01",
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(status, 503);

    let promote = |pin: &str| serde_json::json!({"pin": pin, "confirm": true});
    let (status, answer) = request(
        standby,
        "POST",
        "/console/promote",
        Some(&cookie),
        Some(&promote("9999")),
    )
    .await;
    assert_eq!(status, 401, "a wrong PIN: {answer}");
    let (status, answer) = request(
        standby,
        "POST",
        "/console/promote",
        None,
        Some(&promote("1234")),
    )
    .await;
    assert_eq!(status, 401, "not signed in: {answer}");
    let (status, answer) = request(
        standby,
        "POST",
        "/console/promote",
        Some(&cookie),
        Some(&promote("1234")),
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer.contains("still serves"),
        "the primary is alive: {answer}"
    );
    if let Some(dir) = std::env::var_os("CONSOLE_SCREENSHOTS") {
        let browser = testkit::Browser::start().await;
        browser
            .client
            .goto(&format!("http://{standby}/console"))
            .await
            .expect("open");
        browser.type_into("#staff", "ql01").await;
        browser.type_into("#pin", "1234").await;
        browser.click("#signin-form button[type=submit]").await;
        browser.wait_for_text("link", "đang kết nối").await;
        browser.click("#ask-open").await;
        browser
            .client
            .execute("window.scrollTo(0, 0); return null;", vec![])
            .await
            .expect("scrolled");
        browser
            .screenshot(&std::path::PathBuf::from(dir).join("console-standby.png"))
            .await;
        browser.close().await;
    }

    // The primary gone: the supervisor promotes, and this hub issues.
    pair.a.kill();
    let (status, answer) = request(
        standby,
        "POST",
        "/console/promote",
        Some(&cookie),
        Some(&promote("1234")),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(json_body(&answer)["term"], 1);
    let health = pair.b.health().await;
    assert_eq!(health["replication"]["mode"], "primary", "{health:#}");
}
