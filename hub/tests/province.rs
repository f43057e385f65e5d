//! The province: two real hubs ship their event logs into a real PostgreSQL at the same time;
//! the link stalls (the server frozen), then is cut (the server stopped) and restored; one hub
//! is killed while a batch is open. At the end every event of both hubs is in PostgreSQL exactly once, and the province's
//! report is the two centres' own reports side by side, and their sum.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use protocol::{Command as Cmd, Role};
use testkit::{Client, HubProcess, ManualClock, Postgres, hub_cli_ok, issue, raw};

const HUB: &str = env!("CARGO_BIN_EXE_hub");
/// How long shipping may take to catch up once the province is reachable.
const CATCH_UP: Duration = Duration::from_secs(90);
/// How long the door may take to show what a hub did (the issue's bound is 2 s; a loaded CI
/// machine gets more).
const FOLLOWED_WITHIN: Duration = Duration::from_secs(20);

/// The demo centre as centre `id` of the province, shipping in batches of `batch` events, for
/// hubs on the system clock (its day starting far from now).
fn centre_config(dir: &Path, id: &str, pg: &Postgres, batch: usize) -> PathBuf {
    let demo =
        std::fs::read_to_string(testkit::real_clock_config_file(dir)).expect("the demo centre");
    centre_config_from(&demo, dir, id, pg, batch)
}

/// The same from the demo centre as configured (midnight), for a hub on a manual clock.
fn manual_clock_centre_config(dir: &Path, id: &str, pg: &Postgres, batch: usize) -> PathBuf {
    centre_config_from(centre_config::DEMO_CONFIG, dir, id, pg, batch)
}

fn centre_config_from(demo: &str, dir: &Path, id: &str, pg: &Postgres, batch: usize) -> PathBuf {
    let text = demo.replacen("[center]\n", &format!("[center]\nid = \"{id}\"\n"), 1)
        + &format!(
            "\n[province]\ndatabase = \"{}\"\npassword_file = \"{}\"\nbatch = {batch}\n",
            pg.database(),
            pg.password_file().display()
        );
    let path = dir.join(format!("{id}.toml"));
    std::fs::write(&path, text).expect("write the configuration");
    path
}

fn start_hub(config: &Path, db: &Path) -> HubProcess {
    let mut command = Command::new(HUB);
    command
        .arg("--config")
        .arg(config)
        .arg("--db")
        .arg(db)
        .args(["--create-db", "--listen", "127.0.0.1:0"]);
    HubProcess::start(command)
}

/// An in-process hub of `config` on a manual clock at a Monday's 08:00 in the centre.
async fn monday_hub(config: &Path, db: &Path) -> (hub::Hub, Arc<ManualClock>) {
    let config = centre_config::Config::load(config).expect("config");
    let clock = Arc::new(ManualClock::at("2026-01-05T08:00:00+07:00"));
    let hub = hub::Hub::start_with_clock(
        config,
        db,
        "127.0.0.1:0".parse().expect("addr"),
        clock.clone(),
    )
    .await
    .expect("hub");
    (hub, clock)
}

/// A centre's own `hub report`, as CSV.
fn own_report(config: &Path, db: &Path, from: &str, to: &str, by: &str) -> String {
    let (config, db) = (config.display().to_string(), db.display().to_string());
    hub_cli_ok(
        HUB,
        &[
            "report", "--config", &config, "--db", &db, "--from", from, "--to", to, "--by", by,
            "--format", "csv",
        ],
    )
}

/// `hub report --province`, as CSV.
fn province_report(pg: &Postgres, from: &str, to: &str, by: &str) -> String {
    hub_cli_ok(
        HUB,
        &[
            "report",
            "--province",
            &pg.url(),
            "--from",
            from,
            "--to",
            to,
            "--by",
            by,
            "--format",
            "csv",
        ],
    )
}

/// `hub ship` of `db` as `config` says, once.
fn ship_once(config: &Path, db: &Path) -> std::process::Output {
    Command::new(HUB)
        .arg("ship")
        .arg("--config")
        .arg(config)
        .arg("--db")
        .arg(db)
        .output()
        .expect("hub ship runs")
}

async fn province(pg: &Postgres) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .expect("the test connects to PostgreSQL");
    tokio::spawn(connection);
    client
}

fn local_last_seq(db: &Path) -> i64 {
    ledger::Reader::open(db)
        .and_then(|r| r.last_seq())
        .expect("the hub's last seq") as i64
}

async fn shipped_seq(pg: &tokio_postgres::Client, centre: &str) -> i64 {
    pg.query_opt("SELECT shipped_seq FROM centres WHERE id = $1", &[&centre])
        .await
        .ok()
        .flatten()
        .map_or(0, |r| r.get(0))
}

/// A connection to the province that hears its `hang_doi_shipped` and `hang_doi_waits`
/// notifications (one after each batch, one after each word of a centre's waits), so that a
/// test waits for the shipment itself, not for time to pass.
struct Shipments {
    client: tokio_postgres::Client,
    arrived: tokio::sync::mpsc::UnboundedReceiver<()>,
}

async fn shipments(pg: &Postgres) -> Shipments {
    use futures_util::StreamExt;
    let (client, mut connection) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .expect("the test connects to PostgreSQL");
    let (notify, arrived) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(_) = message {
                let _ = notify.send(());
            }
        }
    });
    client
        .batch_execute("LISTEN hang_doi_shipped; LISTEN hang_doi_waits")
        .await
        .expect("LISTEN");
    Shipments { client, arrived }
}

impl Shipments {
    /// Waits for the next shipment or word of waits, at most `within`; `false` if none came.
    async fn next(&mut self, within: Duration) -> bool {
        matches!(
            tokio::time::timeout(within, self.arrived.recv()).await,
            Ok(Some(()))
        )
    }

