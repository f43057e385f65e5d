//! The wall clock does not decide who is called first, nor starts a service day it cannot vouch
//! for; the engine and the deadline timer follow one clock.

use std::sync::Arc;

use chrono::TimeDelta;
use protocol::{Command, EventKind, Role};
use testkit::{Client, ManualClock, WAIT, demo_config, healthz, issue, ticket_of};

async fn hub_on(clock: &Arc<ManualClock>, db: &std::path::Path) -> anyhow::Result<hub::Hub> {
    hub::Hub::start_with_clock(
        demo_config(),
        db,
        "127.0.0.1:0".parse().expect("addr"),
        clock.clone(),
    )
    .await
}

#[tokio::test]
async fn a_clock_set_back_between_two_tickets_does_not_change_who_is_called_first() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::at("2026-11-23T10:00:00+07:00"));
    let hub = hub_on(&clock, &dir.path().join("hub.db"))
        .await
        .expect("hub");
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let first = ticket_of(&kiosk.send(issue("TP")).await.expect("first"));
    // NTP steps the clock back an hour: the second ticket carries an earlier time.
    clock.step(TimeDelta::hours(-1));
    let second = ticket_of(&kiosk.send(issue("TP")).await.expect("second"));
    assert_ne!(second.issued_at, first.issued_at);
    let clerk = Client::clerk(hub.addr, 1).await;
    let called = ticket_of(&clerk.send(Command::CallNext {}).await.expect("call"));
    assert_eq!(called.number, first.number, "the older ticket first");
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_ticket_goes_overdue_on_the_engines_clock_with_no_command_to_wake_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::at("2026-11-23T10:00:00+07:00"));
    let hub = hub_on(&clock, &dir.path().join("hub.db"))
        .await
        .expect("hub");
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let (mut board, _) = Client::connect(hub.addr, Role::Display, "display-1").await;
    kiosk.send(issue("TP")).await.expect("issued");
    // The target wait of TP is 30 minutes in the demo centre; only the clock moves.
    clock.advance(TimeDelta::minutes(31));
    tokio::time::timeout(WAIT, board.event(EventKind::TicketOverdue))
        .await
        .expect("overdue announced by the timer on the test's clock");
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_jump_of_days_is_held_and_released_when_the_clock_comes_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::at("2026-11-23T10:00:00+07:00"));
    let hub = hub_on(&clock, &dir.path().join("hub.db"))
        .await
        .expect("hub");
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let waiting = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    // A board without a battery boots with a date days ahead, and sets it while running.
    clock.step(TimeDelta::days(5));
    kiosk
        .send(issue("TP"))
        .await
        .expect("issued on the held day");
    assert_eq!(
        hub.health().borrow().day.to_string(),
        "2026-11-23",
        "the same service day goes on"
    );
    let (status, body) = healthz(hub.addr).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("clock jumped"), "{body}");
    let (_clerk, snapshot) = Client::connect(hub.addr, Role::Counter, "counter-1").await;
    assert!(
        snapshot.waiting.iter().any(|t| t.number == waiting.number),
        "nobody waiting was expired"
    );
    // The clock is corrected: health comes back by itself.
    clock.step(TimeDelta::days(-5));
    kiosk.send(issue("TP")).await.expect("issued");
    assert_eq!(healthz(hub.addr).await.0, 200);
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_weekend_with_the_hub_running_starts_the_new_day() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::at("2026-11-20T16:00:00+07:00"));
    let hub = hub_on(&clock, &dir.path().join("hub.db"))
        .await
        .expect("hub");
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    kiosk.send(issue("TP")).await.expect("friday");
    // Time really passes (the monotonic clock with it): Monday morning.
    clock.advance(TimeDelta::days(3) - TimeDelta::hours(7));
    kiosk.send(issue("TP")).await.expect("monday");
    assert_eq!(hub.health().borrow().day.to_string(), "2026-11-23");
    assert_eq!(healthz(hub.addr).await.0, 200);
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn at_start_a_clock_behind_the_log_or_weeks_ahead_is_refused_unless_confirmed() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let clock = Arc::new(ManualClock::at("2026-11-23T10:00:00+07:00"));
    let hub = hub_on(&clock, &db).await.expect("hub");
    hub.stop().await.expect("stop");

    let behind = Arc::new(ManualClock::at("2026-11-22T10:00:00+07:00"));
    let err = hub_on(&behind, &db).await.err().expect("refused");
    assert!(err.to_string().contains("Fix the clock"), "{err}");

    let ahead = Arc::new(ManualClock::at("2031-01-06T10:00:00+07:00"));
    let err = hub_on(&ahead, &db).await.err().expect("refused");
    assert!(
        err.to_string().contains("--accept-date 2031-01-06"),
        "{err}"
    );
    let confirmed = hub::Hub::start_with(
        demo_config(),
        &db,
        "127.0.0.1:0".parse().expect("addr"),
        hub::Options {
            accept_date: Some("2031-01-06".parse().expect("date")),
            ..hub::Options::new(ahead.clone())
        },
    )
    .await
    .expect("the operator confirmed the date");
    confirmed.stop().await.expect("stop");
}

/// libfaketime, as a technician (or an independent check) would use it to step the clock of the
/// real binary: `scripts/ensure-system-packages` installs it.
fn libfaketime() -> std::path::PathBuf {
    let found = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("faketime/libfaketimeMT.so.1"))
        .find(|p| p.exists());
    found
        .expect("libfaketime (Debian package faketime; scripts/ensure-system-packages installs it)")
}

#[tokio::test]
async fn the_real_binary_under_a_wall_clock_stepped_back_an_hour_calls_the_older_ticket_first() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock_file = dir.path().join("clock");
    std::fs::write(&clock_file, "@2026-11-23 10:00:00").expect("clock");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hub"));
    command
        .args(testkit::demo_args(&dir.path().join("hub.db")))
        .env("LD_PRELOAD", libfaketime())
        // The file is the clock, whatever FAKETIME the tests themselves may run under.
        .env_remove("FAKETIME")
        .env("FAKETIME_TIMESTAMP_FILE", &clock_file)
        .env("FAKETIME_NO_CACHE", "1");
    let hub = testkit::HubProcess::start(command);
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let first = ticket_of(&kiosk.send(issue("TP")).await.expect("first"));
    std::fs::write(&clock_file, "@2026-11-23 09:00:00").expect("step back");
    let second = ticket_of(&kiosk.send(issue("TP")).await.expect("second"));
    assert!(
        second.issued_at < first.issued_at,
        "the clock was stepped back: {} then {}",
        first.issued_at,
        second.issued_at
    );
    assert!(hub.wait_for_log("set back", WAIT_FOR_LOG).is_some());
    let clerk = Client::clerk(hub.addr, 1).await;
    let called = ticket_of(&clerk.send(Command::CallNext {}).await.expect("call"));
    assert_eq!(called.number, first.number, "the older ticket first");
    hub.kill();
}

const WAIT_FOR_LOG: std::time::Duration = std::time::Duration::from_secs(10);
