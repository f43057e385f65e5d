//! The first message of a connection: who is there, and may they be.

use std::net::SocketAddr;

use protocol::{self as p, ClientMessage, ErrorCode, Hello, Role};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

use super::console::sessions::Signed;
use super::limits::HELLO_TIMEOUT;
use super::log_safe::log_safe;
use super::socket::Socket;
use super::state::AppState;
use centre_config::auth;
use hub_engine::frames;

/// Who said hello.
pub enum Greeting {
    /// A configured device with its token.
    Device(Hello),
    /// A citizen's phone, with the ticket's tracking code (checked by the tracker itself).
    Tracker(String),
    /// The supervisor's console of a signed-in supervisor (`role: admin`, `device: console`,
    /// and the session cookie on the upgrade request).
    Console(Signed, Hello),
}

use centre_config::CONSOLE_DEVICE;

/// The credentials a browser's cookies carried on the upgrade.
pub struct Cookies {
    /// A signed-in supervisor (the console).
    pub console: Option<Signed>,
    /// The counter display whose page this is (`/quay`).
    pub counter_display: Option<String>,
}

/// Reads and checks the hello. `None`: the connection was refused (and told why) or went away.
pub async fn greet(
    app: &AppState,
    socket: &mut Socket,
    peer: SocketAddr,
    cookies: Cookies,
) -> Option<Greeting> {
    let hello = match timeout(HELLO_TIMEOUT, socket.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str::<ClientMessage>(t.as_str()) {
            Ok(ClientMessage::Hello(h)) => h,
            _ => {
                refuse(
                    socket,
                    ErrorCode::BadRequest,
                    "the first message must be a hello",
                    "hello expected",
                )
                .await;
                return None;
            }
        },
        Ok(_) => return None,
        Err(_) => {
            socket
                .send(frames::close(1008, "no hello within 5 s"))
                .await;
            return None;
        }
    };
    if hello.protocol != p::PROTOCOL_VERSION {
        let msg = format!(
            "protocol {} is not supported; this hub speaks {}",
            hello.protocol,
            p::PROTOCOL_VERSION
        );
        refuse(socket, ErrorCode::BadRequest, &msg, "unsupported protocol").await;
        return None;
    }
    let not_primary = app
        .engine
        .pair
        .as_ref()
        .and_then(|p| p.not_primary_message());
    // A phone or a browser is turned away at once; a device is heard first (its token, then
    // how far it has seen the log: `witness`).
    if let Some(message) = &not_primary
        && (hello.role == Role::Tracker
            || hello.role == Role::Admin && hello.device == CONSOLE_DEVICE)
    {
        refuse(socket, ErrorCode::NotPrimary, message, "not the primary").await;
        return None;
    }
    if hello.role == Role::Tracker {
        return Some(Greeting::Tracker(hello.token));
    }
    if hello.role == Role::Admin && hello.device == CONSOLE_DEVICE {
        return match cookies.console {
            Some(who) => Some(Greeting::Console(who, hello)),
            None => {
                refuse(
                    socket,
                    ErrorCode::Unauthorized,
                    "sign in to the console first",
                    "console without a session",
                )
                .await;
                None
            }
        };
    }
    // The page at a counter: its cookie stands for the token it was opened with.
    let by_cookie = hello.role == Role::CounterDisplay
        && hello.token.is_empty()
        && cookies.counter_display.as_deref() == Some(hello.device.as_str());
    if !by_cookie && !auth::device_allowed(&app.config, &hello.device, hello.role, &hello.token) {
        // Log the device name the client claimed (escaped: it is not authenticated), never the
        // token.
        tracing::warn!(%peer, device = %log_safe(&hello.device), role = hello.role.as_str(), "refused: bad device, role or token");
        refuse(
            socket,
            ErrorCode::Unauthorized,
            "unknown device, wrong role or wrong token",
            "unauthorized",
        )
        .await;
        return None;
    }
    if let Some(message) = not_primary {
        witness(app, &hello).await;
        refuse(socket, ErrorCode::NotPrimary, &message, "not the primary").await;
        return None;
    }
    // A configured device that has seen a newer primary: this hub was replaced. (Only after
    // its token is checked: a stranger's hello must not stop the centre.)
    if let Some(pair) = &app.engine.pair
        && let Some(term) = hello.term
        && term > pair.standing().term
        && hello
            .term_proof
            .as_deref()
            .is_some_and(|proof| pair.proves(term, proof))
    {
        tracing::warn!(%peer, device = %log_safe(&hello.device), term, "a device has seen a newer term");
        replication::standby::depose(&app.engine.requests, term, "a device's hello").await;
        let message = pair.not_primary_message().unwrap_or_default();
        refuse(socket, ErrorCode::NotPrimary, &message, "not the primary").await;
        return None;
    }
    // A device that saw events of an older term this hub does not hold: it stops issuing.
    if !witness(app, &hello).await {
        let message = app
            .engine
            .pair
            .as_ref()
            .and_then(|p| p.not_primary_message())
            .unwrap_or_default();
        refuse(socket, ErrorCode::NotPrimary, &message, "not the primary").await;
        return None;
    }
    Some(Greeting::Device(hello))
}

/// Tells the engine how far a device (its token checked) has seen the log; whether this hub
/// may serve it. A term is believed with its proof only; no `resume_from`, nothing to witness.
async fn witness(app: &AppState, hello: &Hello) -> bool {
    let Some(pair) = &app.engine.pair else {
        return true;
    };
    let Some(seq) = hello.resume_from else {
        return true;
    };
    let term = match (hello.term, hello.term_proof.as_deref()) {
        (None | Some(0), _) => 0,
        (Some(t), Some(proof)) if pair.proves(t, proof) => t,
        _ => return true,
    };
    let standing = pair.standing();
    if standing.mode == hub_engine::pair::Mode::Primary && term >= standing.term {
        // It has seen nothing of an older term: nothing this primary could lack.
        return true;
    }
    let witness = hub_engine::pair::Witness {
        device: hello.device.clone(),
        term,
        seq,
    };
    let (respond, answer) = tokio::sync::oneshot::channel();
    let asked = app
        .engine
        .requests
        .send(hub_engine::Request::Witness { witness, respond })
        .await;
    asked.is_ok() && answer.await.unwrap_or(false)
}

/// Says why, then closes with 1008 (policy violation).
async fn refuse(socket: &mut Socket, code: ErrorCode, message: &str, reason: &str) {
    socket.send(frames::error(code, message)).await;
    socket.send(frames::close(1008, reason)).await;
}