    /// Waits until the province has centre `centre`'s events up to `seq`.
    async fn wait_for(&mut self, centre: &str, seq: i64) {
        loop {
            let shipped = shipped_seq(&self.client, centre).await;
            if shipped >= seq {
                return;
            }
            let next = tokio::time::timeout(CATCH_UP, self.arrived.recv()).await;
            assert!(
                matches!(next, Ok(Some(()))),
                "centre {centre}: the province has events up to {shipped}, the hub up to {seq}"
            );
        }
    }
}

/// A busy stretch at a centre: tickets for three fields (some priority), two clerks serving,
/// ratings, no-shows; the third field has no clerk, its tickets wait.
async fn a_busy_stretch(hub: std::net::SocketAddr, rounds: u32) {
    let (kiosk, _) = Client::connect(hub, Role::Kiosk, "kiosk-1").await;
    let tp = Client::clerk(hub, 1).await;
    let gtvt = Client::clerk(hub, 3).await;
    let pads = [Client::pad(hub, 1).await, Client::pad(hub, 3).await];
    for i in 0..rounds {
        for service in ["TP", "GTVT", "DD"] {
            let priority = (i % 4 == 0).then(|| "elderly".to_string());
            kiosk
                .send(Cmd::IssueTicket {
                    service: service.into(),
                    priority,
                    phone: None,
                })
                .await
                .expect("a ticket is issued while the province may be unreachable");
        }
        for (clerk, pad) in [&tp, &gtvt].into_iter().zip(&pads) {
            clerk.send(Cmd::CallNext {}).await.expect("call");
            if i % 5 == 4 {
                clerk.send(Cmd::Recall {}).await.expect("recall");
                clerk.send(Cmd::Recall {}).await.expect("recall");
                clerk.send(Cmd::NoShow {}).await.expect("no-show");
            } else {
                clerk.send(Cmd::StartServing {}).await.expect("start");
                // Some citizens rate (on the counter's screen), some do not.
                let rating = (i % 4 != 1).then_some((i % 4 + 1) as u8);
                if let Some(rating) = rating {
                    clerk.finish_rated(pad, rating, &[]).await;
                } else {
                    clerk
                        .send(Cmd::Finish { rating: None })
                        .await
                        .expect("finish");
                }
            }
        }
    }
}

/// Waits until centre `centre`'s shipper has a batch open (its transaction holds the centre's
/// row) and returns true then; false if it caught up first.
async fn batch_open(pg: &tokio_postgres::Client, centre: &str, up_to: i64) -> bool {
    let name = format!("hang-doi-hub {centre}");
    let deadline = Instant::now() + CATCH_UP;
    while Instant::now() < deadline {
        let open: i64 = pg
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE application_name = $1 AND xact_start IS NOT NULL",
                &[&name],
            )
            .await
            .expect("pg_stat_activity")
            .get(0);
        if open > 0 {
            return true;
        }
        if shipped_seq(pg, centre).await >= up_to {
            return false;
        }
    }
    false
}

/// Once the hub has logged `news` about the province (it updates `/healthz` before it logs),
/// what `/healthz` — always 200: the province is not the centre's fault — says of it.
async fn province_health(hub: &HubProcess, news: &str) -> serde_json::Value {
    tokio::task::block_in_place(|| hub.wait_for_log(news, CATCH_UP))
        .unwrap_or_else(|| panic!("the hub never logged {news:?}"));
    let (status, response) = testkit::healthz(hub.addr).await;
    assert_eq!(status, 200, "{response}");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    let health: serde_json::Value = serde_json::from_str(body).expect("json");
    health["province"].clone()
}

