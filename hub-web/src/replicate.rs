//! `/replicate`: the other hub of a pair — a standby following this one, or a hub asking what
//! this one is (`hub_engine::pair`). And the gate that keeps a hub which does not issue (a
//! standby, a replaced primary) from serving anything but its health.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::time::Instant;

use axum::Extension;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::listener::AddressSlot;
use super::pending::PendingSockets;
use super::state::AppState;
use super::upgrade::WebSocketUpgrade;
use hub_engine::pair::Mode;
use replication::primary;

/// Wrong secrets since the hub started: logged as a count, at 1, 2, 4, 8 … of them, so that a
/// guesser cannot fill the journal.
static WRONG_SECRETS: AtomicU64 = AtomicU64::new(0);

/// What the other hub sends here is small (follow, ask, promote, acknowledgements; the large
/// messages go the other way): a stranger cannot make the hub hold megabytes before its secret
/// is checked.
const MAX_INCOMING_MESSAGE: usize = 4 << 10;

/// `GET /replicate`. Held like any connection until the other hub's secret is checked (its
/// address's place, a place among the sockets that have not said who they are); wrong secrets
/// are throttled per address as wrong PINs are.
pub async fn upgrade(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    slot: Option<Extension<AddressSlot>>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(pair) = app.engine.pair.clone() else {
        return (
            StatusCode::NOT_FOUND,
            "this hub has no [replication] peer configured",
        )
            .into_response();
    };
    let place = format!("replicate@{}", peer.ip());
    let throttle = || app.logins.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(wait) = throttle().check(&place, "", Instant::now()) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(
                axum::http::header::RETRY_AFTER,
                wait.as_secs().max(1).to_string(),
            )],
            "too many wrong replication secrets from this address: wait",
        )
            .into_response();
    }
    let address_place = slot.and_then(|Extension(s)| s.take());
    let waiting = PendingSockets::admit(&app.pending);
    let evicted = waiting.evicted.clone();
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_INCOMING_MESSAGE))
        .max_frame_size(Some(MAX_INCOMING_MESSAGE));
    let served = primary::Served {
        pair,
        db: app.db.as_ref().clone(),
        clock: app.engine.clock.clone(),
        display_generations: app.engine.display_generations.clone(),
        requests: app.engine.requests.clone(),
        shutdown: app.shutdown.clone(),
        peer: peer.to_string(),
        until_checked: primary::Checking {
            places: Box::new((waiting, address_place)),
            evicted,
        },
    };
    ws.on_upgrade(config, move |socket| async move {
        let ended = primary::serve(socket, served).await;
        let mut throttle = app.logins.lock().unwrap_or_else(|e| e.into_inner());
        match ended {
            primary::Ended::WrongSecret => {
                throttle.failed(&place, "", false, Instant::now());
                let n = WRONG_SECRETS.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(%peer, refused = n, "REPLICATION: refused a hub with the wrong secret ({n} since the start)");
                }
            }
            primary::Ended::Served => throttle.succeeded(&place, ""),
            primary::Ended::Refused => {}
        }
    })
}

/// Paths a hub that does not issue still answers: its health, the other hub, `/ws` (whose
/// hello is refused with `not_primary`, naming the primary).
fn open_to_all(path: &str) -> bool {
    matches!(path, "/healthz" | "/replicate" | "/ws")
}

/// A standby's own console (`console/standby.rs`): read only, and the promotion. A replaced
/// hub has none: a person is sent to the primary's.
fn standby_console(path: &str) -> bool {
    matches!(
        path,
        "/console"
            | "/console/sign-in"
            | "/console/sign-out"
            | "/console/me"
            | "/console/pair"
            | "/console/promote"
    )
}

/// Refuses every other path while this hub is a standby or was replaced.
pub async fn gate(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let Some(pair) = &app.engine.pair else {
        return next.run(request).await;
    };
    let standing = pair.standing();
    let path = request.uri().path();
    if standing.mode == Mode::Primary
        || open_to_all(path)
        || (standing.mode == Mode::Standby && standby_console(path))
    {
        return next.run(request).await;
    }
    let peer = &pair.config.peer;
    let (vi, en) = match standing.mode {
        Mode::Standby => ("Đây là máy chủ dự phòng", "This is the standby hub"),
        _ => ("Máy chủ này đã được thay thế", "This hub was replaced"),
    };
    let browser = request
        .headers()
        .get(axum::http::header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if browser {
        // A person's browser (the console, a counter's screen, the booking page): a page that
        // says so and links to the same page on the other hub.
        let web = peer.replacen("ws", "http", 1);
        let link = format!("{web}{}", request.uri().path());
        let link = html_escape(&link);
        let page = format!(
            "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\"><title>{vi}</title>\
             <body style=\"font-family:sans-serif;max-width:40em;margin:3em auto;padding:0 1em\">\
             <h1>{vi}</h1><p>Xin mở máy chủ chính: <a href=\"{link}\">{link}</a></p>\
             <p lang=\"en\">{en}. Please open the primary: <a href=\"{link}\">{link}</a></p>"
        );
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page,
        )
            .into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(serde_json::json!({
            "error": "not_primary",
            "message": pair.not_primary_message(),
            "primary": peer,
        })),
    )
        .into_response()
}

/// Text made safe inside HTML (the peer's address comes from the configuration, the path from
/// the request).
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
