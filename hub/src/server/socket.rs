//! The two halves of a client's WebSocket, and the one way the hub writes to it: with a
//! deadline, so a client that stops reading holds nothing of the hub's for long.

use axum::extract::ws::{Message, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::{SplitSink, SplitStream};

use super::limits::SEND_DEADLINE;

pub type Sink = SplitSink<WebSocket, Message>;
pub type Stream = SplitStream<WebSocket>;

/// Writes one frame; false when the client is gone or did not take it within `SEND_DEADLINE`.
pub async fn send(sink: &mut Sink, msg: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_DEADLINE, sink.send(msg)).await,
        Ok(Ok(()))
    )
}