fn csv_lines(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hubs_ship_through_an_outage_and_a_kill_and_every_event_arrives_once() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("tmp");
    let (db_a, db_b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let config_a = centre_config(dir.path(), "trung-tam-a", &pg, 5);
    let config_b = centre_config(dir.path(), "trung-tam-b", &pg, 50);
    let hub_a = start_hub(&config_a, &db_a);
    let hub_b = start_hub(&config_b, &db_b);
    let mut province = shipments(&pg).await;

    // Both centres busy and shipping at once.
    tokio::join!(
        a_busy_stretch(hub_a.addr, 12),
        a_busy_stretch(hub_b.addr, 12)
    );
    province
        .wait_for("trung-tam-a", local_last_seq(&db_a))
        .await;
    province
        .wait_for("trung-tam-b", local_last_seq(&db_b))
        .await;

    // The link stalls (the server frozen, connections hanging): the centres serve as before.
    pg.freeze();
    tokio::join!(a_busy_stretch(hub_a.addr, 3), a_busy_stretch(hub_b.addr, 3));
    assert_eq!(testkit::healthz(hub_a.addr).await.0, 200);
    pg.thaw();

    // The link is cut: the centres go on working, their events wait.
    pg.stop();
    tokio::join!(
        a_busy_stretch(hub_a.addr, 15),
        a_busy_stretch(hub_b.addr, 15)
    );
    let waiting_a = local_last_seq(&db_a);
    let down = province_health(&hub_b, "cannot ship to the province").await;
    assert!(down["error"].is_string(), "{down}");
    assert!(down["down_since"].is_string(), "{down}");
    // The lobby may read /healthz: a few words, no address or role name (those are in the log).
    let why = down["error"].as_str().unwrap_or_default();
    assert!(
        why.contains("cannot be reached")
            && !why.contains(testkit::PG_USER)
            && !why.contains(&pg.port.to_string()),
        "{why}"
    );
    assert!(down["behind"].as_u64().is_some_and(|b| b > 0), "{down}");
    pg.start_again();
    let mut province = shipments(&pg).await;

    // Centre A catches up in batches of 5; it is killed while one is open.
    assert!(
        batch_open(&province.client, "trung-tam-a", waiting_a).await,
        "centre A's shipper never had a batch open"
    );
    hub_a.kill();
    let killed_at = shipped_seq(&province.client, "trung-tam-a").await;
    assert!(
        killed_at < waiting_a,
        "the kill came after A had caught up ({killed_at} of {waiting_a})"
    );
    let hub_a = start_hub(&config_a, &db_a);
    tokio::join!(a_busy_stretch(hub_a.addr, 3), a_busy_stretch(hub_b.addr, 3));
    province
        .wait_for("trung-tam-a", local_last_seq(&db_a))
        .await;
    province
        .wait_for("trung-tam-b", local_last_seq(&db_b))
        .await;
    let up = province_health(&hub_b, "the province is reachable again").await;
    assert!(up["error"].is_null(), "{up}");
    assert!(
        up["last_ok"].is_string() && up["down_since"].is_null(),
        "{up}"
    );
    hub_a.kill();
    hub_b.kill();
    // Whatever the hubs logged after the last wait (a timer's event) follows by hand.
    for (config, db) in [(&config_a, &db_a), (&config_b, &db_b)] {
        let out = hub_cli_ok(
            HUB,
            &[
                "ship",
                "--config",
                &config.display().to_string(),
                "--db",
                &db.display().to_string(),
            ],
        );
        assert!(out.contains("the province has every event up to"), "{out}");
    }

    // Every event of both hubs, exactly once, the same as in the hub.
    for (centre, db) in [("trung-tam-a", &db_a), ("trung-tam-b", &db_b)] {
        every_event_arrived_once(&province.client, centre, db).await;
    }
    the_province_report_sums_the_centres(&pg, [(&config_a, &db_a), (&config_b, &db_b)]);
}

/// The province holds every event of the centre's log, exactly once and in order, and no
/// tracking code.
async fn every_event_arrived_once(province: &tokio_postgres::Client, centre: &str, db: &Path) {
    let last = local_last_seq(db);
    let row = province
        .query_one(
            "SELECT count(*), count(DISTINCT seq), coalesce(min(seq), 0), coalesce(max(seq), 0)
             FROM events WHERE centre = $1",
            &[&centre],
        )
        .await
        .expect("count");
    let (n, distinct, min, max): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!((n, distinct, min, max), (last, last, 1, last), "{centre}");
    let kinds: Vec<(i64, String)> = ledger::Reader::open(db)
        .and_then(|r| r.events_after(0, usize::MAX))
        .expect("the hub's log")
        .into_iter()
        .map(|e| (e.seq as i64, e.kind))
        .collect();
    let shipped: Vec<(i64, String)> = province
        .query(
            "SELECT seq, kind FROM events WHERE centre = $1 ORDER BY seq",
            &[&centre],
        )
        .await
        .expect("events")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(shipped, kinds, "{centre}: the province's log is the hub's");
    let tracked: i64 = province
        .query_one(
            "SELECT count(*) FROM events WHERE centre = $1 AND body ? 'track'",
            &[&centre],
        )
        .await
        .expect("track")
        .get(0);
    assert_eq!(tracked, 0, "tracking codes stay in the centre");
}

/// The province's report: each centre's line is that centre's own report, and the fields'
/// counts are the sums of the two.
fn the_province_report_sums_the_centres(pg: &Postgres, centres: [(&PathBuf, &PathBuf); 2]) {
    // counts are the sums of the two.
    let today = chrono::Utc::now().date_naive();
    let (from, to) = (
        (today - TimeDelta::days(1)).to_string(),
        (today + TimeDelta::days(1)).to_string(),
    );
    let own = |config: &Path, db: &Path, by: &str| own_report(config, db, &from, &to, by);
    let of_province = |by: &str| province_report(pg, &from, &to, by);
    let by_centre = csv_lines(&of_province("centre"));
    for (centre, (config, db)) in ["trung-tam-a", "trung-tam-b"].into_iter().zip(centres) {
        let own_total = csv_lines(&own(config, db, "total"));
        let line = by_centre
            .iter()
            .find(|l| l[0] == centre)
            .unwrap_or_else(|| panic!("no {centre} in {by_centre:?}"));
        assert_eq!(line[1..], own_total[0][1..], "{centre}");
    }
    let counts = |line: &[String]| -> Vec<u64> {
        [1, 2, 3, 4, 5, 12]
            .iter()
            .map(|&i| line[i].parse().expect("a count"))
            .collect()
    };
    let by_field = csv_lines(&of_province("service"));
    let field_a = csv_lines(&own(centres[0].0, centres[0].1, "service"));
    let field_b = csv_lines(&own(centres[1].0, centres[1].1, "service"));
    assert_eq!(by_field.len(), field_a.len(), "{by_field:?}");
    for line in &by_field {
        let of = |own: &[Vec<String>]| {
            own.iter()
                .find(|l| l[0] == line[0])
                .map(|l| counts(l))
                .unwrap_or_else(|| vec![0; 6])
        };
        let sum: Vec<u64> = of(&field_a)
            .iter()
            .zip(of(&field_b))
            .map(|(a, b)| a + b)
            .collect();
        assert_eq!(counts(line), sum, "field {}", line[0]);
    }
    let issued: u64 = by_field.last().map(|l| counts(l)[0]).expect("a total");
    assert!(issued >= 2 * 30 * 3, "{issued} tickets in the province");
}

/// One centre, a scripted day on a manual clock (waits and services of whole minutes, ratings,
/// a no-show, tickets left to expire): the province's figures are the hub's own, to the cent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provinces_figures_are_the_centres_own() {
    let pg = Postgres::start();
    // The province's administrator makes the schema first (the shipper then has nothing to do).
    let made = hub_cli_ok(HUB, &["province-schema", "--province", &pg.url()]);
    assert_eq!(
        made.trim(),
        format!(
            "the province's schema is at version {}",
            province::schema::MIGRATIONS.len()
        )
    );
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let config_path = manual_clock_centre_config(dir.path(), "mot-cua", &pg, 1000);
    let checked = hub_cli_ok(
        HUB,
        &[
            "--config",
            &config_path.display().to_string(),
            "--check-config",
        ],
    );
    assert!(
        checked.contains("ships to the province as \"mot-cua\""),
        "{checked}"
    );
    let (hub, clock) = monday_hub(&config_path, &db).await;
    a_scripted_monday(hub.addr, &clock).await;
    shipments(&pg)
        .await
        .wait_for("mot-cua", local_last_seq(&db))
        .await;
    hub.stop().await.expect("stop");

    for by in ["total", "service", "priority"] {
        let own = own_report(&config_path, &db, "2026-01-05", "2026-01-06", by);
        let of_province = province_report(&pg, "2026-01-05", "2026-01-06", by);
        assert_eq!(of_province, own, "by {by}");
        assert!(own.lines().count() >= 2, "{own}");
    }
    // And the minutes are real ones, not zeros that would agree by accident.
    let own_total = own_report(&config_path, &db, "2026-01-05", "2026-01-05", "total");
    let total = &csv_lines(&own_total)[0];
    assert!(total[6].parse::<f64>().expect("wait") > 1.0, "{own_total}");
    assert!(
        total[8].parse::<f64>().expect("service") >= 4.0,
        "{own_total}"
    );
    // The appointments too: the same lines, the province naming each service by its centre.
    let appointments = |extra: &[&str]| {
        let (config, db) = (config_path.display().to_string(), db.display().to_string());
        let mut args = vec![
            "report",
            "--from",
            "2026-01-05",
            "--to",
            "2026-01-06",
            "--appointments",
            "--format",
            "csv",
        ];
        if extra.is_empty() {
            args.extend(["--config", &config, "--db", &db]);
            hub_cli_ok(HUB, &args)
        } else {
            args.extend(extra);
            hub_cli_ok(HUB, &args)
        }
    };
    let own_bookings = appointments(&[]);
    let province_url = pg.url();
    let province_bookings = appointments(&["--province", &province_url]);
    assert_eq!(province_bookings.replace(",mot-cua/", ","), own_bookings);
    assert!(
        own_bookings.contains("2026-01-05,TP,2,0,1,1,0,")
            && own_bookings.contains("2026-01-05,DD,1,0,0,0,1,"),
        "checked in, missed, cancelled:\n{own_bookings}"
    );
    let shipped_holders: Vec<String> = province(&pg)
        .await
        .query(
            "SELECT body::text FROM events WHERE kind = 'appointment_booked'",
            &[],
        )
        .await
        .expect("events")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(shipped_holders.len(), 3);
    assert!(
        shipped_holders
            .iter()
            .all(|b| b.contains(r#""holder": "phone""#)),
        "no hash of a phone number leaves the centre: {shipped_holders:?}"
    );
    doctor_says_how_far_the_province_is(pg, &config_path, &db);
}

/// A technician's `hub doctor` says how far the province has this centre, or that it is out of
/// reach.
fn doctor_says_how_far_the_province_is(
    pg: Postgres,
    config_path: &std::path::Path,
    db: &std::path::Path,
) {
    let doctor = || {
        let out = Command::new(HUB)
            .args(["doctor", "--listen", "127.0.0.1:0", "--config"])
            .arg(config_path)
            .arg("--db")
            .arg(db)
            .output()
            .expect("hub doctor runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Each finding: its verdict, Vietnamese, then English on the next line.
    let finding = |report: &str, english: &str| -> String {
        report
            .split("\n\n")
            .find(|f| f.contains(english))
            .unwrap_or_else(|| panic!("no finding with {english:?} in {report}"))
            .to_string()
    };
    let last = local_last_seq(db);
    let link = finding(
        &doctor(),
        &format!(
            "the province's database answers; it has this centre's events up to {last} \
             (this database: {last})"
        ),
    );
    assert!(
        link.starts_with("ok    cơ sở dữ liệu của tỉnh trả lời"),
        "{link}"
    );
    pg.stop();
    let link = finding(
        &doctor(),
        "the province cannot be reached — the province's database:",
    );
    assert!(link.starts_with("warn  không tới được tỉnh"), "{link}");
}

/// Nine tickets on Monday 5 January, served at counters 1 and 3 (one no-show), and one on the
/// next day, when what still waited has expired.
async fn a_scripted_monday(addr: std::net::SocketAddr, clock: &ManualClock) {
    let advance = |m: i64| clock.advance(TimeDelta::minutes(m));
    let (kiosk, _) = Client::connect(addr, Role::Kiosk, "kiosk-1").await;
    // Three bookings at 08:00: Justice at 08:15 (checked in now, early) and at 08:30 (missed),
    // Land at 08:30 (cancelled).
    let mut codes = vec![];
    for (service, start, phone) in [
        ("TP", "08:15", "0901000001"),
        ("TP", "08:30", "0901000002"),
        ("DD", "08:30", "0901000003"),
    ] {
        let body = serde_json::json!({"service": service,
            "start": format!("2026-01-05T{start}:00+07:00"), "phone": phone});
        let (status, response) =
            raw::request(addr, "POST", "/api/appointments", None, Some(&body)).await;
        assert_eq!(status, 201, "{response}");
        let booked = raw::json_body(&response);
        codes.push(booked["code"].as_str().expect("code").to_string());
    }
    kiosk
        .send(Cmd::CheckIn {
            code: codes[0].clone(),
            phone: None,
        })
        .await
        .expect("checked in");
    let cancel = serde_json::json!({"phone": "0901000003"});
    let path = format!("/api/appointments/{}", codes[2]);
    let (status, _) = raw::request(addr, "DELETE", &path, None, Some(&cancel)).await;
    assert_eq!(status, 200);
    for i in 0..9 {
        kiosk
            .send(Cmd::IssueTicket {
                service: ["TP", "GTVT", "DD"][i % 3].into(),
                priority: (i == 4).then(|| "elderly".into()),
                phone: None,
            })
            .await
            .expect("issued");
        advance(1);
    }
    let tp = Client::clerk(addr, 1).await;
    let gtvt = Client::clerk(addr, 3).await;
    let (tp_pad, gtvt_pad) = (Client::pad(addr, 1).await, Client::pad(addr, 3).await);
    for (round, minutes) in [(0, 7), (1, 3), (2, 12)] {
        advance(minutes);
        for clerk in [&tp, &gtvt] {
            clerk.send(Cmd::CallNext {}).await.expect("call");
            if round == 2 && std::ptr::eq(clerk, &gtvt) {
                clerk.send(Cmd::Recall {}).await.expect("recall");
                clerk.send(Cmd::Recall {}).await.expect("recall");
                clerk.send(Cmd::NoShow {}).await.expect("no-show");
                continue;
            }
            clerk.send(Cmd::StartServing {}).await.expect("start");
            advance(4 + round);
            let pad = if std::ptr::eq(clerk, &tp) {
                &tp_pad
            } else {
                &gtvt_pad
            };
            clerk
                .finish_rated(
                    pad,
                    4 - round as u8,
                    if round == 2 { &["wait"] } else { &[] },
                )
                .await;
        }
    }
    // The next day: what still waited has expired.
    advance(24 * 60);
    kiosk.send(issue("TP")).await.expect("issued the next day");
}

/// A CA and a server certificate for 127.0.0.1 signed by it: (CA PEM, certificate PEM, key PEM).
fn certificates() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let key = rcgen::KeyPair::generate().expect("key");
    let server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("params")
        .signed_by(&key, &ca, &ca_key)
        .expect("certificate");
    (ca.pem(), server.pem(), key.serialize_pem())
}

/// Over a network the province is reached by TLS, and only a server signed by the CA the centre
/// was given is trusted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_centre_ships_over_tls_to_the_province_it_trusts_only() {
    let (ca, cert, key) = certificates();
    let (other_ca, _, _) = certificates();
    let pg = Postgres::start_with_tls(&cert, &key);
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    {
        let hub = testkit::start_hub(&db).await;
        let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
        for _ in 0..3 {
            kiosk.send(issue("TP")).await.expect("issued");
        }
        hub.stop().await.expect("stop");
    }
    let last = local_last_seq(&db);
    let config = centre_config(dir.path(), "xa-tls", &pg, 1000);
    let trusting = |ca_pem: &str, name: &str| {
        let ca_file = dir.path().join(format!("{name}.pem"));
        std::fs::write(&ca_file, ca_pem).expect("write");
        let text = std::fs::read_to_string(&config).expect("read")
            + &format!("ca_file = \"{}\"\n", ca_file.display());
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, text).expect("write");
        path
    };
    let ship = |config: &Path| ship_once(config, &db);
    let refused = ship(&trusting(&other_ca, "other-ca"));
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{why}");
    assert!(
        why.contains("certificate") || why.contains("Issuer"),
        "{why}"
    );

    let shipped = ship(&trusting(&ca, "province-ca"));
    let said = String::from_utf8_lossy(&shipped.stdout);
    assert!(
        shipped.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&shipped.stderr)
    );
    assert!(said.contains(&format!("up to {last}")), "{said}");
    let ca_file = dir.path().join("province-ca.pem");
    let link = province::Link {
        database: pg.url(),
        password_file: None,
        ca_file: Some(ca_file),
    };
    let province = link.connect().await.expect("a TLS connection");
    let n: i64 = province
        .query_one("SELECT count(*) FROM events WHERE centre = 'xa-tls'", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, last);
}

