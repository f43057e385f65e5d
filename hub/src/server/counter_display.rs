//! `/quay`: the screen facing the citizen at a counter, as a web page served by the hub — what
//! centres put at counters is a cheap tablet or a TV stick with a browser, and it needs nothing
//! installed. Opened once with the device's token (typed into the page, or from a link with
//! `?device=…&token=…` that a QR code carries), then remembered in an `HttpOnly` cookie, so the
//! token is never in a URL after that first visit.
//!
//! The cookie is `device.HMAC-SHA256(token, device)`: the hub checks it without keeping any
//! state (a restarted hub still knows the tablet), page scripts cannot read it, and changing the
//! device's token in the configuration revokes every cookie made with the old one. Over `/ws`
//! the page says hello as `counter_display` with an empty token; the cookie on the upgrade is
//! the credential (`connection.rs`), and from there it is an ordinary counter display.

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use protocol::Role;
use ring::hmac;
use serde::Deserialize;

use super::console::{guarded, own_page, refuse};
use super::log_safe::log_safe;
use super::origin::origin_allowed;
use super::state::AppState;
use crate::auth;

/// The cookie's name.
pub const COOKIE: &str = "hang_doi_quay";
/// A tablet stays signed in for a year (until its token changes).
const COOKIE_MAX_AGE_S: u64 = 365 * 24 * 3600;

const PAGE: &str = include_str!("quay.html");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/quay", get(page))
        .route("/quay/sign-in", post(sign_in))
        .route("/console/devices/{device}/quay-qr.svg", get(qr))
}

#[derive(Deserialize)]
struct QrAsked {
    /// `https` when the console itself was reached over TLS.
    scheme: Option<String>,
}

/// `GET /console/devices/{device}/quay-qr.svg`: for a signed-in supervisor, the sign-in link of
/// a counter display as a QR code, to scan with the tablet's camera once. It carries the
/// device's token, so it is shown to supervisors only and never cached.
async fn qr(
    State(app): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(device): axum::extract::Path<String>,
    Query(QrAsked { scheme }): Query<QrAsked>,
) -> Response {
    if super::console::signed_in(&app, &headers).is_none() {
        return refuse(StatusCode::UNAUTHORIZED, "unauthorized", "not signed in");
    }
    let Some(d) = app
        .config
        .devices
        .get(&device)
        .filter(|d| d.role == Role::CounterDisplay)
    else {
        return refuse(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such counter display",
        );
    };
    // The address the supervisor reached the hub at is one the tablets on the LAN reach too.
    let Some(host) = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".:-[]".contains(&b))
        })
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "no usable Host header",
        );
    };
    let scheme = if scheme.as_deref() == Some("https") {
        "https"
    } else {
        "http"
    };
    let token: String = d
        .token
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let link = format!("{scheme}://{host}/quay?device={device}&token={token}");
    let svg = match qrcode::QrCode::new(link.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(320, 320)
            .build(),
        Err(e) => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                &format!("cannot draw the code: {e}"),
            );
        }
    };
    let mut response = ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    guarded(response)
}

/// What the cookie holds for `device` with `token`.
fn cookie_value(device: &str, token: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, token.as_bytes());
    let tag = hmac::sign(&key, device.as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("{device}.{hex}")
}

/// The counter display a request's cookie opens, when it is valid for a configured one.
pub fn device_of(app: &AppState, headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let value = super::console::sessions::cookie_in(cookies, COOKIE)?;
    let (device, tag) = value.split_once('.')?;
    let d = app.config.devices.get(device)?;
    if d.role != Role::CounterDisplay {
        return None;
    }
    let tag: Vec<u8> = (0..tag.len())
        .step_by(2)
        .map(|i| {
            tag.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<_>>()?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, d.token.as_bytes());
    hmac::verify(&key, device.as_bytes(), &tag).ok()?;
    Some(device.to_string())
}

#[derive(Deserialize)]
struct Opening {
    device: Option<String>,
    token: Option<String>,
    view: Option<String>,
}

/// The page: signed in by the cookie, or by the link's device and token (then sent on to the
/// address without them), or else the sign-in form.
async fn page(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(Opening {
        device,
        token,
        view,
    }): Query<Opening>,
) -> Response {
    let above = view.as_deref() == Some("above");
    if let (Some(device), Some(token)) = (device, token) {
        let back = if above { "/quay?view=above" } else { "/quay" };
        return match signed_cookie(&app, peer, &device, &token) {
            Some(cookie) => {
                let mut response =
                    (StatusCode::SEE_OTHER, [(header::LOCATION, back)]).into_response();
                response.headers_mut().insert(header::SET_COOKIE, cookie);
                guarded(response)
            }
            None => own_page(StatusCode::UNAUTHORIZED, render(&app, None, above, true)),
        };
    }
    let device = device_of(&app, &headers);
    own_page(
        StatusCode::OK,
        render(&app, device.as_deref(), above, false),
    )
}

#[derive(Deserialize)]
struct SignIn {
    device: String,
    token: String,
}

/// `POST /quay/sign-in` (JSON `{"device", "token"}`), from the page's own form.
async fn sign_in(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<SignIn>, JsonRejection>,
) -> Response {
    if !origin_allowed(&app, &headers) {
        return refuse(StatusCode::FORBIDDEN, "forbidden", "a page of another site");
    }
    let Ok(Json(SignIn { device, token })) = body else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "JSON {device, token} expected",
        );
    };
    match signed_cookie(&app, peer, &device, &token) {
        Some(cookie) => {
            let mut response = Json(serde_json::json!({"device": device})).into_response();
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            guarded(response)
        }
        None => refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unknown counter display or wrong token",
        ),
    }
}

/// The cookie for a counter display's right token; `None` (and a warning) otherwise.
fn signed_cookie(
    app: &AppState,
    peer: SocketAddr,
    device: &str,
    token: &str,
) -> Option<HeaderValue> {
    if !auth::device_allowed(&app.config, device, Role::CounterDisplay, token) {
        tracing::warn!(%peer, device = %log_safe(device), "refused: counter display sign-in");
        return None;
    }
    tracing::info!(%peer, device, "counter display signed in");
    let value = format!(
        "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={COOKIE_MAX_AGE_S}",
        cookie_value(device, token)
    );
    HeaderValue::from_str(&value).ok()
}

/// The page with what it needs to start: its device and counter (none: the sign-in form).
fn render(app: &AppState, device: Option<&str>, above: bool, refused: bool) -> String {
    let counter = device
        .and_then(|d| app.config.devices.get(d))
        .and_then(|d| d.counter);
    let start = serde_json::json!({
        "device": device,
        "counter": counter,
        "view": if above { "above" } else { "desk" },
        "refused": refused,
        "rating_timeout_s": app.config.rating_prompt_s,
    });
    // In a <script> block: `<` escaped so that no configured text can end it.
    let start = start.to_string().replace('<', "\\u003c");
    PAGE.replacen("/*START*/null", &start, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_depends_on_the_device_and_its_token() {
        let a = cookie_value("pad-1", "demo-pad-1");
        assert!(a.starts_with("pad-1."));
        assert_eq!(a.len(), "pad-1.".len() + 64);
        assert_ne!(a, cookie_value("pad-1", "another-token"));
        assert_ne!(a, cookie_value("pad-2", "demo-pad-1"));
    }
}
