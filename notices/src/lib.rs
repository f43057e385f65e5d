//! Telling a citizen who stepped out that the turn is near: Web Push to the browser that
//! subscribed on the tracking page, SMS through the gateway a province contracts.
//!
//! - `ece` — RFC 8291 message encryption (`aes128gcm`);
//! - `vapid` — RFC 8292: the centre's key and the signed token of each push;
//! - `endpoint` — what a push endpoint may be (public `https` only), checked after resolving;
//! - `http` — one bounded POST to a checked address;
//! - `message` — what a notice says;
//! - `seal` — a follower's address at rest, under the service day's key;
//! - `sender` (here) — the task that sends, retries with backoff and reports each notice's end,
//!   off the engine: a slow or hanging receiver delays no other notice and no command.

pub mod b64;
pub mod ece;
pub mod endpoint;
pub mod http;
pub mod message;
pub mod seal;
pub mod vapid;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use protocol::NoticeKind;
use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, mpsc};

pub use message::Message;

/// The service worker a tracking page registers (per ticket: its scope is the ticket's page):
/// it shows a push's title and body, and a tap opens that ticket. Served by a hub's page and by
/// the province's door alike.
pub const SERVICE_WORKER: &str = include_str!("push-sw.js");
pub use seal::DayKey;
pub use vapid::VapidKey;

/// The centre's VAPID key, shared by whoever reads it (made with the database; a standby's is
/// replaced by its primary's).
pub type SharedVapid = Arc<std::sync::RwLock<Option<VapidKey>>>;

/// A browser's `PushSubscription.toJSON()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub endpoint: String,
    pub keys: SubscriptionKeys,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionKeys {
    pub p256dh: String,
    pub auth: String,
}

impl Subscription {
    /// The keys decoded and checked: a P-256 point of 65 bytes, an auth secret of 16.
    pub fn receiver(&self) -> Option<ece::Receiver> {
        let public = b64::decode(&self.keys.p256dh)?;
        let auth = b64::decode(&self.keys.auth)?;
        ece::Receiver::new(&public, &auth).ok()
    }
}

/// Where a notice goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Contact {
    Push(Subscription),
    /// A Vietnamese mobile number, as the citizen gave it (digits).
    Sms(String),
}

/// One notice to one follower.
#[derive(Debug, Clone)]
pub struct Notice {
    pub ticket: u64,
    pub follower: u8,
    pub to: Contact,
    pub message: Message,
}

/// How a notice's sending ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Failed for good: refused, or still failing when its retries ran out.
    Failed,
    /// The push service says the subscription is gone (`404`, `410`).
    Gone,
}

/// What the sender reports back, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub ticket: u64,
    pub follower: u8,
    pub kind: NoticeKind,
    pub outcome: Outcome,
}

/// The SMS gateway of `[notify.sms]`.
#[derive(Debug, Clone)]
pub struct SmsGateway {
    pub url: String,
    pub token: String,
}

/// What the sender needs from the configuration.
#[derive(Clone)]
pub struct Settings {
    /// Read at each push: a standby's is replaced by its primary's.
    pub vapid: SharedVapid,
    /// The VAPID `sub` (`[notify] contact`).
    pub contact: String,
    /// A test bench's: `http` and loopback endpoints allowed.
    pub allow_insecure_endpoints: bool,
    pub sms: Option<SmsGateway>,
    /// The wait before the first retry; each next one waits twice as long.
    pub first_retry: Duration,
    pub client: http::Client,
    /// VAPID tokens signed so far, by push service.
    pub tokens: Arc<vapid::Tokens>,
}

/// A push's `TTL`: a "near" older than a quarter of an hour is of no use.
pub const PUSH_TTL_SECS: u64 = 900;
/// Retries of an SMS the gateway refused (the contract: at most 3).
pub const SMS_RETRIES: u32 = 3;
/// Notices waiting to be sent; beyond, a notice is dropped (and reported failed).
const QUEUE: usize = 8192;
/// Notices in the middle of being sent at once.
const IN_FLIGHT: usize = 512;

