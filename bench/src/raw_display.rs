//! The lean measuring side of the fan-out figure: display connections that cost the machine as
//! little as a WebSocket client can, so that the figure measures the hub.
//!
//! Each display is a plain TCP socket. The handshake is written by hand, and the hub's frames
//! are read raw: a server's frames are unmasked, so a frame is a header and its text, and the
//! called number is found in the text with a substring search — no WebSocket library, no UTF-8
//! check, no JSON parse, no allocation per frame. All displays share one thread; the time a
//! call reached each of them is recorded there, and the thread's CPU time is what the measuring
//! side cost.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use anyhow::Context;
use memchr::memmem;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// A fixed key is fine: the hub only echoes its hash back.
const KEY: &str = "aHViLWJlbmNoLWRpc3BsYXk=";
const OPCODE_TEXT: u8 = 0x1;
const OPCODE_CLOSE: u8 = 0x8;
const OPCODE_PING: u8 = 0x9;
const OPCODE_PONG: u8 = 0xA;

/// One display's socket, after its handshake and hello.
pub struct RawDisplay {
    /// The size of the welcome this display was sent (bytes of JSON).
    pub welcome_bytes: usize,
    stream: TcpStream,
    /// Bytes read and not yet consumed as whole frames.
    pending: Vec<u8>,
}

/// Opens a display connection: the HTTP upgrade, then the hello as one masked text frame.
pub async fn connect(addr: SocketAddr, device: &str) -> anyhow::Result<RawDisplay> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut pending = Vec::with_capacity(4096);
    let head_end = loop {
        if let Some(end) = memmem::find(&pending, b"\r\n\r\n") {
            break end + 4;
        }
        anyhow::ensure!(pending.len() < 8192, "no end to the handshake's answer");
        anyhow::ensure!(
            stream.read_buf(&mut pending).await? > 0,
            "closed during the handshake"
        );
    };
    anyhow::ensure!(
        pending.starts_with(b"HTTP/1.1 101"),
        "upgrade refused: {}",
        String::from_utf8_lossy(&pending[..head_end.min(200)])
    );
    pending.drain(..head_end);
    let hello = serde_json::json!({
        "type": "hello", "protocol": 1, "role": "display", "device": device,
        "token": "bench-token", "light": true,
    })
    .to_string();
    stream
        .write_all(&client_frame(OPCODE_TEXT, hello.as_bytes()))
        .await?;
    // Its welcome is read here, so the figure counts only the live frames.
    loop {
        if let Some((first, payload)) = whole_frame(&pending) {
            let welcome = first & 0x0F == OPCODE_TEXT
                && memmem::find(&pending[payload.clone()], b"\"type\":\"welcome\"").is_some();
            anyhow::ensure!(first & 0x0F != OPCODE_CLOSE, "closed before its welcome");
            pending.drain(..payload.end);
            if welcome {
                return Ok(RawDisplay {
                    welcome_bytes: payload.len(),
                    stream,
                    pending,
                });
            }
            continue;
        }
        pending.reserve(4096);
        anyhow::ensure!(
            stream.read_buf(&mut pending).await? > 0,
            "closed before its welcome"
        );
    }
}

