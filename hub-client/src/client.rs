//! The reconnecting hub client every app shares.
//!
//! One background task owns the WebSocket. It says `hello` (with `resume_from` once it has seen
//! events), passes the welcome and every event to the app in order, reconnects with backoff when
//! the link drops or a `seq` gap shows, and resends unanswered commands with their original ids so
//! the hub's idempotency turns a retry into "the same reply again".
//!
//! A command sent with [`HubClient::send_within`] has a deadline: past it the client gives up
//! (answers [`CommandError::Expired`] and never sends it again), and the hub refuses it too if a
//! copy reaches it late — the message carries `expires_at` on the hub's clock, learned from the
//! welcome's `now`.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, timeout};

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use protocol::{
    ClientMessage, Command, CommandMessage, ErrorBody, ErrorCode, EventFrame, Hello,
    PROTOCOL_VERSION, ReplyResult, Role, ServerMessage, Snapshot,
};

/// How to reach and identify to the hub.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `ws://host:port/ws`; or several, separated by commas (a centre's primary hub and its
    /// standby): the client uses whichever serves, and moves when that changes.
    pub url: String,
    pub role: Role,
    pub device: String,
    pub token: String,
    /// First retry delay; doubles up to `backoff_max`, with jitter so a room of kiosks does not
    /// reconnect in lockstep after a hub restart.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// A link that has said nothing for this long is considered dead (the hub pings every 15 s).
    pub idle_timeout: Duration,
    /// Ask for snapshots without the `waiting` list (boards and kiosks show counts only).
    pub light: bool,
    /// For `wss://`: whom to trust (see `tls`). A `wss://` URL without it cannot connect.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl ClientConfig {
    pub fn new(
        url: impl Into<String>,
        role: Role,
        device: impl Into<String>,
        token: impl Into<String>,
    ) -> Self {
        ClientConfig {
            url: url.into(),
            role,
            device: device.into(),
            token: token.into(),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(40),
            light: false,
            tls: None,
        }
    }
}

/// A byte stream to the hub: plain TCP, or TLS over it.
pub trait AsyncStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncStream for T {}

/// The largest message taken from the hub.
const MAX_MESSAGE: usize = 64 << 20;

/// How long a client that knows two hubs calls an outage a switch from one to the other.
pub const SWITCHING_FOR: Duration = Duration::from_secs(15);

/// The hub addresses a `url` lists (comma-separated), in order.
pub fn addresses(url: &str) -> Vec<String> {
    let listed: Vec<String> = url
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    if listed.is_empty() {
        vec![url.to_string()]
    } else {
        listed
    }
}

/// Opens the WebSocket of `url` (`ws://` or `wss://`), trusting what `tls` says for `wss://`.
pub async fn open_websocket(
    url: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<WebSocketStream<Box<dyn AsyncStream>>, String> {
    let address = HubAddress::parse(url)?;
    let tcp = TcpStream::connect((address.host.as_str(), address.port))
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    // Small JSON frames both ways: send each at once.
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn AsyncStream> = match address.tls_name(tls)? {
        Some((tls, name)) => {
            let stream = tokio_rustls::TlsConnector::from(tls)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            Box::new(stream)
        }
        None => Box::new(tcp),
    };
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(address.request, io, Some(websocket_limits()))
            .await
            .map_err(|e| format!("cannot open the WebSocket: {e}"))?;
    Ok(ws)
}

/// A frame as large as a message may be: a snapshot of a busy day, or a standby's catch-up,
/// comes as one frame of several megabytes.
pub fn websocket_limits() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE))
}

/// A hub's `ws://` or `wss://` address, read: where to connect and what to ask there.
pub struct HubAddress {
    pub request: tokio_tungstenite::tungstenite::handshake::client::Request,
    pub secure: bool,
    pub host: String,
    pub port: u16,
}

