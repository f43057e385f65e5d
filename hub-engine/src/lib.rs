//! The engine: the one thread that owns the state and the database.
//!
//! Requests arrive on a channel. The engine takes all that are waiting (a batch), runs them
//! through the core one after the other, writes the resulting events, ticket rows and replies in
//! **one** transaction (group commit), and only then answers and broadcasts. Connections that join
//! are answered after the commit too, so a snapshot never shows anything not yet on disk.
//!
//! **Architecture invariant:** only this thread mutates the state or writes the database.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use protocol::{self as p, Command, ErrorCode, Role};
use rand::Rng;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::frames::{Wire, error_reply};
use crate::pair::{Mode, Pair, PairError, Standing};
use crate::replies::Replies;
use crate::timekeeping::{ClockRefused, Reading, Timekeeper};
use centre_config::Config;
use ledger::{Batch, LedgerError, Recorded, ReplyKey, StoredReply, Writer};
use queue_core::{
    self as core, Actor, CommandId, Context, DeviceId, Event, StaffCode, State, Subject, TicketId,
};
use queue_core::{Before, Views};

pub mod clock;
pub mod frames;
pub mod pair;
pub mod replies;
pub mod timekeeping;

pub use crate::clock::{Clock, SystemClock};

/// How many recent event frames are kept in memory for `resume_from` replays.
const RING: usize = 20_000;
/// The id of a citizen's leaving in the engine's replies.
const LEAVE: &str = "leave";
/// Largest batch of requests committed together.
const MAX_BATCH: usize = 1024;

pub enum Request {
    Command {
        actor: Actor,
        id: CommandId,
        command: Command,
        /// After this (on the engine's clock) the command is answered `expired`, undone.
        expires_at: Option<DateTime<Utc>>,
        /// Who acts, for the audit trail, when the connection knows (a supervisor signed in to
        /// the console); otherwise the staff logged in at the device's counter.
        staff: Option<StaffCode>,
        respond: oneshot::Sender<Utf8Bytes>,
    },
    Join {
        role: Role,
        resume_from: Option<u64>,
        /// The client needs no `waiting` list in its snapshot.
        light: bool,
        respond: oneshot::Sender<Joined>,
    },
    /// Time has reached the next deadline: announce overdue tickets, a new day, openings.
    Tick,
    /// A tracker's ticket, by its tracking code (`None`: unknown, or not of today).
    Track {
        track: String,
        respond: oneshot::Sender<Option<p::Tracked>>,
    },
    /// What the scheduled integrity check found (`None`: the file is sound).
    Checked { found: Option<String> },
    /// Is the engine's loop turning? (systemd's watchdog, `service.rs`)
    Alive { respond: oneshot::Sender<()> },
    /// From the booking page: a citizen's booking or cancellation, answered (a reply's JSON,
    /// `id` "dat-lich") after the commit.
    Booking {
        ask: booking::BookingAsk,
        respond: oneshot::Sender<Utf8Bytes>,
    },
    /// From the tracking page: the citizen gives the place up (`POST /t/{track}/leave`),
    /// answered (a reply's JSON, `id` "leave") after the commit.
    Leave {
        track: String,
        respond: oneshot::Sender<Utf8Bytes>,
    },
    /// From the booking page: free slots, or a booking by its code.
    BookingLook {
        look: booking::BookingLook,
        respond: oneshot::Sender<booking::BookingSeen>,
    },
    /// A supervisor revokes a counter display's cookies: its generation moves on, on disk
    /// first. The answer is the new generation, or why it could not be recorded.
    RevokeDisplay {
        device: DeviceId,
        respond: oneshot::Sender<Result<u64, String>>,
    },
    /// A standby's: events and replies from the primary, applied and committed as they were
    /// there; answered with the last `seq` on disk (what the standby acknowledges).
    Replicated {
        batch: Box<crate::pair::messages::Batch>,
        respond: Acknowledge,
    },
    /// A standby's: follow the primary through `dial` on the engine's own thread (read, apply,
    /// commit, acknowledge), serving the other requests in between, until promoted.
    FollowPrimary { dial: Box<dyn pair::link::Dial> },
    /// A standby's: the primary's secrets and counter display generations.
    Settings {
        secrets: HashMap<String, String>,
        display_generations: HashMap<String, u64>,
    },
    /// A standby becomes the primary in a new term (`hub promote`). Refused while it is behind
    /// the primary as far as it knows, unless `force`. Answered with the new term.
    Promote {
        force: bool,
        respond: oneshot::Sender<Result<u64, String>>,
    },
    /// A device's hello said how far it has seen the log (`pair::Witness`); answered with
    /// whether this hub may serve it.
    Witness {
        witness: pair::Witness,
        respond: oneshot::Sender<bool>,
    },
    /// A hub of a higher term exists: this one stops issuing (for ever, until re-joined).
    Depose {
        term: u64,
        by: String,
        respond: oneshot::Sender<()>,
    },
    /// From the tracking page: a phone follows the ticket (`POST /t/{track}/push`, the
    /// endpoint already checked), answered (a reply's JSON, `id` "push") after the commit.
    Follow {
        track: String,
        contact: notices::Contact,
        respond: oneshot::Sender<Utf8Bytes>,
    },
    /// `DELETE /t/{track}/push`: the ticket's push followers leave.
    Unfollow {
        track: String,
        respond: oneshot::Sender<Utf8Bytes>,
    },
    /// The sender says how a notice ended.
    Notified(notices::Report),
    /// Where notices go from now on (the hub starts the sender once the engine runs).
    AttachNotifier(notices::Notifier),
}

/// Each counter display's cookie generation, written by the engine only (`RevokeDisplay`) and
/// read by whoever checks a cookie.
pub type DisplayGenerations = Arc<std::sync::RwLock<HashMap<DeviceId, u64>>>;

/// The generations by device name, as a standby is sent them.
pub fn generations_by_name(generations: &DisplayGenerations) -> HashMap<String, u64> {
    generations
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(d, g)| (d.0.clone(), *g))
        .collect()
}

/// The engine's answer to a command, once committed: the reply's JSON.
pub type Reply = oneshot::Receiver<Utf8Bytes>;

