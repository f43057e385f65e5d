//! The day simulator: a day of a centre run through the real queue core on a virtual clock —
//! random arrivals per service, priority shares, walking and service times around the
//! configuration's targets, no-shows — then the same report as `hub report` and the queue hour by
//! hour. Deterministic for a seed. A centre uses it to see how long people would wait with its
//! counters as configured, and what moving a clerk changes (`--counter 5=TP,GTVT`).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use protocol::{Command, Role, TicketStatus};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use queue_core::figures::{Row, rows_of_day};
use queue_core::{self as core, Actor, Context, CounterNo, Rules, ServiceId, State, TicketId};

#[derive(Debug, Clone)]
pub struct Options {
    pub day: NaiveDate,
    pub start: NaiveTime,
    pub hours: f64,
    /// Arrivals per hour, by service id.
    pub arrivals: Vec<(ServiceId, f64)>,
    pub seed: u64,
    /// Share of tickets taken for a priority category.
    pub priority_share: f64,
    /// Share of called citizens who do not come.
    pub no_show_share: f64,
    /// Counters whose services change for the simulation: (counter, services in preference order).
    pub counters: Vec<(CounterNo, Vec<ServiceId>)>,
    /// Counters without a clerk.
    pub closed: Vec<CounterNo>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SimError {
    #[error("unknown service {0:?}")]
    UnknownService(ServiceId),
    #[error("unknown counter {0}")]
    UnknownCounter(CounterNo),
    #[error("{0}")]
    Invalid(String),
}

/// One hour of the day: for each service, the queue at the end of the hour and the average wait
/// (minutes until called, or until closing time for those never called) of the tickets issued
/// during it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hour {
    pub from: DateTime<Utc>,
    pub queue: BTreeMap<ServiceId, u32>,
    pub wait_avg_min: BTreeMap<ServiceId, f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub rows: Vec<Row>,
    pub hours: Vec<Hour>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    Arrive(usize),
    /// A counter is free and calls the next citizen.
    Call(u32),
    Recall(u32),
    NoShow(u32),
    Start(u32),
    Finish(u32),
    HourMark,
}

/// Runs the day. `rules` are the centre's; the options change what they allow.
pub fn run(rules: &Rules, o: &Options) -> Result<Outcome, SimError> {
    if !(o.hours > 0.0 && o.hours <= 24.0) {
        return Err(SimError::Invalid("--hours must be between 0 and 24".into()));
    }
    let rules = simulated_rules(rules, o)?;
    let start = rules
        .tz
        .from_local_datetime(&o.day.and_time(o.start))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| SimError::Invalid("the start time does not exist that day".into()))?;
    let end = start + TimeDelta::milliseconds((o.hours * 3_600_000.0) as i64);
    let mut sim = Sim::open(rules, o, start);
    let mut mark = start + TimeDelta::hours(1);
    while mark <= end {
        sim.at(mark, Action::HourMark);
        mark += TimeDelta::hours(1);
    }
    let mut hours = vec![];
    let mut hour_from = start;
    while let Some(Reverse((t, _, action))) = sim.queue.pop() {
        if t > end {
            break;
        }
        sim.now = t;
        for e in core::tick(&sim.rules, &sim.state, t) {
            sim.state.evolve(&sim.rules, t, &e);
        }
        if action == Action::HourMark {
            hours.push(sim.hour(hour_from));
            hour_from = t;
        } else {
            sim.act(action);
        }
    }
    waits_by_hour(&mut hours, &sim.state, end);
    let rows = rows_of_day(&sim.state)
        .into_iter()
        .map(|mut row| {
            // What still waits at closing time would expire with the day.
            if row.status.is_active() {
                row.status = TicketStatus::Expired;
            }
            row
        })
        .collect();
    Ok(Outcome { rows, hours })
}

/// The centre's rules as the options change them (counters' services, closed counters), with a
/// simulated clerk for every counter; the options checked against them.
fn simulated_rules(rules: &Rules, o: &Options) -> Result<Rules, SimError> {
    let mut rules = rules.clone();
    for (n, services) in &o.counters {
        for s in services {
            if !rules.services.contains_key(s) {
                return Err(SimError::UnknownService(s.clone()));
            }
        }
        let c = rules
            .counters
            .get_mut(n)
            .ok_or(SimError::UnknownCounter(*n))?;
        c.services = services.clone();
    }
    // Simulated clerks, one per counter, whatever the configured staff list says.
    for n in rules.counters.keys().map(|c| c.0).collect::<Vec<_>>() {
        rules
            .staff_names
            .insert(format!("clerk-{n}").into(), format!("Clerk {n}"));
    }
    for n in &o.closed {
        if !rules.counters.contains_key(n) {
            return Err(SimError::UnknownCounter(*n));
        }
    }
    for (s, rate) in &o.arrivals {
        if !rules.services.contains_key(s) {
            return Err(SimError::UnknownService(s.clone()));
        }
        if !(*rate >= 0.0 && rate.is_finite()) {
            return Err(SimError::Invalid(format!(
                "arrivals for {s} must be a rate per hour"
            )));
        }
    }
    Ok(rules)
}

