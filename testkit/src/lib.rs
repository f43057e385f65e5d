//! What the tests share, so that each test file holds only what it tests:
//!
//! - [`ManualClock`] — the hub's clock, moved by the test;
//! - [`Centre`] — a real hub on loopback with its own database folder, started, stopped and
//!   restarted from synchronous code (the apps' UI tests, the end-to-end tests), plus clients;
//! - [`Client`] and [`start_hub`] — the same for `async` tests;
//! - [`HubProcess`] — the real `hub` binary, spawned for crash and load tests;
//! - [`Browser`] — headless Chromium over WebDriver, for the console's browser tests;
//! - [`Postgres`] — a throw-away PostgreSQL server, the province's database in its tests.

mod browser;
mod centre;
mod client;
mod clock;
mod postgres;
mod process;

pub use browser::{BROWSER_WAIT, Browser};
pub use centre::Centre;
pub use client::{Client, healthz, start_hub, start_hub_at, start_hub_with, ticket_of, url};
pub use clock::{ManualClock, monday_morning};
pub use postgres::{PG_USER, Postgres};
pub use process::{HubProcess, demo_args};

use std::time::Duration;

/// How long a test waits for anything the hub should do at once.
pub const WAIT: Duration = Duration::from_secs(15);

/// The demo centre, as every test hub serves it.
pub fn demo_config() -> hub::config::Config {
    hub::config::Config::demo().expect("the built-in demo configuration is valid")
}
