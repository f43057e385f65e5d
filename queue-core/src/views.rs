//! The state as clients see it: tickets, counters, services, snapshots and wire events.

use chrono::{DateTime, Utc};
use protocol as p;

use std::collections::HashMap;

use crate::appointments::{Booking, BookingStatus, check_in_window, slot_end};
use crate::estimate::{ahead_of, eta_minutes, minutes_for, secs_per_ticket_ahead};
use crate::persisted::Recorded;
use crate::rules::{CounterNo, Rules, ServiceId};
use crate::state::{Event, Phase, State, Ticket};

/// What the screens say about the centre itself.
#[derive(Debug, Clone)]
pub struct CenterInfo {
    pub name: String,
    pub name_en: String,
    pub timezone: String,
    pub notice: String,
    pub public_url: Option<String>,
    /// The centre sends SMS notices (`[notify.sms]`): a kiosk offers its phone keypad.
    pub sms: bool,
    /// Where a ticket's QR leads when the centre has a province's door (`[province]
    /// public_url`): reachable from anywhere, unlike `public_url`.
    pub track_base: Option<String>,
}

pub struct Views<'a> {
    pub rules: &'a Rules,
    pub center: &'a CenterInfo,
    pub state: &'a State,
    pub now: DateTime<Utc>,
    /// The centre's UTC offset around `now`, when it is the same a day either side (always, but
    /// for a day with a daylight-saving change): most times shown need no time-zone search.
    steady_offset: Option<chrono::FixedOffset>,
}

/// A day either side of `now`: the span the steady offset is trusted for.
const STEADY_SPAN: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// What an event touched before it was applied, so its wire form can show both sides.
#[derive(Debug, Default, Clone)]
pub struct Before {
    pub service: Option<ServiceId>,
    pub counter: Option<CounterNo>,
}

