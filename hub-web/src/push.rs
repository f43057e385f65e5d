//! Web Push for the tracking page (docs/PROTOCOL.md, "Web Push"): the centre's VAPID key, a
//! browser's subscription to one ticket and its end, and the service worker that shows the
//! notice. The endpoint is a stranger's choice: it is checked here, resolved, before the engine
//! hears of it — and checked again by the sender at every attempt.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use notices::endpoint::{self, Refused};
use notices::{Contact, Subscription};
use protocol::{self as p, ErrorCode};
use tokio::sync::oneshot;

use super::appointments::{allowed, bad_request, engine_gone, rate_limited, refuse, status_of};
use super::state::AppState;
use hub_engine::Request;

/// A subscription's JSON is a few hundred bytes.
const MAX_BODY: usize = 4096;
const WORKER: &str = notices::SERVICE_WORKER;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/push/key", get(key))
        .route(
            "/t/{track}/push",
            axum::routing::post(subscribe).delete(unsubscribe),
        )
        .route("/t/{track}/push-sw.js", get(worker))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

fn off() -> Response {
    refuse(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "Web Push is not set up at this centre",
    )
}

/// `GET /push/key`: the centre's VAPID public key.
async fn key(State(app): State<AppState>) -> Response {
    if app.config.notify.web_push.is_none() {
        return off();
    }
    let key = app
        .engine
        .vapid
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(|k| k.public_key().to_string());
    match key {
        Some(k) => axum::Json(serde_json::json!({"public_key": k})).into_response(),
        None => off(),
    }
}

/// `GET /t/{track}/push-sw.js`: the service worker, registered per ticket (its scope is the
/// ticket's, so a notice tapped opens that ticket's page).
async fn worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        WORKER,
    )
        .into_response()
}

fn unknown() -> Response {
    refuse(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "Không tìm thấy số này hôm nay, hoặc số đã kết thúc. / No ticket in the queue with this code today.",
    )
}

/// `POST /t/{track}/push`: `201` once the subscription is in the log.
async fn subscribe(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(track): Path<String>,
    body: Bytes,
) -> Response {
    let Some(web_push) = &app.config.notify.web_push else {
        return off();
    };
    if !allowed(&app, peer, &headers, true) {
        return rate_limited();
    }
    if !super::tracker::plausible(&track) {
        return unknown();
    }
    let Ok(subscription) = serde_json::from_slice::<Subscription>(&body) else {
        return bad_request(
            "expected a PushSubscription's JSON: {\"endpoint\", \"keys\": {\"p256dh\", \"auth\"}}",
        );
    };
    if subscription.receiver().is_none() {
        return bad_request(
            "keys.p256dh must be a P-256 point (65 bytes) and keys.auth 16 bytes, base64url",
        );
    }
    if let Err(refused) =
        endpoint::resolve(&subscription.endpoint, web_push.allow_insecure_endpoints).await
    {
        return match refused {
            Refused::Malformed => bad_request("the endpoint is not a URL the hub can send to"),
            other => refuse(
                StatusCode::FORBIDDEN,
                ErrorCode::EndpointRefused,
                &other.to_string(),
            ),
        };
    }
    let (respond, answer) = oneshot::channel();
    let asked = app.engine.requests.send(Request::Follow {
        track,
        contact: Contact::Push(subscription),
        respond,
    });
    answered(asked.await.is_ok(), answer, StatusCode::CREATED).await
}

/// `DELETE /t/{track}/push`: `204`, the ticket's push subscriptions gone.
async fn unsubscribe(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(track): Path<String>,
) -> Response {
    if app.config.notify.web_push.is_none() {
        return off();
    }
    if !allowed(&app, peer, &headers, true) {
        return rate_limited();
    }
    if !super::tracker::plausible(&track) {
        return unknown();
    }
    let (respond, answer) = oneshot::channel();
    let asked = app
        .engine
        .requests
        .send(Request::Unfollow { track, respond });
    answered(asked.await.is_ok(), answer, StatusCode::NO_CONTENT).await
}

/// The engine's reply as the HTTP answer: `ok` with `status`, a refusal with its code.
async fn answered(
    asked: bool,
    answer: oneshot::Receiver<tokio_tungstenite::tungstenite::Utf8Bytes>,
    ok: StatusCode,
) -> Response {
    if !asked {
        return engine_gone();
    }
    let Ok(reply) = answer.await else {
        return engine_gone();
    };
    match serde_json::from_str::<p::ServerMessage>(reply.as_str()) {
        Ok(p::ServerMessage::Reply(p::Reply { ok: true, .. })) => ok.into_response(),
        Ok(p::ServerMessage::Reply(p::Reply { error: Some(e), .. })) => match e.code {
            ErrorCode::NotFound => unknown(),
            code => refuse(status_of(code), code, &e.message),
        },
        _ => engine_gone(),
    }
}
