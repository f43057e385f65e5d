//! A device's connection: after its hello, a loop that forwards live events, reads commands
//! (through the token bucket to `commands`) and pings. One task owns the socket's writing half
//! so replies, events and pings never interleave badly.

use std::net::SocketAddr;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use protocol::{self as p, ErrorCode, Hello};
use queue_core::{Actor, StaffCode};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast::error::RecvError;

use axum::Extension;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use super::commands::{self, command_id};
use super::hello::{self, Greeting};
use super::limits::{
    CLOSE_GRACE, MAX_REFUSED_IN_A_ROW, OUTBOX, PING_EVERY, READ_BUFFER, SILENCE_LIMIT,
};
use super::listener::{AddressSlot, Pending};
use super::log_safe::log_safe;
use super::origin::origin_allowed;
use super::pending::{PendingSockets, Waiting};
use super::presence::{self, SharedPresence};
use super::socket::{self, Sink, Stream};
use super::state::{AppState, LiveDevice};
use super::tracker;
use crate::engine::Request;
use crate::frames;

/// `GET /ws`: checks the origin, takes a connection slot, then upgrades.
pub async fn upgrade(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    slot: Option<Extension<AddressSlot>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&app, &headers) {
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .unwrap_or("?");
        tracing::warn!(%peer, origin = %log_safe(origin), "connection refused: foreign origin");
        return (StatusCode::FORBIDDEN, "this origin may not connect").into_response();
    }
    // A signed-in supervisor's browser sends its session cookie with the upgrade.
    let signed = super::console::signed_in(&app, &headers);
    // Until its hello, the socket keeps its address's place and a place among all pending ones.
    let address_place = slot.and_then(|Extension(s)| s.take());
    let pending = PendingSockets::admit(&app.pending);
    // Frames are read and written whole, just in small steps: 128 KiB buffers per connection
    // (the defaults) would be 256 MB for a thousand screens.
    ws.max_message_size(p::MAX_MESSAGE_BYTES)
        .max_frame_size(p::MAX_MESSAGE_BYTES)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            // A panic stays inside this task: the connection ends, the hub goes on.
            let task = tokio::spawn(run(app, socket, peer, (pending, address_place), signed));
            if let Err(e) = task.await
                && e.is_panic()
            {
                tracing::error!(%peer, "connection task panicked");
            }
        })
}

async fn run(
    app: AppState,
    socket: WebSocket,
    peer: SocketAddr,
    mut waiting_places: (Waiting, Option<Pending>),
    signed: Option<super::console::sessions::Signed>,
) {
    let (mut sink, mut stream) = socket.split();
    let evicted = &mut waiting_places.0.evicted;
    let greeting = tokio::select! {
        g = hello::greet(&app, &mut sink, &mut stream, peer, signed) => g,
        // A newcomer needed the place of a socket that has not said hello all this time.
        _ = evicted.changed() => None,
    };
    // Said hello (or gone): the socket no longer counts as pending.
    drop(waiting_places);
    match greeting {
        None => {}
        Some(Greeting::Tracker(code)) => tracker::session(app, sink, stream, code).await,
        Some(Greeting::Device(hello)) => {
            // The span is attached to the session's future, never held across an await: one
            // connection's lines never appear inside another's.
            let span =
                tracing::info_span!("conn", device = %hello.device, role = hello.role.as_str());
            session(app, sink, stream, peer, hello, None)
                .instrument(span)
                .await
        }
        Some(Greeting::Console(who, mut hello)) => {
            // One console connection per supervisor (a second window takes over), named after
            // them: their actions carry their staff code in the audit trail.
            hello.device = format!("console-{}", who.staff);
            let span = tracing::info_span!("conn", device = %hello.device, role = "console");
            let staff = Some(StaffCode::from(who.staff.as_str()));
            session(app, sink, stream, peer, hello, staff)
                .instrument(span)
                .await
        }
    }
}

/// A device's connection in the registry of live ones; it leaves the registry when dropped
/// (unless a newer connection of the device has taken its place).
struct Registration {
    live: Arc<Mutex<HashMap<String, LiveDevice>>>,
    presence: SharedPresence,
    offline_alert: std::time::Duration,
    device: String,
    connection: u64,
}

/// Registers this connection as its device's only live one, closing an older one. Returns the
/// registration and the signal that a newer connection replaced this one.
fn register(app: &AppState, device: &str) -> (Registration, watch::Receiver<bool>) {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let connection = NEXT.fetch_add(1, Ordering::Relaxed);
    let (replaced, signal) = watch::channel(false);
    let mut live = app.live.lock().unwrap_or_else(|e| e.into_inner());
    let newer = LiveDevice {
        connection,
        replaced,
    };
    if let Some(old) = live.insert(device.to_string(), newer) {
        let _ = old.replaced.send(true);
    }
    app.presence
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .set(device, true, chrono::Utc::now());
    let registration = Registration {
        live: app.live.clone(),
        presence: app.presence.clone(),
        offline_alert: app.config.limits.offline_alert,
        device: device.to_string(),
        connection,
    };
    (registration, signal)
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        if live
            .get(&self.device)
            .is_some_and(|l| l.connection == self.connection)
        {
            live.remove(&self.device);
            let away = self.presence.lock().unwrap_or_else(|e| e.into_inner()).set(
                &self.device,
                false,
                chrono::Utc::now(),
            );
            if let Some(generation) = away {
                presence::arm(
                    &self.presence,
                    self.device.clone(),
                    generation,
                    self.offline_alert,
                );
            }
        }
    }
}

