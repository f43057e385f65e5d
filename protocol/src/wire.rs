//! The messages that cross the WebSocket, exactly as `docs/PROTOCOL.md` describes them.
//!
//! Every type here ignores unknown fields when read, so newer hubs and older clients (and the
//! reverse) keep understanding each other.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The hub refuses any WebSocket message larger than this.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Time as it travels: RFC 3339 with the centre's offset.
pub type WireTime = DateTime<FixedOffset>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Kiosk,
    Counter,
    Display,
    Admin,
    /// A citizen's phone following one ticket (`token` is the ticket's tracking code).
    Tracker,
    /// The screen facing the citizen at one counter (bound to it in the configuration): shows
    /// who serves them and takes the citizen's rating.
    CounterDisplay,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Kiosk => "kiosk",
            Role::Counter => "counter",
            Role::Display => "display",
            Role::Admin => "admin",
            Role::Tracker => "tracker",
            Role::CounterDisplay => "counter_display",
        }
    }
}

// ---------------------------------------------------------------- client → hub

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Hello(Hello),
    Cmd(CommandMessage),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    pub role: Role,
    pub device: String,
    pub token: String,
    /// The last event `seq` this client applied; absent on a first connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_from: Option<u64>,
    /// Optional: the client does not need the snapshot's `waiting` list (a board or kiosk shows
    /// counts only). Saves memory and bandwidth with many screens.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub light: bool,
    /// The highest hub term this client has seen (a hub of an older term learns from it that it
    /// was replaced, and stops issuing). Absent: none seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<u64>,
    /// The `term_proof` of the welcome that told that term: without it a term is not believed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_proof: Option<String>,
}

/// A command as it travels. `cmd` stays a string here so that an unknown command can be
/// answered with a precise error instead of a generic parse failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandMessage {
    /// Chosen by the client; the idempotency key of the command for this device and service day.
    pub id: String,
    pub cmd: String,
    #[serde(default)]
    pub args: serde_json::Value,
    /// The moment, on the hub's clock, after which the command must have no effect: the hub
    /// answers `expired` instead (a kiosk press nobody waits for any more must not print a
    /// ticket later). Learn the hub's clock from `welcome.now`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Reference to a ticket in a command: its id (number) or its printed number (string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TicketRef {
    Id(u64),
    Number(String),
}

/// Every command the hub knows, with its arguments. Serialises to `{"cmd": …, "args": {…}}`.
/// Its names are written nowhere else: `name()` and [`KNOWN_COMMANDS`] are derived from it
/// (strum, with serde's spelling; `tests/examples.rs` checks the two agree for every command).
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantNames,
)]
#[serde(tag = "cmd", content = "args", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Command {
    IssueTicket {
        service: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority: Option<String>,
        /// To be told by SMS when the turn is near (needs `[notify.sms]`); never stored readable.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone: Option<String>,
    },
    Login {
        counter: u32,
        staff: String,
        pin: String,
    },
    Logout {},
    CallNext {},
    Recall {},
    CallTicket {
        number: String,
    },
    StartServing {},
    Finish {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rating: Option<u8>,
    },
    NoShow {},
    Transfer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counter: Option<u32>,
    },
    Pause {},
    Resume {},
    Rate {
        ticket: TicketRef,
        rating: u8,
        /// Configured reason ids, for ratings of 2 and below.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reasons: Vec<String>,
    },
    DeviceStatus {
        status: DeviceState,
    },
    CancelTicket {
        ticket: TicketRef,
    },
    SetCounterServices {
        counter: u32,
        services: Vec<String>,
    },
    /// The scrolling notice of every board for the rest of the service day (empty: none today;
    /// the configured notice comes back with the next day).
    SetNotice {
        notice: String,
    },
    SetServiceOpen {
        service: String,
        open: bool,
    },
    CloseCounter {
        counter: u32,
    },
    /// A kiosk checks in a booked appointment by its code: the ticket, the same one again for a
    /// code already checked in.
    CheckIn {
        code: String,
        /// As for `issue_ticket`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone: Option<String>,
    },
    /// Staff book on behalf of a citizen (a return appointment), without a phone number.
    BookAppointment {
        service: String,
        start: WireTime,
    },
    CancelAppointment {
        code: String,
    },
}

