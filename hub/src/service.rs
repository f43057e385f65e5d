//! Life under systemd (`Type=notify`, `WatchdogSec=`): the hub says when it is ready — the
//! database open, the state rebuilt, the port listening — and, while the engine thread answers,
//! keeps telling the watchdog so. An engine that hangs stops the pings and systemd restarts the
//! hub; one that ends is already an exit (`Hub::run_until_signal`). Outside systemd (no
//! `NOTIFY_SOCKET`) all of this does nothing.

use std::time::Duration;

use sd_notify::NotifyState;
use tokio::sync::oneshot;

use hub_engine::{EngineHandle, Request};

/// Tells systemd the hub serves.
pub fn ready(addr: std::net::SocketAddr) {
    let status = format!("serving on {addr}");
    let _ = sd_notify::notify(false, &[NotifyState::Ready, NotifyState::Status(&status)]);
}

/// Tells systemd the hub is stopping (so a slow shutdown is not taken for a hang).
pub fn stopping() {
    let _ = sd_notify::notify(false, &[NotifyState::Stopping]);
}

/// Pings the watchdog at half its interval, each time after the engine answered, until the
/// engine is gone. Returns at once when systemd asked for no watchdog.
pub async fn watchdog(engine: EngineHandle) {
    let mut usec = 0;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return;
    }
    let every = Duration::from_micros(usec) / 2;
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let (respond, answer) = oneshot::channel();
        if engine
            .requests
            .send(Request::Alive { respond })
            .await
            .is_err()
        {
            return;
        }
        // An engine that does not answer within the interval is not pinged for.
        match tokio::time::timeout(every, answer).await {
            Ok(Ok(())) => {
                let _ = sd_notify::notify(false, &[NotifyState::Watchdog]);
            }
            Ok(Err(_)) => return,
            Err(_) => tracing::warn!("the engine did not answer the watchdog's question in time"),
        }
    }
}
