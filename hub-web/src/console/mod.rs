//! `/console`: the supervisor's console — one page served by the hub (every asset inside the
//! binary: a centre's LAN may have no internet), signed in with a supervisor's staff code and
//! PIN. Once signed in, the page speaks the ordinary protocol over `/ws` as an admin (hello
//! `role: admin, device: console`; the session cookie is the credential): the floor is the admin
//! snapshot and its events, every action an ordinary command that the hub checks like any
//! other, recorded with the supervisor's staff code. No second code path for state.
//!
//! **Sign-in** (`POST /console/sign-in`, JSON `{"staff", "pin"}`) follows the counters' PIN rules:
//! the same Argon2 checker threads and back-off (per address and per staff code). Clerks cannot
//! sign in: only staff with `role = "supervisor"`, and a clerk's code is refused exactly as a
//! wrong PIN is.
//!
//! **Cross-site requests** cannot act: the cookie is `SameSite=Strict` (another site's page
//! cannot make the browser send it), `HttpOnly` (page scripts cannot read it), the sign-in takes
//! only `application/json` (which a foreign page cannot post without a CORS preflight this hub
//! never grants), a request with a foreign `Origin` is refused, and the WebSocket's own origin
//! check applies to the actions.

mod figures;
mod guard;
pub mod sessions;
mod standby;

pub use guard::{guarded, own_page, refuse, signed_in};

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::time::Instant;

use self::sessions::{COOKIE, LONGEST, Signed, token_in};
use super::origin::origin_allowed;
use super::state::AppState;
use centre_config::StaffRole;

const PAGE: &str = include_str!("console.html");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(page))
        .route("/console/sign-in", post(sign_in))
        .route("/console/sign-out", post(sign_out))
        .route("/console/me", get(me))
        .route("/console/pair", get(pair))
        .route("/console/promote", post(standby::promote))
        .route("/console/figures", get(figures::table))
        .route("/console/figures.csv", get(figures::csv))
        .route("/console/appointments", get(figures::appointments))
        .route("/console/charts/hourly.svg", get(figures::hourly))
        .route("/console/charts/waits.svg", get(figures::waits))
}

/// The console; on a hub that does not issue (a standby), its own read-only page.
async fn page(State(app): State<AppState>) -> Response {
    let issuing = app
        .engine
        .pair
        .as_ref()
        .is_none_or(|p| p.standing().mode == hub_engine::pair::Mode::Primary);
    let page = if issuing { PAGE } else { standby::PAGE };
    own_page(StatusCode::OK, page.to_string())
}

#[derive(Deserialize)]
struct SignIn {
    staff: String,
    pin: String,
}

async fn sign_in(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<SignIn>, JsonRejection>,
) -> Response {
    if !origin_allowed(&app, &headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this origin may not sign in",
        );
    }
    let Ok(Json(SignIn { staff, pin })) = body else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "send JSON {\"staff\": …, \"pin\": …}",
        );
    };
    let staff = staff.trim().to_string();
    // The back-off counts per address here (a console has no device token).
    let client = super::client_address::client_address(&app, peer, &headers);
    let place = format!("console@{client}");
    let throttle = || app.logins.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(wait) = throttle().check(&place, &staff, Instant::now()) {
        let message = format!(
            "Nhập sai quá nhiều lần: thử lại sau {} giây. / Too many attempts: wait {} s.",
            wait.as_secs().max(1),
            wait.as_secs().max(1)
        );
        return refuse(StatusCode::TOO_MANY_REQUESTS, "rate_limited", &message);
    }
    let supervisor = app
        .config
        .staff
        .get(&staff)
        .filter(|s| s.role == StaffRole::Supervisor)
        .map(|s| s.name.clone());
    // A clerk's code or an unknown one costs the same Argon2 time as a supervisor's, so the
    // answer's timing says nothing about which codes exist.
    let checked = app
        .pin_checker
        .check(app.config.clone(), &staff, &pin)
        .await;
    let Some(pin_ok) = checked else {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "the hub is busy checking PINs; try again",
        );
    };
    let Some(name) = supervisor.filter(|_| pin_ok) else {
        let known = app.config.staff.contains_key(&staff);
        throttle().failed(&place, &staff, known, Instant::now());
        tracing::warn!(peer = %client, "console sign-in refused");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Sai mã cán bộ quản lý hoặc mã PIN. / Wrong supervisor code or PIN.",
        );
    };
    throttle().succeeded(&place, &staff);
    let who = Signed {
        staff: staff.clone(),
        name: name.clone(),
    };
    let token = app
        .console
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .open(who, Instant::now());
    tracing::info!(staff = %staff, peer = %client, "console: signed in");
    let cookie = format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        LONGEST.as_secs()
    );
    let mut response = Json(serde_json::json!({"staff": staff, "name": name})).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    guarded(response)
}

async fn sign_out(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if !origin_allowed(&app, &headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this origin may not sign out",
        );
    }
    let token = headers
        .get(header::COOKIE)
        .and_then(|c| c.to_str().ok())
        .and_then(token_in);
    if let Some(token) = token {
        app.console
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .close(token);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let gone = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&gone) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    guarded(response)
}

/// The second hub PC as this one sees it (`null` without `[replication]`): the console says
/// when the centre runs without its standby, and how far behind it is.
async fn pair(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if signed_in(&app, &headers).is_none() {
        return refuse(StatusCode::UNAUTHORIZED, "unauthorized", "not signed in");
    }
    let body = match &app.engine.pair {
        None => serde_json::Value::Null,
        Some(pair) => pair.report(app.engine.health.borrow().seq),
    };
    guarded(Json(body).into_response())
}

/// Who is signed in (the page asks when it opens).
async fn me(State(app): State<AppState>, headers: HeaderMap) -> Response {
    match signed_in(&app, &headers) {
        Some(who) => {
            guarded(Json(serde_json::json!({"staff": who.staff, "name": who.name})).into_response())
        }
        None => refuse(StatusCode::UNAUTHORIZED, "unauthorized", "not signed in"),
    }
}
