//! The shell the three apps share, so that each app keeps only what is its own:
//!
//! - [`parse_args`] — an app's flags from `--config FILE` (its TOML keys are the flags' names),
//!   then the command line's;
//! - [`HubArgs`] / [`Connection`] — the hub's address, the device and its token from flags, a
//!   token file or the environment, and [`connect`], which starts the client and forwards its
//!   updates into the app's [`Inbox`];
//! - [`Inbox`] and [`Pump`] — everything from other threads (hub updates, command answers,
//!   the printer) arrives on one channel and is applied on the UI thread, by a timer in the app
//!   and explicitly in tests (`pump_until`);
//! - [`run`] — logging set up, errors printed, the exit code; [`run_window`] — the window and
//!   its pump timer;
//! - [`centre_time`] — the centre's time zone and local time, from what the hub said;
//! - [`snapshot`] — rendering a window to PNG without a display (`--snapshot`).

pub mod centre_time;
mod config_file;
mod connection;
mod pump;
pub mod snapshot;

pub use config_file::parse_args;
pub use connection::{Connection, HubArgs, TOKEN_ENV, connect};
pub use pump::{Inbox, Pump};

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Weak;
use std::time::Duration;

use anyhow::Context;
use slint::ComponentHandle;

/// How often a window applies what has arrived.
pub const PUMP_EVERY: Duration = Duration::from_millis(100);

/// An app's `main`: logging on standard error at `info` (unless `RUST_LOG`), then `body`; an
/// error is printed as `name: what went wrong` and the process exits with failure.
pub fn run(name: &str, body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    if let Err(e) = logging::init("info", logging::Output::Stderr) {
        eprintln!("{name}: {e:#}");
    }
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Shows the window and runs its event loop, calling `pump` every [`PUMP_EVERY`].
pub fn run_window(ui: &impl ComponentHandle, pump: impl FnMut() + 'static) -> anyhow::Result<()> {
    let timer = slint::Timer::default();
    timer.start(slint::TimerMode::Repeated, PUMP_EVERY, pump);
    ui.run().context("running the window")
}

/// Runs `f` on the app behind a window callback, if the app still exists and is not already
/// borrowed (a callback fired from inside the app's own render is dropped, not a panic).
pub fn with_app<T>(app: &Weak<RefCell<T>>, f: impl FnOnce(&mut T)) {
    if let Some(app) = app.upgrade()
        && let Ok(mut app) = app.try_borrow_mut()
    {
        f(&mut app);
    }
}
