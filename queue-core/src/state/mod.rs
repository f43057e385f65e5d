//! The state of one service day and how each event changes it (`evolve`).
//!
//! The state is a pure function of the rules and the events since the day's `day_started`: the
//! hub rebuilds it at start-up by replaying them. Indices (queues per service, overdue deadlines)
//! are kept here so `decide` never scans the whole day.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use chrono::{DateTime, NaiveDate, Utc};
use protocol::{FollowChannel, NoticeKind, TicketStatus};
use serde::{Deserialize, Serialize};

use super::appointments::{Book, Holder};
pub use super::rules::TicketId;
use super::rules::{CategoryId, CounterNo, DeviceId, Rules, ServiceId, StaffCode};

mod evolve;

#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: TicketId,
    pub number: u32,
    /// Printed form, e.g. `A1005`.
    pub label: String,
    pub service: ServiceId,
    pub priority: Option<CategoryId>,
    pub status: TicketStatus,
    pub issued_at: DateTime<Utc>,
    /// When it joined its queue: the issue time, or the transfer time when a transfer does not
    /// keep the place. Shown, never used for order: see `place`.
    pub queued_at: DateTime<Utc>,
    /// Its place in the queue: the day's count of queue joins when it joined. The wall clock
    /// does not decide order, so a clock set back cannot put a new ticket before an old one.
    pub place: u64,
    /// The last call (a recall moves it).
    pub called_at: Option<DateTime<Utc>>,
    /// The first call of the ticket's visit: where its wait ended (a recall or a transfer does
    /// not move it).
    pub first_called_at: Option<DateTime<Utc>>,
    pub serving_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub counter: Option<CounterNo>,
    pub staff: Option<StaffCode>,
    /// Set when transferred to a specific counter: only that counter calls it.
    pub for_counter: Option<CounterNo>,
    pub recalls: u32,
    pub transfers: u32,
    pub overdue_wait: bool,
    pub overdue_service: bool,
    pub rating: Option<u8>,
    /// Who gave `rating`.
    pub rated_by: Option<RatedBy>,
    /// The reasons the citizen chose with a low rating (configured ids).
    pub rating_reasons: Vec<String>,
    pub track: String,
    /// The appointment it was checked in for.
    pub appointment: Option<TicketAppointment>,
    /// Checked in early: out of the queue until its slot starts.
    pub held: bool,
}

/// A ticket's appointment: its code and its slot's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketAppointment {
    pub code: String,
    pub start: DateTime<Utc>,
}

/// Where a checked-in appointment's ticket goes: its code, its slot's start, and its place in
/// the queue (`None`: held until the start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    pub code: String,
    pub start: DateTime<Utc>,
    pub place: Option<u64>,
}

impl Ticket {
    pub fn is_priority(&self) -> bool {
        self.priority.is_some()
    }

    /// Overdue in its current phase.
    pub fn overdue_now(&self) -> bool {
        match self.status {
            TicketStatus::Waiting | TicketStatus::Called => self.overdue_wait,
            TicketStatus::Serving => self.overdue_service,
            _ => self.overdue_wait || self.overdue_service,
        }
    }

    /// Where its wait starts: its issue, or its slot's start for an appointment checked in
    /// early.
    pub fn wait_from(&self) -> DateTime<Utc> {
        match &self.appointment {
            Some(a) => self.issued_at.max(a.start),
            None => self.issued_at,
        }
    }

    pub fn queue_key(&self) -> QueueKey {
        QueueKey {
            normal: !self.is_priority(),
            place: self.place,
            id: self.id,
        }
    }
}

/// Order within a service queue: priority first, then the earlier place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueueKey {
    pub normal: bool,
    pub place: u64,
    pub id: TicketId,
}