impl HubAddress {
    pub fn parse(url: &str) -> Result<HubAddress, String> {
        let request = url
            .into_client_request()
            .map_err(|e| format!("bad hub address {url:?}: {e}"))?;
        let secure = request.uri().scheme_str() == Some("wss");
        let host = request
            .uri()
            .host()
            .ok_or_else(|| format!("no host in {url:?}"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = request
            .uri()
            .port_u16()
            .unwrap_or(if secure { 443 } else { 80 });
        Ok(HubAddress {
            request,
            secure,
            host,
            port,
        })
    }

    /// For `wss://`: the TLS configuration and the name the hub's certificate must carry.
    pub fn tls_name(
        &self,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>, String> {
        if !self.secure {
            return Ok(None);
        }
        let tls =
            tls.ok_or("wss:// needs the hub's CA (--tls-ca) or certificate pin (--tls-pin)")?;
        let name = ServerName::try_from(self.host.clone())
            .map_err(|e| format!("{:?} is not a name TLS can check: {e}", self.host))?;
        Ok(Some((tls, name)))
    }
}

/// What the client tells the app, in order.
#[derive(Debug, Clone)]
pub enum Update {
    /// Connected with a full state: replace everything you show with it.
    Snapshot { seq: u64, snapshot: Box<Snapshot> },
    /// Connected again and the hub is replaying what was missed: keep your state, events follow.
    /// Events up to `head` are catch-up, not news.
    Resumed { seq: u64, head: u64 },
    /// The next event, `seq` exactly one more than the previous one.
    Event(Box<EventFrame>),
    /// The link is down; the client keeps retrying. Show "offline" and keep the last state.
    /// `switching`: the client knows another hub and lost this one less than
    /// [`SWITCHING_FOR`] ago — a takeover, most likely: show «Đang chuyển máy chủ…» rather than
    /// "offline", and let presses wait (they are sent on reconnect, with the same ids). Said
    /// again with `switching: false` if the outage outlasts it.
    Offline { reason: String, switching: bool },
    /// The hub refused this device (bad token or role). Retried slowly in case the hub's
    /// configuration is being fixed.
    Refused { error: ErrorBody },
}

/// Why a command did not succeed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    /// The hub answered `ok: false`.
    #[error("{}: {}", .0.code_str(), .0.message)]
    Rejected(ErrorBody),
    /// The client task has ended (the app is shutting down).
    #[error("the hub client has stopped")]
    Stopped,
    /// No answer came within the command's deadline; it was abandoned and will have no effect.
    #[error("no answer from the hub in time; nothing was done")]
    Expired,
}

impl CommandError {
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            CommandError::Rejected(e) => Some(e.code),
            CommandError::Expired => Some(ErrorCode::Expired),
            CommandError::Stopped => None,
        }
    }
}

type Respond = oneshot::Sender<Result<ReplyResult, CommandError>>;

struct Request {
    message: CommandMessage,
    deadline: Option<Instant>,
    respond: Respond,
}

/// Handle to the client task. Cheap to clone; the task ends when every handle is dropped.
#[derive(Clone)]
pub struct HubClient {
    requests: mpsc::UnboundedSender<Request>,
    device: String,
}

impl HubClient {
    /// Starts the client task. Updates arrive on the returned receiver.
    pub fn connect(config: ClientConfig) -> (HubClient, mpsc::UnboundedReceiver<Update>) {
        let (req_tx, req_rx) = mpsc::unbounded_channel();
        let (upd_tx, upd_rx) = mpsc::unbounded_channel();
        let device = config.device.clone();
        tokio::spawn(run(config, req_rx, upd_tx));
        (
            HubClient {
                requests: req_tx,
                device,
            },
            upd_rx,
        )
    }

    /// A fresh idempotency id: `device:random`. Keep it to retry the same action.
    pub fn new_command_id(&self) -> String {
        format!("{}:{:016x}", self.device, rand::random::<u64>())
    }

    /// Sends a command with a fresh id and waits for the hub's reply, across reconnects.
    pub async fn send(&self, command: Command) -> Result<ReplyResult, CommandError> {
        let id = self.new_command_id();
        self.send_with_id(id, command).await
    }

