//! One text message from a device: parsed, checked (ids, staff PINs) and passed to the engine,
//! or refused with the reason. The engine's answer is awaited beside the connection's read loop
//! (`Answer`), so pipelined commands share one commit.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use futures_util::stream::FuturesUnordered;
use protocol::{ClientMessage, Command, CommandParseError, ErrorCode, Reply, Role};
use queue_core::{Actor, StaffCode};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::limits::MAX_COMMAND_ID;
use super::log_safe::log_safe;
use super::socket::Socket;
use super::state::AppState;
use super::statuses::Route;
use hub_engine::Request;
use hub_engine::frames;

/// The `id` of a message that may not parse as a command, to address its refusal.
pub fn command_id(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    v.get("id")?.as_str().map(str::to_string)
}

/// The engine's answer to one command, as the frame to send: ready when the engine has
/// committed (or given up on) the command.
pub struct Answer {
    id: String,
    answer: oneshot::Receiver<Utf8Bytes>,
}

impl Future for Answer {
    type Output = Message;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Message> {
        Pin::new(&mut self.answer).poll(cx).map(|answer| {
            Message::Text(answer.unwrap_or_else(|_| {
                frames::error_reply(
                    &self.id,
                    ErrorCode::Internal,
                    "the hub could not process this; try again",
                )
            }))
        })
    }
}

/// Handles one message: refusals and immediate answers are queued on the socket; a command
/// for the engine joins `in_flight`. (A login's PIN check is awaited here: that connection
/// pauses a few milliseconds while it is hashed.)
pub async fn handle(
    app: &AppState,
    actor: &Actor,
    staff: Option<&StaffCode>,
    text: Utf8Bytes,
    socket: &mut Socket,
    in_flight: &mut FuturesUnordered<Answer>,
) {
    let (id, command, expires_at) = match parse(&text) {
        Ok(c) => c,
        Err(refusal) => {
            socket.queue_answer(refusal);
            return;
        }
    };
    if let Command::Login {
        staff,
        pin,
        counter,
    } = &command
        && actor.role == Role::Counter
        && let Err(refusal) = check_login(app, actor, &id, (staff, pin, *counter)).await
    {
        socket.queue_answer(refusal);
        return;
    }
    let route = match &command {
        Command::DeviceStatus { status } => app
            .statuses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .route(actor.device.as_str(), status.as_str(), Instant::now()),
        _ => Route::Now,
    };
    if let Route::Later { at, start } = route {
        // Taken: it reaches the screens when the device's turn comes (see `statuses`).
        let accepted = frames::reply(Reply {
            id: id.clone(),
            ok: true,
            result: Some(protocol::ReplyResult::Nothing {}),
            error: None,
            now: None,
        });
        socket.queue_answer(Message::Text(accepted));
        if start {
            tokio::spawn(send_status_later(app.clone(), actor.clone(), at));
        }
        return;
    }
    let (tx, rx) = oneshot::channel();
    let request = Request::Command {
        actor: actor.clone(),
        id: id.as_str().into(),
        command,
        expires_at,
        staff: staff.cloned(),
        respond: tx,
    };
    if app.engine.requests.send(request).await.is_err() {
        let refusal = frames::error_reply(&id, ErrorCode::Internal, "the hub is stopping");
        socket.queue_answer(Message::Text(refusal));
        return;
    }
    in_flight.push(Answer { id, answer: rx });
}