/// The clerk and device holding a counter open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub device: DeviceId,
    pub staff: StaffCode,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Counter {
    pub number: CounterNo,
    pub services: Vec<ServiceId>,
    pub priority_only: bool,
    pub session: Option<Session>,
    pub paused: bool,
    pub current: Option<TicketId>,
    /// Priority calls in a row made while a normal ticket this counter may serve was waiting.
    pub priority_streak: u32,
    pub served_today: u32,
    pub no_shows_today: u32,
    /// Sum of the waits (issue to first call) of tickets this counter called today, in seconds.
    pub wait_secs_total: i64,
    pub calls_today: u32,
    /// Sum of service times of tickets this counter finished today, in seconds.
    pub service_secs_total: i64,
}

impl Counter {
    pub fn is_open(&self) -> bool {
        self.session.is_some() && !self.paused
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceDay {
    /// Next number to hand out.
    pub next_number: u32,
    pub issued: u32,
    /// Closed by an admin for the rest of the day, whatever the hours say.
    pub admin_closed: bool,
    /// Whether the hours allowed issuing when last announced (`service_changed`).
    pub hours_open: bool,
    /// Recent service durations in seconds, newest last.
    pub recent_service_secs: VecDeque<i64>,
    /// Waiting tickets, in call order.
    pub queue: BTreeSet<QueueKey>,
    /// Waiting tickets of this service reserved for one counter (not in `queue`).
    pub directed: u32,
    /// Appointments checked in early, waiting for their slot (not in `queue`).
    pub held: u32,
    pub overdue_waiting: u32,
}

/// A call as the boards list it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub ticket: TicketId,
    pub counter: CounterNo,
    pub at: DateTime<Utc>,
    pub recall: bool,
}

/// Who gave a ticket's rating.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum RatedBy {
    /// The citizen, on the counter's own screen.
    Citizen,
    /// The clerk, at the counter (centres without a counter display).
    #[default]
    Counter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Waiting,
    Serving,
}

/// A counter's open session carried into the next service day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedSession {
    pub counter: CounterNo,
    pub device: DeviceId,
    pub staff: StaffCode,
    pub paused: bool,
}

/// Everything that can happen, as stored in the event log. Facts only: the hub derives the
/// wire form (with views of the changed state) from these and the state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    TicketIssued {
        ticket: TicketId,
        service: ServiceId,
        priority: Option<CategoryId>,
        number: u32,
        label: String,
        track: String,
        /// Checked in for an appointment (absent for walk-ins and in older logs).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        appointment: Option<Seat>,
    },
    /// A ticket held for its appointment's slot joins its queue at `place`.
    TicketQueued {
        ticket: TicketId,
        place: u64,
    },
    TicketCalled {
        ticket: TicketId,
        counter: CounterNo,
        staff: StaffCode,
        recall: bool,
    },
    TicketServing {
        ticket: TicketId,
    },
    TicketFinished {
        ticket: TicketId,
        rating: Option<u8>,
    },
    TicketNoShow {
        ticket: TicketId,
    },
    TicketTransferred {
        ticket: TicketId,
        service: ServiceId,
        counter: Option<CounterNo>,
        keep_place: bool,
    },
    TicketOverdue {
        ticket: TicketId,
        phase: Phase,
    },
    TicketCancelled {
        ticket: TicketId,
    },
    TicketRated {
        ticket: TicketId,
        rating: u8,
        /// Configured reason ids (ratings of 2 and below); absent in logs written before them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reasons: Vec<String>,
        /// Absent in logs written before counter displays: those ratings came from counters.
        #[serde(default)]
        source: RatedBy,
    },
    CounterOpened {
        counter: CounterNo,
        device: DeviceId,
        staff: StaffCode,
    },
    CounterClosed {
        counter: CounterNo,
    },
    CounterPaused {
        counter: CounterNo,
    },
    CounterResumed {
        counter: CounterNo,
    },
    CounterServicesSet {
        counter: CounterNo,
        services: Vec<ServiceId>,
    },
    ServiceChanged {
        service: ServiceId,
        admin_closed: bool,
        hours_open: bool,
    },
    DayStarted {
        day: NaiveDate,
        next_ticket_id: TicketId,
        sessions: Vec<CarriedSession>,
    },
    DeviceStatus {
        device: DeviceId,
        status: protocol::DeviceState,
    },
    /// The boards' notice for the rest of the service day (empty: none).
    NoticeChanged {
        notice: String,
    },
    AppointmentBooked {
        code: String,
        service: ServiceId,
        start: DateTime<Utc>,
        holder: Holder,
    },
    AppointmentCancelled {
        code: String,
    },
    AppointmentCheckedIn {
        code: String,
        ticket: TicketId,
        /// The ticket's printed number, which the booking keeps after its day.
        number: String,
    },
    /// Not checked in when its window closed.
    AppointmentMissed {
        code: String,
    },
    /// A standby hub was promoted: it issues from here on, in this term (the hub before it, of
    /// a lower term, must not). Changes nothing in the queue.
    TermStarted {
        term: u64,
    },
    /// A phone follows the ticket from afar: `sealed` is its address (a push subscription or a
    /// phone number), encrypted under the service day's key, which the hub destroys when the
    /// day ends. Changes nothing in the queue.
    TicketFollowed {
        ticket: TicketId,
        follower: u8,
        channel: FollowChannel,
        sealed: String,
    },
    /// The follower is gone: turned off by the citizen, or `gone` (its push service said so).
    TicketUnfollowed {
        ticket: TicketId,
        follower: u8,
        #[serde(default)]
        gone: bool,
    },
    /// What a follower was told, once the sending is over (`delivered` false: it failed for
    /// good, after its retries).
    TicketNotified {
        ticket: TicketId,
        follower: u8,
        notice: NoticeKind,
        delivered: bool,
    },
}