/// Each centre writes as its own database role, bound to it by the province: a centre whose
/// role (or password file) is stolen cannot forge or rewind another centre's figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_centres_role_writes_its_own_rows_only() {
    let pg = Postgres::start();
    hub_cli_ok(HUB, &["province-schema", "--province", &pg.url()]);
    let admin = province(&pg).await;
    admin
        .batch_execute(
            "CREATE ROLE centre_a LOGIN PASSWORD 'pw-a';
             CREATE ROLE centre_b LOGIN PASSWORD 'pw-b';
             GRANT SELECT ON hang_doi_schema TO centre_a, centre_b;
             GRANT SELECT, INSERT, UPDATE ON centres, services, events, tickets TO centre_a, centre_b;
             INSERT INTO centres (id, name, time_zone, login_role) VALUES
                ('xa-a', 'Xã A', 'Asia/Ho_Chi_Minh', 'centre_a'),
                ('xa-b', 'Xã B', 'Asia/Ho_Chi_Minh', 'centre_b');",
        )
        .await
        .expect("the province's administrator sets up the roles");
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("a.db");
    {
        let hub = testkit::start_hub(&db).await;
        let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
        kiosk.send(issue("TP")).await.expect("issued");
        hub.stop().await.expect("stop");
    }
    // A configuration shipping as centre `id` with database role `role`.
    let as_role = |id: &str, role: &str, password: &str| {
        let password_file = dir.path().join(format!("{role}.password"));
        std::fs::write(&password_file, format!("{password}\n")).expect("write");
        let text = std::fs::read_to_string(centre_config(dir.path(), id, &pg, 1000))
            .expect("read")
            .replace(
                &format!("user={}", testkit::PG_USER),
                &format!("user={role}"),
            )
            .replace(
                &pg.password_file().display().to_string(),
                &password_file.display().to_string(),
            );
        let path = dir.path().join(format!("{id}-as-{role}.toml"));
        std::fs::write(&path, text).expect("write");
        path
    };
    let ship = |config: &Path| ship_once(config, &db);
    let own = ship(&as_role("xa-a", "centre_a", "pw-a"));
    assert!(
        own.status.success(),
        "{}",
        String::from_utf8_lossy(&own.stderr)
    );
    let shipped = shipped_seq(&admin, "xa-a").await;
    assert_eq!(shipped, local_last_seq(&db));

    // Centre B's role claims to be centre A: refused, and A's rows are as they were.
    let forged = ship(&as_role("xa-a", "centre_b", "pw-b"));
    let why = String::from_utf8_lossy(&forged.stderr);
    assert!(!forged.status.success(), "{why}");
    assert!(why.contains("row-level security"), "{why}");
    let (b, connection) = tokio_postgres::connect(
        &format!(
            "postgresql://centre_b:pw-b@127.0.0.1:{}/postgres?sslmode=disable",
            pg.port
        ),
        tokio_postgres::NoTls,
    )
    .await
    .expect("centre B connects");
    tokio::spawn(connection);
    let rewound = b
        .execute("UPDATE centres SET shipped_seq = 0 WHERE id = 'xa-a'", &[])
        .await
        .expect("an update that finds nothing it may change");
    assert_eq!(rewound, 0, "B cannot rewind A's cursor");
    let injected = b
        .execute(
            "INSERT INTO events (centre, seq, at, day, kind, device, body)
             VALUES ('xa-a', 999, now(), current_date, 'ticket_issued', 'kiosk-1', '{}')",
            &[],
        )
        .await;
    assert!(injected.is_err(), "B cannot add events to A");
    let stolen = b
        .execute(
            "UPDATE centres SET login_role = NULL WHERE id = 'xa-b'",
            &[],
        )
        .await;
    assert!(
        stolen.is_err(),
        "a centre cannot unbind itself (and open itself to all)"
    );
    let events: i64 = admin
        .query_one("SELECT count(*) FROM events WHERE centre = 'xa-a'", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(events, shipped);
    assert_eq!(shipped_seq(&admin, "xa-a").await, shipped);
}