impl Request {
    /// A command from `actor` with id `id`, and where its reply will come.
    pub fn command(actor: Actor, id: impl Into<CommandId>, command: Command) -> (Request, Reply) {
        let (respond, reply) = oneshot::channel();
        let request = Request::Command {
            actor,
            id: id.into(),
            command,
            expires_at: None,
            staff: None,
            respond,
        };
        (request, reply)
    }
}

/// What a connection gets when it joins: a welcome with a snapshot, or frames to replay; then
/// the live events.
pub struct Joined {
    pub snapshot: Option<Arc<SharedWelcome>>,
    pub frames: Vec<Utf8Bytes>,
    pub events: broadcast::Receiver<Wire>,
}

/// A welcome with a snapshot, built on the engine thread (it needs the state) and written out
/// as JSON — and as the bytes of its WebSocket frame — by the first connection that sends it:
/// off the single writer (serialising 20,000 waiting tickets costs about as much as building
/// them), and once for every join in the same second (a thousand boards after a restart).
pub struct SharedWelcome {
    message: std::sync::Mutex<Option<p::ServerMessage>>,
    wire: std::sync::OnceLock<Wire>,
    /// Worth a blocking thread to write (thousands of waiting tickets).
    pub large: bool,
}

/// Waiting tickets from which a welcome is written on a blocking thread: below, writing it is
/// quicker than handing it over (and a thousand boards joining at once must not start a
/// thousand threads, each keeping its own allocator arena).
const LARGE_WELCOME: usize = 500;

impl SharedWelcome {
    fn new(message: p::ServerMessage) -> SharedWelcome {
        let large = match &message {
            p::ServerMessage::Welcome(w) => w
                .snapshot
                .as_ref()
                .is_some_and(|s| s.waiting.len() >= LARGE_WELCOME),
            _ => false,
        };
        SharedWelcome {
            message: std::sync::Mutex::new(Some(message)),
            wire: std::sync::OnceLock::new(),
            large,
        }
    }

    /// The welcome's frame (written once; the structure is freed then, by the same thread).
    pub fn wire(&self) -> Wire {
        self.wire
            .get_or_init(|| {
                let message = self
                    .message
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                let text = message.as_ref().map(frames::text).unwrap_or_default();
                Wire::encode([&text])
            })
            .clone()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub seq: u64,
    pub day: NaiveDate,
    /// Commits fail; cleared by the next commit that succeeds.
    pub writes: Option<String>,
    /// The integrity check found damage; cleared by a check that finds none (after a restore).
    pub damage: Option<String>,
    /// A new service day is held because the wall clock jumped; cleared when it comes back.
    pub clock: Option<String>,
}

impl Health {
    /// Why the hub cannot be trusted right now, if it cannot.
    pub fn problem(&self) -> Option<&str> {
        self.writes
            .as_deref()
            .or(self.damage.as_deref())
            .or(self.clock.as_deref())
    }
}

/// Whether a batch wrote anything (only a write proves the disk works).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrote {
    Nothing,
    Committed,
}

/// The handle the server holds.
#[derive(Clone)]
pub struct EngineHandle {
    pub requests: mpsc::Sender<Request>,
    /// Every committed event frame (trackers listen here without joining).
    pub events: broadcast::Sender<Wire>,
    pub health: watch::Receiver<Health>,
    pub deadline: watch::Receiver<DateTime<Utc>>,
    /// Each field's state, people waiting and a new ticket's estimated wait, as the kiosk and
    /// the board show them, after every commit (the province's door shows them: its shipper).
    pub waits: watch::Receiver<Waits>,
    /// Turns true when the engine thread has ended, however it ended.
    pub stopped: watch::Receiver<bool>,
    /// When the database was last checked for damage, as the engine found it at start.
    pub last_check: Option<DateTime<Utc>>,
    /// The engine's clock: whatever else in the hub decides by the time of day reads this one.
    pub clock: Arc<dyn Clock>,
    pub display_generations: DisplayGenerations,
    /// The key of the phone numbers' keyed hashes (a booking keeps the hash, never the number):
    /// made at the database's first start and kept in it (a standby takes its primary's).
    pub phone_key: PhoneKey,
    /// The other hub of a pair, when there is one (`[replication]`).
    pub pair: Option<Arc<Pair>>,
    /// The centre's VAPID key (`[notify.web_push]`), made with the database.
    pub vapid: following::SharedVapid,
}

/// The centre's waits as the province's door shows them.
pub type Waits = Arc<CentreWaits>;

/// The service day the hub is in, and every field's view in the kiosk's order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CentreWaits {
    pub day: Option<NaiveDate>,
    pub fields: Vec<FieldWaits>,
}

/// A field as the province's door shows it: the kiosk's view, and what a waiting ticket's
/// page needs to say its place and wait as the hub would.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldWaits {
    pub view: protocol::ServiceView,
    /// The waiting tickets' ids in call order.
    pub queue: Vec<u64>,
    /// Seconds each ticket ahead adds, for an ordinary and a priority ticket (`None`: no
    /// counter serves that class).
    pub secs_per_ahead: Option<f64>,
    pub secs_per_ahead_priority: Option<f64>,
}

/// The phone numbers' hashing key, replaced once on a standby by its primary's.
pub type PhoneKey = Arc<std::sync::RwLock<ring::hmac::Key>>;

/// A phone key from the secret's text.
fn phone_key(secret: &str) -> ring::hmac::Key {
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes())
}

/// Tells the hub when the engine thread ends, also by a panic (it is dropped while unwinding).
struct StoppedSignal(watch::Sender<bool>);

