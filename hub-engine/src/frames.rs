//! Server messages as the WebSocket frames that carry them. A message is serialised once, here;
//! the text is shared by reference with every connection that sends it — and live events are
//! encoded once more, as the very bytes of their WebSocket frames (`Wire`), which every
//! connection writes as they are.

use protocol::{ErrorBody, ErrorCode, Reply, ServerMessage};
use tokio_tungstenite::tungstenite::Bytes;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

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
        code: code.into(),
        reason: Utf8Bytes::from(reason.to_string()),
    }))
}

/// Event frames as they go on the wire: WebSocket text frames, one after the other. A server's
/// frames are not masked, so these bytes are the same for every client; a connection writes
/// them with one system call, however many events one commit made.
#[derive(Clone, Debug, Default)]
pub struct Wire {
    pub bytes: Bytes,
    /// How many events (frames) the bytes carry.
    pub frames: usize,
}

impl Wire {
    /// Encodes the texts as consecutive text frames.
    pub fn encode<'a>(texts: impl IntoIterator<Item = &'a Utf8Bytes>) -> Wire {
        let mut bytes = Vec::new();
        let mut frames = 0;
        for text in texts {
            let frame = Frame::message(Bytes::from(text.clone()), OpCode::Data(Data::Text), true);
            // Writing into a Vec cannot fail; an empty wire is refused by no one.
            if frame.format(&mut bytes).is_err() {
                return Wire::default();
            }
            frames += 1;
        }
        Wire {
            bytes: Bytes::from(bytes),
            frames,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_on_the_wire_are_unmasked_text_frames_one_after_the_other() {
        let short = Utf8Bytes::from("{\"seq\":1}");
        let long = Utf8Bytes::from("x".repeat(300));
        let wire = Wire::encode([&short, &long]);
        assert_eq!(wire.frames, 2);
        let b = &wire.bytes[..];
        // FIN + text, no mask bit, the length in the second byte.
        assert_eq!(&b[..2], &[0x81, short.len() as u8]);
        assert_eq!(&b[2..2 + short.len()], short.as_bytes());
        let rest = &b[2 + short.len()..];
        // 126: a 16-bit length follows.
        assert_eq!(&rest[..4], &[0x81, 126, 0x01, 0x2C]);
        assert_eq!(rest.len(), 4 + 300);
    }
}