/// A pair of hub PCs ships once: the primary while it serves, the promoted standby from where the
/// province's copy ends — every event exactly once, none from the standby while it follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pair_of_hubs_ships_every_event_once_across_a_takeover() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = centre_config(dir.path(), "cap-doi", &pg, 25);
    let base = std::fs::read_to_string(&config).expect("the centre's configuration");
    let mut pair = testkit::pair::HubPair::from_base(dir.path(), HUB, 2000, base).await;
    pair.start_in_step(HUB).await;
    let mut shipped = shipments(&pg).await;
    let (kiosk, _) = Client::connect(pair.a.hub().addr, Role::Kiosk, "kiosk-1").await;
    for _ in 0..60 {
        kiosk.send(testkit::issue("TP")).await.expect("issued");
    }
    let a_last = pair.a.health().await["seq"].as_i64().expect("seq");
    shipped.wait_for("cap-doi", a_last).await;
    let standby = pair.b.health().await;
    assert!(
        standby.get("province").is_none(),
        "a standby ships nothing: {standby:#}"
    );

    pair.a.kill();
    let promoted = testkit::hub_cli(
        HUB,
        &[
            "promote",
            "--config",
            &pair.b.config.display().to_string(),
            "--hub",
            &format!("ws://{}", pair.b.hub().addr),
        ],
    );
    assert!(promoted.status.success(), "{promoted:?}");
    let (kiosk, _) = Client::connect(pair.b.hub().addr, Role::Kiosk, "kiosk-1").await;
    for _ in 0..40 {
        kiosk
            .send(testkit::issue("GTVT"))
            .await
            .expect("issued by the new primary");
    }
    let b_last = local_last_seq(&pair.b.db);
    shipped.wait_for("cap-doi", b_last).await;
    every_event_arrived_once(&shipped.client, "cap-doi", &pair.b.db).await;
}