impl Drop for StoppedSignal {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

struct Engine {
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    state: State,
    store: Writer,
    seq: u64,
    /// Replies of today's commands by device and command id: the idempotency memory.
    replies: Replies,
    ring: VecDeque<(u64, Utf8Bytes)>,
    events: broadcast::Sender<Wire>,
    health: watch::Sender<Health>,
    deadline: watch::Sender<DateTime<Utc>>,
    waits: watch::Sender<Waits>,
    snapshot_cache: Option<CachedSnapshot>,
    timekeeper: Timekeeper,
    display_generations: DisplayGenerations,
    phone_key: PhoneKey,
    /// What this hub is to its pair, and the log's term.
    mode: Mode,
    term: u64,
    /// The term whose promotion the technician forced against a device's witness: the old
    /// primary's numbers are given up, and further witnesses of it stop nothing.
    loss_accepted: Option<u64>,
    pair: Option<Arc<Pair>>,
    /// A standby's way to its primary, until the engine takes it up (`Request::FollowPrimary`).
    dial: Option<Box<dyn pair::link::Dial>>,
    following: following::Following,
}

/// The engine cannot go on (its state cannot be rebuilt, or no one can send it requests).
#[derive(Debug)]
struct Stop;

/// The last welcome with a snapshot: joins within a second of each other at the same `seq`
/// share it (a thousand boards reconnecting after a hub restart).
struct CachedSnapshot {
    seq: u64,
    admin: bool,
    light: bool,
    /// On the engine's clock: a snapshot shows waiting times as of `now`, so a clock a test
    /// moved (or a wall clock that was set) must not get one made at another time.
    made: DateTime<Utc>,
    welcome: Arc<SharedWelcome>,
}

/// What a batch has produced so far: written in one transaction, announced after it.
#[derive(Default)]
struct Pending {
    out: Batch,
    /// Event frames by `seq`, to broadcast after the commit.
    frames: Vec<(u64, Utf8Bytes)>,
    /// Tickets whose rows must be written.
    touched: BTreeSet<TicketId>,
    /// Bookings whose rows must be written, by code.
    touched_bookings: BTreeSet<String>,
}

/// What step 1 of a batch gathered, for steps 2 and 3.
#[derive(Default)]
struct Collected {
    pending: Pending,
    answers: Vec<Answer>,
    joins: Vec<JoinRequest>,
    tracks: Vec<(String, oneshot::Sender<Option<p::Tracked>>)>,
    looks: Vec<booking::Look>,
    /// A standby's acknowledgements, sent after the commit.
    replicated: Vec<(Acknowledge, Result<u64, String>)>,
    /// The log's end before the batch (restored if the commit fails).
    seq_before: u64,
    /// The service day before time's events (a new one prunes after the commit).
    day_before: Option<NaiveDate>,
    /// A new day held back because the clock jumped.
    held: Option<NaiveDate>,
}

/// Where a standby's engine says which `seq` it has on disk (or why it could not keep a batch).
pub type Acknowledge = oneshot::Sender<Result<u64, String>>;

/// A command as a device asked it, for `answer`.
struct Asked<'a> {
    actor: &'a Actor,
    id: &'a CommandId,
    command: &'a Command,
    /// After this (on the engine's clock) it is answered `expired`, undone.
    expires_at: Option<DateTime<Utc>>,
    /// Who acts, when the connection knows (a supervisor signed in to the console).
    staff: Option<StaffCode>,
}

/// A command's answer, sent after the commit.
struct Answer {
    respond: oneshot::Sender<Utf8Bytes>,
    id: CommandId,
    reply: Utf8Bytes,
}

/// A connection that asked to join during the batch.
struct JoinRequest {
    role: Role,
    resume_from: Option<u64>,
    light: bool,
    respond: oneshot::Sender<Joined>,
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("cannot start the engine thread: {0}")]
    Thread(std::io::Error),
    #[error(transparent)]
    Clock(#[from] ClockRefused),
    #[error(transparent)]
    Pair(#[from] PairError),
    #[error(
        "this database is a standby's, but the configuration has no [replication] naming its primary"
    )]
    StandbyWithoutPeer,
}

/// Opens the database, rebuilds the state, and starts the engine thread.
pub fn start(
    config: Arc<Config>,
    db: &Path,
    clock: Arc<dyn Clock>,
    accept_date: Option<NaiveDate>,
) -> Result<EngineHandle, StartError> {
    let (engine, requests, handle) = open(config, db, clock, accept_date)?;
    let (stopped_tx, stopped) = watch::channel(false);
    std::thread::Builder::new()
        .name("hub-engine".into())
        .spawn(move || {
            let _signal = StoppedSignal(stopped_tx);
            engine.run(requests)
        })
        .map_err(StartError::Thread)?;
    Ok(EngineHandle { stopped, ..handle })
}

