//! A device's connection: after its hello, one task and one loop that forwards live events,
//! reads commands (through the token bucket to `commands`), hands back the engine's answers and
//! pings — writing to the socket itself, through its outbox (`socket`).

use queue_core::DeviceId;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use protocol::{self as p, ErrorCode, Hello};
use queue_core::{Actor, StaffCode};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast::error::RecvError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use axum::Extension;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;
use tracing::Instrument;

use super::commands::{self, command_id};
use super::hello::{self, Greeting};
use super::limits::{CLOSE_GRACE, MAX_REFUSED_IN_A_ROW, PING_EVERY, READ_BUFFER, SILENCE_LIMIT};
use super::listener::{AddressSlot, Pending};
use super::log_safe::log_safe;
use super::origin::origin_allowed;
use super::pending::{PendingSockets, Waiting};
use super::presence::{self, SharedPresence};
use super::socket::Socket;
use super::state::{AppState, LiveDevice};
use super::tracker;
use super::upgrade::WebSocketUpgrade;
use hub_engine::Request;
use hub_engine::clock::Clock;
use hub_engine::frames::{self, Wire};

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
    // And a counter display's page its cookie (`/quay`).
    let cookies = hello::Cookies {
        console: signed,
        counter_display: super::counter_display::device_of(&app, &headers),
    };
    // Until its hello, the socket keeps its address's place and a place among all pending ones.
    let address_place = slot.and_then(|Extension(s)| s.take());
    let pending = PendingSockets::admit(&app.pending);
    // Frames are read and written whole, just in small steps: 128 KiB buffers per connection
    // (the defaults) would be 256 MB for a thousand screens.
    let config = WebSocketConfig::default()
        .max_message_size(Some(p::MAX_MESSAGE_BYTES))
        .max_frame_size(Some(p::MAX_MESSAGE_BYTES))
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0);
    ws.on_upgrade(config, move |socket| async move {
        // A panic stays inside this connection: it ends, the hub goes on. (Caught here
        // rather than by a task of its own: one task per connection.)
        let session = run(
            app,
            Socket::new(socket),
            peer,
            (pending, address_place),
            cookies,
        );
        if std::panic::AssertUnwindSafe(session)
            .catch_unwind()
            .await
            .is_err()
        {
            tracing::error!(%peer, "connection task panicked");
        }
    })
}

async fn run(
    app: AppState,
    mut socket: Socket,
    peer: SocketAddr,
    mut waiting_places: (Waiting, Option<Pending>),
    cookies: hello::Cookies,
) {
    let evicted = &mut waiting_places.0.evicted;
    let greeting = tokio::select! {
        g = hello::greet(&app, &mut socket, peer, cookies) => g,
        // A newcomer needed the place of a socket that has not said hello all this time.
        _ = evicted.changed() => None,
    };
    // Said hello (or gone): the socket no longer counts as pending.
    drop(waiting_places);
    match greeting {
        None => {}
        Some(Greeting::Tracker(code)) => tracker::session(app, socket, code).await,
        Some(Greeting::Device(hello)) => {
            // The span is attached to the session's future, never held across an await: one
            // connection's lines never appear inside another's.
            let span =
                tracing::info_span!("conn", device = %hello.device, role = hello.role.as_str());
            session(app, socket, peer, hello, None)
                .instrument(span)
                .await
        }
        Some(Greeting::Console(who, mut hello)) => {
            // One console connection per supervisor (a second window takes over), named after
            // them: their actions carry their staff code in the audit trail.
            hello.device = format!("console-{}", who.staff);
            let span = tracing::info_span!("conn", device = %hello.device, role = "console");
            let staff = Some(StaffCode::from(who.staff.as_str()));
            session(app, socket, peer, hello, staff)
                .instrument(span)
                .await
        }
    }
}