/// Each hour's average wait, known only at the end: a ticket never called waited until closing
/// time.
fn waits_by_hour(hours: &mut [Hour], state: &State, end: DateTime<Utc>) {
    for h in hours {
        let to = h.from + TimeDelta::hours(1);
        let mut waits: BTreeMap<ServiceId, Vec<f64>> = BTreeMap::new();
        for t in state.tickets() {
            if t.issued_at >= h.from && t.issued_at < to {
                let called = t.called_at.unwrap_or(end).min(end);
                waits
                    .entry(t.service.clone())
                    .or_default()
                    .push((called - t.issued_at).num_seconds() as f64 / 60.0);
            }
        }
        h.wait_avg_min = waits
            .into_iter()
            .map(|(k, v)| (k, v.iter().sum::<f64>() / v.len() as f64))
            .collect();
    }
}

impl Sim {
    /// The day started at `start`: clerks logged in at every open counter, each calling, and
    /// every service's first arrival on the calendar.
    fn open(rules: Rules, o: &Options, start: DateTime<Utc>) -> Sim {
        let day = rules.service_day(start);
        let mut sim = Sim {
            state: State::new_day(&rules, day, TicketId(1), &[]),
            rules,
            rng: StdRng::seed_from_u64(o.seed),
            queue: BinaryHeap::new(),
            tracks: 0,
            o: o.clone(),
            now: start,
        };
        let day_started = core::Event::DayStarted {
            day,
            next_ticket_id: TicketId(1),
            sessions: vec![],
        };
        sim.state.evolve(&sim.rules, start, &day_started);
        let counters: Vec<u32> = sim
            .rules
            .counters
            .keys()
            .filter(|c| !o.closed.contains(c))
            .map(|c| c.0)
            .collect();
        for n in counters {
            sim.command(
                n,
                Command::Login {
                    counter: n,
                    staff: format!("clerk-{n}"),
                    pin: String::new(),
                },
            );
            sim.at(start, Action::Call(n));
        }
        for i in 0..o.arrivals.len() {
            let first = sim.next_arrival(i, start);
            sim.at(first, Action::Arrive(i));
        }
        sim
    }

    /// What a citizen or a clerk does now, and what each will do next.
    fn act(&mut self, action: Action) {
        match action {
            Action::HourMark => {}
            Action::Arrive(i) => {
                let (service, _) = self.o.arrivals[i].clone();
                let priority = self
                    .rng
                    .random_bool(self.o.priority_share.clamp(0.0, 1.0))
                    .then(|| self.rules.categories.first().map(|c| c.id.0.clone()))
                    .flatten();
                self.command_as(
                    Role::Kiosk,
                    "kiosk",
                    Command::IssueTicket {
                        service: service.0,
                        priority,
                        phone: None,
                    },
                );
                let next = self.next_arrival(i, self.now);
                self.at(next, Action::Arrive(i));
            }
            Action::Call(n) => {
                if self.command(n, Command::CallNext {}) {
                    if self.rng.random_bool(self.o.no_show_share.clamp(0.0, 1.0)) {
                        self.after(1.0, Action::Recall(n));
                    } else {
                        let walk = self.rng.random_range(0.5..2.0);
                        self.after(walk, Action::Start(n));
                    }
                } else {
                    // Nobody waiting for this counter: look again in half a minute.
                    self.after(0.5, Action::Call(n));
                }
            }
            Action::Recall(n) => {
                self.command(n, Command::Recall {});
                let recalls = self.counter_ticket_recalls(n);
                let next = if recalls >= self.rules.recalls_before_no_show {
                    Action::NoShow(n)
                } else {
                    Action::Recall(n)
                };
                self.after(1.0, next);
            }
            Action::NoShow(n) => {
                self.command(n, Command::NoShow {});
                self.after(0.1, Action::Call(n));
            }
            Action::Start(n) => {
                self.command(n, Command::StartServing {});
                let minutes = self.service_minutes(n);
                self.after(minutes, Action::Finish(n));
            }
            Action::Finish(n) => {
                let rating = self.rng.random_range(3..=4);
                self.finish_rated(n, rating);
                self.after(0.2, Action::Call(n));
            }
        }
    }
}

struct Sim {
    rules: Rules,
    state: State,
    rng: StdRng,
    /// (time, order of insertion, action): equal times keep their order, so runs repeat exactly.
    queue: BinaryHeap<Reverse<(DateTime<Utc>, u64, Action)>>,
    tracks: u64,
    o: Options,
    now: DateTime<Utc>,
}

impl Sim {
    fn at(&mut self, t: DateTime<Utc>, a: Action) {
        self.tracks += 1;
        self.queue.push(Reverse((t, self.tracks, a)));
    }