/// Sends a device's waiting status to the engine when its turn comes.
async fn send_status_later(app: AppState, actor: Actor, at: Instant) {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    tokio::time::sleep_until(at).await;
    let due = app
        .statuses
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take_due(actor.device.as_str(), Instant::now());
    let Some(status) = due else { return };
    // The hub's own command id: no client chooses ids starting with "hub:".
    let id = format!("hub:status:{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let (respond, _answer) = oneshot::channel();
    let request = Request::Command {
        actor,
        id: id.into(),
        command: Command::DeviceStatus {
            status: status.into(),
        },
        expires_at: None,
        staff: None,
        respond,
    };
    let _ = app.engine.requests.send(request).await;
}

/// The command in a message, or the frame that refuses it.
type Parsed = (String, Command, Option<chrono::DateTime<chrono::Utc>>);

fn parse(text: &str) -> Result<Parsed, Message> {
    let refuse =
        |id: &str, code, message: String| Message::Text(frames::error_reply(id, code, message));
    let msg = match serde_json::from_str::<ClientMessage>(text) {
        Ok(m) => m,
        Err(e) => return Err(unreadable(text, e)),
    };
    let cmd = match msg {
        ClientMessage::Hello(_) => {
            return Err(frames::error(ErrorCode::BadRequest, "already said hello"));
        }
        ClientMessage::Cmd(c) => c,
    };
    if cmd.id.is_empty() || cmd.id.len() > MAX_COMMAND_ID {
        return Err(refuse(
            &cmd.id,
            ErrorCode::BadRequest,
            format!("a command id of 1 to {MAX_COMMAND_ID} characters is required"),
        ));
    }
    match Command::from_message(&cmd) {
        Ok(Command::SetNotice { notice }) => {
            let notice = centre_config::nfc(&notice);
            Ok((cmd.id, Command::SetNotice { notice }, cmd.expires_at))
        }
        Ok(c) => Ok((cmd.id, c, cmd.expires_at)),
        Err(CommandParseError::Unknown(name)) => Err(refuse(
            &cmd.id,
            ErrorCode::UnknownCommand,
            format!("unknown command {name:?}"),
        )),
        Err(e) => Err(refuse(
            &cmd.id,
            ErrorCode::BadRequest,
            format!("{}: {e}", cmd.cmd),
        )),
    }
}

/// The refusal of a message that is not a client message at all.
fn unreadable(text: &str, e: serde_json::Error) -> Message {
    let reason = format!("unreadable message: {e}");
    if let Some(id) = command_id(text) {
        return Message::Text(frames::error_reply(&id, ErrorCode::BadRequest, reason));
    }
    let value = serde_json::from_str::<serde_json::Value>(text).ok();
    let kind = value
        .as_ref()
        .and_then(|v| v.get("type"))
        .and_then(|v| v.as_str());
    match kind {
        Some(k) if k != "hello" && k != "cmd" => frames::error(
            ErrorCode::BadRequest,
            &format!("unknown message type {k:?}"),
        ),
        _ => frames::error(ErrorCode::BadRequest, &reason),
    }
}

/// A counter's login: the PIN is checked here (Argon2, off the async threads, a few at a time),
/// never in the engine, so the core and the log never see it. See `logins` for the back-off.
async fn check_login(
    app: &AppState,
    actor: &Actor,
    id: &str,
    (staff, pin, counter): (&str, &str, u32),
) -> Result<(), Message> {
    let refuse = |code, message: String| Message::Text(frames::error_reply(id, code, message));
    let device = actor.device.as_str();
    if let Some(d) = app.config.devices.get(device)
        && !d.counters.is_empty()
        && !d.counters.contains(&counter)
    {
        return Err(refuse(
            ErrorCode::Forbidden,
            format!("this device may not open counter {counter}"),
        ));
    }
    let throttle = || app.logins.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(wait) = throttle().check(device, staff, Instant::now()) {
        return Err(refuse(
            ErrorCode::RateLimited,
            format!(
                "too many wrong PINs; try again in {} s",
                wait.as_secs().max(1)
            ),
        ));
    }
    let Some(ok) = app.pin_checker.check(app.config.clone(), staff, pin).await else {
        return Err(refuse(
            ErrorCode::RateLimited,
            "too many logins at once; try again in a moment".into(),
        ));
    };
    if ok {
        throttle().succeeded(device, staff);
        return Ok(());
    }
    let known = app.config.staff.contains_key(staff);
    throttle().failed(device, staff, known, Instant::now());
    tracing::warn!(staff = %log_safe(staff), "login refused: wrong staff code or PIN");
    Err(refuse(
        ErrorCode::Unauthorized,
        "wrong staff code or PIN".into(),
    ))
}
