//! The standby's side: the socket its engine follows the primary on (the engine reads,
//! applies, commits and acknowledges on its own thread: `hub_engine::pair::link`), blocking
//! and owned by that thread, over TCP or TLS. And, on a primary, asking the other hub now and
//! then what it is: a hub of a higher term means this one was replaced.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

use hub_client::client::{HubAddress, websocket_limits};
use hub_engine::Request;
use hub_engine::pair::link::{Dial, Down, Heard, Link};
use hub_engine::pair::messages::{self, FromPrimary, FromStandby};
use hub_engine::pair::{Mode, Pair};

/// How long connecting to the other hub may take, and writing to it.
const CONNECT: Duration = Duration::from_secs(5);
/// How often a primary asks its peer what it is.
const ASK_EVERY: Duration = Duration::from_secs(5);

/// Dials the primary named by the pair's configuration.
pub struct Dialer {
    pair: Arc<Pair>,
}

impl Dialer {
    pub fn new(pair: Arc<Pair>) -> Dialer {
        Dialer { pair }
    }
}

impl Dial for Dialer {
    fn dial(&mut self) -> Result<Box<dyn Link>, Down> {
        let url = self.pair.peer_url();
        open(&url, self.pair.tls.clone())
            .map(|link| Box::new(link) as Box<dyn Link>)
            .map_err(|e| Down::passing(format!("cannot reach the primary at {url}: {e}")))
    }
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// A blocking WebSocket to the primary; `tcp` is the same socket, for its read timeout.
struct SocketLink {
    ws: WebSocket<Box<dyn Stream>>,
    tcp: TcpStream,
    wait: Option<Duration>,
}

fn open(url: &str, tls: Option<Arc<rustls::ClientConfig>>) -> Result<SocketLink, String> {
    let address = HubAddress::parse(url)?;
    let places = (address.host.as_str(), address.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot find {}: {e}", address.host))?;
    let mut last = format!("no address for {}", address.host);
    let mut tcp = None;
    for place in places {
        match TcpStream::connect_timeout(&place, CONNECT) {
            Ok(t) => {
                tcp = Some(t);
                break;
            }
            Err(e) => last = format!("cannot connect: {e}"),
        }
    }
    let tcp = tcp.ok_or(last)?;
    // Small messages both ways, each awaited by the other side: send each at once.
    let _ = tcp.set_nodelay(true);
    let timeouts = tcp
        .set_read_timeout(Some(CONNECT))
        .and_then(|()| tcp.set_write_timeout(Some(CONNECT)));
    timeouts.map_err(|e| format!("cannot set the socket's timeouts: {e}"))?;
    let same = tcp
        .try_clone()
        .map_err(|e| format!("cannot hold the socket: {e}"))?;
    let stream: Box<dyn Stream> = match address.tls_name(tls)? {
        Some((tls, name)) => {
            let connection =
                rustls::ClientConnection::new(tls, name).map_err(|e| format!("TLS: {e}"))?;
            Box::new(rustls::StreamOwned::new(connection, tcp))
        }
        None => Box::new(tcp),
    };
    let (ws, _) =
        tungstenite::client::client_with_config(address.request, stream, Some(websocket_limits()))
            .map_err(|e| format!("cannot open the WebSocket: {e}"))?;
    Ok(SocketLink {
        ws,
        tcp: same,
        wait: Some(CONNECT),
    })
}

impl Link for SocketLink {
    fn next(&mut self, wait: Duration) -> Result<Heard, Down> {
        if self.wait != Some(wait) {
            self.tcp
                .set_read_timeout(Some(wait))
                .map_err(|e| Down::passing(format!("cannot wait on the link: {e}")))?;
            self.wait = Some(wait);
        }
        let text = match self.ws.read() {
            Ok(Message::Text(t)) => t,
            Ok(Message::Ping(_)) => {
                // The pong is queued by the read; sent now, not with the next acknowledgement.
                return self
                    .ws
                    .flush()
                    .map(|()| Heard::Alive)
                    .map_err(|e| Down::passing(format!("link error: {e}")));
            }
            Ok(Message::Close(_)) => return Err(Down::passing("the primary closed the link")),
            Ok(_) => return Ok(Heard::Alive),
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(Heard::Nothing);
            }
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                return Err(Down::passing("the primary closed the link"));
            }
            Err(e) => return Err(Down::passing(format!("link error: {e}"))),
        };
        serde_json::from_str::<FromPrimary>(text.as_str())
            .map(Heard::Message)
            .map_err(|e| Down::passing(format!("unreadable message from the primary: {e}")))
    }

