//! HTTP and WebSocket on one port: `/healthz`, `/ws` and the tracking page `/t/{track}`.
//!
//! Each connection: `hello` within 5 s, then a loop that forwards live events, reads commands
//! (checked against a token bucket, parsed, passed to the engine) and pings. Replies come back
//! out of order with respect to events, which is allowed. A panic in one connection's task ends
//! that connection only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use protocol::{self as p, ClientMessage, Command, ErrorCode, Role};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::time::{Instant, timeout};

use crate::auth;
use crate::config::{Config, Limits};
use crate::core::Actor;
use crate::engine::{EngineHandle, Request, error_reply};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub engine: EngineHandle,
    /// Flips to true when the hub is shutting down.
    pub shutdown: watch::Receiver<bool>,
    /// Caps open WebSocket connections.
    pub connections: Arc<Semaphore>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/ws", get(ws_upgrade))
        .route("/t/{track}", get(crate::tracker::page))
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
    axum::Json(serde_json::json!({
        "status": "ok",
        "seq": h.seq,
        "service_day": h.day.to_string(),
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

async fn ws_upgrade(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    let Ok(permit) = app.connections.clone().try_acquire_owned() else {
        tracing::warn!(%peer, "connection refused: too many connections");
        return (StatusCode::SERVICE_UNAVAILABLE, "too many connections").into_response();
    };
    // Messages are small: 128 KiB read and write buffers per connection (the defaults) would be
    // 256 MB for a thousand screens. Frames are still read and written whole, just in steps.
    ws.max_message_size(p::MAX_MESSAGE_BYTES)
        .max_frame_size(p::MAX_MESSAGE_BYTES)
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            // A panic stays inside this task: the connection ends, the hub goes on.
            let task = tokio::spawn(session(app, socket, peer));
            if let Err(e) = task.await
                && e.is_panic()
            {
                tracing::error!(%peer, "connection task panicked");
            }
            drop(permit);
        })
}

pub(crate) fn frame(msg: &p::ServerMessage) -> Message {
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(msg).unwrap_or_default(),
    ))
}

pub(crate) fn error_frame(code: ErrorCode, message: &str) -> Message {
    frame(&p::ServerMessage::Error(p::ErrorBody {
        code,
        message: message.to_string(),
    }))
}

pub(crate) fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(reason.to_string()),
    }))
}

/// Per-connection token bucket.
struct Bucket {
    tokens: f64,
    last: Instant,
    limits: Limits,
}

