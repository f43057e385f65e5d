//! Two hub PCs: a **primary** that serves the centre and a **standby** that holds the same
//! event log, byte for byte, and takes over when it is promoted (docs/OPERATIONS.md, "Two hub
//! PCs").
//!
//! - The standby connects to the primary's `/replicate` (its own shared secret, over TLS when
//!   the peer is `wss://`), says the last `seq` it holds and that event's term, and gets every
//!   event after it with its wire frame, the commands' replies (the idempotency memory) and the
//!   centre's secrets. Its engine applies them as the primary did — the rows are derived, not
//!   copied — commits them, and acknowledges, all on the engine's thread, which owns the link
//!   (`link.rs`; the socket is `replication::standby`'s).
//! - The primary's engine hands each committed batch to the [`Pair`] and, while the standby is
//!   in step, waits for its acknowledgement before anyone hears an answer (synchronous
//!   replication). A standby silent for `sync_timeout_ms` is left behind: the primary goes on
//!   alone, says so, and waits again once the standby has caught up (`primary.rs`).
//! - A **term** counts takeovers. `hub promote` starts a new one with a `term_started` event; a
//!   hub that learns of a higher term — from its peer, or from a client's hello — stops issuing
//!   (it is *deposed*) and says so until it is re-joined as the standby (`hub standby
//!   --resync`). Two hubs never issue in the same term.
//!
//! Promotion is manual: deciding that the other PC is dead needs a third party, and a centre
//! has a technician on the phone, not a witness server. The loud refusal to promote a standby
//! that is behind (without `--force`) is what keeps a number from being given twice.

pub mod link;
pub mod messages;

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use centre_config::Replication;

/// What this hub is to its pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Serves the centre and issues (also a hub without a pair).
    Primary,
    /// Follows the primary; serves nothing but its health.
    Standby,
    /// Was the primary, and learnt of a higher term: issues nothing until re-joined.
    Deposed,
}

impl Mode {
    /// As the ledger keeps it (`None`: the primary).
    pub fn stored(self) -> Option<&'static str> {
        match self {
            Mode::Primary => None,
            Mode::Standby => Some("standby"),
            Mode::Deposed => Some("deposed"),
        }
    }

    pub fn from_stored(role: Option<&str>) -> Mode {
        match role {
            Some("standby") => Mode::Standby,
            Some("deposed") => Mode::Deposed,
            _ => Mode::Primary,
        }
    }
}

/// The hub's mode and term, as the server and the tasks see them change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Standing {
    pub mode: Mode,
    pub term: u64,
}

/// One committed batch, as the primary ships it: `first..=last` and its message's text.
#[derive(Debug)]
pub struct Shipped {
    pub first: u64,
    pub last: u64,
    pub text: String,
}

/// The primary's view of its standby.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Acks {
    /// A standby is connected now.
    pub connected: bool,
    /// The last `seq` the standby has on disk.
    pub acked: u64,
    /// The last `seq` handed to the standby.
    #[serde(skip)]
    pub shipped: u64,
    /// Every batch waits for the standby's acknowledgement.
    pub sync: bool,
    /// Going on alone since then (the standby away or behind).
    pub alone_since: Option<DateTime<Utc>>,
    /// Which connection is the standby's (a newer one replaces it).
    #[serde(skip)]
    pub connection: u64,
}

/// The standby's view of its primary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Follow {
    /// Linked to the primary now.
    pub connected: bool,
    /// The primary's last `seq`, as it last said.
    pub primary_seq: u64,
    /// The primary waited for this standby's acknowledgements when it last said.
    pub in_sync: bool,
    /// When the primary last said anything.
    pub last_heard: Option<DateTime<Utc>>,
    /// Why the link is down or refused, if it is.
    pub problem: Option<String>,
}

/// A device's word of how far it has seen the log (its hello's `term` and `resume_from`): the
/// highest term it was told and the last event it applied. Devices are the pair's witnesses:
/// a standby cut off from its primary cannot know what the primary issued alone, but the
/// boards, kiosks and counters that were served by it do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Witness {
    pub device: String,
    pub term: u64,
    pub seq: u64,
}

