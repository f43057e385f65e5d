//! Server messages as the WebSocket frames that carry them. A message is serialised once, here;
//! the text is shared by reference with every connection that sends it.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use protocol::{ErrorBody, ErrorCode, Reply, ServerMessage};

/// The JSON text of a server message.
pub fn text(msg: &ServerMessage) -> Utf8Bytes {
    // A welcome may carry thousands of tickets: size the buffer once rather than grow it by
    // doubling (copying megabytes each time).
    let guess = match msg {
        ServerMessage::Welcome(w) => w.snapshot.as_ref().map_or(0, |s| s.waiting.len() * 400),
        _ => 0,
    };
    let mut out = Vec::with_capacity(guess + 256);
    // Our own types always serialise; an empty frame would be refused by clients, not crash them.
    if serde_json::to_writer(&mut out, msg).is_err() {
        out.clear();
    }
    Utf8Bytes::from(String::from_utf8(out).unwrap_or_default())
}

/// A server message as a frame.
pub fn message(msg: &ServerMessage) -> Message {
    Message::Text(text(msg))
}

/// The answer to a command.
pub fn reply(reply: Reply) -> Utf8Bytes {
    text(&ServerMessage::Reply(reply))
}

/// A command's refusal.
pub fn error_reply(id: &str, code: ErrorCode, message: impl Into<String>) -> Utf8Bytes {
    reply(Reply {
        id: id.to_string(),
        ok: false,
        result: None,
        error: Some(ErrorBody {
            code,
            message: message.into(),
        }),
        now: None,
    })
}

/// An error that answers no command (a bad hello, an unreadable message without an id).
pub fn error(code: ErrorCode, message: &str) -> Message {
    self::message(&ServerMessage::Error(ErrorBody {
        code,
        message: message.to_string(),
    }))
}

/// The close frame, with a WebSocket close code and a reason a person can read.
pub fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(reason.to_string()),
    }))
}