    /// Sends a command with the given id. Sending the same id again (say, after the app was
    /// restarted) gets the hub's first reply again and has no second effect.
    pub async fn send_with_id(
        &self,
        id: String,
        command: Command,
    ) -> Result<ReplyResult, CommandError> {
        self.request(id, command, None).await
    }

    /// Sends a command that is worth nothing after `within` (a kiosk press: the citizen has
    /// gone). Without an answer by then it is abandoned — `Err(Expired)` — and has no effect,
    /// even if a copy reaches the hub later.
    pub async fn send_within(
        &self,
        command: Command,
        within: Duration,
    ) -> Result<ReplyResult, CommandError> {
        let id = self.new_command_id();
        self.request(id, command, Some(Instant::now() + within))
            .await
    }

    async fn request(
        &self,
        id: String,
        command: Command,
        deadline: Option<Instant>,
    ) -> Result<ReplyResult, CommandError> {
        let ClientMessage::Cmd(message) = command.to_message(id) else {
            return Err(CommandError::Stopped);
        };
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(Request {
                message,
                deadline,
                respond: tx,
            })
            .map_err(|_| CommandError::Stopped)?;
        rx.await.map_err(|_| CommandError::Stopped)?
    }
}

/// Commands sent (or to send) and not yet answered, by id.
type Pending = HashMap<String, Unanswered>;

struct Unanswered {
    message: CommandMessage,
    deadline: Option<Instant>,
    waiters: Vec<Respond>,
    /// Sent again once after an `expired` refusal with the hub's clock corrected.
    corrected: bool,
}

/// The hub's clock minus this machine's, from the last welcome (`None`: an older hub).
type HubOffset = Option<chrono::TimeDelta>;

/// The text of a command as sent now: with its deadline on the hub's clock when both are known.
fn wire_text(u: &Unanswered, offset: HubOffset) -> Option<String> {
    let mut message = u.message.clone();
    if let (Some(deadline), Some(offset)) = (u.deadline, offset) {
        let left = deadline.saturating_duration_since(Instant::now());
        let left = chrono::TimeDelta::from_std(left).unwrap_or_default();
        message.expires_at = Some(chrono::Utc::now() + offset + left);
    }
    serde_json::to_string(&ClientMessage::Cmd(message)).ok()
}

/// Answers and forgets every command whose deadline has passed.
fn expire_due(pending: &mut Pending) {
    let now = Instant::now();
    pending.retain(|_, u| {
        let due = u.deadline.is_some_and(|d| d <= now);
        if due {
            for w in u.waiters.drain(..) {
                let _ = w.send(Err(CommandError::Expired));
            }
        }
        !due
    });
}

