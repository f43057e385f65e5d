//! A citizen's phone following one ticket: `GET /t/{track}` serves a small page (embedded in the
//! binary, Vietnamese first, English toggle) that joins `/ws` with the `tracker` role and the
//! ticket's tracking code as its token. A tracker sees that one ticket — number, service, status,
//! people ahead, estimated wait, the counter when called — and nothing else; it sends nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::{self as p, ErrorCode};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::limits::{
    MAX_TRACK_CODE, PING_EVERY, SILENCE_LIMIT, TRACKER_IDLE, TRACKER_REFRESH, TRACKERS_PER_CODE,
};
use super::socket::Socket;
use super::state::AppState;
use hub_engine::Request;
use hub_engine::frames::{self, close};

const PAGE: &str = include_str!("track.html");
const NOT_FOUND: &str = include_str!("track-not-found.html");

/// Codes are letters and digits; anything else is not looked up at all.
pub(super) fn plausible(track: &str) -> bool {
    !track.is_empty()
        && track.len() <= MAX_TRACK_CODE
        && track.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The ticket behind a tracking code, as of the last commit.
pub async fn lookup(app: &AppState, track: &str) -> Option<p::Tracked> {
    if !plausible(track) {
        return None;
    }
    let (tx, rx) = oneshot::channel();
    app.engine
        .requests
        .send(Request::Track {
            track: track.to_string(),
            respond: tx,
        })
        .await
        .ok()?;
    rx.await.ok().flatten()
}

/// `GET /t/{track}`: the page, with the ticket as it is now, or a clear "not found" page.
pub async fn page(State(app): State<AppState>, Path(track): Path<String>) -> Response {
    let html = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    match lookup(&app, &track).await {
        Some(t) => {
            // Inside <script>: JSON with '<' escaped cannot end the script element.
            let json = serde_json::to_string(&t)
                .unwrap_or_else(|_| "null".into())
                .replace('<', "\\u003c");
            let token = serde_json::to_string(&track).unwrap_or_default();
            let body = PAGE
                .replace("/*TICKET*/null", &json)
                .replace("/*TOKEN*/\"\"", &token);
            (StatusCode::OK, html, body).into_response()
        }
        None => (StatusCode::NOT_FOUND, html, NOT_FOUND).into_response(),
    }
}

/// `POST /t/{track}/leave`: the citizen gives the place up (only while waiting). Answers the
/// tracked ticket, now `cancelled`; `404` for an unknown code, `409` once called. Counted with the
/// booking API's changes per address, so it is no way to guess codes.
/// The tracked ticket as the tracker's message has it, and its `status` at the top as well:
/// the shared contract's "the tracked ticket with `"status": "cancelled"`" is read either way.
fn left(tracked: &p::Tracked) -> serde_json::Value {
    let mut body = serde_json::to_value(tracked).unwrap_or_default();
    if let Some(fields) = body.as_object_mut() {
        fields.insert(
            "status".into(),
            serde_json::to_value(tracked.ticket.status).unwrap_or_default(),
        );
    }
    body
}

pub async fn leave(
    State(app): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    Path(track): Path<String>,
) -> Response {
    use super::appointments::{allowed, engine_gone, rate_limited, refuse, status_of};
    if !allowed(&app, peer, &headers, true) {
        return rate_limited();
    }
    let unknown = || {
        refuse(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "Không tìm thấy số này hôm nay. / No ticket with this code today.",
        )
    };
    if !plausible(&track) {
        return unknown();
    }
    let (respond, answer) = oneshot::channel();
    let asked = app.engine.requests.send(Request::Leave {
        track: track.clone(),
        respond,
    });
    if asked.await.is_err() {
        return engine_gone();
    }
    let Ok(reply) = answer.await else {
        return engine_gone();
    };
    match serde_json::from_str::<p::ServerMessage>(reply.as_str()) {
        Ok(p::ServerMessage::Reply(p::Reply { ok: true, .. })) => {
            match lookup(&app, &track).await {
                Some(tracked) => (StatusCode::OK, axum::Json(left(&tracked))).into_response(),
                None => unknown(),
            }
        }
        Ok(p::ServerMessage::Reply(p::Reply { error: Some(e), .. })) => match e.code {
            ErrorCode::NotFound => unknown(),
            ErrorCode::InvalidState => refuse(
                status_of(e.code),
                e.code,
                "Số đã được gọi hoặc đã kết thúc. / This number was already called or has ended.",
            ),
            _ => refuse(status_of(e.code), e.code, &e.message),
        },
        _ => engine_gone(),
    }
}

/// One phone among those following a tracking code; it leaves when dropped.
struct CodeFollowers {
    per_code: Arc<Mutex<HashMap<String, usize>>>,
    code: String,
}

impl CodeFollowers {
    fn join(app: &AppState, code: &str) -> Option<CodeFollowers> {
        let mut map = app.per_code.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(code.to_string()).or_insert(0);
        if *n >= TRACKERS_PER_CODE {
            return None;
        }
        *n += 1;
        Some(CodeFollowers {
            per_code: app.per_code.clone(),
            code: code.to_string(),
        })
    }
}

impl Drop for CodeFollowers {
    fn drop(&mut self) {
        let mut map = self.per_code.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.code) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.code);
            }
        }
    }
}