impl Command {
    /// The wire name of the command (`"issue_ticket"`, …).
    pub fn name(&self) -> &'static str {
        self.into()
    }

    /// Reads the typed command out of a wire command. Missing or `null` args count as `{}`.
    pub fn from_message(msg: &CommandMessage) -> Result<Command, CommandParseError> {
        let args = match &msg.args {
            serde_json::Value::Null => serde_json::Value::Object(Default::default()),
            other => other.clone(),
        };
        let tagged = serde_json::json!({ "cmd": msg.cmd, "args": args });
        serde_json::from_value(tagged).map_err(|e| {
            if KNOWN_COMMANDS.contains(&msg.cmd.as_str()) {
                CommandParseError::BadArgs(e.to_string())
            } else {
                CommandParseError::Unknown(msg.cmd.clone())
            }
        })
    }

    /// Builds the wire form of this command with the given idempotency id.
    pub fn to_message(&self, id: impl Into<String>) -> ClientMessage {
        let value = serde_json::to_value(self).unwrap_or_default();
        ClientMessage::Cmd(CommandMessage {
            id: id.into(),
            cmd: self.name().to_string(),
            args: value
                .get("args")
                .cloned()
                .unwrap_or(serde_json::Value::Object(Default::default())),
            expires_at: None,
        })
    }
}

/// The names of every command, for telling an unknown command from bad arguments.
pub const KNOWN_COMMANDS: &[&str] = <Command as strum::VariantNames>::VARIANTS;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandParseError {
    #[error("unknown command {0:?}")]
    Unknown(String),
    #[error("bad arguments: {0}")]
    BadArgs(String),
}

// ---------------------------------------------------------------- hub → client

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Welcome(Welcome),
    Event(Box<EventFrame>),
    Reply(Reply),
    Error(ErrorBody),
    /// To a tracker: its ticket as it is now (sent on joining and whenever it changes).
    Ticket(Box<Tracked>),
    /// To admins: which configured devices are connected (after the welcome, and on changes).
    Presence(Presence),
}

/// The configured devices' connections, as the hub sees them now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    pub devices: Vec<DevicePresence>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevicePresence {
    pub device: String,
    pub role: Role,
    pub online: bool,
    /// Since when it is connected, or away (for a device never connected: since the hub
    /// started).
    pub since: chrono::DateTime<chrono::Utc>,
    /// Away longer than the configured grace (`[limits] offline_alert_s`, default 60).
    pub alert: bool,
}

/// One ticket as its holder's phone sees it: nothing about any other ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tracked {
    /// Without `track`, `staff` and `id`-independent details of other tickets.
    pub ticket: Ticket,
    pub service_vi: String,
    pub service_en: String,
    pub center: String,
    pub center_en: String,
    /// The tracking page tells the citizen the turn is near once `ticket.ahead` is at most this
    /// (the service's `near_ahead`); absent from older hubs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub near_ahead: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    /// With a snapshot: the seq the snapshot reflects. With `replay`: the client's `resume_from`.
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Box<Snapshot>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replay: bool,
    /// With `replay`: the hub's latest seq when the client joined. Events up to it are catch-up
    /// (a board does not announce them again); later ones are live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<u64>,
    /// The hub's clock when it answered (UTC): what `expires_at` is measured against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// The hub's term: how many times a standby hub has taken over (absent or 0: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<u64>,
    /// Proof that a hub of the pair made this term (an HMAC under the pair's secret): a client
    /// sends it back with `term` in its hello.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_proof: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventFrame {
    pub seq: u64,
    pub at: WireTime,
    pub event: EventBody,
}