/// Completes at the earliest deadline among the pending commands (never, when none has one).
async fn next_expiry(pending: &Pending) {
    match pending.values().filter_map(|u| u.deadline).min() {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

enum LinkEnd {
    /// The app dropped every handle: stop.
    Stop,
    /// Reconnect after the given reason.
    Retry(String),
    Refused(ErrorBody),
    /// This address is a standby (or a replaced hub): try the next one soon.
    NotPrimary(String),
}

async fn run(
    config: ClientConfig,
    mut requests: mpsc::UnboundedReceiver<Request>,
    updates: mpsc::UnboundedSender<Update>,
) {
    let addresses = addresses(&config.url);
    let mut at = 0;
    let mut session = Session::default();
    let mut backoff = config.backoff_min;
    // "Offline" is said once per outage, not once per failed attempt (with two hubs: first as
    // a switch, then, after `SWITCHING_FOR`, as offline).
    let mut offline_told = false;
    let mut switching_until: Option<Instant> = None;
    loop {
        let mut welcomed = false;
        let end = link(
            &config,
            &addresses[at],
            &mut requests,
            &updates,
            &mut session,
            &mut welcomed,
        )
        .await;
        if welcomed {
            offline_told = false;
            switching_until = None;
            backoff = config.backoff_min;
        }
        if !matches!(end, LinkEnd::Stop) {
            // A failed or lost link tries the next address: the hub it used may have died and
            // its standby taken over.
            at = (at + 1) % addresses.len();
        }
        match end {
            LinkEnd::Stop => return,
            LinkEnd::NotPrimary(reason) | LinkEnd::Retry(reason) => {
                if !offline_told {
                    tracing::warn!(device = %config.device, %reason, "hub link down, or not the primary; trying the next address");
                    let switching = addresses.len() > 1;
                    if switching {
                        switching_until = Some(Instant::now() + SWITCHING_FOR);
                        // The other hub at once: it may be the one that took over.
                        backoff = Duration::ZERO;
                    }
                    if updates.send(Update::Offline { reason, switching }).is_err() {
                        return;
                    }
                    offline_told = true;
                }
            }
            LinkEnd::Refused(error) => {
                tracing::error!(device = %config.device, message = %error.message, "hub refused this device");
                if updates.send(Update::Refused { error }).is_err() {
                    return;
                }
                offline_told = true;
                backoff = config.backoff_max;
            }
        }
        // Wait out the backoff while still accepting commands (they are sent on reconnect).
        let spread = backoff.as_millis() as u64 / 2 + 1;
        let wake = Instant::now() + backoff + Duration::from_millis(rand::random::<u64>() % spread);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => break,
                _ = async { tokio::time::sleep_until(switching_until.unwrap_or(wake)).await }, if switching_until.is_some() => {
                    switching_until = None;
                    let reason = "the other hub has not answered either".to_string();
                    if updates.send(Update::Offline { reason, switching: false }).is_err() {
                        return;
                    }
                }
                _ = next_expiry(&session.pending) => expire_due(&mut session.pending),
                req = requests.recv() => match req {
                    Some(r) => { add_pending(&mut session.pending, r); }
                    None => return,
                },
            }
        }
        backoff = (backoff * 2).clamp(config.backoff_min, config.backoff_max);
    }
}

/// Adds a request; returns whether its id is new (so it must be sent).
fn add_pending(pending: &mut Pending, r: Request) -> bool {
    let id = r.message.id.clone();
    let fresh = !pending.contains_key(&id);
    pending
        .entry(id)
        .or_insert_with(|| Unanswered {
            message: r.message,
            deadline: r.deadline,
            waiters: Vec::new(),
            corrected: false,
        })
        .waiters
        .push(r.respond);
    fresh
}

/// What outlives one link: where the client is in the event stream, what it still has to
/// hear an answer to, the hub's clock, and the highest hub term it has seen with its proof
/// (learnt from welcomes, said in hello).
#[derive(Default)]
struct Session {
    last_seq: Option<u64>,
    pending: Pending,
    offset: HubOffset,
    /// With its proof, as the welcome said them.
    term: Option<(u64, String)>,
}

async fn link(
    config: &ClientConfig,
    url: &str,
    requests: &mut mpsc::UnboundedReceiver<Request>,
    updates: &mpsc::UnboundedSender<Update>,
    session: &mut Session,
    welcomed: &mut bool,
) -> LinkEnd {
    let ws = match greet(config, url, session).await {
        Ok(ws) => ws,
        Err(end) => return end,
    };
    let mut link = Link {
        ws,
        updates,
        session,
        welcomed,
    };
    match link.serve(config, requests).await {
        Ok(never) => match never {},
        Err(end) => end,
    }
}

type HubSocket = WebSocketStream<Box<dyn AsyncStream>>;