/// The engine's side: hands notices over without ever waiting.
#[derive(Clone)]
pub struct Notifier {
    queue: mpsc::Sender<Notice>,
    pub counters: Arc<Counters>,
}

/// Today's figures of the sending, for the console and the log.
#[derive(Debug, Default)]
pub struct Counters {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub gone: AtomicU64,
    pub retried: AtomicU64,
    pub dropped: AtomicU64,
}

impl Notifier {
    /// Queues a notice; `false` (and counted as dropped) when the queue is full.
    pub fn send(&self, notice: Notice) -> bool {
        match self.queue.try_send(notice) {
            Ok(()) => true,
            Err(_) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }
}

/// Starts the sending task on the current runtime; each notice's end is given to `report`.
pub fn start(settings: Settings, report: impl Fn(Report) + Send + Sync + 'static) -> Notifier {
    let (queue, mut notices) = mpsc::channel::<Notice>(QUEUE);
    let counters = Arc::new(Counters::default());
    let report = Arc::new(report);
    let settings = Arc::new(settings);
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    let task_counters = counters.clone();
    let in_order = Arc::new(InOrder::default());
    tokio::spawn(async move {
        let mut next = 0u64;
        while let Some(notice) = notices.recv().await {
            let Ok(permit) = in_flight.clone().acquire_owned().await else {
                break;
            };
            let (settings, report, counters) =
                (settings.clone(), report.clone(), task_counters.clone());
            // Taken here, in the queue's order: the notice before it to the same follower.
            next += 1;
            let key = (notice.ticket, notice.follower);
            let (turn, before) = in_order.queue(key, next);
            let in_order = in_order.clone();
            tokio::spawn(async move {
                if let Some(before) = before {
                    let _ = before.await;
                }
                let kind = notice.message.kind;
                let (ticket, follower) = (notice.ticket, notice.follower);
                let outcome = deliver(&settings, &counters, notice).await;
                let _ = turn.send(());
                in_order.done(key, next);
                let figure = match outcome {
                    Outcome::Delivered => &counters.delivered,
                    Outcome::Failed => &counters.failed,
                    Outcome::Gone => &counters.gone,
                };
                figure.fetch_add(1, Ordering::Relaxed);
                report(Report {
                    ticket,
                    follower,
                    kind,
                    outcome,
                });
                drop(permit);
            });
        }
    });
    Notifier { queue, counters }
}

/// Notices to one follower go out in the order they were queued — "called" never after the
/// "recalled" that followed it, even when one is retried — while different followers' go out
/// at once. Each notice waits for the one queued before it to the same follower.
#[derive(Default)]
struct InOrder {
    /// The last notice queued to each follower: its number, and the signal that it is done.
    last: std::sync::Mutex<HashMap<Follower, (u64, Done)>>,
}

/// A ticket and which of its followers.
type Follower = (u64, u8);
/// Resolves when a notice has been sent (or given up).
type Done = tokio::sync::oneshot::Receiver<()>;

impl InOrder {
    /// Notice number `n` to `key`: what it signals when done, and what it waits for first.
    fn queue(&self, key: Follower, n: u64) -> (tokio::sync::oneshot::Sender<()>, Option<Done>) {
        let (turn, done) = tokio::sync::oneshot::channel();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let before = last.insert(key, (n, done)).map(|(_, r)| r);
        (turn, before)
    }

    /// Notice `n` to `key` is done: forgotten, unless another was queued after it.
    fn done(&self, key: Follower, n: u64) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.get(&key).is_some_and(|(m, _)| *m == n) {
            last.remove(&key);
        }
    }
}

/// What one attempt came to.
enum Attempt {
    Done(Outcome),
    /// Worth trying again (a `429`, a `5xx`, no answer).
    Again(String),
}