/// Kinds of event. Unknown kinds from a newer hub read as `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    TicketIssued,
    TicketCalled,
    TicketServing,
    TicketFinished,
    TicketNoShow,
    TicketTransferred,
    TicketOverdue,
    TicketCancelled,
    TicketRated,
    CounterChanged,
    ServiceChanged,
    DayStarted,
    DeviceStatus,
    NoticeChanged,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentMissed,
    /// A ticket checked in early for its appointment joins its queue at its slot's start.
    TicketQueued,
    /// A standby hub took over: from this event on, the hub of `term` is the one that issues.
    TermStarted,
    /// The citizen will be told by push or SMS when the turn is near (`ticket.told` counts).
    TicketFollowed,
    /// A phone no longer follows the ticket (the citizen turned it off, or its push service
    /// said the subscription is gone).
    TicketUnfollowed,
    /// A notice went to the citizen's phone, or failed for good (`notice`, `delivered`).
    TicketNotified,
    #[serde(other)]
    Unknown,
}

/// What happened, carrying the state that changed so a client can apply it without hub logic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBody {
    pub kind: EventKind,
    /// The ticket after the change (ticket events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<Ticket>,
    /// The counter after the change (calls, finishes, counter_changed …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<CounterView>,
    /// The figures of every service whose figures changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceView>,
    /// `ticket_called`: true when this is a recall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recall: Option<bool>,
    /// `ticket_overdue`: `waiting` or `serving`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<OverduePhase>,
    /// `counter_changed`: what changed (`opened`, `closed`, `paused`, `resumed`, `services`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<CounterChange>,
    /// `ticket_transferred`: where the ticket came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_counter: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_service: Option<String>,
    /// `device_status`: the device and its new status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeviceState>,
    /// `notice_changed`: the boards' notice from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// `ticket_rated`: the rating (1–4), the reasons chosen (a list, maybe empty) and who gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<RatingSource>,
    /// `appointment_*`: the booking after the change (never a phone number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<Box<Appointment>>,
    /// `term_started`: the new term of the hub that issues from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<u64>,
    /// `ticket_followed`, `ticket_unfollowed`: by which way (never the phone or its address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<FollowChannel>,
    /// `ticket_notified`: what the citizen was told, and whether it reached the phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified: Option<NoticeKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered: Option<bool>,
    /// `ticket_followed`, `ticket_unfollowed`, `ticket_notified`: the day's figures of
    /// following from afar after it (the console's counts; no ticket or phone in them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub following: Option<FollowingFigures>,
    /// `day_started`: the complete state of the new service day; replace everything with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Box<Snapshot>>,
    /// Who caused it (audit trail): device and, for counters, staff code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Actor>,
}

/// Who gave a rating: the citizen on the counter's own screen, or the clerk at the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingSource {
    Citizen,
    Counter,
    /// Sent by a newer hub.
    #[serde(other)]
    Unknown,
}

/// `ticket_overdue`: which target the ticket went past.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverduePhase {
    /// Waiting longer than its service's target.
    Waiting,
    /// At a counter longer than its service's target.
    Serving,
    /// Sent by a newer hub.
    #[serde(other)]
    Unknown,
}

/// What a device last reported of itself: `ok`, `paper_out`, `printer_offline`, or another short
/// snake_case word (the set is open: a newer device may report more), written as that word.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum DeviceState {
    Ok,
    PaperOut,
    PrinterOffline,
    Other(String),
}

impl DeviceState {
    pub fn as_str(&self) -> &str {
        match self {
            DeviceState::Ok => "ok",
            DeviceState::PaperOut => "paper_out",
            DeviceState::PrinterOffline => "printer_offline",
            DeviceState::Other(s) => s,
        }
    }
}

impl From<String> for DeviceState {
    fn from(s: String) -> DeviceState {
        match s.as_str() {
            "ok" => DeviceState::Ok,
            "paper_out" => DeviceState::PaperOut,
            "printer_offline" => DeviceState::PrinterOffline,
            _ => DeviceState::Other(s),
        }
    }
}

impl From<&str> for DeviceState {
    fn from(s: &str) -> DeviceState {
        DeviceState::from(s.to_string())
    }
}

impl From<DeviceState> for String {
    fn from(s: DeviceState) -> String {
        match s {
            DeviceState::Other(s) => s,
            known => known.as_str().to_string(),
        }
    }
}

impl std::fmt::Display for DeviceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for DeviceState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// `counter_changed`: what changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterChange {
    Opened,
    Closed,
    Paused,
    Resumed,
    Services,
    /// Sent by a newer hub.
    #[serde(other)]
    Unknown,
}