impl Event {
    /// The ticket this event is about, if any.
    pub fn ticket(&self) -> Option<TicketId> {
        match self {
            Event::TicketIssued { ticket, .. }
            | Event::TicketCalled { ticket, .. }
            | Event::TicketServing { ticket }
            | Event::TicketFinished { ticket, .. }
            | Event::TicketNoShow { ticket }
            | Event::TicketTransferred { ticket, .. }
            | Event::TicketOverdue { ticket, .. }
            | Event::TicketCancelled { ticket }
            | Event::TicketQueued { ticket, .. }
            | Event::AppointmentCheckedIn { ticket, .. }
            | Event::TicketFollowed { ticket, .. }
            | Event::TicketUnfollowed { ticket, .. }
            | Event::TicketNotified { ticket, .. }
            | Event::TicketRated { ticket, .. } => Some(*ticket),
            _ => None,
        }
    }

    /// The wire `kind` of this event.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::TicketIssued { .. } => "ticket_issued",
            Event::TicketCalled { .. } => "ticket_called",
            Event::TicketServing { .. } => "ticket_serving",
            Event::TicketFinished { .. } => "ticket_finished",
            Event::TicketNoShow { .. } => "ticket_no_show",
            Event::TicketTransferred { .. } => "ticket_transferred",
            Event::TicketOverdue { .. } => "ticket_overdue",
            Event::TicketCancelled { .. } => "ticket_cancelled",
            Event::TicketRated { .. } => "ticket_rated",
            Event::CounterOpened { .. }
            | Event::CounterClosed { .. }
            | Event::CounterPaused { .. }
            | Event::CounterResumed { .. }
            | Event::CounterServicesSet { .. } => "counter_changed",
            Event::ServiceChanged { .. } => "service_changed",
            Event::DayStarted { .. } => "day_started",
            Event::DeviceStatus { .. } => "device_status",
            Event::NoticeChanged { .. } => "notice_changed",
            Event::TicketQueued { .. } => "ticket_queued",
            Event::AppointmentBooked { .. } => "appointment_booked",
            Event::AppointmentCancelled { .. } => "appointment_cancelled",
            Event::AppointmentCheckedIn { .. } => "appointment_checked_in",
            Event::AppointmentMissed { .. } => "appointment_missed",
            Event::TermStarted { .. } => "term_started",
            Event::TicketFollowed { .. } => "ticket_followed",
            Event::TicketUnfollowed { .. } => "ticket_unfollowed",
            Event::TicketNotified { .. } => "ticket_notified",
        }
    }
}

