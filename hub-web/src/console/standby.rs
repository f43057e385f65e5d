//! The standby's console: what the supervisor can see and do on the second hub PC while it
//! follows the primary — read only (its lag, its term, the primary as last heard, a device's
//! witness), and «Chuyển thành máy chủ chính» with the supervisor's PIN again, a confirmation
//! that says what is at stake, and the same refusals as `hub promote` (the old primary still
//! serving, the standby behind, a device that has seen more). Never `--force`: that stays the
//! technician's, at the PC.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::time::Instant;

use super::guard::{guarded, refuse, signed_in};
use crate::origin::origin_allowed;
use crate::state::AppState;
use hub_engine::pair::Mode;

pub const PAGE: &str = include_str!("standby.html");

#[derive(Deserialize)]
pub struct Promote {
    pin: String,
    /// The supervisor read what is at stake and said yes.
    #[serde(default)]
    confirm: bool,
}

/// `POST /console/promote`, JSON `{"pin", "confirm": true}`.
pub async fn promote(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<Promote>, JsonRejection>,
) -> Response {
    if !origin_allowed(&app, &headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this origin may not promote",
        );
    }
    let Some(who) = signed_in(&app, &headers) else {
        return refuse(StatusCode::UNAUTHORIZED, "unauthorized", "not signed in");
    };
    let Ok(Json(Promote { pin, confirm })) = body else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "send JSON {\"pin\": …, \"confirm\": true}",
        );
    };
    if !confirm {
        return refuse(StatusCode::BAD_REQUEST, "bad_request", "not confirmed");
    }
    let Some(pair) = app.engine.pair.clone() else {
        return refuse(StatusCode::NOT_FOUND, "not_found", "this hub has no pair");
    };
    if pair.standing().mode != Mode::Standby {
        return refuse(
            StatusCode::CONFLICT,
            "invalid_state",
            "Máy chủ này không phải máy dự phòng. / This hub is not a standby.",
        );
    }
    // The PIN again: whoever stands at the screen now is the one who decides.
    let client = crate::client_address::client_address(&app, peer, &headers);
    let place = format!("console@{client}");
    let throttle = || app.logins.lock().unwrap_or_else(|e| e.into_inner());
    if throttle()
        .check(&place, &who.staff, Instant::now())
        .is_err()
    {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Nhập sai quá nhiều lần. / Too many attempts.",
        );
    }
    match app
        .pin_checker
        .check(app.config.clone(), &who.staff, &pin)
        .await
    {
        None => {
            return refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "busy: try again",
            );
        }
        Some(false) => {
            throttle().failed(&place, &who.staff, true, Instant::now());
            return refuse(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Sai mã PIN. / Wrong PIN.",
            );
        }
        Some(true) => throttle().succeeded(&place, &who.staff),
    }
    // Two primaries would give the same numbers twice: the old one must be gone, as `hub
    // promote` checks.
    if let Ok((Mode::Primary, term, seq)) = replication::standby::ask(&pair).await {
        let message = format!(
            "Máy chủ chính {} vẫn đang chạy (nhiệm kỳ {term}, sự kiện {seq}): tắt hẳn máy đó trước. \
             / The primary at {} still serves (term {term}, event {seq}): stop it first.",
            pair.config.peer, pair.config.peer
        );
        return refuse(StatusCode::CONFLICT, "not_promoted", &message);
    }
    tracing::warn!(staff = %who.staff, "console: the supervisor asks to promote this standby");
    let (respond, answer) = tokio::sync::oneshot::channel();
    let asked = app
        .engine
        .requests
        .send(hub_engine::Request::Promote {
            force: false,
            respond,
        })
        .await;
    match (asked, answer.await) {
        (Ok(()), Ok(Ok(term))) => guarded(Json(serde_json::json!({"term": term})).into_response()),
        (Ok(()), Ok(Err(message))) => refuse(StatusCode::CONFLICT, "not_promoted", &message),
        _ => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "internal",
            "the engine has stopped",
        ),
    }
}
