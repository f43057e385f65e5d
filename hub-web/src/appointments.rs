//! `/api/appointments`: booking over HTTP, exactly as the shared contract says — the free slots
//! of a day, book, look up, cancel — for the booking page and any other client.
//!
//! The phone number a citizen gives is turned at once into a keyed hash (HMAC-SHA256 under the
//! centre's own secret, `EngineHandle::phone_key`), which is all the hub keeps: enough to count
//! a number's bookings and to check a cancellation, useless to anyone without the database's
//! secret, and never logged. Each address gets a small allowance of requests (a token bucket,
//! stricter for changes), and bodies are bounded.

pub use protocol::phone::national as national_phone;
use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use protocol::{self as p, ErrorCode};
use queue_core::appointments::Holder;
use serde::Deserialize;
use tokio::sync::oneshot;

use super::state::AppState;
use hub_engine::Request;
use hub_engine::booking::{BookingAsk, BookingLook, BookingSeen};

/// The largest body a booking request may have.
const MAX_BODY: usize = 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/appointments/slots", get(slots))
        .route("/api/appointments", axum::routing::post(book))
        .route("/api/appointments/{code}", get(look_up).delete(cancel))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// Whether the client behind `peer` may make one more request of the booking API (a change, or
/// a look-up).
pub(super) fn allowed(app: &AppState, peer: SocketAddr, headers: &HeaderMap, write: bool) -> bool {
    let client = super::client_address::client_address(app, peer, headers);
    app.bookings
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take(client, write)
}

/// `{"error": {"code", "message"}}` with its status.
pub(super) fn refuse(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let code = serde_json::to_value(code).unwrap_or_default();
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    (status, Json(body)).into_response()
}

pub(super) fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ErrorCode::UnknownService | ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::SlotFull | ErrorCode::NotBookable | ErrorCode::InvalidState => {
            StatusCode::CONFLICT
        }
        ErrorCode::LimitReached | ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

pub(super) fn rate_limited() -> Response {
    refuse(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RateLimited,
        "Quá nhiều yêu cầu, xin thử lại sau. / Too many requests; try again later.",
    )
}

pub(super) fn bad_request(message: &str) -> Response {
    refuse(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
}

/// A body that could not be read: too large (413), or not what was expected (400).
fn unreadable(e: &JsonRejection, expected: &str) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BadRequest,
            "the request is too large",
        );
    }
    bad_request(expected)
}

pub(super) fn engine_gone() -> Response {
    refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal,
        "the hub is stopping",
    )
}

/// The holder a phone number stands for: its keyed hash.
fn holder_of(app: &AppState, phone: &str) -> Option<Holder> {
    let phone = national_phone(phone)?;
    let tag = {
        let key = app
            .engine
            .phone_key
            .read()
            .unwrap_or_else(|e| e.into_inner());
        ring::hmac::sign(&key, phone.as_bytes())
    };
    let hex: String = tag.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(Holder::Phone(hex))
}

async fn ask(app: &AppState, ask: BookingAsk) -> Response {
    let (respond, answer) = oneshot::channel();
    if app
        .engine
        .requests
        .send(Request::Booking { ask, respond })
        .await
        .is_err()
    {
        return engine_gone();
    }
    let Ok(reply) = answer.await else {
        return engine_gone();
    };
    match serde_json::from_str::<p::ServerMessage>(reply.as_str()) {
        Ok(p::ServerMessage::Reply(p::Reply {
            ok: true,
            result: Some(p::ReplyResult::Appointment { appointment }),
            ..
        })) => (StatusCode::OK, Json(appointment)).into_response(),
        Ok(p::ServerMessage::Reply(p::Reply { error: Some(e), .. })) => {
            refuse(status_of(e.code), e.code, &e.message)
        }
        _ => engine_gone(),
    }
}

async fn look(app: &AppState, look: BookingLook) -> Option<BookingSeen> {
    let (respond, answer) = oneshot::channel();
    app.engine
        .requests
        .send(Request::BookingLook { look, respond })
        .await
        .ok()?;
    answer.await.ok()
}