/// A device's connection in the registry of live ones; it leaves the registry when dropped
/// (unless a newer connection of the device has taken its place).
struct Registration {
    live: Arc<Mutex<HashMap<DeviceId, LiveDevice>>>,
    presence: SharedPresence,
    offline_alert: std::time::Duration,
    clock: Arc<dyn Clock>,
    device: DeviceId,
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
    if let Some(old) = live.insert(DeviceId::from(device), newer) {
        let _ = old.replaced.send(true);
    }
    app.presence.lock().unwrap_or_else(|e| e.into_inner()).set(
        device,
        true,
        app.engine.clock.now(),
    );
    let registration = Registration {
        live: app.live.clone(),
        presence: app.presence.clone(),
        offline_alert: app.config.limits.offline_alert,
        clock: app.engine.clock.clone(),
        device: DeviceId::from(device),
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
                self.device.as_str(),
                false,
                self.clock.now(),
            );
            if let Some(generation) = away {
                presence::arm(
                    &self.presence,
                    self.clock.clone(),
                    self.device.clone(),
                    generation,
                    self.offline_alert,
                );
            }
        }
    }
}

/// Why a connection closes: the close frame's code and reason.
type CloseReason = (u16, &'static str);

const TOO_SLOW: CloseReason = (1013, "too slow: reconnect with resume_from");

async fn session(
    app: AppState,
    mut socket: Socket,
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
    let Some(mut events) = join(&app, &mut socket, &hello).await else {
        return;
    };
    let mut presence = (actor.role == p::Role::Admin).then(|| {
        let (now, changes) = app
            .presence
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .subscribe();
        socket.queue_answer(Message::Text(now));
        changes
    });

    // The engine's answers to this connection's commands, as they come.
    let mut in_flight = FuturesUnordered::new();
    let mut refused_in_a_row = 0u32;
    let mut shutdown = app.shutdown.clone();
    // Futures that live across the loop's turns: made and registered once, not at every event.
    let shutdown = shutdown.changed();
    let replaced = replaced.changed();
    let ping = tokio::time::sleep(PING_EVERY);
    tokio::pin!(shutdown, replaced, ping);
    let mut last_heard = Instant::now();
    let reason: CloseReason = loop {
        tokio::select! {
            // In this order, every turn: what waits is written before more is queued (a burst
            // of events cannot pile up unwritten), then the live events.
            biased;
            // Reading the client's next message writes what waits meanwhile.
            msg = socket.next() => {
                last_heard = Instant::now();
                let Some(text) = readable(msg, &mut socket) else { continue };
                let text = match text {
                    Ok(text) => text,
                    Err(reason) => break reason,
                };
                if !app.take_message_token(actor.device.as_str()) {
                    refused_in_a_row += 1;
                    if refused_in_a_row > MAX_REFUSED_IN_A_ROW {
                        tracing::warn!(%peer, "closed: flooding");
                        break (1008, "too many messages");
                    }
                    refuse_for_the_rate(&text, &mut socket);
                    continue;
                }
                refused_in_a_row = 0;
                commands::handle(&app, &actor, staff.as_ref(), text, &mut socket, &mut in_flight)
                    .await;
            }
            ev = events.recv() => match ev {
                // A client that cannot keep up is closed; it reconnects with resume_from.
                Ok(f) => {
                    if socket.queue_events(f).is_err() {
                        break TOO_SLOW;
                    }
                }
                Err(RecvError::Lagged(_)) => break TOO_SLOW,
                Err(RecvError::Closed) => break (1001, "hub is stopping"),
            },
            change = async {
                match presence.as_mut() {
                    Some(changes) => changes.recv().await,
                    None => std::future::pending().await,
                }
            } => match change {
                Ok(frame) => {
                    if socket.queue(Message::Text(frame)).is_err() {
                        break TOO_SLOW;
                    }
                }
                // Missed changes: the next one carries the whole picture anyway.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => presence = None,
            },
            _ = &mut shutdown => break (1001, "hub is stopping"),
            _ = &mut replaced => {
                tracing::warn!(%peer, "replaced by a newer connection of this device");
                break (4001, "replaced by a newer connection of this device");
            }
            Some(answer) = in_flight.next(), if !in_flight.is_empty() => socket.queue_answer(answer),
            _ = &mut ping => {
                ping.as_mut().reset(Instant::now() + PING_EVERY);
                if last_heard.elapsed() > SILENCE_LIMIT {
                    break (1001, "no answer to pings");
                }
                // Frames it has not taken for a long time (or that piled up).
                if socket.queue(Message::Ping(Default::default())).is_err() {
                    break TOO_SLOW;
                }
            }
        }
    };
    close(socket, in_flight, reason).await;
}

/// Joins the engine and queues the welcome and what the device missed. `None`: the hub is
/// stopping (the socket is closed with a reason) or the welcome could not be made.
async fn join(
    app: &AppState,
    socket: &mut Socket,
    hello: &Hello,
) -> Option<tokio::sync::broadcast::Receiver<Wire>> {
    let (tx, rx) = oneshot::channel();
    let join = Request::Join {
        role: hello.role,
        resume_from: hello.resume_from,
        light: hello.light,
        respond: tx,
    };
    let joined = match app.engine.requests.send(join).await {
        Ok(()) => rx.await.ok(),
        Err(_) => None,
    };
    let Some(joined) = joined else {
        socket.send(frames::close(1011, "hub is stopping")).await;
        return None;
    };
    // An outbox this long is not "too slow": these are queued as answers, written in the loop.
    if let Some(welcome) = joined.snapshot {
        let wire = if welcome.large {
            tokio::task::spawn_blocking(move || welcome.wire())
                .await
                .ok()?
        } else {
            welcome.wire()
        };
        socket.queue_answer_wire(wire);
    }
    if !joined.frames.is_empty() {
        socket.queue_answer_wire(Wire::encode(&joined.frames));
    }
    Some(joined.events)
}

/// The text of a message from the client; `Some(Err(..))` when the connection ends with it,
/// `None` for a message that needs nothing more (a pong, a refused binary frame).
fn readable(
    msg: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    socket: &mut Socket,
) -> Option<Result<Utf8Bytes, CloseReason>> {
    match msg {
        None | Some(Ok(Message::Close(_))) => Some(Err((1000, ""))),
        Some(Err(e)) => {
            // Oversize frames end here, with the socket's own error.
            tracing::info!(error = %e, "connection error");
            Some(Err((1009, "message too big or broken")))
        }
        Some(Ok(Message::Text(t))) => Some(Ok(t)),
        Some(Ok(Message::Binary(_))) => {
            socket.queue_answer(frames::error(
                ErrorCode::BadRequest,
                "binary frames are refused; send JSON text",
            ));
            None
        }
        Some(Ok(_)) => None,
    }
}

/// Refused, not ignored: every command gets its one reply, also over the rate limit.
fn refuse_for_the_rate(text: &str, socket: &mut Socket) {
    let msg = match command_id(text) {
        Some(id) => Message::Text(frames::error_reply(
            &id,
            ErrorCode::RateLimited,
            "too many messages; slow down",
        )),
        None => frames::error(ErrorCode::RateLimited, "too many messages; slow down"),
    };
    socket.queue_answer(msg);
}

/// An orderly close: the answers already on their way go out first (every command gets its
/// one reply), written as they come while what the client still sends is read and dropped;
/// then the close frame. Bounded: a client that reads nothing is cut off after the grace.
async fn close(
    mut socket: Socket,
    mut in_flight: FuturesUnordered<commands::Answer>,
    reason: CloseReason,
) {
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while !in_flight.is_empty() {
            tokio::select! {
                Some(answer) = in_flight.next() => socket.queue_answer(answer),
                msg = socket.next() => if !matches!(msg, Some(Ok(_))) { break },
            }
        }
    })
    .await;
    socket
        .close(frames::close(reason.0, reason.1), CLOSE_GRACE)
        .await;
    tracing::info!(code = reason.0, "disconnected");
}