/// The province's door shows each field as the hub's own kiosk and board do: the shipper writes
/// the hub's figures (state, people waiting, a new ticket's estimate) with every shipment.
#[tokio::test]
async fn a_centres_waits_reach_the_province_as_its_board_shows_them() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let config_path = manual_clock_centre_config(dir.path(), "mot-cua", &pg, 1000);
    let mut heard = shipments(&pg).await;
    let (hub, _clock) = monday_hub(&config_path, &db).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let _clerk = Client::clerk(hub.addr, 1).await;
    for _ in 0..3 {
        kiosk.send(issue("TP")).await.expect("issued");
    }
    let (_board, welcome) = raw::device(hub.addr, "display", "display-1").await;
    let board = welcome["snapshot"]["services"]
        .as_array()
        .expect("the board's fields")
        .clone();
    let tp = board.iter().find(|s| s["id"] == "TP").expect("TP");
    assert_eq!(tp["waiting"], 3);
    assert!(
        tp["eta_min"].as_u64().is_some(),
        "a counter serves it: {tp}"
    );
    let rows = loop {
        let rows = heard
            .client
            .query(
                "SELECT service, state, waiting, eta_min, c.heard_at IS NOT NULL
                 FROM service_waits w JOIN centres c ON c.id = w.centre
                 WHERE centre = 'mot-cua' ORDER BY position",
                &[],
            )
            .await
            .unwrap_or_default();
        let tp_waiting = rows
            .iter()
            .find(|r| r.get::<_, String>(0) == "TP")
            .map(|r| r.get::<_, i32>(2));
        if tp_waiting == Some(3) {
            break rows;
        }
        assert!(
            heard.next(CATCH_UP).await,
            "the waits did not reach the province"
        );
    };
    let shipped: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            assert!(r.get::<_, bool>(4), "the hub said when it spoke");
            serde_json::json!({
                "id": r.get::<_, String>(0),
                "state": r.get::<_, String>(1),
                "waiting": r.get::<_, i32>(2),
                "eta_min": r.get::<_, Option<i32>>(3),
            })
        })
        .collect();
    let shown: Vec<serde_json::Value> = board
        .iter()
        .map(|s| {
            serde_json::json!({"id": s["id"], "state": s["state"], "waiting": s["waiting"],
                               "eta_min": s["eta_min"]})
        })
        .collect();
    assert_eq!(
        shipped, shown,
        "the province's figures are the board's, in its order"
    );
    hub.stop().await.expect("stop");
}

/// The province's door on loopback, in this process, on the test's database.
async fn door_on(pg: &Postgres) -> std::net::SocketAddr {
    let mut link = province::Link::new(pg.database());
    link.password_file = Some(pg.password_file());
    let door = province_door::Door::new(&link, 4).expect("a door");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let (_stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _keep = _stop;
        province_door::serve::serve(listener, province_door::router(door), stopping).await;
    });
    addr
}