/// One service day of the centre.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub day: NaiveDate,
    pub next_ticket_id: TicketId,
    tickets: BTreeMap<TicketId, Ticket>,
    by_label: HashMap<String, TicketId>,
    /// Tickets by tracking code: a phone's look-up, twice a second, must not scan the day.
    by_track: HashMap<String, TicketId>,
    pub counters: BTreeMap<CounterNo, Counter>,
    pub services: BTreeMap<ServiceId, ServiceDay>,
    /// Tickets transferred to a specific counter, in call order.
    pub directed: BTreeMap<CounterNo, BTreeSet<QueueKey>>,
    /// When each waiting or served ticket becomes overdue.
    pub deadlines: BTreeSet<(DateTime<Utc>, TicketId, Phase)>,
    pub recent_calls: VecDeque<Call>,
    pub device_status: BTreeMap<DeviceId, protocol::DeviceState>,
    /// When each device's status last changed (a device may not flood the boards with changes).
    pub device_status_at: BTreeMap<DeviceId, DateTime<Utc>>,
    /// The next queue place to give (see `Ticket::place`). Joins take even places from 2, so
    /// that an appointment can be seated just after one (an odd place), or before every join
    /// of the day (1).
    next_place: u64,
    /// Each queue join of the day (when, which place), in order: an appointment checked in
    /// after its slot began takes the place of the last join at or before the start.
    joins: Vec<(DateTime<Utc>, u64)>,
    /// Appointments checked in early, by their slot's start.
    pub held: BTreeSet<(DateTime<Utc>, TicketId)>,
    /// Every booking still of use; carried from day to day.
    pub book: Book,
    /// The boards' notice set for today (`None`: the configured one).
    pub notice: Option<String>,
    /// Tickets of the day followed from afar (by push or SMS), kept after they end: the
    /// console counts them.
    pub following: BTreeMap<TicketId, Following>,
}

/// Who follows one ticket from afar, and what reached them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Following {
    /// Followers now; none once the ticket has ended.
    pub followers: Vec<Follower>,
    /// The id the next follower gets.
    pub next_id: u8,
    /// "Near" reached a phone.
    pub near: bool,
    /// "Called" reached a phone for the ticket's last call.
    pub called: bool,
    /// Notices that failed for good, and those that reached a phone.
    pub failed: u32,
    pub delivered: u32,
    /// It was followed by push, by SMS, at some time today (the console counts these).
    pub by_push: bool,
    pub by_sms: bool,
}

/// One phone following a ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Follower {
    pub id: u8,
    pub channel: FollowChannel,
    /// Its address, sealed under the day's key (see `Event::TicketFollowed`).
    pub sealed: String,
    /// "Near" was sent to it and is not to be sent again (whether or not it arrived).
    pub told_near: bool,
}

