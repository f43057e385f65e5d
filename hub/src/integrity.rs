//! The scheduled integrity check: `PRAGMA quick_check` once a day on a connection of its own
//! (the engine keeps serving), the finding recorded through the engine and shown on `/healthz`.
//! Not at every start: a hub restarted by its service manager must be back within a second, and
//! damage in pages the hub reads is reported by SQLite when it reads them anyway.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::{Notify, watch};

use hub_engine::{EngineHandle, Request};

/// How often the whole file is read.
pub const EVERY: Duration = Duration::from_secs(24 * 3600);
/// A database never checked is checked this long after start (not in the start-up rush).
pub const FIRST_AFTER: Duration = Duration::from_secs(10 * 60);

/// Runs checks when due, or at once when `now` is notified; ends with the hub.
pub async fn run(
    engine: EngineHandle,
    db: PathBuf,
    now: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let clock = engine.clock.clone();
    let every = TimeDelta::from_std(EVERY).unwrap_or(TimeDelta::MAX);
    let first_after = TimeDelta::from_std(FIRST_AFTER).unwrap_or(TimeDelta::MAX);
    let start = clock.now();
    // Due on the hub's clock: a day after the last check, and not in the start-up rush.
    let mut due = match engine.last_check {
        Some(at) => (at + every).max(start + first_after),
        None => start + first_after,
    };
    loop {
        while clock.now() < due {
            tokio::select! {
                _ = clock.sleep_until(due) => {}
                _ = now.notified() => break,
                _ = shutdown.changed() => return,
            }
        }
        let path = db.clone();
        let found = tokio::task::spawn_blocking(move || ledger::integrity::check(&path)).await;
        let found = match found {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(format!("the check itself failed: {e}")),
        };
        if engine
            .requests
            .send(Request::Checked { found })
            .await
            .is_err()
        {
            return;
        }
        due = clock.now() + every;
    }
}
