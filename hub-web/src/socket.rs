//! A client's WebSocket, and the one way the hub writes to it. Frames wait in a bounded outbox
//! and are written while the connection waits for the client's next message — so a connection
//! is one task that reads, writes and listens to the hub, with no writer task or channel
//! beside it (a call's frames reach a thousand screens with a thousand task wake-ups, not two
//! thousand).
//!
//! Live events arrive encoded (`Wire`: the bytes of their WebSocket frames, the same for every
//! client) and are written straight to the upgraded stream, under the WebSocket library: no
//! copy per connection, one system call per commit. Everything else (welcomes, answers, pings,
//! the close) goes through the library. The two never interleave inside a frame: the library's
//! own buffer is flushed before wire bytes are written, and the library does not run (it may
//! answer a ping by itself) while wire bytes are half written.
//!
//! A client that leaves frames untaken for `SEND_DEADLINE`, or lets `OUTBOX` events pile up,
//! is too slow and is cut off; it reconnects with `resume_from`.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{Bytes, Error, Message};

use super::limits::{OUTBOX, SEND_DEADLINE};
use hub_engine::frames::Wire;

/// The client does not take its frames: `OUTBOX` events wait, or it took nothing for
/// `SEND_DEADLINE`.
#[derive(Debug)]
pub struct TooSlow;

/// Something waiting to be written.
enum Outgoing {
    /// Through the WebSocket library.
    Message(Message),
    /// Live events, already encoded: what is left of them, and how many events they are.
    Wire(Bytes, usize),
}

/// A connection's socket: over the upgraded HTTP connection (tests use an in-memory pipe).
pub struct Socket<S = TokioIo<Upgraded>> {
    ws: WebSocketStream<S>,
    outbox: VecDeque<Outgoing>,
    /// Live events waiting in the outbox (the slow-client rule counts these).
    events_waiting: usize,
    /// Since when frames have waited with none taken by the client; `None` while nothing waits.
    waiting_since: Option<Instant>,
    /// Messages were handed to the library and may not all be on the wire yet.
    unflushed: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Socket<S> {
    pub fn new(ws: WebSocketStream<S>) -> Socket<S> {
        Socket {
            ws,
            outbox: VecDeque::new(),
            events_waiting: 0,
            waiting_since: None,
            unflushed: false,
        }
    }

    /// Queues a commit's live events behind what waits, unless the client is already too slow.
    pub fn queue_events(&mut self, wire: Wire) -> Result<(), TooSlow> {
        if self.events_waiting + wire.frames > OUTBOX || self.is_stuck() {
            return Err(TooSlow);
        }
        self.events_waiting += wire.frames;
        self.push(Outgoing::Wire(wire.bytes, wire.frames));
        Ok(())
    }

    /// Queues a frame the hub sends of itself (a ping, the console's presence), unless the
    /// client is already too slow.
    pub fn queue(&mut self, msg: Message) -> Result<(), TooSlow> {
        if self.outbox.len() >= OUTBOX || self.is_stuck() {
            return Err(TooSlow);
        }
        self.push(Outgoing::Message(msg));
        Ok(())
    }

    /// Queues the answer to a command (or a welcome). Never refused: commands are read only
    /// while the outbox has room (`next`), so answers are bounded by the commands in flight.
    pub fn queue_answer(&mut self, msg: Message) {
        self.push(Outgoing::Message(msg));
    }

    /// Queues frames already encoded that answer the client (its welcome, what it missed):
    /// never refused, and not counted as live events. Written as they are, like live events,
    /// so the library's buffer never grows to a welcome's size for the life of the connection.
    pub fn queue_answer_wire(&mut self, wire: Wire) {
        self.push(Outgoing::Wire(wire.bytes, 0));
    }

    fn push(&mut self, out: Outgoing) {
        if self.waiting_since.is_none() {
            self.waiting_since = Some(Instant::now());
        }
        self.outbox.push_back(out);
    }

    /// Frames have waited `SEND_DEADLINE` without the client taking one.
    pub fn is_stuck(&self) -> bool {
        self.waiting_since
            .is_some_and(|since| since.elapsed() > SEND_DEADLINE)
    }

    /// The client's next message; what waits in the outbox is written meanwhile. A client
    /// that lets `OUTBOX` frames pile up is not read until it takes them (its commands wait),
    /// and nothing is read while wire bytes are half written.
    pub async fn next(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| {
            match self.poll_write(cx) {
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                Poll::Pending
                    if self.outbox.len() >= OUTBOX
                        || matches!(self.outbox.front(), Some(Outgoing::Wire(..))) =>
                {
                    return Poll::Pending;
                }
                _ => {}
            }
            self.ws.poll_next_unpin(cx)
        })
        .await
    }

