use std::time::Duration;

use tokio::sync::watch;
use tokio::time::timeout;

use super::limits::TIMER_MAX_SLEEP;
use crate::engine::{EngineHandle, Request};

/// Sends `Tick` to the engine whenever its next deadline passes.
pub async fn run_timer(engine: EngineHandle, mut shutdown: watch::Receiver<bool>) {
    let mut deadline = engine.deadline.clone();
    loop {
        let due = *deadline.borrow_and_update();
        let wait = (due - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        let wait = wait.min(TIMER_MAX_SLEEP) + Duration::from_millis(5);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {
                if engine.requests.send(Request::Tick).await.is_err() {
                    return;
                }
                // Wait until the engine has moved the deadline (or the longest sleep passes).
                let _ = timeout(TIMER_MAX_SLEEP, deadline.changed()).await;
            }
            r = deadline.changed() => if r.is_err() { return },
            _ = shutdown.changed() => return,
        }
    }
}