/// Who caused an event: `{"device": "counter-3", "staff": "nv03"}`, or for what a citizen did
/// from the tracking page (no device of the centre's) the bare string `"citizen"`, as the shared
/// contract writes it. Either form is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub device: String,
    pub staff: Option<String>,
}

/// The `by` of what a citizen did from the tracking page.
pub const CITIZEN_ACTOR: &str = "citizen";

#[derive(Serialize, Deserialize)]
struct ActorObject {
    device: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    staff: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ActorForm {
    Name(String),
    Object(ActorObject),
}

impl Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.device == CITIZEN_ACTOR && self.staff.is_none() {
            return serializer.serialize_str(CITIZEN_ACTOR);
        }
        ActorObject {
            device: self.device.clone(),
            staff: self.staff.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Actor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match ActorForm::deserialize(deserializer)? {
            ActorForm::Name(device) => Actor {
                device,
                staff: None,
            },
            ActorForm::Object(o) => Actor {
                device: o.device,
                staff: o.staff,
            },
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub id: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ReplyResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
    /// With an `expired` refusal: the hub's clock, so that a client whose idea of it was off
    /// (a clock set since the welcome) can correct it and try again in time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

/// What a command that succeeded returns: the ticket or counter it acted on, or nothing.
///
/// On the wire, `{"ticket": {…}}`, `{"counter": {…}}` or `{}`. A result with keys this version
/// does not know (from a newer hub) reads as `Nothing`; a `ticket` or `counter` that does not
/// parse is an error, never silently nothing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ReplyResult {
    Ticket { ticket: Box<Ticket> },
    Counter { counter: Box<CounterView> },
    Appointment { appointment: Box<Appointment> },
    Nothing {},
}

impl ReplyResult {
    pub fn ticket(&self) -> Option<&Ticket> {
        match self {
            ReplyResult::Ticket { ticket } => Some(ticket),
            _ => None,
        }
    }

    pub fn counter(&self) -> Option<&CounterView> {
        match self {
            ReplyResult::Counter { counter } => Some(counter),
            _ => None,
        }
    }

    pub fn into_ticket(self) -> Option<Ticket> {
        match self {
            ReplyResult::Ticket { ticket } => Some(*ticket),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for ReplyResult {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        if let Some(ticket) = map.remove("ticket") {
            return Ok(ReplyResult::Ticket {
                ticket: serde_json::from_value(ticket).map_err(D::Error::custom)?,
            });
        }
        if let Some(appointment) = map.remove("appointment") {
            return Ok(ReplyResult::Appointment {
                appointment: serde_json::from_value(appointment).map_err(D::Error::custom)?,
            });
        }
        if let Some(counter) = map.remove("counter") {
            return Ok(ReplyResult::Counter {
                counter: serde_json::from_value(counter).map_err(D::Error::custom)?,
            });
        }
        Ok(ReplyResult::Nothing {})
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

impl ErrorBody {
    /// The code as it is written on the wire (`"queue_empty"`).
    pub fn code_str(&self) -> String {
        serde_json::to_value(self.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".into())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Unauthorized,
    Forbidden,
    BadRequest,
    UnknownCommand,
    UnknownService,
    UnknownCounter,
    ServiceClosed,
    DailyLimitReached,
    QueueEmpty,
    NotFound,
    InvalidState,
    RateLimited,
    Internal,
    /// The command's `expires_at` had passed when the hub came to it: nothing was done.
    Expired,
    /// `check_in` before the appointment's check-in window opens (the message says when).
    AppointmentEarly,
    /// `check_in` after the window closed (the message says when; a normal ticket is possible).
    AppointmentLate,
    /// No free place left in the slot.
    SlotFull,
    /// Not a slot's start, already started, or beyond the days ahead.
    NotBookable,
    /// The phone number already holds the most bookings allowed for that day.
    LimitReached,
    /// This hub is a standby (or was replaced): it serves nothing. The message names the
    /// primary's address; a client with several hub addresses tries the next one.
    NotPrimary,
    /// A push subscription's endpoint the hub will not send to (not `https`, or an address
    /// inside a network: loopback, private, link-local, multicast).
    EndpointRefused,
    #[serde(other)]
    Unknown,
}

// ---------------------------------------------------------------- state views

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Waiting,
    Called,
    Serving,
    Done,
    NoShow,
    Transferred,
    Cancelled,
    Expired,
}

impl TicketStatus {
    /// Still in the queue or at a counter.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            TicketStatus::Waiting | TicketStatus::Called | TicketStatus::Serving
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: u64,
    pub number: String,
    pub service: String,
    pub priority: Option<String>,
    pub status: TicketStatus,
    pub issued_at: WireTime,
    #[serde(default)]
    pub called_at: Option<WireTime>,
    #[serde(default)]
    pub serving_at: Option<WireTime>,
    #[serde(default)]
    pub finished_at: Option<WireTime>,
    #[serde(default)]
    pub counter: Option<u32>,
    #[serde(default)]
    pub staff: Option<String>,
    /// Overdue in its current phase (waiting past the target wait, or in service past the target).
    #[serde(default)]
    pub overdue: bool,
    /// Waiting tickets that will be called before this one in its service (approximate).
    #[serde(default)]
    pub ahead: Option<u32>,
    #[serde(default)]
    pub eta_min: Option<u32>,
    #[serde(default)]
    pub recalls: u32,
    #[serde(default)]
    pub rating: Option<u8>,
    /// Token of the ticket's tracking page; only in the issuing reply and for admins.
    #[serde(default)]
    pub track: Option<String>,
    /// The appointment the ticket was checked in for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<AppointmentRef>,
    /// Who follows the ticket from afar and what they were told (absent: nobody ever did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub told: Option<Told>,
}

/// A ticket's followers by push and SMS and what reached them: a clerk waits a minute for a
/// citizen told "called" who is walking back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Told {
    /// Phones following by Web Push, and by SMS, now.
    #[serde(default)]
    pub push: u32,
    #[serde(default)]
    pub sms: u32,
    /// "Your turn is near" reached a phone.
    #[serde(default)]
    pub near: bool,
    /// "Please go to counter N" reached a phone (for the last call or recall).
    #[serde(default)]
    pub called: bool,
    /// Notices that failed for good (after their retries).
    #[serde(default)]
    pub failed: u32,
}

/// The day's following from afar, for the console: tickets followed by each way (at any time
/// today, ended ones too) and the notices that reached a phone or failed for good.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowingFigures {
    #[serde(default)]
    pub push: u32,
    #[serde(default)]
    pub sms: u32,
    #[serde(default)]
    pub delivered: u32,
    #[serde(default)]
    pub failed: u32,
}

/// How a citizen follows a ticket from afar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowChannel {
    Push,
    Sms,
    #[serde(other)]
    Unknown,
}

/// What a citizen following from afar is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// The people ahead fell to the service's `near_ahead`.
    Near,
    Called,
    Recalled,
    #[serde(other)]
    Unknown,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Near => "near",
            NoticeKind::Called => "called",
            NoticeKind::Recalled => "recalled",
            NoticeKind::Unknown => "unknown",
        }
    }
}

/// A ticket's appointment: its code and its slot's start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentRef {
    pub code: String,
    pub start: WireTime,
}