impl<'a> Views<'a> {
    pub fn new(
        rules: &'a Rules,
        center: &'a CenterInfo,
        state: &'a State,
        now: DateTime<Utc>,
    ) -> Views<'a> {
        let offset_at = |t: DateTime<Utc>| *t.with_timezone(&rules.tz).fixed_offset().offset();
        let (before, after) = (offset_at(now - STEADY_SPAN), offset_at(now + STEADY_SPAN));
        Views {
            rules,
            center,
            state,
            now,
            steady_offset: (before == after).then_some(before),
        }
    }

    pub fn time(&self, t: DateTime<Utc>) -> p::WireTime {
        match self.steady_offset {
            Some(offset) if (t - self.now).abs() <= STEADY_SPAN => t.with_timezone(&offset),
            _ => t.with_timezone(&self.rules.tz).fixed_offset(),
        }
    }

    pub fn ticket(&self, t: &Ticket, with_track: bool) -> p::Ticket {
        self.ticket_at(t, with_track, ahead_of(self.state, t.id))
    }

    /// A ticket whose place in its queue is already known (a snapshot walks the queues).
    fn ticket_at(&self, t: &Ticket, with_track: bool, ahead: Option<u32>) -> p::Ticket {
        let eta_min =
            ahead.and_then(|a| eta_minutes(self.rules, self.state, &t.service, a, t.is_priority()));
        self.ticket_with(t, with_track, ahead, eta_min)
    }

    fn ticket_with(
        &self,
        t: &Ticket,
        with_track: bool,
        ahead: Option<u32>,
        eta_min: Option<u32>,
    ) -> p::Ticket {
        p::Ticket {
            id: t.id.0,
            number: t.label.clone(),
            service: t.service.0.clone(),
            priority: t.priority.as_ref().map(|c| c.0.clone()),
            status: t.status,
            issued_at: self.time(t.issued_at),
            called_at: t.called_at.map(|x| self.time(x)),
            serving_at: t.serving_at.map(|x| self.time(x)),
            finished_at: t.finished_at.map(|x| self.time(x)),
            counter: t.counter.map(|c| c.0),
            staff: t.staff.as_ref().map(|s| s.0.clone()),
            overdue: t.overdue_now(),
            ahead,
            eta_min,
            recalls: t.recalls,
            rating: t.rating,
            track: with_track.then(|| t.track.clone()),
            appointment: t.appointment.as_ref().map(|a| p::AppointmentRef {
                code: a.code.clone(),
                start: self.time(a.start),
            }),
            told: self.state.following.get(&t.id).map(told),
        }
    }

    /// A booking as the hub shows it: never its holder.
    pub fn appointment(&self, b: &Booking) -> p::Appointment {
        let (from, until) =
            check_in_window(self.rules, &b.service, b.start).unwrap_or((b.start, b.start));
        p::Appointment {
            code: b.code.clone(),
            service: b.service.0.clone(),
            start: self.time(b.start),
            end: self.time(slot_end(self.rules, &b.service, b.start)),
            check_in_from: self.time(from),
            check_in_until: self.time(until),
            status: match b.status {
                BookingStatus::Booked => p::AppointmentStatus::Booked,
                BookingStatus::CheckedIn => p::AppointmentStatus::CheckedIn,
                BookingStatus::Cancelled => p::AppointmentStatus::Cancelled,
                BookingStatus::Missed => p::AppointmentStatus::Missed,
            },
            ticket: b.number.clone(),
        }
    }

    pub fn counter(&self, n: CounterNo) -> Option<p::CounterView> {
        let c = self.state.counters.get(&n)?;
        let rule = self.rules.counters.get(&n)?;
        let state = match (&c.session, c.paused) {
            (None, _) => p::CounterState::Closed,
            (Some(_), true) => p::CounterState::Paused,
            (Some(_), false) => p::CounterState::Open,
        };
        Some(p::CounterView {
            number: n.0,
            name: rule.name.clone(),
            state,
            services: c.services.iter().map(|s| s.0.clone()).collect(),
            priority_only: c.priority_only,
            staff: c.session.as_ref().map(|s| s.staff.0.clone()),
            staff_name: c
                .session
                .as_ref()
                .and_then(|s| self.rules.staff_names.get(&s.staff).cloned()),
            device: c.session.as_ref().map(|s| s.device.0.clone()),
            current: c
                .current
                .and_then(|id| self.state.ticket(id))
                .map(|t| self.ticket(t, false)),
            citizen_screen: self.rules.has_counter_display(n),
            served_today: c.served_today,
            no_shows_today: c.no_shows_today,
            avg_wait_sec: (c.calls_today > 0)
                .then(|| (c.wait_secs_total / i64::from(c.calls_today)) as u32),
            avg_service_sec: (c.served_today > 0)
                .then(|| (c.service_secs_total / i64::from(c.served_today)) as u32),
        })
    }

    pub fn service(&self, id: &ServiceId) -> Option<p::ServiceView> {
        let rule = self.rules.services.get(id)?;
        let day = self.state.services.get(id)?;
        let sold_out =
            day.next_number > rule.last_number || rule.daily_limit.is_some_and(|l| day.issued >= l);
        let state = if day.admin_closed || !day.hours_open {
            p::ServiceState::Closed
        } else if sold_out {
            p::ServiceState::SoldOut
        } else {
            p::ServiceState::Open
        };
        let waiting = self.state.waiting_count(id);
        Some(p::ServiceView {
            id: id.0.clone(),
            name_vi: rule.name_vi.clone(),
            name_en: rule.name_en.clone(),
            prefix: rule.prefix.clone(),
            state,
            open: state == p::ServiceState::Open,
            waiting,
            overdue: day.overdue_waiting,
            eta_min: eta_minutes(self.rules, self.state, id, waiting, false),
            issued_today: day.issued,
            target_wait_min: rule.target_wait.num_minutes() as u32,
            target_service_min: rule.target_service.num_minutes() as u32,
            icon: rule.icon.clone(),
            appointments: rule.appointments.is_some(),
        })
    }

    /// Everything a screen needs at once, with the list of waiting tickets.
    pub fn snapshot(&self, admin: bool) -> p::Snapshot {
        self.snapshot_with(admin, true)
    }

    /// A snapshot without the waiting list (boards and kiosks show counts only), built without
    /// it rather than built and thrown away.
    pub fn light_snapshot(&self, admin: bool) -> p::Snapshot {
        self.snapshot_with(admin, false)
    }

    fn snapshot_with(&self, admin: bool, with_waiting: bool) -> p::Snapshot {
        let services: Vec<p::ServiceView> = self
            .rules
            .service_order
            .iter()
            .filter_map(|id| self.service(id))
            .collect();
        // Positions come from walking each queue once, in call order: linear in the queue; the
        // pace of each service and class is worked out once, not once per ticket.
        let queues: Vec<_> = self
            .rules
            .service_order
            .iter()
            .filter_map(|id| self.state.services.get(id).map(|day| &day.queue))
            .chain(self.state.directed.values())
            .filter(|_| with_waiting)
            .collect();
        let mut waiting = Vec::with_capacity(queues.iter().map(|q| q.len()).sum());
        let mut pace: HashMap<(&ServiceId, bool), Option<f64>> = HashMap::new();
        for queue in queues {
            for (ahead, key) in queue.iter().enumerate() {
                let Some(t) = self.state.ticket(key.id) else {
                    continue;
                };
                let secs = *pace
                    .entry((&t.service, t.is_priority()))
                    .or_insert_with(|| {
                        secs_per_ticket_ahead(self.rules, self.state, &t.service, t.is_priority())
                    });
                let ahead = ahead as u32;
                let eta = secs.map(|s| minutes_for(ahead, s));
                waiting.push(self.ticket_with(t, admin, Some(ahead), eta));
            }
        }
        let recent_calls = self
            .state
            .recent_calls
            .iter()
            .filter_map(|c| {
                let t = self.state.ticket(c.ticket)?;
                Some(p::CallView {
                    ticket: t.id.0,
                    number: t.label.clone(),
                    service: t.service.0.clone(),
                    counter: c.counter.0,
                    at: self.time(c.at),
                    recall: c.recall,
                })
            })
            .collect();
        p::Snapshot {
            center: p::CenterView {
                name: self.center.name.clone(),
                name_en: self.center.name_en.clone(),
                service_day: self.state.day.to_string(),
                timezone: self.center.timezone.clone(),
                now: self.time(self.now),
                notice: self
                    .state
                    .notice
                    .clone()
                    .unwrap_or_else(|| self.center.notice.clone()),
                public_url: self.center.public_url.clone(),
                sms: self.center.sms,
                track_base: self.center.track_base.clone(),
            },
            categories: self
                .rules
                .categories
                .iter()
                .map(|c| p::CategoryView {
                    id: c.id.0.clone(),
                    name_vi: c.name_vi.clone(),
                    name_en: c.name_en.clone(),
                })
                .collect(),
            services,
            counters: self
                .rules
                .counters
                .keys()
                .filter_map(|n| self.counter(*n))
                .collect(),
            waiting,
            recent_calls,
            // Every screen may tell its staff of a kiosk out of paper (a few words per device).
            devices: self
                .state
                .device_status
                .iter()
                .map(|(d, s)| p::DeviceView {
                    device: d.0.clone(),
                    status: s.clone(),
                })
                .collect(),
            today: admin.then(|| crate::figures::day_total(self.state)),
            following: admin.then(|| crate::figures::following(self.state)),
            ratings: self.rules.rating_levels.clone(),
            rating_reasons: self.rules.rating_reasons.clone(),
        }
    }

    /// The wire form of an event just applied.
    pub fn event(&self, rec: &Recorded, before: &Before) -> p::EventFrame {
        let kind = serde_json::from_value(serde_json::Value::String(rec.event.kind().to_string()))
            .unwrap_or(p::EventKind::Unknown);
        let mut body = blank_body(kind, rec);
        let mut services: Vec<ServiceId> = Vec::new();
        let mut counter = before.counter;
        if let Some(id) = rec.event.ticket()
            && let Some(t) = self.state.ticket(id)
        {
            body.ticket = Some(self.ticket(t, false));
            services.push(t.service.clone());
            counter = counter.or(t.counter);
        }
        match &rec.event {
            Event::TicketCalled {
                recall, counter: c, ..
            } => {
                body.recall = Some(*recall);
                counter = Some(*c);
            }
            Event::TicketOverdue { phase, .. } => {
                body.phase = Some(match phase {
                    Phase::Waiting => p::OverduePhase::Waiting,
                    Phase::Serving => p::OverduePhase::Serving,
                });
            }
            Event::TicketRated {
                rating,
                reasons,
                source,
                ..
            } => {
                body.rating = Some(*rating);
                body.reasons = Some(reasons.clone());
                body.source = Some(match source {
                    crate::state::RatedBy::Citizen => p::RatingSource::Citizen,
                    crate::state::RatedBy::Counter => p::RatingSource::Counter,
                });
            }
            Event::TicketTransferred { .. } => {
                body.from_counter = before.counter.map(|c| c.0);
                body.from_service = before.service.as_ref().map(|s| s.0.clone());
            }
            Event::CounterOpened { counter: c, .. }
            | Event::CounterClosed { counter: c }
            | Event::CounterPaused { counter: c }
            | Event::CounterResumed { counter: c }
            | Event::CounterServicesSet { counter: c, .. } => {
                counter = Some(*c);
                body.change = Some(match &rec.event {
                    Event::CounterOpened { .. } => p::CounterChange::Opened,
                    Event::CounterClosed { .. } => p::CounterChange::Closed,
                    Event::CounterPaused { .. } => p::CounterChange::Paused,
                    Event::CounterResumed { .. } => p::CounterChange::Resumed,
                    _ => p::CounterChange::Services,
                });
                // Opening or closing a counter changes the estimates of what it serves.
                if let Some(cs) = self.state.counters.get(c) {
                    services.extend(cs.services.iter().cloned());
                }
            }
            Event::ServiceChanged { service, .. } => services.push(service.clone()),
            Event::DayStarted { .. } => body.snapshot = Some(Box::new(self.snapshot(false))),
            Event::DeviceStatus { device, status } => {
                body.device = Some(device.0.clone());
                body.status = Some(status.clone());
            }
            Event::NoticeChanged { notice } => body.notice = Some(notice.clone()),
            Event::TermStarted { term } => body.term = Some(*term),
            Event::TicketFollowed { channel, .. } => {
                body.channel = Some(*channel);
                body.following = Some(crate::figures::following(self.state));
                services.clear();
            }
            Event::TicketUnfollowed { .. } => {
                body.following = Some(crate::figures::following(self.state));
                services.clear();
            }
            Event::TicketNotified {
                notice, delivered, ..
            } => {
                body.notified = Some(*notice);
                body.delivered = Some(*delivered);
                body.following = Some(crate::figures::following(self.state));
                services.clear();
            }
            Event::AppointmentBooked { code, .. }
            | Event::AppointmentCancelled { code }
            | Event::AppointmentCheckedIn { code, .. }
            | Event::AppointmentMissed { code } => {
                body.appointment = self
                    .state
                    .book
                    .get(code)
                    .map(|b| Box::new(self.appointment(b)));
            }
            _ => {}
        }
        if let Some(s) = &before.service
            && !services.contains(s)
        {
            services.push(s.clone());
        }
        services.dedup();
        body.services = services.iter().filter_map(|s| self.service(s)).collect();
        body.counter = counter.and_then(|c| self.counter(c));
        p::EventFrame {
            seq: rec.seq,
            at: self.time(rec.at),
            event: body,
        }
    }
}

/// An event's body with nothing but its kind and who caused it.
fn blank_body(kind: p::EventKind, rec: &Recorded) -> p::EventBody {
    p::EventBody {
        kind,
        ticket: None,
        counter: None,
        services: vec![],
        recall: None,
        phase: None,
        change: None,
        from_counter: None,
        from_service: None,
        device: None,
        status: None,
        notice: None,
        rating: None,
        reasons: None,
        source: None,
        term: None,
        channel: None,
        notified: None,
        delivered: None,
        following: None,
        appointment: None,
        snapshot: None,
        by: Some(p::Actor {
            device: rec.device.0.clone(),
            staff: rec.staff.as_ref().map(|s| s.0.clone()),
        }),
    }
}

/// A ticket's followers as the wire shows them: how many, by which way, what reached them.
fn told(f: &crate::state::Following) -> p::Told {
    let count = |c: p::FollowChannel| f.followers.iter().filter(|x| x.channel == c).count() as u32;
    p::Told {
        push: count(p::FollowChannel::Push),
        sms: count(p::FollowChannel::Sms),
        near: f.near,
        called: f.called,
        failed: f.failed,
    }
}