    fn send(&mut self, message: &FromStandby) -> Result<(), Down> {
        self.ws
            .send(Message::text(messages::text(message)))
            .map_err(|e| Down::passing(format!("cannot write to the primary: {e}")))
    }

    fn close(&mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}

/// What the other hub says it is (`ask`), within `CONNECT`.
pub async fn ask(pair: &Pair) -> Result<(Mode, u64, u64), String> {
    let url = pair.peer_url();
    let asked = async {
        let mut ws = hub_client::client::open_websocket(&url, pair.tls.clone()).await?;
        let ask = FromStandby::Ask {
            token: pair.token.clone(),
        };
        ws.send(Message::text(messages::text(&ask)))
            .await
            .map_err(|e| e.to_string())?;
        while let Some(m) = ws.next().await {
            if let Ok(Message::Text(t)) = m {
                return match serde_json::from_str::<FromPrimary>(t.as_str()) {
                    Ok(FromPrimary::Standing { mode, term, seq }) => Ok((mode, term, seq)),
                    Ok(FromPrimary::Refused { message, .. }) => Err(message),
                    _ => Err("an unexpected answer".to_string()),
                };
            }
        }
        Err("no answer".to_string())
    };
    match tokio::time::timeout(CONNECT, asked).await {
        Ok(r) => r,
        Err(_) => Err(format!("{url} does not answer")),
    }
}

/// `hub promote`: asks the standby at `url` (this machine's hub) to become the primary.
/// Returns its new term and last event, or why it refused.
pub async fn request_promotion(
    url: &str,
    token: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
    force: bool,
) -> Result<(u64, u64), String> {
    let mut ws = tokio::time::timeout(CONNECT, hub_client::client::open_websocket(url, tls))
        .await
        .map_err(|_| format!("{url} does not answer"))??;
    let promote = FromStandby::Promote {
        token: token.to_string(),
        force,
    };
    ws.send(Message::text(messages::text(&promote)))
        .await
        .map_err(|e| e.to_string())?;
    while let Some(m) = ws.next().await {
        if let Ok(Message::Text(t)) = m {
            return match serde_json::from_str::<FromPrimary>(t.as_str()) {
                Ok(FromPrimary::Promoted { term, seq }) => Ok((term, seq)),
                Ok(FromPrimary::Refused { message, .. }) => Err(message),
                _ => Err("an unexpected answer".to_string()),
            };
        }
    }
    Err("the hub closed the link without an answer".to_string())
}

/// On a primary: asks the other hub what it is every few seconds; a primary of a higher term
/// there deposes this one.
pub async fn watch_peer(
    pair: Arc<Pair>,
    requests: mpsc::Sender<Request>,
    mut shutdown: watch::Receiver<bool>,
) {
    // The start already asked once (`Hub::start_with`), before serving.
    loop {
        tokio::select! {
            _ = tokio::time::sleep(ASK_EVERY) => {}
            _ = shutdown.changed() => return,
        }
        if pair.standing().mode == Mode::Primary {
            check_peer(&pair, &requests).await;
        }
    }
}

/// Asks the other hub once; deposes this one if it is a primary of a higher term.
pub async fn check_peer(pair: &Pair, requests: &mpsc::Sender<Request>) {
    let Ok((mode, term, _)) = ask(pair).await else {
        return;
    };
    let ours = pair.standing();
    if mode == Mode::Primary && term > ours.term {
        depose(requests, term, &pair.config.peer).await;
    }
    let both = mode == Mode::Primary && term == ours.term && ours.mode == Mode::Primary;
    if both {
        tracing::error!(
            peer = %pair.config.peer,
            term,
            "TWO PRIMARIES: the other hub issues numbers too, in the same term; make one of them \
             the standby (hub standby --resync) before it gives a number twice"
        );
    }
    pair.set_two_primaries(both);
}

/// Tells the engine a hub of `term` serves (learnt from `by`), and waits until it is recorded.
pub async fn depose(requests: &mpsc::Sender<Request>, term: u64, by: &str) {
    let (respond, done) = oneshot::channel();
    let _ = requests
        .send(Request::Depose {
            term,
            by: by.to_string(),
            respond,
        })
        .await;
    let _ = done.await;
}