/// Opens the WebSocket and says hello: where the client is in the stream, and the highest
/// term it has seen.
async fn greet(config: &ClientConfig, url: &str, session: &Session) -> Result<HubSocket, LinkEnd> {
    let mut ws = match timeout(
        Duration::from_secs(5),
        open_websocket(url, config.tls.clone()),
    )
    .await
    {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => return Err(LinkEnd::Retry(e)),
        Err(_) => return Err(LinkEnd::Retry("connection timed out".into())),
    };
    let term = &session.term;
    let hello = ClientMessage::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        role: config.role,
        device: config.device.clone(),
        token: config.token.clone(),
        resume_from: session.last_seq,
        light: config.light,
        term: term.as_ref().map(|(t, _)| *t),
        term_proof: term.as_ref().map(|(_, proof)| proof.clone()),
    });
    let Ok(hello) = serde_json::to_string(&hello) else {
        return Err(LinkEnd::Stop);
    };
    if let Err(e) = ws.send(Message::text(hello)).await {
        return Err(LinkEnd::Retry(format!("cannot say hello: {e}")));
    }
    Ok(ws)
}

/// One connection to a hub, after hello: what it reads and writes until it ends. Every step
/// returns `Err(LinkEnd)` when the link is over.
struct Link<'a> {
    ws: HubSocket,
    updates: &'a mpsc::UnboundedSender<Update>,
    session: &'a mut Session,
    welcomed: &'a mut bool,
}

/// A link's step went well and the link goes on; `Err` says how it ended.
type Step = Result<(), LinkEnd>;