/// What the door's page of `track` shows once `ready` holds of it: asked again after each
/// shipment or word of waits the province hears.
async fn followed(
    door: std::net::SocketAddr,
    heard: &mut Shipments,
    track: &str,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    loop {
        let (status, response) = raw::get_whole(door, &format!("/api/t/{track}")).await;
        if status == 200 {
            let seen = raw::json_body(&response);
            if ready(&seen) {
                return seen;
            }
        }
        assert!(
            heard.next(FOLLOWED_WITHIN).await,
            "the door never showed {track} as expected: {response}"
        );
    }
}

/// A ticket's QR leads to the province's door, which follows it as the hub does — its place,
/// its wait, its call — from a hash of the code alone.
#[tokio::test]
async fn a_ticket_is_followed_from_the_provinces_door() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let config_path = manual_clock_centre_config(dir.path(), "mot-cua", &pg, 1000);
    let with_door = std::fs::read_to_string(&config_path)
        .expect("config")
        .replacen(
            "[province]\n",
            "[province]\npublic_url = \"https://cong.tinh.example/\"\n",
            1,
        );
    std::fs::write(&config_path, with_door).expect("write");
    let mut heard = shipments(&pg).await;
    let (hub, _clock) = monday_hub(&config_path, &db).await;
    let door = door_on(&pg).await;
    let (kiosk, welcome) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    assert_eq!(
        welcome.center.track_base.as_deref(),
        Some("https://cong.tinh.example"),
        "the kiosk prints the door's address in the QR"
    );
    let clerk = Client::clerk(hub.addr, 1).await;
    let mut tickets = vec![];
    for _ in 0..3 {
        let reply = kiosk.send(issue("TP")).await.expect("issued");
        tickets.push(reply.ticket().expect("a ticket").clone());
    }
    let third = &tickets[2];
    let track = third.track.clone().expect("a tracking code");
    let seen = followed(door, &mut heard, &track, |t| t["ahead"] == 2).await;
    assert_eq!(seen["number"], third.number.as_str());
    assert_eq!(seen["status"], "waiting");
    assert_eq!(seen["live"], true);
    assert_eq!(
        seen["eta_min"].as_u64(),
        third.eta_min.map(u64::from),
        "the kiosk's own estimate"
    );
    // Only the hash is in the province.
    let province = &heard.client;
    let codes: i64 = province
        .query_one(
            "SELECT count(*) FROM events WHERE body::text LIKE '%' || $1 || '%'",
            &[&track],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(codes, 0);
    let hash: String = province
        .query_one(
            "SELECT track_hash FROM tickets WHERE centre = 'mot-cua' AND id = $1",
            &[&(third.id as i64)],
        )
        .await
        .expect("the ticket")
        .get(0);
    assert_eq!(hash, province::track_hash(&track));
    // The first is called: the door says where to go.
    let first = tickets[0].track.clone().expect("a tracking code");
    clerk.send(Cmd::CallNext {}).await.expect("called");
    let called = followed(door, &mut heard, &first, |t| t["status"] == "called").await;
    assert_eq!(called["counter"], 1);
    assert!(called["ahead"].is_null());
    let moved = followed(door, &mut heard, &track, |t| t["ahead"] == 1).await;
    assert_eq!(moved["status"], "waiting");
    // A wrong or malformed code is a clear 404, never a query.
    for bad in [
        "AAAAAAAAAAAAAAAAAAAA",
        "x'; DROP TABLE tickets; --",
        "short",
    ] {
        let path = format!("/api/t/{}", bad.replace(' ', "%20"));
        assert_eq!(raw::get_whole(door, &path).await.0, 404, "{bad}");
    }
    hub.stop().await.expect("stop");
}

/// The door on loopback taking bookings under `key` (a cheap proof of work; the client
/// addresses are the test's own).
async fn booking_door_on(pg: &Postgres, key: province_pass::PassKey) -> std::net::SocketAddr {
    let mut link = province::Link::new(pg.database());
    link.password_file = Some(pg.password_file());
    let door = province_door::Door::new(&link, 4)
        .expect("a door")
        .with_booking(
            key,
            province_door::booking::Settings {
                proof_bits: 4,
                ..Default::default()
            },
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let (_stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _keep = _stop;
        province_door::serve::serve(listener, province_door::router(door), stopping).await;
    });
    addr
}

/// A booking made and confirmed at the door: its code and pass.
async fn book_at_door(
    door: std::net::SocketAddr,
    start: chrono::DateTime<chrono::Utc>,
    phone: &str,
) -> (String, String) {
    let (_, c) = raw::get(door, "/api/bookings/challenge").await;
    let c: serde_json::Value = serde_json::from_str(&c).expect("a challenge");
    let challenge = c["challenge"].as_str().expect("challenge").to_string();
    let nonce = province_door::proof::solve(&challenge, c["bits"].as_u64().unwrap_or(0) as u32);
    let ask = serde_json::json!({"centre": "mot-cua", "service": "TP", "start": start,
        "phone": phone, "challenge": challenge, "nonce": nonce});
    let (status, held) = raw::request(door, "POST", "/api/bookings", None, Some(&ask)).await;
    assert_eq!(status, 201, "{held}");
    let code = raw::json_body(&held)["code"]
        .as_str()
        .expect("a code")
        .to_string();
    let mine = serde_json::json!({"centre": "mot-cua", "code": code, "phone": phone});
    let (status, confirmed) =
        raw::request(door, "POST", "/api/bookings/confirm", None, Some(&mine)).await;
    assert_eq!(status, 200, "{confirmed}");
    let pass = raw::json_body(&confirmed)["pass"]
        .as_str()
        .expect("a pass")
        .to_string();
    (code, pass)
}

/// The province's appointment row of `code`: its status, once the hub shipped it.
async fn shipped_appointment(heard: &mut Shipments, code: &str, status: &str) {
    loop {
        let found = heard
            .client
            .query_opt(
                "SELECT status FROM appointments WHERE centre = 'mot-cua' AND code = $1",
                &[&code],
            )
            .await
            .ok()
            .flatten()
            .map(|r| r.get::<_, String>(0));
        if found.as_deref() == Some(status) {
            return;
        }
        assert!(
            heard.next(CATCH_UP).await,
            "the province never had {code} as {status} (it has {found:?})"
        );
    }
}