impl State {
    /// A new, empty service day with counters as configured and the given sessions carried over.
    pub fn new_day(
        rules: &Rules,
        day: NaiveDate,
        next_ticket_id: TicketId,
        sessions: &[CarriedSession],
    ) -> State {
        let counters = rules
            .counters
            .values()
            .map(|c| {
                let carried = sessions.iter().find(|s| s.counter == c.number);
                let counter = Counter {
                    number: c.number,
                    services: c.services.clone(),
                    priority_only: c.priority_only,
                    session: carried.map(|s| Session {
                        device: s.device.clone(),
                        staff: s.staff.clone(),
                    }),
                    paused: carried.is_some_and(|s| s.paused),
                    current: None,
                    priority_streak: 0,
                    served_today: 0,
                    no_shows_today: 0,
                    wait_secs_total: 0,
                    calls_today: 0,
                    service_secs_total: 0,
                };
                (c.number, counter)
            })
            .collect();
        let services = rules
            .services
            .values()
            .map(|s| {
                let day = ServiceDay {
                    next_number: s.first_number,
                    hours_open: true,
                    ..ServiceDay::default()
                };
                (s.id.clone(), day)
            })
            .collect();
        State {
            day,
            next_ticket_id,
            tickets: BTreeMap::new(),
            by_label: HashMap::new(),
            by_track: HashMap::new(),
            counters,
            services,
            directed: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            recent_calls: VecDeque::new(),
            next_place: 2,
            joins: Vec::new(),
            held: BTreeSet::new(),
            book: Book::default(),
            notice: None,
            following: BTreeMap::new(),
            device_status: BTreeMap::new(),
            device_status_at: BTreeMap::new(),
        }
    }

    pub fn ticket(&self, id: TicketId) -> Option<&Ticket> {
        self.tickets.get(&id)
    }

    pub fn tickets(&self) -> impl Iterator<Item = &Ticket> {
        self.tickets.values()
    }

    /// The ticket with this tracking code (an empty code is no code).
    pub fn ticket_by_track(&self, track: &str) -> Option<&Ticket> {
        if track.is_empty() {
            return None;
        }
        self.by_track.get(track).and_then(|id| self.tickets.get(id))
    }

    pub fn ticket_by_label(&self, label: &str) -> Option<&Ticket> {
        self.by_label
            .get(&label.trim().to_uppercase())
            .and_then(|id| self.tickets.get(id))
    }

    /// The counter a device holds open, if any.
    pub fn counter_of_device(&self, device: &str) -> Option<&Counter> {
        self.counters.values().find(|c| {
            c.session
                .as_ref()
                .is_some_and(|s| s.device.as_str() == device)
        })
    }

    /// The counter a staff member is logged in at, if any.
    pub fn counter_of_staff(&self, staff: &str) -> Option<&Counter> {
        self.counters.values().find(|c| {
            c.session
                .as_ref()
                .is_some_and(|s| s.staff.as_str() == staff)
        })
    }

    /// Sessions to carry into the next day.
    pub fn sessions(&self) -> Vec<CarriedSession> {
        self.counters
            .values()
            .filter_map(|c| {
                c.session.as_ref().map(|s| CarriedSession {
                    counter: c.number,
                    device: s.device.clone(),
                    staff: s.staff.clone(),
                    paused: c.paused,
                })
            })
            .collect()
    }

    /// Number of waiting tickets of a service, including those reserved for a counter.
    pub fn waiting_count(&self, service: &ServiceId) -> u32 {
        self.services
            .get(service)
            .map(|s| s.queue.len() as u32 + s.directed + s.held)
            .unwrap_or(0)
    }

    /// The place of a ticket seated as if it had joined at `at`: just after the last join at
    /// or before `at`. A clock set back may have left the joins out of time order; the largest
    /// place wins.
    pub fn place_as_of(&self, at: DateTime<Utc>) -> u64 {
        self.joins
            .iter()
            .filter(|(joined, _)| *joined <= at)
            .map(|(_, place)| *place)
            .max()
            .unwrap_or(0)
            + 1
    }

    /// Whether a normal ticket this counter may serve is waiting.
    pub fn normal_waiting_for(&self, counter: &Counter) -> bool {
        if counter.priority_only {
            return false;
        }
        let directed_normal = self
            .directed
            .get(&counter.number)
            .is_some_and(|q| q.iter().any(|k| k.normal));
        directed_normal
            || counter.services.iter().any(|s| {
                self.services
                    .get(s)
                    .is_some_and(|d| d.queue.iter().next_back().is_some_and(|k| k.normal))
            })
    }
}