async fn session(
    app: AppState,
    mut sink: Sink,
    mut stream: Stream,
    peer: SocketAddr,
    hello: Hello,
    staff: Option<StaffCode>,
) {
    let actor = Actor {
        device: hello.device.as_str().into(),
        role: hello.role,
    };
    tracing::info!(%peer, resume_from = ?hello.resume_from, "connected");
    let (_registration, mut replaced) = register(&app, &hello.device);

    let (tx, rx) = oneshot::channel();
    let join = Request::Join {
        role: hello.role,
        resume_from: hello.resume_from,
        light: hello.light,
        respond: tx,
    };
    if app.engine.requests.send(join).await.is_err() {
        socket::send(&mut sink, frames::close(1011, "hub is stopping")).await;
        return;
    }
    let Ok(joined) = rx.await else {
        socket::send(&mut sink, frames::close(1011, "hub is stopping")).await;
        return;
    };
    let mut events = joined.events;

    let (out_tx, mut out_rx) = mpsc::channel::<Message>(OUTBOX);
    let writer = tokio::spawn(
        async move {
            while let Some(msg) = out_rx.recv().await {
                let closing = matches!(msg, Message::Close(_));
                if !socket::send(&mut sink, msg).await || closing {
                    break;
                }
            }
            let _ = sink.close().await;
        }
        .in_current_span(),
    );
    if let Some(welcome) = joined.snapshot {
        let text = if welcome.large {
            match tokio::task::spawn_blocking(move || welcome.text()).await {
                Ok(text) => text,
                Err(_) => return,
            }
        } else {
            welcome.text()
        };
        if out_tx.send(Message::Text(text)).await.is_err() {
            return;
        }
    }
    for f in joined.frames {
        if out_tx.send(Message::Text(f)).await.is_err() {
            return;
        }
    }
    // Admins (the console) also hear which devices are connected.
    let mut presence = None;
    if actor.role == p::Role::Admin {
        let (now, changes) = app
            .presence
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .subscribe();
        if out_tx.send(Message::Text(now)).await.is_err() {
            return;
        }
        presence = Some(changes);
    }

    // The tasks waiting for the engine's answers to this connection's commands.
    let mut in_flight = JoinSet::new();
    let mut refused_in_a_row = 0u32;
    let mut shutdown = app.shutdown.clone();
    let mut ping = tokio::time::interval(PING_EVERY);
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
                Err(RecvError::Lagged(_)) => break (1013, "too slow: reconnect with resume_from"),
                Err(RecvError::Closed) => break (1001, "hub is stopping"),
            },
            change = async {
                match presence.as_mut() {
                    Some(changes) => changes.recv().await,
                    None => std::future::pending().await,
                }
            } => match change {
                Ok(frame) => {
                    if out_tx.try_send(Message::Text(frame)).is_err() {
                        break (1013, "too slow: reconnect with resume_from");
                    }
                }
                // Missed changes: the next one carries the whole picture anyway.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => presence = None,
            },
            _ = shutdown.changed() => break (1001, "hub is stopping"),
            _ = replaced.changed() => {
                tracing::warn!(%peer, "replaced by a newer connection of this device");
                break (4001, "replaced by a newer connection of this device");
            }
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            _ = ping.tick() => {
                if last_heard.elapsed() > SILENCE_LIMIT {
                    break (1001, "no answer to pings");
                }
                // The writer gave up on a client that takes nothing (or its frames piled up).
                if out_tx.try_send(Message::Ping(Default::default())).is_err() {
                    break (1013, "too slow: reconnect with resume_from");
                }
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
                        let _ = out_tx.send(frames::error(ErrorCode::BadRequest, "binary frames are refused; send JSON text")).await;
                        continue;
                    }
                    Some(Ok(Message::Close(_))) => break (1000, ""),
                    Some(Ok(_)) => continue,
                };
                if !app.take_message_token(actor.device.as_str()) {
                    refused_in_a_row += 1;
                    if refused_in_a_row > MAX_REFUSED_IN_A_ROW {
                        tracing::warn!(%peer, "closed: flooding");
                        break (1008, "too many messages");
                    }
                    let msg = match command_id(&text) {
                        Some(id) => Message::Text(frames::error_reply(&id, ErrorCode::RateLimited, "too many messages; slow down")),
                        None => frames::error(ErrorCode::RateLimited, "too many messages; slow down"),
                    };
                    // Backpressure, not silence: every command gets its one reply.
                    if out_tx.send(msg).await.is_err() {
                        break (1011, "connection writer ended");
                    }
                    continue;
                }
                refused_in_a_row = 0;
                commands::handle(&app, &actor, staff.as_ref(), text, &out_tx, &mut in_flight)
                    .await;
            }
        }
    };
    // An orderly close: the answers already on their way go out first (every command gets its
    // one reply), then the close frame; meanwhile what the client still sends is read and
    // dropped, so the socket is not reset under replies the client has not read yet. All of it
    // is bounded: a client that reads nothing is cut off after the grace period.
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while in_flight.join_next().await.is_some() {}
    })
    .await;
    in_flight.abort_all();
    let _ = out_tx.try_send(frames::close(reason.0, reason.1));
    drop(out_tx);
    let writer_abort = writer.abort_handle();
    let drain = async {
        while let Some(Ok(m)) = stream.next().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    };
    let closed = tokio::time::timeout(CLOSE_GRACE, async {
        let (_, _) = tokio::join!(writer, drain);
    })
    .await;
    if closed.is_err() {
        writer_abort.abort();
    }
    tracing::info!(code = reason.0, "disconnected");
}