/// The demo centre as "mot-cua", one of each TP slot's two places the province's, honouring
/// passes of the key whose public line is `public`.
fn booking_centre_config(dir: &Path, pg: &Postgres, public: &str) -> centre_config::Config {
    let config_path = manual_clock_centre_config(dir, "mot-cua", pg, 1000);
    let shared = std::fs::read_to_string(&config_path)
        .expect("config")
        .replacen(
            "per_slot = 2            # bookings a slot holds\n",
            "per_slot = 2\nprovince_share = 1\n",
            1,
        )
        .replacen(
            "[province]\n",
            &format!("[province]\nbooking_keys = [\"{public}\"]\n"),
            1,
        );
    std::fs::write(&config_path, shared).expect("write");
    centre_config::Config::load(&config_path).expect("config")
}

/// The province's places in TP's slot at `slot`, once the hub published them.
async fn published_places(heard: &mut Shipments, slot: chrono::DateTime<chrono::Utc>) -> i32 {
    loop {
        let row = heard
            .client
            .query_opt(
                "SELECT places FROM province_slots WHERE centre = 'mot-cua' AND service = 'TP'
                 AND start = $1",
                &[&slot],
            )
            .await
            .ok()
            .flatten();
        if let Some(row) = row {
            break row.get::<_, i32>(0);
        }
        assert!(
            heard.next(CATCH_UP).await,
            "the hub never published its slots"
        );
    }
}

/// The places the hub's own booking page offers in TP's slot at `slot`.
async fn own_free(
    hub: std::net::SocketAddr,
    slot: chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    let (status, own) = raw::get(
        hub,
        &format!(
            "/api/appointments/slots?service=TP&date={}",
            slot.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
                .date_naive()
        ),
    )
    .await;
    assert_eq!(status, 200, "{own}");
    let own: serde_json::Value = serde_json::from_str(&own).expect("slots");
    let this = own["slots"]
        .as_array()
        .and_then(|s| {
            s.iter().find(|s| {
                s["start"]
                    .as_str()
                    .map(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
                    == Some(Some(slot))
            })
        })
        .cloned()
        .expect("the slot on the hub's own page");
    this["free"].clone()
}

/// Booking a centre at the province's door: the hub publishes its share of each slot, learns
/// a booking made while it is up (checked in with its code typed), and honours at the kiosk a
/// pass whose booking never reached it — its link to the province down — once.
#[tokio::test]
async fn a_booking_made_at_the_door_is_honoured_offline_and_only_once() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let key = province_pass::PassKey::from_bytes(&[9; 32]);
    let public = province_pass::key_text(key.verifying_key().as_bytes());
    let config = booking_centre_config(dir.path(), &pg, &public);
    // The hub's clock a day ahead of the database's, on the hour: its slots are the future for
    // the door too, whatever the time the test runs.
    let now = chrono::Utc::now();
    let t0 = chrono::DurationRound::duration_trunc(now, TimeDelta::hours(1)).expect("an hour")
        + TimeDelta::days(1);
    let slot = t0 + TimeDelta::hours(1);
    let mut heard = shipments(&pg).await;
    let door = booking_door_on(&pg, key).await;
    let start = |clock: Arc<ManualClock>| {
        let config = config.clone();
        let db = db.clone();
        async move {
            hub::Hub::start_with_clock(config, &db, "127.0.0.1:0".parse().expect("addr"), clock)
                .await
                .expect("hub")
        }
    };
    let clock = Arc::new(ManualClock::new(t0));
    let hub = start(clock.clone()).await;
    let places = published_places(&mut heard, slot).await;
    assert_eq!(places, 1, "the province's share of the slot");
    // Booked while the hub is up: learned, and checked in with its code typed.
    let (online, _) = book_at_door(door, slot, "0912000001").await;
    shipped_appointment(&mut heard, &online, "booked").await;
    assert_eq!(
        own_free(hub.addr, slot).await,
        1,
        "the province's booking takes none of the centre's places"
    );
    hub.stop().await.expect("stop");
    // Booked while the hub is away; then the province goes away too.
    let other = t0 + TimeDelta::minutes(75);
    let (offline, pass) = book_at_door(door, other, "0912000002").await;
    pg.stop();
    let clock = Arc::new(ManualClock::new(other - TimeDelta::minutes(10)));
    let hub = start(clock.clone()).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let typed = kiosk
        .send(Cmd::CheckIn {
            code: online.clone(),
            phone: None,
        })
        .await;
    let typed = typed.expect("the learned booking is checked in with its code typed");
    assert_eq!(
        typed
            .ticket()
            .and_then(|t| t.appointment.as_ref())
            .map(|a| a.code.as_str()),
        Some(online.as_str())
    );
    let ticket = kiosk
        .send(Cmd::CheckIn {
            code: pass.clone(),
            phone: None,
        })
        .await
        .expect("the pass is honoured with the province away");
    let ticket = ticket.ticket().expect("a ticket").clone();
    assert_eq!(
        ticket.appointment.as_ref().map(|a| a.code.as_str()),
        Some(offline.as_str())
    );
    let again = kiosk
        .send(Cmd::CheckIn {
            code: pass.clone(),
            phone: None,
        })
        .await;
    let refusal = again.expect_err("a pass counts once").to_string();
    assert!(refusal.contains(&ticket.number), "{refusal}");
    // The province returns: it hears of the check-in, and nothing is booked twice.
    pg.start_again();
    let mut heard = shipments(&pg).await;
    shipped_appointment(&mut heard, &offline, "checked_in").await;
    let tickets: i64 = heard
        .client
        .query_one(
            "SELECT count(*) FROM appointments WHERE centre = 'mot-cua' AND code = $1",
            &[&offline],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(tickets, 1);
    hub.stop().await.expect("stop");
}