#[derive(Deserialize)]
struct SlotsAsked {
    service: Option<String>,
    date: Option<String>,
}

/// `GET /api/appointments/slots?service=TP&date=2026-12-03`
async fn slots(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<SlotsAsked>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if !allowed(&app, peer, &headers, false) {
        return rate_limited();
    }
    let Ok(Query(SlotsAsked {
        service: Some(service),
        date: Some(date),
    })) = query
    else {
        return bad_request("service and date (YYYY-MM-DD) are needed");
    };
    let Ok(date) = date.parse::<NaiveDate>() else {
        return bad_request("date must be YYYY-MM-DD");
    };
    let seen = look(
        &app,
        BookingLook::Slots {
            service: service.clone(),
            date,
        },
    )
    .await;
    match seen {
        Some(BookingSeen::Slots(Some(slots))) => {
            let slots: Vec<_> = slots
                .iter()
                .map(|s| serde_json::json!({"start": s.start, "end": s.end, "free": s.free}))
                .collect();
            Json(serde_json::json!({"service": service, "date": date.to_string(), "slots": slots}))
                .into_response()
        }
        Some(BookingSeen::Slots(None)) => refuse(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownService,
            "no such service takes appointments",
        ),
        _ => engine_gone(),
    }
}

#[derive(Deserialize)]
struct Booked {
    service: String,
    start: DateTime<chrono::FixedOffset>,
    phone: String,
}

/// `POST /api/appointments` with `{"service", "start", "phone"}`: `201` and the booking.
async fn book(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<Booked>, JsonRejection>,
) -> Response {
    if !allowed(&app, peer, &headers, true) {
        return rate_limited();
    }
    let Booked {
        service,
        start,
        phone,
    } = match body {
        Ok(Json(b)) => b,
        Err(e) => return unreadable(&e, "JSON {service, start (RFC 3339), phone} expected"),
    };
    let Some(holder) = holder_of(&app, &phone) else {
        return bad_request(
            "Số điện thoại không hợp lệ. / Not a Vietnamese mobile or landline number.",
        );
    };
    let start = start.with_timezone(&Utc);
    let mut response = ask(
        &app,
        BookingAsk::Book {
            service,
            start,
            holder,
        },
    )
    .await;
    if response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::CREATED;
    }
    response
}

/// `GET /api/appointments/{code}`
async fn look_up(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Response {
    if !allowed(&app, peer, &headers, false) {
        return rate_limited();
    }
    match look(&app, BookingLook::Code(code)).await {
        Some(BookingSeen::Booking(Some(b))) => Json(b).into_response(),
        Some(BookingSeen::Booking(None)) => refuse(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no booking with this code",
        ),
        _ => engine_gone(),
    }
}

#[derive(Deserialize)]
struct Cancelled {
    phone: String,
}

/// `DELETE /api/appointments/{code}` with `{"phone"}`: a wrong phone is an unknown code.
async fn cancel(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(code): Path<String>,
    body: Result<Json<Cancelled>, JsonRejection>,
) -> Response {
    if !allowed(&app, peer, &headers, true) {
        return rate_limited();
    }
    let phone = match body {
        Ok(Json(Cancelled { phone })) => phone,
        Err(e) => return unreadable(&e, "JSON {phone} expected"),
    };
    let Some(holder) = holder_of(&app, &phone) else {
        return refuse(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no booking with this code",
        );
    };
    ask(&app, BookingAsk::Cancel { code, holder }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_in_their_national_form() {
        for (typed, national) in [
            ("0912345678", Some("0912345678")),
            ("091 234 5678", Some("0912345678")),
            ("+84 912.345.678", Some("0912345678")),
            ("84912345678", Some("0912345678")),
            ("0241 234 5678", Some("02412345678")),
            ("0112345678", None),
            ("091234567", None),
            ("09123456789", None),
            ("0912abc678", None),
            ("", None),
        ] {
            assert_eq!(national_phone(typed).as_deref(), national, "{typed:?}");
        }
    }
}