/// A client's frame: masked, as RFC 6455 requires of clients. The mask is zero, so the payload
/// is written as it is (the server cannot tell, and unmasks to the same bytes).
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x80 | opcode);
    match payload.len() {
        n @ 0..=125 => frame.push(0x80 | n as u8),
        n @ 126..=65535 => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

/// A whole server frame at the front of `bytes`: its first byte, and where its payload lies.
fn whole_frame(bytes: &[u8]) -> Option<(u8, std::ops::Range<usize>)> {
    let (&first, rest) = bytes.split_first()?;
    let (&second, rest) = rest.split_first()?;
    let (len, header) = match second & 0x7F {
        126 => (
            u16::from_be_bytes(rest.get(..2)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            usize::try_from(u64::from_be_bytes(rest.get(..8)?.try_into().ok()?)).ok()?,
            10,
        ),
        n => (n as usize, 2),
    };
    (bytes.len() >= header + len).then_some((first, header..header + len))
}

/// When each call (and each start of service) reached each display, gathered on the displays'
/// thread; an event's times go to the bench once every display has it.
pub struct Arrivals {
    displays: usize,
    /// By kind, then ticket number: when each display had it.
    by_kind: [HashMap<Vec<u8>, Vec<Instant>>; 2],
    complete: mpsc::UnboundedSender<(String, Vec<Instant>)>,
    /// Frames read by all displays (to put the measuring side's CPU time per frame).
    pub frames: u64,
}

impl Arrivals {
    pub fn new(
        displays: usize,
        complete: mpsc::UnboundedSender<(String, Vec<Instant>)>,
    ) -> Rc<RefCell<Arrivals>> {
        Rc::new(RefCell::new(Arrivals {
            displays,
            by_kind: [HashMap::new(), HashMap::new()],
            complete,
            frames: 0,
        }))
    }

    /// A ticket event (`kind`: "called" or "serving") reached one display.
    fn arrived(&mut self, kind: Kind, number: &[u8], at: Instant) {
        let by_number = &mut self.by_kind[kind as usize];
        let times = match by_number.get_mut(number) {
            Some(t) => t,
            None => by_number
                .entry(number.to_vec())
                .or_insert_with(|| Vec::with_capacity(self.displays)),
        };
        times.push(at);
        if times.len() == self.displays
            && let Some((number, times)) = by_number.remove_entry(number)
        {
            let key = format!("{}:{}", kind.name(), String::from_utf8_lossy(&number));
            let _ = self.complete.send((key, times));
        }
    }
}

/// The ticket events the bench times.
#[derive(Clone, Copy)]
enum Kind {
    Called = 0,
    Serving = 1,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Called => "called",
            Kind::Serving => "serving",
        }
    }
}

/// Reads one display's frames until the hub closes it, recording every call it receives.
pub async fn watch(mut display: RawDisplay, arrivals: Rc<RefCell<Arrivals>>) -> anyhow::Result<()> {
    let kinds = [
        (
            memmem::Finder::new(b"\"kind\":\"ticket_called\""),
            Kind::Called,
        ),
        (
            memmem::Finder::new(b"\"kind\":\"ticket_serving\""),
            Kind::Serving,
        ),
    ];
    let ticket = memmem::Finder::new(b"\"ticket\":{");
    let number = memmem::Finder::new(b"\"number\":\"");
    loop {
        let mut consumed = 0;
        let at = Instant::now();
        while let Some((first, payload)) = whole_frame(&display.pending[consumed..]) {
            let text = &display.pending[consumed + payload.start..consumed + payload.end];
            let end = consumed + payload.end;
            match first & 0x0F {
                OPCODE_TEXT => {
                    if let Some((_, kind)) = kinds.iter().find(|(k, _)| k.find(text).is_some()) {
                        // The first "number" after "ticket": is the ticket's.
                        let ticket_number = ticket
                            .find(text)
                            .and_then(|t| number.find(&text[t..]).map(|n| t + n + 10))
                            .and_then(|start| {
                                let len = memchr::memchr(b'"', &text[start..])?;
                                Some(&text[start..start + len])
                            })
                            .context("a ticket event without a number")?;
                        arrivals.borrow_mut().arrived(*kind, ticket_number, at);
                    }
                }
                OPCODE_PING => {
                    let pong = client_frame(OPCODE_PONG, text);
                    display.stream.write_all(&pong).await?;
                }
                OPCODE_CLOSE => return Ok(()),
                _ => {}
            }
            arrivals.borrow_mut().frames += 1;
            consumed = end;
        }
        display.pending.drain(..consumed);
        display.pending.reserve(4096);
        if display.stream.read_buf(&mut display.pending).await? == 0 {
            return Ok(());
        }
    }
}

/// This thread's CPU time (user and system), in milliseconds.
pub fn thread_cpu_ms() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_found_whole_or_not_at_all() {
        let short = [0x81, 3, b'a', b'b', b'c', 0x89];
        assert_eq!(whole_frame(&short), Some((0x81, 2..5)));
        assert_eq!(whole_frame(&short[..4]), None);
        let mut long = vec![0x81, 126, 0x01, 0x00];
        long.extend(std::iter::repeat_n(b'x', 256));
        assert_eq!(whole_frame(&long), Some((0x81, 4..260)));
        assert_eq!(whole_frame(&long[..259]), None);
    }

    #[test]
    fn client_frames_are_masked_with_their_length() {
        let f = client_frame(OPCODE_PONG, b"hi");
        assert_eq!(f, vec![0x8A, 0x82, 0, 0, 0, 0, b'h', b'i']);
        let f = client_frame(OPCODE_TEXT, &[b'x'; 300]);
        assert_eq!(&f[..4], &[0x81, 0x80 | 126, 0x01, 0x2C]);
        assert_eq!(f.len(), 4 + 4 + 300);
    }
}