async fn deliver(settings: &Settings, counters: &Counters, notice: Notice) -> Outcome {
    let started = tokio::time::Instant::now();
    let mut wait = settings.first_retry;
    let mut tries = 0u32;
    loop {
        let attempt = match &notice.to {
            Contact::Push(s) => push_once(settings, s, &notice.message, started).await,
            Contact::Sms(to) => sms_once(settings, to, &notice.message).await,
        };
        let why = match attempt {
            Attempt::Done(outcome) => return outcome,
            Attempt::Again(why) => why,
        };
        tries += 1;
        let out_of_time = match notice.to {
            Contact::Push(_) => started.elapsed() + wait > Duration::from_secs(PUSH_TTL_SECS),
            Contact::Sms(_) => tries > SMS_RETRIES,
        };
        if out_of_time {
            tracing::info!(ticket = notice.ticket, kind = notice.message.kind.as_str(), tries, %why, "notice failed for good");
            return Outcome::Failed;
        }
        counters.retried.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(120));
    }
}

/// How an answer's status ends an attempt.
fn judged(status: hyper::StatusCode, gone_on_404: bool) -> Attempt {
    match status.as_u16() {
        200..=299 => Attempt::Done(Outcome::Delivered),
        404 | 410 if gone_on_404 => Attempt::Done(Outcome::Gone),
        429 | 500..=599 => Attempt::Again(format!("answered {status}")),
        _ => Attempt::Done(Outcome::Failed),
    }
}

async fn push_once(
    settings: &Settings,
    subscription: &Subscription,
    message: &Message,
    started: tokio::time::Instant,
) -> Attempt {
    let vapid = settings
        .vapid
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let Some(vapid) = vapid else {
        return Attempt::Done(Outcome::Failed);
    };
    // Resolved and checked again at each attempt: the name may point elsewhere by now.
    let target =
        match endpoint::resolve(&subscription.endpoint, settings.allow_insecure_endpoints).await {
            Ok(t) => t,
            Err(e) => {
                tracing::info!(error = %e, "push endpoint refused at sending");
                return Attempt::Done(Outcome::Failed);
            }
        };
    let Some(receiver) = subscription.receiver() else {
        return Attempt::Done(Outcome::Failed);
    };
    let plaintext = serde_json::to_vec(message).unwrap_or_default();
    // Off the runtime's threads: on a hub PC's two cores, a burst of encryptions there would
    // keep the devices' connections waiting for a thread.
    let encrypted = tokio::task::spawn_blocking(move || {
        ece::encrypt(&plaintext, &receiver, &ece::Sender::fresh())
    })
    .await;
    let Ok(Ok(body)) = encrypted else {
        return Attempt::Done(Outcome::Failed);
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let ttl = PUSH_TTL_SECS
        .saturating_sub(started.elapsed().as_secs())
        .max(1);
    let headers = [
        ("ttl", ttl.to_string()),
        ("urgency", "high".to_string()),
        ("content-encoding", "aes128gcm".to_string()),
        ("content-type", "application/octet-stream".to_string()),
        (
            "authorization",
            settings
                .tokens
                .authorization(&vapid, &target.origin(), now, &settings.contact),
        ),
    ];
    match settings.client.post(&target, &headers, body).await {
        Ok(status) => judged(status, true),
        Err(e) => Attempt::Again(e.to_string()),
    }
}

async fn sms_once(settings: &Settings, to: &str, message: &Message) -> Attempt {
    let Some(gateway) = &settings.sms else {
        return Attempt::Done(Outcome::Failed);
    };
    // The gateway is the centre's own choice (`[notify.sms]`): no check of where it is.
    let target = match endpoint::resolve(&gateway.url, true).await {
        Ok(t) => t,
        Err(e) => return Attempt::Again(e.to_string()),
    };
    let body = serde_json::json!({
        "to": to,
        "kind": message.kind,
        "ticket": message.ticket,
        "counter": message.counter,
        "text": message.text(),
    });
    let headers = [
        ("authorization", format!("Bearer {}", gateway.token)),
        ("content-type", "application/json".to_string()),
    ];
    match settings
        .client
        .post(&target, &headers, body.to_string().into_bytes())
        .await
    {
        // A gateway's 404 is its own fault, not a gone subscription: tried again.
        Ok(status) if status.is_client_error() && status.as_u16() != 429 => {
            Attempt::Again(format!("answered {status}"))
        }
        Ok(status) => judged(status, false),
        Err(e) => Attempt::Again(e.to_string()),
    }
}