/// The WebSocket session of a tracker, after its hello.
pub async fn session(app: AppState, mut socket: Socket, track: String) {
    let mut events = app.engine.events.subscribe();
    let Some(mut last) = lookup(&app, &track).await else {
        let unknown = frames::error(
            ErrorCode::NotFound,
            "no ticket of today has this tracking code",
        );
        socket.send(unknown).await;
        socket.send(close(1008, "unknown ticket")).await;
        return;
    };
    // Phones have a pool of their own, and a ticket's code a few places in it: a code printed on
    // a ticket cannot be used to take the sockets the devices and other citizens need.
    let Ok(_place) = app.trackers.clone().try_acquire_owned() else {
        let busy = frames::error(
            ErrorCode::RateLimited,
            "too many phones are following tickets",
        );
        socket.send(busy).await;
        socket.send(close(1013, "try again later")).await;
        return;
    };
    let Some(_followers) = CodeFollowers::join(&app, &track) else {
        let busy = frames::error(
            ErrorCode::RateLimited,
            "this ticket is already followed on several phones",
        );
        socket.send(busy).await;
        socket.send(close(1008, "too many followers")).await;
        return;
    };
    let first = frames::message(&p::ServerMessage::Ticket(Box::new(last.clone())));
    if !socket.send(first).await {
        return;
    }
    let mut shutdown = app.shutdown.clone();
    let mut refresh = tokio::time::interval(TRACKER_REFRESH);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut dirty = false;
    let mut last_heard = Instant::now();
    let idle = tokio::time::sleep(TRACKER_IDLE);
    tokio::pin!(idle);
    let reason: (u16, &str) = loop {
        tokio::select! {
            _ = &mut idle => break (1000, "no change for a long time: reload the page to follow the ticket"),
            ev = events.recv() => match ev {
                Ok(_) | Err(RecvError::Lagged(_)) => dirty = true,
                Err(RecvError::Closed) => break (1001, "hub is stopping"),
            },
            _ = refresh.tick(), if dirty => {
                dirty = false;
                match lookup(&app, &track).await {
                    Some(now) if now != last => {
                        if !socket.send(frames::message(&p::ServerMessage::Ticket(Box::new(now.clone())))).await {
                            return;
                        }
                        last = now;
                        idle.as_mut().reset(Instant::now() + TRACKER_IDLE);
                    }
                    Some(_) => {}
                    // A new service day: yesterday's ticket is gone.
                    None => break (1000, "the ticket has expired"),
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > SILENCE_LIMIT {
                    break (1001, "no answer to pings");
                }
                if !socket.send(Message::Ping(Default::default())).await {
                    return;
                }
            }
            _ = shutdown.changed() => break (1001, "hub is stopping"),
            msg = socket.next() => match msg.inspect(|_| last_heard = Instant::now()) {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                    socket.send(frames::error(ErrorCode::Forbidden, "a tracker only listens")).await;
                }
                Some(Ok(_)) => {}
            },
        }
    };
    socket.send(close(reason.0, reason.1)).await;
}