    fn after(&mut self, minutes: f64, a: Action) {
        let t = self.now + TimeDelta::milliseconds((minutes * 60_000.0) as i64);
        self.at(t, a);
    }

    fn next_arrival(&mut self, i: usize, from: DateTime<Utc>) -> DateTime<Utc> {
        let per_hour = self.o.arrivals[i].1;
        if per_hour <= 0.0 {
            return from + TimeDelta::days(2);
        }
        // Exponential gaps: a Poisson stream of arrivals.
        let u: f64 = self.rng.random_range(f64::EPSILON..1.0);
        let minutes = -u.ln() * 60.0 / per_hour;
        from + TimeDelta::milliseconds((minutes * 60_000.0) as i64)
    }

    /// Service time around the service's target: Erlang-2 with the target as its mean.
    fn service_minutes(&mut self, counter: u32) -> f64 {
        let target = self
            .current_service(counter)
            .and_then(|s| self.rules.services.get(&s))
            .map_or(10.0, |s| s.target_service.num_seconds() as f64 / 60.0);
        let a: f64 = self.rng.random_range(f64::EPSILON..1.0);
        let b: f64 = self.rng.random_range(f64::EPSILON..1.0);
        (-(a.ln() + b.ln()) * target / 2.0).max(0.5)
    }

    fn current_service(&self, counter: u32) -> Option<ServiceId> {
        self.state
            .tickets()
            .find(|t| {
                t.counter == Some(CounterNo(counter))
                    && t.status.is_active()
                    && t.status != TicketStatus::Waiting
            })
            .map(|t| t.service.clone())
    }

    fn counter_ticket_recalls(&self, counter: u32) -> u32 {
        self.state
            .tickets()
            .find(|t| t.counter == Some(CounterNo(counter)) && t.status == TicketStatus::Called)
            .map_or(0, |t| t.recalls)
    }

    /// Finishes counter `n`'s ticket with the citizen's `rating`: on the counter's own screen
    /// where it has one (the clerk may not rate there), else with the finish.
    fn finish_rated(&mut self, n: u32, rating: u8) {
        let pad = self
            .rules
            .counter_displays
            .iter()
            .find(|(_, c)| c.0 == n)
            .map(|(d, _)| d.clone());
        let Some(pad) = pad else {
            self.command(
                n,
                Command::Finish {
                    rating: Some(rating),
                },
            );
            return;
        };
        let current = self
            .state
            .counters
            .get(&CounterNo(n))
            .and_then(|c| c.current);
        self.command(n, Command::Finish { rating: None });
        if let Some(ticket) = current {
            let rate = Command::Rate {
                ticket: protocol::TicketRef::Id(ticket.0),
                rating,
                reasons: vec![],
            };
            self.command_as(Role::CounterDisplay, pad.as_str(), rate);
        }
    }

    fn command(&mut self, counter: u32, c: Command) -> bool {
        self.command_as(Role::Counter, &format!("counter-{counter}"), c)
    }

    /// Runs a command through the core; returns whether it was accepted.
    fn command_as(&mut self, role: Role, device: &str, c: Command) -> bool {
        self.tracks += 1;
        let track = format!("sim{}", self.tracks);
        let actor = Actor {
            device: device.into(),
            role,
        };
        let cx = Context {
            now: self.now,
            fresh_track: &track,
            // The simulated citizens walk in; none books.
            fresh_code: "",
        };
        match core::decide(&self.rules, &self.state, &actor, &c, cx) {
            Ok(d) => {
                for e in &d.events {
                    self.state.evolve(&self.rules, self.now, e);
                }
                true
            }
            Err(_) => false,
        }
    }

    /// The queue per service at the end of the hour starting at `from`.
    fn hour(&self, from: DateTime<Utc>) -> Hour {
        let mut queue: BTreeMap<ServiceId, u32> =
            self.rules.services.keys().map(|s| (s.clone(), 0)).collect();
        for t in self.state.tickets() {
            if t.status == TicketStatus::Waiting {
                *queue.entry(t.service.clone()).or_default() += 1;
            }
        }
        Hour {
            from,
            queue,
            wait_avg_min: BTreeMap::new(),
        }
    }
}

/// The hour-by-hour table: per service, "queue/average wait (min)".
pub fn hours_table(rules: &Rules, hours: &[Hour]) -> String {
    let services: Vec<&ServiceId> = rules.services.keys().collect();
    let mut out = format!("{:<13}", "giờ");
    for s in &services {
        out.push_str(&format!("{s:>13}"));
    }
    out.push('\n');
    for h in hours {
        let local = h.from.with_timezone(&rules.tz);
        out.push_str(&format!("{:<13}", local.format("%H:%M")));
        for s in &services {
            let q = h.queue.get(*s).copied().unwrap_or(0);
            let cell = match h.wait_avg_min.get(*s) {
                Some(w) => format!("{q}/{w:.0}ph"),
                None => format!("{q}/—"),
            };
            out.push_str(&format!("{cell:>13}"));
        }
        out.push('\n');
    }
    out
}