impl Bucket {
    fn new(limits: Limits) -> Bucket {
        Bucket {
            tokens: f64::from(limits.burst),
            last: Instant::now(),
            limits,
        }
    }
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill =
            now.duration_since(self.last).as_secs_f64() * f64::from(self.limits.per_second);
        self.tokens = (self.tokens + refill).min(f64::from(self.limits.burst));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn session(app: AppState, socket: WebSocket, peer: SocketAddr) {
    let (mut sink, mut stream) = socket.split();

    // ---- hello
    let first = timeout(Duration::from_secs(5), stream.next()).await;
    let hello = match first {
        Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str::<ClientMessage>(t.as_str()) {
            Ok(ClientMessage::Hello(h)) => h,
            _ => {
                let _ = sink
                    .send(error_frame(
                        ErrorCode::BadRequest,
                        "the first message must be a hello",
                    ))
                    .await;
                let _ = sink.send(close(1008, "hello expected")).await;
                return;
            }
        },
        Ok(_) => return,
        Err(_) => {
            let _ = sink.send(close(1008, "no hello within 5 s")).await;
            return;
        }
    };
    if hello.protocol != p::PROTOCOL_VERSION {
        let msg = format!(
            "protocol {} is not supported; this hub speaks {}",
            hello.protocol,
            p::PROTOCOL_VERSION
        );
        let _ = sink.send(error_frame(ErrorCode::BadRequest, &msg)).await;
        let _ = sink.send(close(1008, "unsupported protocol")).await;
        return;
    }
    if hello.role == Role::Tracker {
        // A phone: its token is a ticket's tracking code, checked by the tracker itself.
        crate::tracker::session(app, sink, stream, hello.token).await;
        return;
    }
    if !auth::device_allowed(&app.config, &hello.device, hello.role, &hello.token) {
        // Log the device name the client claimed, never the token.
        tracing::warn!(%peer, device = %hello.device, role = hello.role.as_str(), "refused: bad device, role or token");
        let _ = sink
            .send(error_frame(
                ErrorCode::Unauthorized,
                "unknown device, wrong role or wrong token",
            ))
            .await;
        let _ = sink.send(close(1008, "unauthorized")).await;
        return;
    }
    let actor = Actor {
        device: hello.device.clone(),
        role: hello.role,
    };
    let span = tracing::info_span!("conn", device = %actor.device, role = actor.role.as_str());
    let _enter = span.enter();
    tracing::info!(%peer, resume_from = ?hello.resume_from, "connected");

    let (tx, rx) = oneshot::channel();
    let join = Request::Join {
        role: hello.role,
        resume_from: hello.resume_from,
        light: hello.light,
        respond: tx,
    };
    if app.engine.requests.send(join).await.is_err() {
        let _ = sink.send(close(1011, "hub is stopping")).await;
        return;
    }
    let Ok(joined) = rx.await else {
        let _ = sink.send(close(1011, "hub is stopping")).await;
        return;
    };
    let mut events = joined.events;

    // ---- writer: one task owns the sink so replies, events and pings never interleave badly.
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(1024);
    let writer = tokio::spawn(async move {
        while let Some(msg) = out_rx.recv().await {
            let closing = matches!(msg, Message::Close(_));
            if sink.send(msg).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    for f in joined.frames {
        if out_tx.send(Message::Text(f)).await.is_err() {
            return;
        }
    }

    let mut bucket = Bucket::new(app.config.limits);
    let mut refused_in_a_row = 0u32;
    let mut failed_logins = 0u32;
    let mut shutdown = app.shutdown.clone();
    let mut ping = tokio::time::interval(Duration::from_secs(15));
    ping.tick().await;
    let mut last_heard = Instant::now();
    let reason: (u16, &str) = loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(f) => {
                    // A client that cannot keep up is closed; it reconnects with resume_from.
                    if out_tx.try_send(Message::Text(f)).is_err() {
                        break (1013, "too slow: reconnect with resume_from");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break (1013, "too slow: reconnect with resume_from"),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break (1001, "hub is stopping"),
            },
            _ = shutdown.changed() => break (1001, "hub is stopping"),
            _ = ping.tick() => {
                if last_heard.elapsed() > Duration::from_secs(60) {
                    break (1001, "no answer to pings");
                }
                let _ = out_tx.try_send(Message::Ping(Default::default()));
            }
            msg = stream.next() => {
                last_heard = Instant::now();
                let text = match msg {
                    None => break (1000, ""),
                    Some(Err(e)) => {
                        // Oversize frames end here, with the socket's own error.
                        tracing::info!(error = %e, "connection error");
                        break (1009, "message too big or broken");
                    }
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(_))) => {
                        let _ = out_tx.send(error_frame(ErrorCode::BadRequest, "binary frames are refused; send JSON text")).await;
                        continue;
                    }
                    Some(Ok(Message::Close(_))) => break (1000, ""),
                    Some(Ok(_)) => continue,
                };
                if !bucket.take() {
                    refused_in_a_row += 1;
                    if refused_in_a_row > 200 {
                        tracing::warn!(%peer, "closed: flooding");
                        break (1008, "too many messages");
                    }
                    let id = command_id(&text);
                    let msg = match id {
                        Some(id) => Message::Text(error_reply(&id, ErrorCode::RateLimited, "too many messages; slow down")),
                        None => error_frame(ErrorCode::RateLimited, "too many messages; slow down"),
                    };
                    // Backpressure, not silence: every command gets its one reply.
                    if out_tx.send(msg).await.is_err() {
                        break (1011, "connection writer ended");
                    }
                    continue;
                }
                refused_in_a_row = 0;
                handle_text(&app, &actor, text, &out_tx, &mut failed_logins).await;
            }
        }
    };
    let _ = out_tx.send(close(reason.0, reason.1)).await;
    drop(out_tx);
    let _ = writer.await;
    tracing::info!(code = reason.0, "disconnected");
}

fn command_id(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    v.get("id")?.as_str().map(str::to_string)
}

async fn handle_text(
    app: &AppState,
    actor: &Actor,
    text: Utf8Bytes,
    out: &mpsc::Sender<Message>,
    failed_logins: &mut u32,
) {
    let msg = match serde_json::from_str::<ClientMessage>(text.as_str()) {
        Ok(m) => m,
        Err(e) => {
            let id = command_id(&text);
            let reason = format!("unreadable message: {e}");
            let m = match id {
                Some(id) => Message::Text(error_reply(&id, ErrorCode::BadRequest, reason)),
                None => {
                    let t = serde_json::from_str::<serde_json::Value>(&text).ok();
                    let kind = t
                        .as_ref()
                        .and_then(|v| v.get("type"))
                        .and_then(|v| v.as_str())
                        .map(str::to_string);
                    match kind {
                        Some(k) if k != "hello" && k != "cmd" => error_frame(
                            ErrorCode::BadRequest,
                            &format!("unknown message type {k:?}"),
                        ),
                        _ => error_frame(ErrorCode::BadRequest, &reason),
                    }
                }
            };
            let _ = out.send(m).await;
            return;
        }
    };
    let cmd = match msg {
        ClientMessage::Hello(_) => {
            let _ = out
                .send(error_frame(ErrorCode::BadRequest, "already said hello"))
                .await;
            return;
        }
        ClientMessage::Cmd(c) => c,
    };
    if cmd.id.is_empty() || cmd.id.len() > 128 {
        let _ = out
            .send(Message::Text(error_reply(
                &cmd.id,
                ErrorCode::BadRequest,
                "a command id of 1 to 128 characters is required",
            )))
            .await;
        return;
    }
    let command = match Command::from_message(&cmd) {
        Ok(c) => c,
        Err(p::wire::CommandParseError::Unknown(name)) => {
            let _ = out
                .send(Message::Text(error_reply(
                    &cmd.id,
                    ErrorCode::UnknownCommand,
                    format!("unknown command {name:?}"),
                )))
                .await;
            return;
        }
        Err(e) => {
            let _ = out
                .send(Message::Text(error_reply(
                    &cmd.id,
                    ErrorCode::BadRequest,
                    format!("{}: {e}", cmd.cmd),
                )))
                .await;
            return;
        }
    };
    if let Command::Login { staff, pin, .. } = &command
        && actor.role == Role::Counter
    {
        if *failed_logins >= 5 {
            let _ = out
                .send(Message::Text(error_reply(
                    &cmd.id,
                    ErrorCode::RateLimited,
                    "too many wrong PINs; reconnect and try again",
                )))
                .await;
            return;
        }
        let config = app.config.clone();
        let (staff, pin) = (staff.clone(), pin.clone());
        let staff_code = staff.clone();
        let ok = tokio::task::spawn_blocking(move || auth::pin_matches(&config, &staff, &pin))
            .await
            .unwrap_or(false);
        if !ok {
            *failed_logins += 1;
            tracing::warn!(staff = %staff_code, "login refused: wrong staff code or PIN");
            let _ = out
                .send(Message::Text(error_reply(
                    &cmd.id,
                    ErrorCode::Unauthorized,
                    "wrong staff code or PIN",
                )))
                .await;
            return;
        }
        *failed_logins = 0;
    }
    let (tx, rx) = oneshot::channel();
    let request = Request::Command {
        actor: actor.clone(),
        id: cmd.id.clone(),
        command,
        respond: tx,
    };
    if app.engine.requests.send(request).await.is_err() {
        let _ = out
            .send(Message::Text(error_reply(
                &cmd.id,
                ErrorCode::Internal,
                "the hub is stopping",
            )))
            .await;
        return;
    }
    // Wait for the reply off the read loop so pipelined commands share one commit.
    let out = out.clone();
    let id = cmd.id;
    tokio::spawn(async move {
        let reply = match rx.await {
            Ok(r) => r,
            Err(_) => error_reply(
                &id,
                ErrorCode::Internal,
                "the hub could not process this; try again",
            ),
        };
        let _ = out.send(Message::Text(reply)).await;
    });
}

/// Sends `Tick` to the engine whenever its next deadline passes.
pub async fn run_timer(engine: EngineHandle, mut shutdown: watch::Receiver<bool>) {
    let mut deadline = engine.deadline.clone();
    loop {
        let due = *deadline.borrow_and_update();
        let wait = (due - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        // Never sleep longer than a minute: the system clock may be set while we sleep.
        let wait = wait.min(Duration::from_secs(60)) + Duration::from_millis(5);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {
                if engine.requests.send(Request::Tick).await.is_err() {
                    return;
                }
                // Wait until the engine has moved the deadline (or a minute passes).
                let _ = timeout(Duration::from_secs(60), deadline.changed()).await;
            }
            r = deadline.changed() => if r.is_err() { return },
            _ = shutdown.changed() => return,
        }
    }
}