/// The engine, ready to run on a thread of its own: the database opened, the state rebuilt,
/// and a handle whose `stopped` the caller replaces.
fn open(
    config: Arc<Config>,
    db: &Path,
    clock: Arc<dyn Clock>,
    accept_date: Option<NaiveDate>,
) -> Result<(Engine, mpsc::Receiver<Request>, EngineHandle), StartError> {
    let mut store = Writer::open(db)?;
    let mode = Mode::from_stored(store.role()?.as_deref());
    let term = store.term()?;
    let pair = match &config.replication {
        Some(r) => Some(Pair::new(r.clone(), Standing { mode, term })?),
        None if mode == Mode::Standby => return Err(StartError::StandbyWithoutPeer),
        None => None,
    };
    let now = clock.now();
    let rules = &config.rules;
    let mut seq = store.last_seq()?;
    let (state, replayed) = rebuild(rules, &store, rules.service_day(now))?;
    let today = rules.service_day(now);
    // A standby's service day is its primary's: it starts whatever its log's last day.
    if mode != Mode::Standby {
        timekeeping::check_start(today, (seq > 0).then_some(state.day), accept_date)?;
    }
    let checked = store.last_check()?;
    let last_check = checked.as_ref().map(|(at, _)| *at);
    let damage = checked
        .map(|(_, found)| found)
        .filter(|f| !f.is_empty() && f != "ok")
        .map(damage_text);
    prune(&mut store, state.day);
    let started = Instant::now();
    let replies = Replies::load(replies::CAPACITY, store.replies(state.day)?);
    let ring: VecDeque<(u64, Utf8Bytes)> = store
        .wire_after(seq.saturating_sub(RING as u64), RING)?
        .into_iter()
        .map(|(s, w)| (s, Utf8Bytes::from(w)))
        .collect();
    let (events, _) = broadcast::channel(4096);
    let events_for_handle = events.clone();
    let (health_tx, health_rx) = watch::channel(Health {
        seq,
        day: state.day,
        writes: None,
        damage,
        clock: None,
    });
    let (deadline_tx, deadline_rx) = watch::channel(now);
    let (waits_tx, waits_rx) = watch::channel(Arc::new(CentreWaits::default()));
    let (req_tx, req_rx) = mpsc::channel(8192);
    let phone_key = store.secret("phone_key", || {
        let bytes: [u8; 32] = rand::rng().random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    })?;
    let phone_key: PhoneKey = Arc::new(std::sync::RwLock::new(self::phone_key(&phone_key)));
    let display_generations: DisplayGenerations = Arc::new(std::sync::RwLock::new(
        store
            .display_generations()?
            .into_iter()
            .map(|(d, g)| (DeviceId::from(d.as_str()), g))
            .collect(),
    ));
    let following = following::Following::open(
        &store,
        state.day,
        mode == Mode::Primary,
        config.notify.web_push.is_some(),
    )?;
    let vapid = following.vapid.clone();
    // A standby's log begins with its primary's first event.
    let fresh = seq == 0 && mode == Mode::Primary;
    let clock_elapsed = clock.elapsed();
    let mut engine = Engine {
        config: config.clone(),
        clock,
        state,
        store,
        seq,
        replies,
        ring,
        events,
        health: health_tx,
        deadline: deadline_tx,
        waits: waits_tx,
        snapshot_cache: None,
        timekeeper: Timekeeper::new(now, clock_elapsed),
        display_generations: display_generations.clone(),
        phone_key: phone_key.clone(),
        mode,
        term,
        loss_accepted: None,
        pair: pair.clone(),
        dial: None,
        following,
    };
    if fresh {
        // Every log begins with the day it was started on.
        let day = engine.state.day;
        let start = Event::DayStarted {
            day,
            next_ticket_id: TicketId(1),
            sessions: vec![],
        };
        engine.process(vec![], Some(start))?;
        seq = engine.seq;
    } else {
        engine.process(vec![], None)?;
    }
    if let Some(pair) = &pair {
        pair.opened_at(engine.seq);
    }
    tracing::info!(seq, day = %engine.state.day, replayed, ms = started.elapsed().as_millis() as u64, mode = ?mode, term, "state rebuilt");
    let handle = EngineHandle {
        requests: req_tx,
        events: events_for_handle,
        health: health_rx,
        deadline: deadline_rx,
        waits: waits_rx,
        stopped: watch::channel(false).1,
        last_check,
        clock: engine.clock.clone(),
        display_generations,
        phone_key,
        pair,
        vapid,
    };
    Ok((engine, req_rx, handle))
}

fn damage_text(found: String) -> String {
    format!("the database is damaged ({found}): restore the last backup (docs/OPERATIONS.md)")
}

/// Applies the retention (docs/OPERATIONS.md); a failure is logged, and tried again next day.
fn prune(store: &mut Writer, today: NaiveDate) {
    let started = Instant::now();
    match store.prune(today) {
        Ok(p) => tracing::info!(
            frames = p.frames,
            replies = p.replies,
            pages_freed = p.pages_freed,
            ms = started.elapsed().as_millis() as u64,
            "retention applied"
        ),
        Err(e) => tracing::warn!(error = %e, "retention not applied"),
    }
}

/// The state of the current service day from the log: from its `day_started` (which carries the
/// open counter sessions and the next ticket id), replaying every event since. Returns the state
/// and how many events were replayed.
fn rebuild(
    rules: &queue_core::Rules,
    store: &Writer,
    day_if_empty: NaiveDate,
) -> Result<(State, usize), LedgerError> {
    let records = store.current_day_events()?;
    let mut state = match records.first().map(|r| &r.event) {
        Some(Event::DayStarted {
            day,
            next_ticket_id,
            sessions,
        }) => State::new_day(rules, *day, *next_ticket_id, sessions),
        _ => State::new_day(rules, day_if_empty, TicketId(1), &[]),
    };
    // Bookings are made days ahead: the book also holds the appointment events of the days
    // before, back to the longest booking horizon (and a day, for yesterday's look-ups).
    let horizon = rules
        .services
        .values()
        .filter_map(|s| s.appointments.as_ref().map(|a| a.days_ahead))
        .max();
    if let Some(horizon) = horizon {
        let before = records.first().map_or(u64::MAX, |r| r.seq);
        let since = state.day - chrono::Days::new(u64::from(horizon) + 1);
        for r in store.appointment_events(before, since)? {
            state.evolve_book(rules, r.at, &r.event);
        }
    }
    for r in &records {
        state.evolve(rules, r.at, &r.event);
    }
    Ok((state, records.len()))
}

fn fresh_track() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

