//! HTTP and WebSocket on one port: `/healthz`, `/ws` and the tracking page `/t/{track}`.
//!
//! - `listener` — the accept loop: header timeout, pending connections per address;
//! - `state` — what every handler shares (configuration, engine, shutdown, pools, throttles);
//! - `limits` — every number a connection lives by, named once, and the token bucket;
//! - `upgrade` — the WebSocket handshake, keeping the byte stream under the WebSocket;
//! - `socket` — a connection's outbox: written while its one task waits to read; live events
//!   written as the shared bytes of their frames; the slow-client rule;
//! - `pending` — sockets waiting for their hello: bounded, the oldest closed for a newcomer;
//! - `hello` — the first message: protocol version, role, device and token;
//! - `connection` — a device's session, one task: forwards live events, reads commands, pings;
//! - `commands` — one text message from a device → a command for the engine, or a refusal;
//! - `logins` — how many wrong PINs a device and a staff code may try (exponential back-off);
//! - `log_safe` — client text escaped and cut before it is logged;
//! - `statuses` — device statuses coalesced per device (at most one change every 2 s);
//! - `tracker` — the citizen's tracking page and its one-ticket session;
//! - `push` — Web Push: the centre's key, a browser's subscription to a ticket, the worker;
//! - `timer` — wakes the engine when its next deadline passes;
//! - `replication` — `/replicate` for the other hub of a pair, and the gate that keeps a
//!   standby (or a replaced primary) from serving anything but its health.
//!
//! Replies come back out of order with respect to events, which is allowed. A panic in one
//! connection's task ends that connection only.

mod appointments;
mod booking_page;
mod charts;
mod client_address;
mod commands;
mod connection;
mod console;
mod counter_display;
mod fonts;
mod hello;
pub mod limits;
mod listener;
mod log_safe;
pub mod logins;
mod origin;
mod pending;
mod presence;
mod push;
mod replicate;
mod socket;
mod state;
mod statuses;
mod timer;
mod tracker;
mod upgrade;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use listener::serve;
pub use state::AppState;
pub use timer::run_timer;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/ws", get(connection::upgrade))
        .route("/t/{track}", get(tracker::page))
        .route("/t/{track}/leave", axum::routing::post(tracker::leave))
        .merge(console::routes())
        .merge(counter_display::routes())
        .merge(fonts::routes())
        .merge(appointments::routes())
        .merge(booking_page::routes())
        .merge(push::routes())
        .route("/replicate", get(replicate::upgrade))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            replicate::gate,
        ))
        .with_state(state)
}

async fn healthz(State(app): State<AppState>) -> Response {
    let h = app.engine.health.borrow().clone();
    if app.engine.requests.is_closed() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "engine stopped"})),
        )
            .into_response();
    }
    let pair = app.engine.pair.as_ref();
    let standing = pair.map(|p| p.standing());
    if let Some(pair) = pair
        && standing.is_some_and(|s| s.mode == hub_engine::pair::Mode::Deposed)
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({
                "status": "replaced",
                "problem": "a hub of a newer term is the primary: this one issues nothing; re-join it as the standby (hub standby --resync)",
                "replication": pair.report(h.seq),
            })),
        )
            .into_response();
    }
    if let Some(problem) = h.problem() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "failing", "problem": problem})),
        )
            .into_response();
    }
    let standby = standing.is_some_and(|s| s.mode == hub_engine::pair::Mode::Standby);
    let mut body = serde_json::json!({
        "status": if standby { "standby" } else { "ok" },
        "seq": h.seq,
        "service_day": h.day.to_string(),
        "version": env!("CARGO_PKG_VERSION"),
    });
    if let Some(pair) = pair {
        body["replication"] = pair.report(h.seq);
    }
    // The province being unreachable is news for the province's monitoring, not a fault of the
    // centre: the status stays "ok" and the events wait.
    if let Some(shipping) = app.province.as_ref().filter(|_| !standby) {
        let shipping = shipping.borrow().clone();
        let behind = h.seq.saturating_sub(shipping.shipped);
        body["province"] = serde_json::to_value(shipping).unwrap_or_default();
        body["province"]["behind"] = behind.into();
    }
    axum::Json(body).into_response()
}