impl Witness {
    /// What this hub must say of it, Vietnamese then English.
    pub fn words(&self, held: u64) -> String {
        format!(
            "thiết bị {} đã thấy đến sự kiện {} (nhiệm kỳ {}), máy chủ này chỉ có đến {held}: máy chủ chính cũ đã cấp thêm số ·              device {} has seen event {} of term {}, this hub holds {held}: the old primary issued more",
            self.device, self.seq, self.term, self.device, self.seq, self.term
        )
    }
}

/// This hub's side of a pair: the configuration, its standing, and what each side knows of
/// the other. Shared by the engine (which ships and waits), the server and the tasks.
pub struct Pair {
    pub config: Replication,
    /// The pair's shared secret (from `token_file`).
    pub token: String,
    pub tls: Option<Arc<rustls::ClientConfig>>,
    standing: watch::Sender<Standing>,
    pub live: broadcast::Sender<Arc<Shipped>>,
    acks: Mutex<Acks>,
    acked: Condvar,
    follow: Mutex<Follow>,
    /// The peer said it is a primary of this very term (a set-up mistake: both PCs made
    /// primaries).
    two_primaries: std::sync::atomic::AtomicBool,
    /// A device that has seen more of the log than this hub holds, and what this hub holds
    /// (set by the engine): it neither promotes nor issues on its own word.
    contradicted: Mutex<Option<(Witness, u64)>>,
}

/// Why a pair cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    #[error("[replication] token_file {path}: {reason}")]
    Token { path: String, reason: String },
    #[error("[replication] TLS: {0}")]
    Tls(#[from] hub_client::tls::TlsError),
}

/// A shared secret shorter than this is refused: it is all that stands between the LAN and a
/// copy of every event.
const MIN_TOKEN_LEN: usize = 16;

impl Pair {
    pub fn new(config: Replication, standing: Standing) -> Result<Arc<Pair>, PairError> {
        let path = config.token_file.display().to_string();
        let text = std::fs::read_to_string(&config.token_file).map_err(|e| PairError::Token {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let token = text.lines().next().unwrap_or_default().trim().to_string();
        if token.len() < MIN_TOKEN_LEN {
            return Err(PairError::Token {
                path,
                reason: format!(
                    "the secret must be at least {MIN_TOKEN_LEN} characters (make one with `openssl rand -hex 24`)"
                ),
            });
        }
        let tls = hub_client::tls::trusting(config.ca_file.as_deref(), config.pin.as_deref())?;
        let (standing, _) = watch::channel(standing);
        let (live, _) = broadcast::channel(config.live_buffer);
        Ok(Arc::new(Pair {
            config,
            token,
            tls,
            standing,
            live,
            acks: Mutex::new(Acks::default()),
            acked: Condvar::new(),
            follow: Mutex::new(Follow::default()),
            two_primaries: std::sync::atomic::AtomicBool::new(false),
            contradicted: Mutex::new(None),
        }))
    }

    pub fn standing(&self) -> Standing {
        *self.standing.borrow()
    }

    pub fn watch_standing(&self) -> watch::Receiver<Standing> {
        self.standing.subscribe()
    }

    /// Set by the engine only, once the change is on disk.
    pub(crate) fn set_standing(&self, standing: Standing) {
        self.standing.send_if_modified(|s| {
            let changed = *s != standing;
            *s = standing;
            changed
        });
    }

    /// Whether `token` is the pair's secret (constant time).
    pub fn token_matches(&self, token: &str) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.token.as_bytes().ct_eq(token.as_bytes()))
    }

    /// What a hub of this pair says to prove that it made `term` (clients echo it in hello).
    pub fn term_proof(&self, term: u64) -> String {
        term_proof(&self.token, term)
    }

