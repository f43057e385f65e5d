//! What every console response shares: who is signed in, refusals, protective headers.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::sessions::{Signed, token_in};
use crate::state::AppState;

/// The supervisor of the session this request's cookie names, if it is live.
pub fn signed_in(app: &AppState, headers: &HeaderMap) -> Option<Signed> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let token = token_in(cookies)?;
    app.console
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(token, Instant::now())
}

pub fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    guarded((status, Json(body)).into_response())
}

/// One of the hub's own pages (everything inline, embedded in the binary): a content security
/// policy that lets it talk to this hub only, plus [`guarded`]'s headers.
pub fn own_page(status: StatusCode, body: String) -> Response {
    let mut response = (status, axum::response::Html(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    guarded(response)
}

/// Headers every console response carries: never framed by another page, never cached.
pub fn guarded(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