/// A booking as the hub shows it (never with a phone number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Appointment {
    pub code: String,
    pub service: String,
    pub start: WireTime,
    pub end: WireTime,
    pub check_in_from: WireTime,
    pub check_in_until: WireTime,
    pub status: AppointmentStatus,
    /// The ticket's number once checked in.
    #[serde(default)]
    pub ticket: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Booked,
    CheckedIn,
    Cancelled,
    Missed,
    /// Sent by a newer hub.
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterState {
    Closed,
    Open,
    Paused,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterView {
    pub number: u32,
    pub name: String,
    pub state: CounterState,
    /// Services in the counter's order of preference.
    pub services: Vec<String>,
    #[serde(default)]
    pub priority_only: bool,
    #[serde(default)]
    pub staff: Option<String>,
    #[serde(default)]
    pub staff_name: Option<String>,
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub current: Option<Ticket>,
    /// The counter has a screen facing the citizen (`counter_display`): its ratings come from
    /// there, not from the counter.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub citizen_screen: bool,
    #[serde(default)]
    pub served_today: u32,
    #[serde(default)]
    pub no_shows_today: u32,
    /// Average wait (issue to call) of the tickets this counter called today, in seconds.
    #[serde(default)]
    pub avg_wait_sec: Option<u32>,
    /// Average service time of the tickets this counter finished today, in seconds.
    #[serde(default)]
    pub avg_service_sec: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    Open,
    Closed,
    SoldOut,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceView {
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
    pub prefix: String,
    pub state: ServiceState,
    /// Same as `state == "open"`: tickets can be issued now.
    pub open: bool,
    pub waiting: u32,
    pub overdue: u32,
    /// Estimated wait of a ticket issued now; `null` when no counter serving it is open.
    pub eta_min: Option<u32>,
    pub issued_today: u32,
    pub target_wait_min: u32,
    pub target_service_min: u32,
    /// The pictogram of its kiosk tile (a name of the hub's shipped set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// It takes appointments (`check_in` at the kiosk, the booking page).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub appointments: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryView {
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CenterView {
    pub name: String,
    pub name_en: String,
    /// Local date of the current service day, `YYYY-MM-DD`.
    pub service_day: String,
    pub timezone: String,
    pub now: WireTime,
    #[serde(default)]
    pub notice: String,
    /// Base URL of the hub as citizens' phones reach it (tracking pages), if configured.
    #[serde(default)]
    pub public_url: Option<String>,
    /// The centre sends "near" and "called" by SMS: a kiosk offers to take a phone number.
    #[serde(default)]
    pub sms: bool,
    /// The province's door, when the centre has one: a ticket's QR opens
    /// `{track_base}/t/{track}` there (reachable from anywhere), not on `public_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_base: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallView {
    pub ticket: u64,
    pub number: String,
    pub service: String,
    pub counter: u32,
    pub at: WireTime,
    #[serde(default)]
    pub recall: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceView {
    pub device: String,
    pub status: DeviceState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub center: CenterView,
    pub categories: Vec<CategoryView>,
    pub services: Vec<ServiceView>,
    pub counters: Vec<CounterView>,
    /// Waiting tickets in the order the hub would call them within each service.
    pub waiting: Vec<Ticket>,
    /// Newest first.
    pub recent_calls: Vec<CallView>,
    #[serde(default)]
    pub devices: Vec<DeviceView>,
    /// Admin only: today's figures so far, all services together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub today: Option<DayFigures>,
    /// Admin only: how today's citizens followed their tickets from afar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub following: Option<FollowingFigures>,
    /// The rating scale, best first (for counter displays and counters).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ratings: Vec<RatingLevel>,
    /// The reasons a citizen may choose for a rating of 2 and below.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rating_reasons: Vec<RatingReason>,
}

/// One level of the rating scale, with its words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingLevel {
    pub value: u8,
    pub name_vi: String,
    pub name_en: String,
}

/// A reason for a low rating, as the centre configured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingReason {
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
}

/// A report line: counts, times in minutes, the overdue share (0–1), the average rating (1–4).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DayFigures {
    pub issued: u32,
    pub served: u32,
    pub no_shows: u32,
    pub cancelled: u32,
    pub expired: u32,
    /// Tickets sent on to another service or counter at least once (counted under the service
    /// they ended in).
    #[serde(default)]
    pub transferred: u32,
    pub wait_avg_min: Option<f64>,
    /// The median wait.
    #[serde(default)]
    pub wait_p50_min: Option<f64>,
    pub wait_p90_min: Option<f64>,
    pub service_avg_min: Option<f64>,
    pub service_p90_min: Option<f64>,
    pub overdue_share: Option<f64>,
    pub rating_avg: Option<f64>,
    /// How many ratings the average is of, and how many of them the citizens gave on a counter
    /// display (the rest came from counters).
    #[serde(default)]
    pub ratings: u32,
    #[serde(default)]
    pub ratings_by_citizen: u32,
    /// The share of finished tickets that were rated (0–1).
    #[serde(default)]
    pub rated_share: Option<f64>,
    /// How often each reason was chosen with a low rating.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub reasons: std::collections::BTreeMap<String, u32>,
}
