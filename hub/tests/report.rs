//! `hub report` on a database filled by a scripted day — across a service-day boundary — gives the
//! figures the script made; `hub simulate` repeats itself for a seed and answers "what if".

use std::sync::Arc;

use chrono::TimeDelta;
use protocol::{Command, Role};
use testkit::*;

const HUB: &str = env!("CARGO_BIN_EXE_hub");

/// `hub report` of the demo centre on `db`, with `args`.
fn report(db: &str, args: &[&str]) -> String {
    let mut all = vec!["report", "--config", "demo", "--db", db];
    all.extend_from_slice(args);
    hub_cli_ok(HUB, &all)
}

#[tokio::test]
async fn the_report_matches_a_scripted_day() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    // Monday 5 January 2026, 09:00 in Hà Nội.
    let clock = Arc::new(ManualClock::at("2026-01-05T09:00:00+07:00"));
    let hub = testkit::start_hub_on(&clock, &db).await;
    let advance = |m: i64| clock.advance(TimeDelta::minutes(m));
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    for _ in 0..5 {
        kiosk.send(issue("TP")).await.expect("issued");
    }
    kiosk.send(issue("DD")).await.expect("issued");
    let (clerk, _) = Client::connect(hub.addr, Role::Counter, "counter-2").await;
    let pad = Client::pad(hub.addr, 2).await;
    clerk
        .send(Command::Login {
            counter: 2,
            staff: "nv02".into(),
            pin: "1234".into(),
        })
        .await
        .expect("login");
    // Two served: called after 10 minutes' wait, served for 6.
    for rating in [4, 2] {
        advance(10);
        clerk.send(Command::CallNext {}).await.expect("call");
        clerk.send(Command::StartServing {}).await.expect("start");
        advance(6);
        clerk
            .finish_rated(
                &pad,
                rating,
                if rating <= 2 { &["wait", "slow"] } else { &[] },
            )
            .await;
    }
    // One no-show after two recalls.
    clerk.send(Command::CallNext {}).await.expect("call");
    clerk.send(Command::Recall {}).await.expect("recall");
    clerk.send(Command::Recall {}).await.expect("recall");
    clerk.send(Command::NoShow {}).await.expect("no-show");
    // The admin's snapshot carries the day's figures as they stand.
    let (_, snapshot) = Client::connect(hub.addr, Role::Admin, "admin").await;
    let today = snapshot
        .today
        .expect("admin snapshots carry today's figures");
    assert_eq!((today.issued, today.served, today.no_shows), (6, 2, 1));
    assert_eq!(today.rating_avg, Some(3.0));
    let (_, display) = Client::connect(hub.addr, Role::Display, "display-1").await;
    assert!(display.today.is_none(), "only the admin sees figures");
    // The next morning: what still waited has expired; one new ticket.
    advance(24 * 60);
    kiosk.send(issue("TP")).await.expect("issued the next day");
    hub.stop().await.expect("stop");

    let db = db.display().to_string();
    let csv = report(
        &db,
        &["--from", "2026-01-05", "--by", "service", "--format", "csv"],
    );
    let line = |key: &str| -> Vec<String> {
        csv.lines()
            .find(|l| l.starts_with(&format!("{key},")))
            .unwrap_or_else(|| panic!("no {key} in {csv}"))
            .split(',')
            .map(str::to_string)
            .collect()
    };
    let tp = line("TP");
    // issued, served, no_shows, cancelled, expired
    assert_eq!(&tp[1..6], ["5", "2", "1", "0", "2"], "{csv}");
    // Called after 10, 26 and 32 minutes (each waited through the services before it):
    // average 22.67, P90 32; service 6 minutes each; ratings 4 and 2.
    assert_eq!(tp[6], "22.67", "{csv}");
    assert_eq!(tp[7], "32.00", "{csv}");
    assert_eq!(tp[8], "6.00", "{csv}");
    assert_eq!(tp[11], "3.00", "{csv}");
    // Both ratings from the citizens' screen, every finished ticket rated; the low one's reasons.
    assert_eq!(&tp[13..17], ["2", "2", "1.000", "slow:1 wait:1"], "{csv}");
    let dd = line("DD");
    assert_eq!(&dd[1..6], ["1", "0", "0", "0", "1"], "{csv}");
    assert_eq!(line("Tổng")[1], "6");
    // The next day is its own: one ticket, not yet served.
    let next = report(&db, &["--from", "2026-01-06", "--format", "csv"]);
    assert!(next.lines().any(|l| l.starts_with("Tổng,1,0,")), "{next}");
    // A range covers both days.
    let both = report(
        &db,
        &[
            "--from",
            "2026-01-05",
            "--to",
            "2026-01-06",
            "--by",
            "staff",
        ],
    );
    assert!(both.contains("nv02") && both.contains("Tổng"), "{both}");
}

#[test]
fn a_report_of_a_missing_database_is_a_clear_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hub"))
        .args([
            "report",
            "--config",
            "demo",
            "--db",
            "/no/such/hub.db",
            "--from",
            "2026-01-05",
        ])
        .output()
        .expect("hub runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such database"));
}

#[test]
fn the_simulator_repeats_itself_and_more_counters_mean_shorter_waits() {
    let args = [
        "simulate",
        "--hours",
        "6",
        "--arrivals",
        "TP=24",
        "--arrivals",
        "GTVT=10",
        "--seed",
        "42",
    ];
    let first = hub_cli_ok(HUB, &args);
    assert_eq!(first, hub_cli_ok(HUB, &args), "same seed, same day");
    assert_ne!(
        first,
        hub_cli_ok(
            HUB,
            &[
                "simulate",
                "--hours",
                "6",
                "--arrivals",
                "TP=24",
                "--arrivals",
                "GTVT=10",
                "--seed",
                "43"
            ]
        )
    );
    let tp_wait = |out: &str| -> f64 {
        out.lines()
            .find(|l| l.starts_with("TP "))
            .and_then(|l| l.split_whitespace().nth(6))
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("no TP wait in {out}"))
    };
    // Moving the clerks of counters 5 and 6 to justice.
    let mut moved = args.to_vec();
    moved.extend(["--counter", "5=TP", "--counter", "6=TP"]);
    let after = hub_cli_ok(HUB, &moved);
    assert!(tp_wait(&after) < tp_wait(&first), "{first}\n{after}");
}