impl Link<'_> {
    async fn serve(
        &mut self,
        config: &ClientConfig,
        requests: &mut mpsc::UnboundedReceiver<Request>,
    ) -> Result<std::convert::Infallible, LinkEnd> {
        let mut last_heard = Instant::now();
        let mut ping = tokio::time::interval(Duration::from_secs(10));
        loop {
            let idle_deadline = last_heard + config.idle_timeout;
            tokio::select! {
                req = requests.recv() => self.request(req).await?,
                _ = next_expiry(&self.session.pending) => expire_due(&mut self.session.pending),
                _ = ping.tick() => {
                    if self.ws.send(Message::Ping(Default::default())).await.is_err() {
                        return Err(LinkEnd::Retry("ping failed".into()));
                    }
                }
                _ = tokio::time::sleep_until(idle_deadline) => {
                    return Err(LinkEnd::Retry("the hub stopped answering".into()));
                }
                msg = self.ws.next() => {
                    last_heard = Instant::now();
                    if let Some(msg) = read(msg)? {
                        self.message(msg).await?;
                    }
                }
            }
        }
    }

    /// A command from the app: remembered, and sent now if the hub has welcomed us.
    async fn request(&mut self, req: Option<Request>) -> Step {
        let Some(req) = req else {
            return Err(LinkEnd::Stop);
        };
        let id = req.message.id.clone();
        let pending = &mut self.session.pending;
        let fresh = add_pending(pending, req);
        let text = pending
            .get(&id)
            .and_then(|u| wire_text(u, self.session.offset));
        if *self.welcomed
            && fresh
            && let Some(text) = text
        {
            self.send(text).await?;
        }
        Ok(())
    }

    async fn send(&mut self, text: String) -> Step {
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|_| LinkEnd::Retry("send failed".into()))
    }

    fn tell(&self, update: Update) -> Step {
        self.updates.send(update).map_err(|_| LinkEnd::Stop)
    }

    async fn message(&mut self, msg: ServerMessage) -> Step {
        match msg {
            ServerMessage::Welcome(w) => self.welcome(w).await,
            ServerMessage::Event(frame) => self.event(frame),
            ServerMessage::Reply(reply) => self.reply(reply).await,
            // Only trackers receive these; this client is not one.
            ServerMessage::Ticket(_) | ServerMessage::Presence(_) => Ok(()),
            ServerMessage::Error(error) => {
                if !*self.welcomed && error.code == ErrorCode::NotPrimary {
                    return Err(LinkEnd::NotPrimary(error.message));
                }
                if !*self.welcomed
                    && matches!(
                        error.code,
                        ErrorCode::Unauthorized | ErrorCode::Forbidden | ErrorCode::BadRequest
                    )
                {
                    return Err(LinkEnd::Refused(error));
                }
                tracing::warn!(code = %error.code_str(), message = %error.message, "hub error");
                Ok(())
            }
        }
    }

    /// The hub's welcome: the term and clock learnt, the snapshot or the resumption handed on,
    /// and every unanswered command sent again (what expired meanwhile is answered, not sent).
    async fn welcome(&mut self, w: protocol::Welcome) -> Step {
        *self.welcomed = true;
        let session = &mut *self.session;
        if let (Some(t), Some(proof)) = (w.term, w.term_proof)
            && session.term.as_ref().is_none_or(|(seen, _)| t > *seen)
        {
            session.term = Some((t, proof));
        }
        session.offset = w.now.map(|hub_now| hub_now - chrono::Utc::now());
        session.last_seq = Some(w.seq);
        match w.snapshot {
            Some(snapshot) => self.tell(Update::Snapshot {
                seq: w.seq,
                snapshot,
            })?,
            None => {
                let head = w.head.unwrap_or(w.seq);
                self.tell(Update::Resumed { seq: w.seq, head })?;
            }
        }
        expire_due(&mut self.session.pending);
        let offset = self.session.offset;
        let resend: Vec<String> = self
            .session
            .pending
            .values()
            .filter_map(|u| wire_text(u, offset))
            .collect();
        for text in resend {
            self.send(text).await?;
        }
        Ok(())
    }

    /// An event: applied once and in order; a gap means reconnecting to resume.
    fn event(&mut self, frame: Box<protocol::EventFrame>) -> Step {
        let expected = self.session.last_seq.map(|s| s + 1);
        match expected {
            Some(e) if frame.seq < e => return Ok(()), // already applied
            Some(e) if frame.seq > e => {
                return Err(LinkEnd::Retry(format!("missed events {e}..{}", frame.seq)));
            }
            _ => {}
        }
        self.session.last_seq = Some(frame.seq);
        self.tell(Update::Event(frame))
    }

    /// A command's answer, handed to whoever waits for it.
    async fn reply(&mut self, reply: protocol::Reply) -> Step {
        // Refused as expired by a hub whose clock differs from what the welcome said (one of
        // the clocks was set since): correct it and, while the command's own time has not run
        // out, send it again.
        if let Some(hub_now) = reply.now {
            self.session.offset = Some(hub_now - chrono::Utc::now());
            let offset = self.session.offset;
            let retry = self
                .session
                .pending
                .get_mut(&reply.id)
                .filter(|u| !u.corrected && u.deadline.is_some_and(|d| d > Instant::now()));
            if let Some(u) = retry
                && let Some(text) = wire_text(u, offset)
            {
                u.corrected = true;
                return self.send(text).await;
            }
        }
        if let Some(Unanswered { waiters, .. }) = self.session.pending.remove(&reply.id) {
            let outcome = if reply.ok {
                Ok(reply.result.unwrap_or(ReplyResult::Nothing {}))
            } else {
                Err(CommandError::Rejected(reply.error.unwrap_or(ErrorBody {
                    code: ErrorCode::Unknown,
                    message: "the hub gave no reason".into(),
                })))
            };
            for w in waiters {
                let _ = w.send(outcome.clone());
            }
        }
        Ok(())
    }
}

/// What the hub sent, as a message to act on (`None`: nothing to act on — a ping, a pong, an
/// unreadable text, which is logged).
fn read(
    msg: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
) -> Result<Option<ServerMessage>, LinkEnd> {
    let text = match msg {
        None => return Err(LinkEnd::Retry("connection closed".into())),
        Some(Err(e)) => return Err(LinkEnd::Retry(format!("connection error: {e}"))),
        Some(Ok(Message::Text(t))) => t,
        Some(Ok(Message::Close(frame))) => {
            let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
            return Err(LinkEnd::Retry(format!("closed by hub: {reason}")));
        }
        Some(Ok(_)) => return Ok(None),
    };
    match serde_json::from_str::<ServerMessage>(text.as_str()) {
        Ok(msg) => Ok(Some(msg)),
        Err(_) => {
            tracing::warn!("unreadable message from hub ignored");
            Ok(None)
        }
    }
}
