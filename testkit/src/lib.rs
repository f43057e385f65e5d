//! What the tests share, so that each test file holds only what it tests:
//!
//! - [`ManualClock`] — the hub's clock, moved by the test;
//! - [`Centre`] — a real hub on loopback with its own database folder, started, stopped and
//!   restarted from synchronous code (the apps' UI tests, the end-to-end tests), plus clients;
//! - [`Client`] and [`start_hub`] — the same for `async` tests;
//! - [`HubProcess`] — the real `hub` binary, spawned for crash and load tests;
//! - [`Browser`] — headless Chromium over WebDriver, for the console's browser tests;
//! - [`Postgres`] — a throw-away PostgreSQL server, the province's database in its tests;
//! - [`raw`] — JSON over a WebSocket and plain HTTP, as a client written from the protocol page;
//! - [`StablePort`] — an address kept bound while the hubs behind it restart;
//! - [`issue`], [`hub_cli`] — the commands and the CLI runs most tests start with.

mod browser;
mod centre;
mod client;
mod clock;
pub mod netns;
pub mod pair;
mod port;
mod postgres;
mod process;
pub mod push;
pub mod raw;
pub mod sms;

pub use browser::{BROWSER_WAIT, Browser};
pub use centre::Centre;
pub use client::{
    Client, healthz, start_hub, start_hub_behind, start_hub_on, start_hub_with, ticket_of, url,
};
pub use clock::{ManualClock, monday_morning};
pub use port::StablePort;
pub use postgres::{PG_USER, Postgres};
pub use process::{HubProcess, demo_args, hub_cli, hub_cli_ok, real_clock_args};

use std::time::Duration;

/// A walk-in ticket for `service`.
pub fn issue(service: &str) -> protocol::Command {
    protocol::Command::IssueTicket {
        service: service.into(),
        priority: None,
        phone: None,
    }
}

/// A ticket for `service` with a priority (`"elderly"`, …) or without.
pub fn issue_with(service: &str, priority: Option<&str>) -> protocol::Command {
    protocol::Command::IssueTicket {
        service: service.into(),
        priority: priority.map(str::to_string),
        phone: None,
    }
}

/// How long a test waits for anything the hub should do at once.
pub const WAIT: Duration = Duration::from_secs(15);

/// The demo centre as it is configured: for hubs on a [`ManualClock`], whose tests choose the
/// time themselves (its service day starts at midnight in Hà Nội).
pub fn demo_config() -> centre_config::Config {
    centre_config::Config::demo().expect("the built-in demo configuration is valid")
}

/// The demo centre for a hub on the system clock: its service day starts twelve hours from
/// now, so no test crosses into a new day (which renumbers tickets and forgets command ids)
/// whatever time it is started at. The demo is open around the clock, so nothing else moves.
pub fn real_clock_config() -> centre_config::Config {
    let mut config = demo_config();
    config.rules.day_start = far_day_start(&config.rules);
    config
}

/// The demo centre's TOML with the day start of [`real_clock_config`], written into `dir`, for
/// tests that run the hub binary on the system clock.
pub fn real_clock_config_file(dir: &std::path::Path) -> std::path::PathBuf {
    let rules = demo_config().rules;
    let start = far_day_start(&rules).format("%H:%M").to_string();
    let text = centre_config::DEMO_CONFIG.replacen(
        "day_starts_at = \"00:00\"",
        &format!("day_starts_at = \"{start}\""),
        1,
    );
    assert!(
        text.contains(&start),
        "the demo configuration's day start moved"
    );
    let path = dir.join("centre-far-from-midnight.toml");
    std::fs::write(&path, text).expect("the test's configuration is written");
    path
}

/// Twelve hours from now on the centre's clock, to the minute.
fn far_day_start(rules: &queue_core::Rules) -> chrono::NaiveTime {
    use chrono::Timelike;
    let later = (chrono::Utc::now() + chrono::TimeDelta::hours(12)).with_timezone(&rules.tz);
    chrono::NaiveTime::from_hms_opt(later.hour(), later.minute(), 0).unwrap_or_default()
}
