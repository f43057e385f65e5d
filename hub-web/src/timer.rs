use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::timeout;

use hub_engine::clock::{Clock, LONGEST_SLEEP};
use hub_engine::{EngineHandle, Request};

/// Sends `Tick` to the engine whenever its next deadline passes on the engine's own clock.
pub async fn run_timer(
    engine: EngineHandle,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut deadline = engine.deadline.clone();
    loop {
        let due = *deadline.borrow_and_update();
        tokio::select! {
            _ = clock.sleep_until(due) => {
                if engine.requests.send(Request::Tick).await.is_err() {
                    return;
                }
                // Wait until the engine has moved the deadline (or the longest sleep passes).
                let _ = timeout(LONGEST_SLEEP, deadline.changed()).await;
            }
            r = deadline.changed() => if r.is_err() { return },
            _ = shutdown.changed() => return,
        }
    }
}