    /// Whether `proof` is this pair's for `term` (constant time).
    pub fn proves(&self, term: u64, proof: &str) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.term_proof(term).as_bytes().ct_eq(proof.as_bytes()))
    }

    /// The other hub's `/replicate` address.
    pub fn peer_url(&self) -> String {
        format!("{}/replicate", self.config.peer)
    }

    pub fn acks(&self) -> Acks {
        self.acks.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn follow(&self) -> Follow {
        self.follow
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_two_primaries(&self, both: bool) {
        self.two_primaries
            .store(both, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn update_follow(&self, change: impl FnOnce(&mut Follow)) {
        change(&mut self.follow.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Primary, engine thread: hands a committed batch to the standby and, while the standby is
    /// in step, waits until it has the batch on disk — at most `sync_timeout`, then goes on
    /// alone. Returns whether the standby confirmed.
    pub(crate) fn ship_and_wait(&self, shipped: Shipped, now: DateTime<Utc>) -> bool {
        let last = shipped.last;
        let mut acks = self.acks.lock().unwrap_or_else(|e| e.into_inner());
        acks.shipped = last;
        let _ = self.live.send(Arc::new(shipped));
        if !acks.sync {
            return false;
        }
        let timeout = self.config.sync_timeout;
        let (mut acks, waited) = self
            .acked
            .wait_timeout_while(acks, timeout, |a| a.sync && a.acked < last)
            .unwrap_or_else(|e| e.into_inner());
        if acks.acked >= last {
            return true;
        }
        if waited.timed_out() && acks.sync {
            acks.sync = false;
            acks.alone_since = Some(now);
            tracing::error!(
                seq = last,
                acked = acks.acked,
                timeout_ms = timeout.as_millis() as u64,
                "REPLICATION: the standby did not confirm in time: serving alone until it catches up"
            );
        }
        false
    }

    /// The log's end when the engine opened it: what a standby must hold to be in step.
    pub(crate) fn opened_at(&self, seq: u64) {
        self.acks.lock().unwrap_or_else(|e| e.into_inner()).shipped = seq;
    }

    /// Primary, a standby's connection: it has everything up to `seq` on disk. Returns whether
    /// the standby has just come in step (it is told: a standby judges its promotion by it).
    pub fn acknowledged(&self, connection: u64, seq: u64) -> bool {
        let mut acks = self.acks.lock().unwrap_or_else(|e| e.into_inner());
        if acks.connection != connection {
            return false;
        }
        acks.acked = acks.acked.max(seq);
        let came_in_step = !acks.sync && acks.acked >= acks.shipped;
        if came_in_step {
            acks.sync = true;
            if acks.alone_since.take().is_some() {
                tracing::info!(
                    seq,
                    "REPLICATION: the standby caught up: every answer waits for it again"
                );
            } else {
                tracing::info!(seq, "REPLICATION: the standby is in step");
            }
        }
        self.acked.notify_all();
        came_in_step
    }

    /// Primary: a standby's connection begins (replacing any other) with what it holds.
    /// Returns whether it is in step at once.
    pub fn standby_connected(&self, connection: u64, seq: u64, now: DateTime<Utc>) -> bool {
        let mut acks = self.acks.lock().unwrap_or_else(|e| e.into_inner());
        acks.connection = connection;
        acks.connected = true;
        acks.acked = seq;
        // Already holding everything: in step from the next batch on.
        acks.sync = seq >= acks.shipped;
        if acks.sync {
            acks.alone_since = None;
            tracing::info!(seq, "REPLICATION: the standby is in step");
        } else if acks.alone_since.is_none() {
            acks.alone_since = Some(now);
        }
        self.acked.notify_all();
        acks.sync
    }

    /// Primary: a standby's connection ended.
    pub fn standby_gone(&self, connection: u64, now: DateTime<Utc>) {
        let mut acks = self.acks.lock().unwrap_or_else(|e| e.into_inner());
        if acks.connection != connection {
            return;
        }
        acks.connected = false;
        if acks.sync {
            acks.sync = false;
            acks.alone_since = Some(now);
            tracing::error!("REPLICATION: the standby went away: serving alone");
        }
        self.acked.notify_all();
    }

    /// What `/healthz` and the console say of the pair (with a `warning` while a primary serves
    /// without its standby).
    pub fn report(&self, seq: u64) -> serde_json::Value {
        let standing = self.standing();
        let mut out = serde_json::json!({
            "mode": standing.mode,
            "term": standing.term,
            "peer": self.config.peer,
        });
        match standing.mode {
            Mode::Primary => {
                let acks = self.acks();
                out["standby"] = serde_json::json!({
                    "connected": acks.connected,
                    "acked": acks.acked,
                    "lag": seq.saturating_sub(acks.acked),
                    "sync": acks.sync,
                    "alone_since": acks.alone_since,
                });
            }
            Mode::Standby | Mode::Deposed => {
                let follow = self.follow();
                out["primary"] = serde_json::json!({
                    "connected": follow.connected,
                    "seq": follow.primary_seq,
                    "lag": follow.primary_seq.saturating_sub(seq),
                    "in_sync": follow.in_sync,
                    "last_heard": follow.last_heard,
                    "problem": follow.problem,
                });
            }
        }
        if let Some(warning) = self.alone() {
            out["warning"] = warning.into();
        }
        if let Some((witness, held)) = self.contradicted() {
            out["witness"] = serde_json::json!({"device": witness.device, "term": witness.term,
                                                "seq": witness.seq, "held": held});
            out["warning"] = witness.words(held).into();
        }
        out
    }

    /// The device that has seen more than this hub holds, if one has said so.
    pub fn contradicted(&self) -> Option<(Witness, u64)> {
        self.contradicted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Set by the engine only.
    pub(crate) fn set_contradicted(&self, found: Option<(Witness, u64)>) {
        *self.contradicted.lock().unwrap_or_else(|e| e.into_inner()) = found;
    }

    /// Why this hub refuses to serve, naming the primary, in Vietnamese then English (`None`:
    /// it is the primary).
    pub fn not_primary_message(&self) -> Option<String> {
        let peer = &self.config.peer;
        match self.standing().mode {
            Mode::Primary => None,
            Mode::Standby => Some(match self.contradicted() {
                Some((witness, held)) => format!(
                    "MÁY CHỦ DỰ PHÒNG KHÔNG ĐƯỢC CẤP SỐ, gọi kỹ thuật viên: {} · THE STANDBY MUST NOT ISSUE, call the technician",
                    witness.words(held)
                ),
                None => format!(
                    "máy chủ dự phòng, hãy kết nối máy chủ chính {peer} · this is the standby hub; connect to the primary at {peer}"
                ),
            }),
            Mode::Deposed => Some(format!(
                "máy chủ này đã được thay thế, hãy kết nối {peer} · this hub was replaced; connect to {peer}"
            )),
        }
    }

    /// A line for the log and the console when the primary serves without its standby.
    pub fn alone(&self) -> Option<String> {
        if self.standing().mode != Mode::Primary {
            return None;
        }
        if self
            .two_primaries
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Some(format!(
                "the other hub ({}) is a primary too, in the same term: make one of them the standby (docs/OPERATIONS.md)",
                self.config.peer
            ));
        }
        let acks = self.acks();
        (!acks.sync).then(|| match acks.alone_since {
            Some(since) => format!(
                "serving without the standby since {} (it is {}): an answer is not yet on the second PC",
                since.format("%H:%M:%S UTC"),
                if acks.connected { "catching up" } else { "not connected" }
            ),
            None => "the standby has not connected yet".to_string(),
        })
    }
}

/// The proof of `term` under the pair's `secret`: hex of HMAC-SHA256 over "hang-doi term N". A
/// device that echoes a higher term must show it, so a stolen device token alone cannot stop a
/// centre's primary.
pub fn term_proof(secret: &str, term: u64) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("hang-doi term {term}").as_bytes());
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `task` while this hub is the primary (at once without a pair): started when a standby
/// is promoted, dropped when a primary is replaced.
pub async fn while_primary<F: std::future::Future<Output = ()>>(pair: Option<Arc<Pair>>, task: F) {
    let Some(pair) = pair else {
        return task.await;
    };
    let mut standing = pair.watch_standing();
    if standing
        .wait_for(|s| s.mode == Mode::Primary)
        .await
        .is_err()
    {
        return;
    }
    tokio::select! {
        _ = task => {}
        _ = standing.wait_for(|s| s.mode != Mode::Primary) => {
            tracing::warn!("this hub is no longer the primary: its province shipping stops");
        }
    }
}

/// The delay between attempts to reach the other hub.
pub const RETRY: Duration = Duration::from_secs(1);