    /// Writes everything that waits. Unbounded in time: callers give it a deadline.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_write(cx)).await
    }

    /// Queues one frame and writes it with what waits before it: false when the client is gone
    /// or did not take it within `SEND_DEADLINE`. For the few frames of a hello's refusal or a
    /// phone's tracker.
    pub async fn send(&mut self, msg: Message) -> bool {
        self.push(Outgoing::Message(msg));
        matches!(
            tokio::time::timeout(SEND_DEADLINE, self.flush()).await,
            Ok(Ok(()))
        )
    }

    /// Ready when the outbox is empty and on the wire. A message leaves the outbox only once
    /// the library has taken it, and wire bytes as they are written, so a caller that stops
    /// polling halfway loses nothing.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let mut took = false;
        let written = self.poll_write_all(cx, &mut took);
        match written {
            Poll::Ready(Ok(())) => self.waiting_since = None,
            // The client took something: the deadline starts again.
            Poll::Pending if took => self.waiting_since = Some(Instant::now()),
            _ => {}
        }
        written
    }

    fn poll_write_all(&mut self, cx: &mut Context<'_>, took: &mut bool) -> Poll<Result<(), Error>> {
        loop {
            match self.outbox.front_mut() {
                None => break,
                Some(Outgoing::Message(_)) => {
                    ready!(self.ws.poll_ready_unpin(cx))?;
                    if let Some(Outgoing::Message(msg)) = self.outbox.pop_front() {
                        self.ws.start_send_unpin(msg)?;
                        self.unflushed = true;
                        *took = true;
                    }
                }
                Some(Outgoing::Wire(bytes, frames)) => {
                    // What the library holds goes first: frames never interleave. Flushed even
                    // when this socket handed it nothing: the library answers a client's ping
                    // by itself while reading, and that pong may still be in its buffer.
                    ready!(self.ws.poll_flush_unpin(cx))?;
                    self.unflushed = false;
                    let frames = *frames;
                    while !bytes.is_empty() {
                        let stream = Pin::new(self.ws.get_mut());
                        let written = ready!(stream.poll_write(cx, bytes))?;
                        if written == 0 {
                            return Poll::Ready(Err(Error::ConnectionClosed));
                        }
                        // A view: the frames every connection shares are not copied.
                        let _ = bytes.split_to(written);
                        *took = true;
                    }
                    self.outbox.pop_front();
                    self.events_waiting = self.events_waiting.saturating_sub(frames);
                }
            }
        }
        if self.unflushed {
            ready!(self.ws.poll_flush_unpin(cx))?;
            self.unflushed = false;
        }
        Poll::Ready(Ok(()))
    }

    /// Ends the connection in order: what waits goes out, then the close frame; meanwhile what
    /// the client still sends is read and dropped, so the socket is not reset under frames it
    /// has not read yet. Bounded by `grace`: a client that reads nothing is simply dropped.
    pub async fn close(mut self, close: Message, grace: std::time::Duration) {
        self.push(Outgoing::Message(close));
        let _ = tokio::time::timeout(grace, async {
            while let Some(Ok(m)) = self.next().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
            let _ = self.flush().await;
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::Utf8Bytes;
    use tokio_tungstenite::tungstenite::protocol::Role;

    /// A pipe that takes 61 bytes at a time: every write stops halfway through a frame.
    #[tokio::test]
    async fn answers_and_wire_frames_cut_short_at_every_write_arrive_whole_and_in_order() {
        let (hub_end, client_end) = tokio::io::duplex(61);
        let ws = WebSocketStream::from_raw_socket(hub_end, Role::Server, None).await;
        let mut socket = Socket::new(ws);
        let mut client = WebSocketStream::from_raw_socket(client_end, Role::Client, None).await;
        let mut sent = vec![];
        for i in 0..40 {
            let text = format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(i * 7));
            sent.push(text.clone());
            if i % 3 == 0 {
                socket.queue_answer(Message::text(text));
            } else {
                let wire = Wire::encode([&Utf8Bytes::from(text)]);
                socket.queue_events(wire).expect("room");
            }
        }
        let writer = async {
            socket.flush().await.expect("written");
            socket
        };
        let reader = async {
            let mut got = vec![];
            while got.len() < sent.len() {
                match client.next().await {
                    Some(Ok(Message::Text(t))) => got.push(t.to_string()),
                    other => panic!("not a whole text frame: {other:?}"),
                }
            }
            got
        };
        let (_, got) = tokio::join!(writer, reader);
        assert_eq!(got, sent);
    }

    #[test]
    fn a_client_with_too_many_events_waiting_is_too_slow() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let (hub_end, _client_end) = tokio::io::duplex(64);
            let ws = WebSocketStream::from_raw_socket(hub_end, Role::Server, None).await;
            let mut socket = Socket::new(ws);
            let one = Wire::encode([&Utf8Bytes::from("{}")]);
            for _ in 0..OUTBOX {
                socket.queue_events(one.clone()).expect("room");
            }
            assert!(socket.queue_events(one).is_err());
        });
    }
}
