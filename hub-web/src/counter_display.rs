//! `/quay`: the screen facing the citizen at a counter, as a web page served by the hub — what
//! centres put at counters is a cheap tablet or a TV stick with a browser, and it needs nothing
//! installed. Opened once with the device's token (typed into the page, or from a link with
//! `?device=…&token=…` that a QR code carries), then remembered in an `HttpOnly` cookie, so the
//! token is never in a URL after that first visit.
//!
//! The cookie is `device.generation.HMAC-SHA256(token, "device.generation")`: the hub checks it
//! against the configuration and one number per device (a restarted hub still knows the
//! tablet), page scripts cannot read it, and it is revoked two ways: a supervisor's "revoke"
//! in the console moves the device's generation on (kept in the database by the engine, and
//! the live connection is closed), and changing the device's token in the configuration
//! voids every cookie made with the old one. Over `/ws`
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
use queue_core::DeviceId;
use ring::hmac;
use serde::Deserialize;
use tokio::time::Instant;

use super::client_address::client_address;
use super::console::{guarded, own_page, refuse};
use super::log_safe::log_safe;
use super::origin::origin_allowed;
use super::state::AppState;
use centre_config::auth;

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
        .route("/console/devices/{device}/revoke", post(revoke))
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

/// `POST /console/devices/{device}/revoke`: a supervisor takes a tablet's sign-in away (lost,
/// stolen, moved to another counter). Every cookie it was given stops working, also after a
/// restart, and its live connection is closed; it can be signed in again with its token.
async fn revoke(
    State(app): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(device): axum::extract::Path<String>,
) -> Response {
    if !origin_allowed(&app, &headers) {
        return refuse(StatusCode::FORBIDDEN, "forbidden", "a page of another site");
    }
    let Some(supervisor) = super::console::signed_in(&app, &headers) else {
        return refuse(StatusCode::UNAUTHORIZED, "unauthorized", "not signed in");
    };
    if !app
        .config
        .devices
        .get(&device)
        .is_some_and(|d| d.role == Role::CounterDisplay)
    {
        return refuse(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such counter display",
        );
    }
    let (respond, answer) = tokio::sync::oneshot::channel();
    let request = hub_engine::Request::RevokeDisplay {
        device: DeviceId::from(device.as_str()),
        respond,
    };
    let recorded = match app.engine.requests.send(request).await {
        Ok(()) => answer
            .await
            .unwrap_or_else(|_| Err("the engine has stopped".into())),
        Err(_) => Err("the engine has stopped".into()),
    };
    match recorded {
        Ok(generation) => {
            tracing::info!(
                device,
                staff = supervisor.staff,
                "counter display revoked from the console"
            );
            if let Some(live) = app
                .live
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(device.as_str())
            {
                let _ = live.replaced.send(true);
            }
            guarded(
                Json(serde_json::json!({"device": device, "generation": generation}))
                    .into_response(),
            )
        }
        Err(e) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "internal",
            &format!("the revocation could not be recorded: {e}"),
        ),
    }
}

/// What the cookie holds for `device` with `token` in cookie generation `generation`.
fn cookie_value(device: &str, token: &str, generation: u64) -> String {
    format!(
        "{device}.{generation}.{}",
        tag_hex(device, token, generation)
    )
}

fn tag_hex(device: &str, token: &str, generation: u64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, token.as_bytes());
    let tag = hmac::sign(&key, format!("{device}.{generation}").as_bytes());
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn generation_of(app: &AppState, device: &str) -> u64 {
    app.engine
        .display_generations
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(device)
        .copied()
        .unwrap_or(0)
}

/// The counter display a request's cookie opens, when it is valid for a configured one, in its
/// current generation.
pub fn device_of(app: &AppState, headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let value = super::console::sessions::cookie_in(cookies, COOKIE)?;
    let (device, rest) = value.split_once('.')?;
    let (generation, tag) = rest.split_once('.')?;
    let generation: u64 = generation.parse().ok()?;
    let d = app.config.devices.get(device)?;
    if d.role != Role::CounterDisplay || generation != generation_of(app, device) {
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
    hmac::verify(&key, format!("{device}.{generation}").as_bytes(), &tag).ok()?;
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
        return match signed_cookie(&app, client_address(&app, peer, &headers), &device, &token) {
            Ok(cookie) => {
                let mut response =
                    (StatusCode::SEE_OTHER, [(header::LOCATION, back)]).into_response();
                response.headers_mut().insert(header::SET_COOKIE, cookie);
                guarded(response)
            }
            Err(NoCookie::Wrong) => {
                own_page(StatusCode::UNAUTHORIZED, render(&app, None, above, true))
            }
            Err(NoCookie::Wait(_)) => own_page(
                StatusCode::TOO_MANY_REQUESTS,
                render(&app, None, above, true),
            ),
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
    match signed_cookie(&app, client_address(&app, peer, &headers), &device, &token) {
        Ok(cookie) => {
            let mut response = Json(serde_json::json!({"device": device})).into_response();
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            guarded(response)
        }
        Err(why) => refused_sign_in(why),
    }
}

/// Why no cookie was given.
enum NoCookie {
    /// Unknown device or wrong token.
    Wrong,
    /// Too many wrong tokens from this address: try again after this long.
    Wait(std::time::Duration),
}

/// The cookie for a counter display's right token. Wrong tokens are counted per address with
/// the PIN back-off (`logins.rs`): a token is a long random secret, but nobody should get to
/// try millions of them.
fn signed_cookie(
    app: &AppState,
    peer: std::net::IpAddr,
    device: &str,
    token: &str,
) -> Result<HeaderValue, NoCookie> {
    let place = format!("quay@{peer}");
    let throttle = || app.logins.lock().unwrap_or_else(|e| e.into_inner());
    throttle()
        .check(&place, "", Instant::now())
        .map_err(NoCookie::Wait)?;
    if !auth::device_allowed(&app.config, device, Role::CounterDisplay, token) {
        throttle().failed(&place, "", false, Instant::now());
        tracing::warn!(%peer, device = %log_safe(device), "refused: counter display sign-in");
        return Err(NoCookie::Wrong);
    }
    throttle().succeeded(&place, "");
    tracing::info!(%peer, device, "counter display signed in");
    let value = format!(
        "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={COOKIE_MAX_AGE_S}",
        cookie_value(device, token, generation_of(app, device))
    );
    HeaderValue::from_str(&value).map_err(|_| NoCookie::Wrong)
}

/// The answer to a refused sign-in, in both languages.
fn refused_sign_in(why: NoCookie) -> Response {
    match why {
        NoCookie::Wrong => refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Sai mã thiết bị hoặc mã bí mật. / Unknown counter display or wrong token.",
        ),
        NoCookie::Wait(wait) => {
            let s = wait.as_secs().max(1);
            refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                &format!(
                    "Nhập sai quá nhiều lần: thử lại sau {s} giây. / Too many attempts: wait {s} s."
                ),
            )
        }
    }
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
    fn the_cookie_depends_on_the_device_its_token_and_its_generation() {
        let a = cookie_value("pad-1", "demo-pad-1", 0);
        assert!(a.starts_with("pad-1.0."));
        assert_eq!(a.len(), "pad-1.0.".len() + 64);
        assert_ne!(a, cookie_value("pad-1", "another-token", 0));
        assert_ne!(a, cookie_value("pad-2", "demo-pad-1", 0));
        let next = cookie_value("pad-1", "demo-pad-1", 1);
        assert_ne!(a[8..], next[8..], "a new generation signs anew");
    }
}