impl Engine {
    fn views(&self, now: DateTime<Utc>) -> Views<'_> {
        Views::new(&self.config.rules, &self.config.center, &self.state, now)
    }

    fn run(mut self, mut requests: mpsc::Receiver<Request>) {
        while let Some(first) = requests.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match requests.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            if self.process_guarded(batch).is_err() {
                return;
            }
            // A standby's engine reads its primary itself, serving its requests in between,
            // until it is promoted (`standby.rs`).
            if self.mode == Mode::Standby
                && let Some(mut dial) = self.dial.take()
                && self.follow_primary(dial.as_mut(), &mut requests).is_err()
            {
                return;
            }
        }
        tracing::info!("engine stopped");
    }

    /// Processes a batch; a bug must not take the centre down: the batch is dropped (its
    /// callers get `internal`), the state rebuilt from what is on disk, and the engine carries
    /// on. `Err` only when it cannot rebuild: the engine must stop.
    fn process_guarded(&mut self, batch: Vec<Request>) -> Result<(), Stop> {
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.process(batch, None)));
        self.recover(outcome.map(|r| r.map(|_| ())))
    }

    /// After a batch: logs its failure and rebuilds the state from disk.
    fn recover(
        &mut self,
        outcome: std::thread::Result<Result<(), LedgerError>>,
    ) -> Result<(), Stop> {
        match outcome {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => tracing::error!(error = %e, "batch not committed"),
            Err(_) => tracing::error!("engine panicked while processing a batch"),
        }
        self.reload().map_err(|e| {
            tracing::error!(error = %e, "cannot rebuild the state from the database; stopping");
            Stop
        })
    }

    /// Every field's view, for whoever shows the centre's waits elsewhere; unchanged, nothing
    /// is sent.
    fn publish_waits(&mut self, now: DateTime<Utc>) {
        let views = self.views(now);
        let (rules, state) = (&self.config.rules, &self.state);
        let fields: Vec<FieldWaits> = rules
            .service_order
            .iter()
            .filter_map(|id| {
                Some(FieldWaits {
                    view: views.service(id)?,
                    queue: queue_core::estimate::queue_positions(state, id)
                        .into_iter()
                        .map(|(ticket, _)| ticket.0)
                        .collect(),
                    secs_per_ahead: queue_core::estimate::secs_per_ticket_ahead(
                        rules, state, id, false,
                    ),
                    secs_per_ahead_priority: queue_core::estimate::secs_per_ticket_ahead(
                        rules, state, id, true,
                    ),
                })
            })
            .collect();
        let now_waits = CentreWaits {
            day: Some(self.state.day),
            fields,
        };
        self.waits.send_if_modified(|w| {
            let changed = **w != now_waits;
            if changed {
                *w = Arc::new(now_waits);
            }
            changed
        });
    }

    /// Rebuilds the in-memory state from the database after a failed batch.
    fn reload(&mut self) -> Result<(), LedgerError> {
        let rules = &self.config.rules;
        self.seq = self.store.last_seq()?;
        let (state, _) = rebuild(rules, &self.store, self.state.day)?;
        self.state = state;
        self.replies = Replies::load(replies::CAPACITY, self.store.replies(self.state.day)?);
        self.ring.retain(|(s, _)| *s <= self.seq);
        self.snapshot_cache = None;
        Ok(())
    }

    /// One batch, in three steps: decide everything it asks (`collect`), make it durable
    /// (`commit`), then tell everyone (`announce`). Nothing is announced unless committed.
    fn process(
        &mut self,
        batch: Vec<Request>,
        first_event: Option<Event>,
    ) -> Result<Wrote, LedgerError> {
        let now = self.clock.now();
        let mut collected = self.collect(now, batch, first_event);
        let wrote = self.commit(&mut collected)?;
        self.announce(now, collected, wrote);
        Ok(wrote)
    }

    /// Step 1: time's own events first (a new day, overdue tickets), then each request in
    /// order — a retry answered from memory, an expired command refused, the rest decided by
    /// the core and applied to the state. Nothing leaves the engine yet.
    fn collect(
        &mut self,
        now: DateTime<Utc>,
        batch: Vec<Request>,
        first_event: Option<Event>,
    ) -> Collected {
        let hub = Actor {
            device: "hub".into(),
            role: Role::Admin,
        };
        let mut c = Collected {
            seq_before: self.seq,
            ..Collected::default()
        };
        if let Some(e) = first_event {
            self.apply(now, &hub, None, e, &mut c.pending);
        }
        c.day_before = Some(self.state.day);
        // A standby's time passes on its primary, which sends what it decided.
        if self.mode == Mode::Primary {
            c.held = self.advance_time(now, &hub, &mut c.pending);
        }
        for request in batch {
            match request {
                Request::Command {
                    actor,
                    id,
                    command,
                    expires_at,
                    staff,
                    respond,
                } => {
                    if let Some(refusal) = self.not_primary(id.as_str()) {
                        c.answers.push(Answer {
                            respond,
                            id,
                            reply: refusal,
                        });
                        continue;
                    }
                    let asked = Asked {
                        actor: &actor,
                        id: &id,
                        command: &command,
                        expires_at,
                        staff,
                    };
                    let reply = self.answer(now, asked, &mut c.pending);
                    c.answers.push(Answer { respond, id, reply });
                }
                Request::Join {
                    role,
                    resume_from,
                    light,
                    respond,
                } => c.joins.push(JoinRequest {
                    role,
                    resume_from,
                    light,
                    respond,
                }),
                Request::Tick => {}
                Request::Track { track, respond } => c.tracks.push((track, respond)),
                Request::Checked { found } => self.checked(now, found),
                Request::Alive { respond } => {
                    let _ = respond.send(());
                }
                Request::Booking { ask, respond } => {
                    self.for_a_page(&mut c, booking::BOOKING_PAGE, respond, |e, p| {
                        e.booking(now, ask, p)
                    });
                }
                Request::Leave { track, respond } => {
                    self.for_a_page(&mut c, LEAVE, respond, |e, p| e.leave(now, &track, p));
                }
                Request::BookingLook { look, respond } => c.looks.push((look, respond)),
                Request::RevokeDisplay { device, respond } => {
                    let _ = respond.send(self.revoke_display(device));
                }
                Request::Replicated { batch, respond } => {
                    let outcome = self.replicated(*batch, &mut c.pending);
                    c.replicated.push((respond, outcome));
                }
                Request::FollowPrimary { dial } => self.dial = Some(dial),
                Request::Settings {
                    secrets,
                    display_generations,
                } => self.settings(secrets, display_generations),
                Request::Promote { force, respond } => {
                    let _ = respond.send(self.promote(now, force, &hub, &mut c.pending));
                }
                Request::Witness { witness, respond } => {
                    let _ = respond.send(self.witnessed(witness));
                }
                Request::Depose { term, by, respond } => {
                    self.depose(term, &by);
                    let _ = respond.send(());
                }
                Request::Follow {
                    track,
                    contact,
                    respond,
                } => self.for_a_page(&mut c, following::PUSH, respond, |e, p| {
                    e.follow(now, &track, contact, p)
                }),
                Request::Unfollow { track, respond } => {
                    self.for_a_page(&mut c, following::PUSH, respond, |e, p| {
                        e.unfollow(now, &track, p)
                    });
                }
                Request::Notified(report) => self.notified(now, report, &mut c.pending),
                Request::AttachNotifier(notifier) => self.following.attach(notifier),
            }
        }
        self.rows_touched(&mut c);
        c
    }

    /// A citizen's page asks (booking, leaving, following): only a primary acts on it.
    fn for_a_page(
        &mut self,
        c: &mut Collected,
        id: &'static str,
        respond: oneshot::Sender<Utf8Bytes>,
        act: impl FnOnce(&mut Engine, &mut Pending) -> Utf8Bytes,
    ) {
        let reply = match self.not_primary(id) {
            Some(refusal) => refusal,
            None => act(self, &mut c.pending),
        };
        c.answers.push(Answer {
            respond,
            id: CommandId::from(id),
            reply,
        });
    }

    /// The rows of the tickets and bookings the batch changed, for the same transaction.
    fn rows_touched(&mut self, c: &mut Collected) {
        for id in std::mem::take(&mut c.pending.touched) {
            if let Some(t) = self.state.ticket(id) {
                c.pending.out.tickets.push((self.state.day, t.clone()));
            }
        }
        let rules = &self.config.rules;
        for code in std::mem::take(&mut c.pending.touched_bookings) {
            if let Some(b) = self.state.book.get(&code) {
                let target = rules
                    .services
                    .get(&b.service)
                    .map_or(0, |s| s.target_wait.num_minutes());
                let day = rules.service_day(b.start);
                c.pending.out.appointments.push((day, b.clone(), target));
            }
        }
    }

    /// One command's reply: from the idempotency memory, `expired`, or the core's decision
    /// (remembered when it changed something).
    fn answer(&mut self, now: DateTime<Utc>, asked: Asked<'_>, pending: &mut Pending) -> Utf8Bytes {
        let Asked {
            actor,
            id,
            command,
            expires_at,
            staff,
        } = asked;
        let key = ReplyKey {
            device: actor.device.clone(),
            id: id.clone(),
        };
        if let Some(previous) = self.replies.get(&key) {
            return previous.clone();
        }
        // Checked after the memory: a command that did act keeps its answer.
        if expires_at.is_some_and(|deadline| now > deadline) {
            tracing::info!(device = %actor.device, cmd = command.name(), "command expired before it was processed");
            return frames::reply(p::Reply {
                id: id.to_string(),
                ok: false,
                result: None,
                error: Some(p::ErrorBody {
                    code: ErrorCode::Expired,
                    message:
                        "this request expired before the hub could act on it: nothing was done"
                            .into(),
                }),
                now: Some(now),
            });
        }
        let (reply, changed) = self.execute(now, actor, staff, id.as_str(), command, pending);
        // A refusal, or a command that changed nothing, costs nothing durable: a device
        // sending thousands of them writes no row and waits for no fsync.
        if changed {
            pending.out.replies.push(StoredReply {
                day: self.state.day,
                key: key.clone(),
                text: reply.as_str().to_string(),
            });
            self.replies.remember(key, reply.clone());
        }
        reply
    }

    /// Step 2: the batch's events, ticket rows and replies in one transaction. If it fails,
    /// every command of the batch is answered `internal`, `/healthz` says why (before anyone
    /// hears the refusal), and the caller rebuilds the state from disk.
    fn commit(&mut self, c: &mut Collected) -> Result<Wrote, LedgerError> {
        let wrote = if c.pending.out.is_empty() {
            Wrote::Nothing
        } else {
            Wrote::Committed
        };
        if let Err(e) = self.store.commit(&c.pending.out) {
            self.health.send_modify(|h| {
                h.writes = Some(format!("the database refuses writes: {e}"));
            });
            self.seq = c.seq_before;
            for (respond, _) in c.replicated.drain(..) {
                let _ = respond.send(Err(format!("the standby's database refuses writes: {e}")));
            }
            for a in c.answers.drain(..) {
                let _ = a.respond.send(error_reply(
                    a.id.as_str(),
                    ErrorCode::Internal,
                    "the hub could not save this; try again",
                ));
            }
            return Err(e);
        }
        if wrote == Wrote::Committed {
            self.ship(c);
        }
        // A standby acknowledges as soon as the batch is on disk: its primary waits for that.
        for (respond, outcome) in c.replicated.drain(..) {
            let _ = respond.send(outcome);
        }
        Ok(wrote)
    }

    /// Step 3: what was committed goes out — the events to every connection (one wire for the
    /// whole commit) and the replay ring, health, the answers, the joins' snapshots, tracking
    /// look-ups; then the day's retention and the next deadline.
    fn announce(&mut self, now: DateTime<Utc>, c: Collected, wrote: Wrote) {
        let frames = c.pending.frames;
        let committed = !frames.is_empty();
        if committed {
            let _ = self
                .events
                .send(Wire::encode(frames.iter().map(|(_, f)| f)));
        }
        self.ring.extend(frames);
        while self.ring.len() > RING {
            self.ring.pop_front();
        }
        // Health first: whoever hears an answer finds `/healthz` already up to date.
        let held = c.held;
        self.health.send_if_modified(|h| {
            let new = Health {
                seq: self.seq,
                day: self.state.day,
                // A commit that went through proves the disk works again.
                writes: h.writes.take().filter(|_| wrote == Wrote::Nothing),
                damage: h.damage.clone(),
                clock: held.map(|day| {
                    format!(
                        "the clock jumped to service day {day}, but the hub has not been running that long: \
                         still serving {}. Fix the clock, or restart the hub to start {day}",
                        self.state.day
                    )
                }),
            };
            let changed = *h != new;
            *h = new;
            changed
        });
        for a in c.answers {
            let _ = a.respond.send(a.reply);
        }
        // After the answers: no one waits for this. Only a centre that ships to a province has
        // anyone to show it to.
        let first = self.waits.borrow().day.is_none();
        if self.config.province.is_some() && (committed || first) {
            self.publish_waits(now);
        }
        for j in c.joins {
            let joined = self.join(j.role, j.resume_from, j.light, now);
            let _ = j.respond.send(joined);
        }
        for (track, respond) in c.tracks {
            let _ = respond.send(self.tracked(&track, now));
        }
        let views = self.views(now);
        for (look, respond) in c.looks {
            let seen = booking::look(&self.config.rules, &self.state, &views, now, look);
            let _ = respond.send(seen);
        }
        if c.day_before.is_some_and(|d| d != self.state.day) {
            self.new_day_key();
            prune(&mut self.store, self.state.day);
        }
        self.send_notices(&c.pending.out.events);
        let mut next = core::next_deadline(&self.config.rules, &self.state, now);
        if held.is_some() {
            // The held day's start is in the past: look again in a while, not at once.
            next = now + chrono::TimeDelta::seconds(30);
        }
        self.deadline.send_if_modified(|d| {
            let changed = *d != next;
            *d = next;
            changed
        });
    }

    /// What time does before today's commands: a new day, overdue tickets, opening hours —
    /// unless the new day is not plausible (`timekeeping`). Returns the day held, if one is.
    fn advance_time(
        &mut self,
        now: DateTime<Utc>,
        hub: &Actor,
        pending: &mut Pending,
    ) -> Option<NaiveDate> {
        let monotonic = self.clock.elapsed();
        match self.timekeeper.read(now, monotonic) {
            Some(Reading::SteppedBack(by)) => tracing::warn!(
                seconds = by.num_seconds(),
                "the wall clock was set back: queue order is unaffected, event times repeat"
            ),
            Some(Reading::SteppedForward(by)) => {
                tracing::warn!(seconds = by.num_seconds(), "the wall clock was set forward")
            }
            Some(Reading::Steady) | None => {}
        }
        let rules = &self.config.rules;
        let today = rules.service_day(now);
        if today > self.state.day
            && !self
                .timekeeper
                .may_start(rules, self.state.day, today, monotonic)
        {
            if self.health.borrow().clock.is_none() {
                tracing::error!(
                    %today,
                    serving = %self.state.day,
                    "the clock jumped days ahead while the hub ran: not starting that day"
                );
            }
            return Some(today);
        }
        self.timekeeper.trust(now, monotonic);
        // Time first: a new day or an overdue ticket is decided before today's commands.
        for _ in 0..2 {
            let due = core::tick(&self.config.rules, &self.state, now);
            if due.is_empty() {
                break;
            }
            for e in due {
                self.apply(now, hub, None, e, pending);
            }
        }
        None
    }

    /// Records what the integrity check found, and says it on `/healthz`.
    fn checked(&mut self, now: DateTime<Utc>, found: Option<String>) {
        match &found {
            None => tracing::info!("database check: ok"),
            Some(problem) => {
                tracing::error!(%problem, "DATABASE DAMAGED: restore the last backup")
            }
        }
        if let Err(e) = self
            .store
            .record_check(now, found.as_deref().unwrap_or("ok"))
        {
            tracing::warn!(error = %e, "cannot record the database check");
        }
        self.health
            .send_modify(|h| h.damage = found.map(damage_text));
    }

    /// A change asked by the booking page, decided now and answered (as a reply's JSON) after
    /// the commit.
    fn booking(
        &mut self,
        now: DateTime<Utc>,
        ask: booking::BookingAsk,
        pending: &mut Pending,
    ) -> Utf8Bytes {
        let code = booking::fresh_code(|c| self.state.book.get(c).is_some());
        let actor = booking::actor_of(&ask);
        let decision = match booking::decide(&self.config.rules, &self.state, now, ask, &code) {
            Ok(d) => d,
            Err(r) => return error_reply(booking::BOOKING_PAGE, r.code, r.message),
        };
        for e in decision.events {
            self.apply(now, &actor, None, e, pending);
        }
        let booked = match &decision.subject {
            Subject::Appointment(code) => self.state.book.get(code),
            _ => None,
        };
        match booked {
            Some(b) => booking::reply(self.views(now).appointment(b)),
            None => error_reply(
                booking::BOOKING_PAGE,
                ErrorCode::Internal,
                "the booking went missing",
            ),
        }
    }

    /// A citizen gives the place up from the tracking page: recorded as the citizen's.
    fn leave(&mut self, now: DateTime<Utc>, track: &str, pending: &mut Pending) -> Utf8Bytes {
        let Some(ticket) = self.state.ticket_by_track(track).map(|t| t.id) else {
            return error_reply(LEAVE, ErrorCode::NotFound, "no ticket with this code today");
        };
        let decision = match core::decide::citizen::leave(&self.state, ticket) {
            Ok(d) => d,
            Err(r) => return error_reply(LEAVE, r.code, r.message),
        };
        let citizen = Actor {
            device: core::decide::citizen::CITIZEN.into(),
            role: Role::Tracker,
        };
        for e in decision.events {
            self.apply(now, &citizen, None, e, pending);
        }
        frames::reply(p::Reply {
            id: LEAVE.to_string(),
            ok: true,
            result: None,
            error: None,
            now: None,
        })
    }

    fn revoke_display(&mut self, device: DeviceId) -> Result<u64, String> {
        let generation = self
            .display_generations
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&device)
            .map_or(1, |g| g + 1);
        self.store
            .set_display_generation(device.as_str(), generation)
            .map_err(|e| e.to_string())?;
        self.display_generations
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(device.clone(), generation);
        tracing::info!(%device, generation, "counter display's cookies revoked");
        self.ship_settings();
        Ok(generation)
    }

    fn execute(
        &mut self,
        now: DateTime<Utc>,
        actor: &Actor,
        signed_in: Option<StaffCode>,
        id: &str,
        command: &Command,
        pending: &mut Pending,
    ) -> (Utf8Bytes, bool) {
        let track = fresh_track();
        let code = match command {
            Command::BookAppointment { .. } => {
                booking::fresh_code(|c| self.state.book.get(c).is_some())
            }
            _ => String::new(),
        };
        let cx = Context {
            now,
            fresh_track: &track,
            fresh_code: &code,
        };
        let staff = match command {
            Command::Login { staff, .. } => Some(StaffCode::from(staff.as_str())),
            _ if signed_in.is_some() => signed_in,
            _ => self
                .state
                .counter_of_device(actor.device.as_str())
                .and_then(|c| c.session.as_ref().map(|s| s.staff.clone())),
        };
        let sms = match self.sms_follower(command) {
            Ok(sealed) => sealed,
            Err(message) => return (error_reply(id, ErrorCode::BadRequest, message), false),
        };
        match core::decide(&self.config.rules, &self.state, actor, command, cx) {
            Err(rejection) => {
                // Business refusals (nobody waiting, a closed service) are routine: not logged
                // above debug, so a day's log shows what happened, not every empty queue.
                tracing::debug!(device = %actor.device, cmd = command.name(), code = ?rejection.code, "command rejected");
                (error_reply(id, rejection.code, rejection.message), false)
            }
            Ok(decision) => {
                let changed = !decision.events.is_empty();
                for e in decision.events {
                    self.apply(now, actor, staff.clone(), e, pending);
                }
                if let (Some(sealed), Subject::Ticket(t)) = (sms, &decision.subject) {
                    self.follow_by_sms(now, actor, *t, sealed, pending);
                }
                let views = self.views(now);
                let with_track = matches!(actor.role, Role::Kiosk | Role::Admin);
                let result = match decision.subject {
                    Subject::Ticket(t) => self.state.ticket(t).map(|t| p::ReplyResult::Ticket {
                        ticket: Box::new(views.ticket(t, with_track)),
                    }),
                    Subject::Counter(c) => views.counter(c).map(|c| p::ReplyResult::Counter {
                        counter: Box::new(c),
                    }),
                    Subject::Appointment(code) => {
                        self.state
                            .book
                            .get(&code)
                            .map(|b| p::ReplyResult::Appointment {
                                appointment: Box::new(views.appointment(b)),
                            })
                    }
                    Subject::Nothing => None,
                };
                let reply = frames::reply(p::Reply {
                    id: id.to_string(),
                    ok: true,
                    result: Some(result.unwrap_or(p::ReplyResult::Nothing {})),
                    error: None,
                    now: None,
                });
                (reply, changed)
            }
        }
    }

    /// Applies one event: evolve the state, record it, and prepare its wire frame.
    fn apply(
        &mut self,
        now: DateTime<Utc>,
        actor: &Actor,
        staff: Option<StaffCode>,
        event: Event,
        pending: &mut Pending,
    ) {
        self.apply_at(now, actor.device.clone(), staff, event, None, pending);
    }

    /// Applies one event at `at` by `device`: with its wire frame when one is given (a
    /// standby's, as the primary wrote it), or made now.
    fn apply_at(
        &mut self,
        at: DateTime<Utc>,
        device: DeviceId,
        staff: Option<StaffCode>,
        event: Event,
        wire: Option<String>,
        pending: &mut Pending,
    ) {
        let now = at;
        let before = match event.ticket().and_then(|id| self.state.ticket(id)) {
            Some(t) => Before {
                service: Some(t.service.clone()),
                counter: t.counter,
            },
            None => Before::default(),
        };
        if let Event::DayStarted { .. } = event
            && self.seq > 0
        {
            // `tick` runs first in a batch, so no ticket of the old day is pending here; what
            // still waits is marked expired in the ticket table by the same commit.
            pending.out.expire_day = Some(self.state.day);
            self.replies.clear();
        }
        self.state.evolve(&self.config.rules, now, &event);
        self.seq += 1;
        if let Some(id) = event.ticket() {
            pending.touched.insert(id);
        }
        if let Event::AppointmentBooked { code, .. }
        | Event::AppointmentCancelled { code }
        | Event::AppointmentCheckedIn { code, .. }
        | Event::AppointmentMissed { code } = &event
        {
            pending.touched_bookings.insert(code.clone());
        }
        let rec = Recorded {
            seq: self.seq,
            at: now,
            day: self.state.day,
            device,
            staff,
            event,
        };
        let frame = match wire {
            Some(wire) => Utf8Bytes::from(wire),
            None => frames::text(&p::ServerMessage::Event(Box::new(
                self.views(now).event(&rec, &before),
            ))),
        };
        pending.out.events.push((rec, frame.as_str().to_string()));
        pending.frames.push((self.seq, frame));
    }

    /// The ticket with this tracking code, as its holder's phone may see it.
    fn tracked(&self, track: &str, now: DateTime<Utc>) -> Option<p::Tracked> {
        // An index look-up (SipHash with a random key, over 20 random characters) tells a
        // guesser nothing a scan with constant-time comparisons would not.
        let t = self.state.ticket_by_track(track)?;
        let views = self.views(now);
        let mut ticket = views.ticket(t, false);
        ticket.staff = None;
        let service = self.config.rules.services.get(&t.service);
        Some(p::Tracked {
            ticket,
            service_vi: service.map(|s| s.name_vi.clone()).unwrap_or_default(),
            service_en: service.map(|s| s.name_en.clone()).unwrap_or_default(),
            center: self.config.center.name.clone(),
            center_en: self.config.center.name_en.clone(),
            near_ahead: Some(self.config.notify.near_ahead(&t.service)),
        })
    }

    fn join(
        &mut self,
        role: Role,
        resume_from: Option<u64>,
        light: bool,
        now: DateTime<Utc>,
    ) -> Joined {
        let events = self.events.subscribe();
        // `resume_from: 0` means nothing was applied yet: a snapshot serves that client better.
        if let Some(from) = resume_from.filter(|f| *f > 0)
            && from <= self.seq
        {
            let covered =
                from == self.seq || self.ring.front().is_some_and(|(s, _)| *s <= from + 1);
            if covered {
                let welcome = p::ServerMessage::Welcome(p::Welcome {
                    seq: from,
                    snapshot: None,
                    replay: true,
                    head: Some(self.seq),
                    now: Some(now),
                    term: (self.term > 0).then_some(self.term),
                    term_proof: self.term_proof(),
                });
                let mut replay = vec![frames::text(&welcome)];
                let start = self.ring.partition_point(|(s, _)| *s <= from);
                replay.extend(self.ring.range(start..).map(|(_, f)| f.clone()));
                return Joined {
                    snapshot: None,
                    frames: replay,
                    events,
                };
            }
        }
        let admin = role == Role::Admin;
        if let Some(cached) = &self.snapshot_cache
            && cached.seq == self.seq
            && (cached.admin, cached.light) == (admin, light)
            && (TimeDelta::zero()..TimeDelta::seconds(1)).contains(&(now - cached.made))
        {
            return Joined {
                snapshot: Some(cached.welcome.clone()),
                frames: vec![],
                events,
            };
        }
        let views = self.views(now);
        let welcome = p::ServerMessage::Welcome(p::Welcome {
            seq: self.seq,
            snapshot: Some(Box::new(if light {
                views.light_snapshot(admin)
            } else {
                views.snapshot(admin)
            })),
            replay: false,
            head: None,
            now: Some(now),
            term: (self.term > 0).then_some(self.term),
            term_proof: self.term_proof(),
        });
        let welcome = Arc::new(SharedWelcome::new(welcome));
        self.snapshot_cache = Some(CachedSnapshot {
            seq: self.seq,
            admin,
            light,
            made: now,
            welcome: welcome.clone(),
        });
        Joined {
            snapshot: Some(welcome),
            frames: vec![],
            events,
        }
    }
}

pub mod booking;
pub mod following;
mod replica;
mod standby;
#[cfg(test)]
mod tests;
