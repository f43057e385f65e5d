//! How each event changes a service day's state, by concern: tickets, counters, the centre.

use chrono::{DateTime, Utc};
use protocol::TicketStatus;

use super::{
    Call, Counter, Event, Phase, Seat, Session, State, Ticket, TicketAppointment, TicketId,
};
use crate::rules::{CounterNo, Rules, ServiceId, StaffCode};

impl State {
    /// Applies one event. Events come from `decide` or `tick` (or the log), so they are valid
    /// for this state; an event that no longer fits (say, after a configuration change) is
    /// skipped rather than corrupting the state.
    pub fn evolve(&mut self, rules: &Rules, at: DateTime<Utc>, event: &Event) {
        match event {
            Event::CounterOpened { .. }
            | Event::CounterClosed { .. }
            | Event::CounterPaused { .. }
            | Event::CounterResumed { .. }
            | Event::CounterServicesSet { .. } => self.evolve_counter(event),
            Event::ServiceChanged { .. }
            | Event::DayStarted { .. }
            | Event::DeviceStatus { .. }
            | Event::NoticeChanged { .. } => self.evolve_centre(rules, at, event),
            // Who issues is the hub's concern, not the queue's.
            Event::TermStarted { .. } => {}
            Event::AppointmentBooked { .. }
            | Event::AppointmentCancelled { .. }
            | Event::AppointmentCheckedIn { .. }
            | Event::AppointmentMissed { .. } => self.evolve_book(rules, at, event),
            Event::TicketFollowed { .. }
            | Event::TicketUnfollowed { .. }
            | Event::TicketNotified { .. } => self.evolve_following(event),
            _ => {
                self.evolve_ticket(rules, at, event);
                if let Some(id) = event.ticket() {
                    self.ticket_moved(id, event);
                }
            }
        }
    }

    // ------------------------------------------------------------------ followers

    fn evolve_following(&mut self, event: &Event) {
        match event {
            Event::TicketFollowed {
                ticket,
                follower,
                channel,
                sealed,
            } => {
                let f = self.following.entry(*ticket).or_default();
                f.followers.push(super::Follower {
                    id: *follower,
                    channel: *channel,
                    sealed: sealed.clone(),
                    told_near: false,
                });
                f.next_id = f.next_id.max(follower.saturating_add(1));
                match channel {
                    protocol::FollowChannel::Push => f.by_push = true,
                    protocol::FollowChannel::Sms => f.by_sms = true,
                    protocol::FollowChannel::Unknown => {}
                }
            }
            Event::TicketUnfollowed {
                ticket, follower, ..
            } => {
                if let Some(f) = self.following.get_mut(ticket) {
                    f.followers.retain(|x| x.id != *follower);
                }
            }
            Event::TicketNotified {
                ticket,
                follower,
                notice,
                delivered,
            } => {
                let Some(f) = self.following.get_mut(ticket) else {
                    return;
                };
                if *notice == protocol::NoticeKind::Near
                    && let Some(x) = f.followers.iter_mut().find(|x| x.id == *follower)
                {
                    x.told_near = true;
                }
                if *delivered {
                    f.delivered += 1;
                }
                match (notice, delivered) {
                    (_, false) => f.failed += 1,
                    (protocol::NoticeKind::Near, true) => f.near = true,
                    (_, true) => f.called = true,
                }
            }
            _ => {}
        }
    }

    /// A ticket that ends takes its followers with it; a new call is not yet told.
    fn ticket_moved(&mut self, id: TicketId, event: &Event) {
        let Some(f) = self.following.get_mut(&id) else {
            return;
        };
        if matches!(event, Event::TicketCalled { .. }) {
            f.called = false;
        }
        if self.tickets.get(&id).is_none_or(|t| !t.status.is_active()) {
            f.followers.clear();
        }
    }

    // ------------------------------------------------------------------ tickets

    fn evolve_ticket(&mut self, rules: &Rules, at: DateTime<Utc>, event: &Event) {
        match event {
            Event::TicketIssued {
                ticket,
                service,
                priority,
                number,
                label,
                track,
                appointment,
            } => {
                let issued = Ticket {
                    id: *ticket,
                    number: *number,
                    label: label.clone(),
                    service: service.clone(),
                    priority: priority.clone(),
                    status: TicketStatus::Waiting,
                    issued_at: at,
                    queued_at: at,
                    place: 0,
                    called_at: None,
                    first_called_at: None,
                    serving_at: None,
                    finished_at: None,
                    counter: None,
                    staff: None,
                    for_counter: None,
                    recalls: 0,
                    transfers: 0,
                    overdue_wait: false,
                    overdue_service: false,
                    rating: None,
                    rated_by: None,
                    rating_reasons: vec![],
                    track: track.clone(),
                    appointment: appointment.as_ref().map(|a| TicketAppointment {
                        code: a.code.clone(),
                        start: a.start,
                    }),
                    held: false,
                };
                self.ticket_issued(rules, at, issued, appointment.as_ref());
            }
            Event::TicketQueued { ticket, place } => self.ticket_queued(rules, *ticket, *place),
            Event::TicketCalled {
                ticket,
                counter,
                recall: true,
                ..
            } => {
                if let Some(t) = self.tickets.get_mut(ticket) {
                    t.recalls += 1;
                    t.called_at = Some(at);
                }
                self.remember_call(rules, *ticket, *counter, at, true);
            }
            Event::TicketCalled {
                ticket,
                counter,
                staff,
                recall: false,
            } => {
                self.ticket_called(rules, at, *ticket, *counter, staff);
                self.remember_call(rules, *ticket, *counter, at, false);
            }
            Event::TicketServing { ticket } => self.ticket_serving(rules, at, *ticket),
            Event::TicketFinished { ticket, rating } => {
                self.ticket_finished(rules, at, *ticket, *rating)
            }
            Event::TicketNoShow { ticket } => self.ticket_no_show(rules, at, *ticket),
            Event::TicketCancelled { ticket } => self.ticket_cancelled(rules, at, *ticket),
            Event::TicketTransferred {
                ticket,
                service,
                counter,
                keep_place,
            } => self.ticket_transferred(rules, at, *ticket, (service, *counter), *keep_place),
            Event::TicketOverdue { ticket, phase } => self.ticket_overdue(rules, *ticket, *phase),
            Event::TicketRated {
                ticket,
                rating,
                reasons,
                source,
            } => {
                if let Some(t) = self.tickets.get_mut(ticket) {
                    t.rating = Some(*rating);
                    t.rated_by = Some(*source);
                    t.rating_reasons = reasons.clone();
                }
            }
            _ => {}
        }
    }

    fn ticket_issued(
        &mut self,
        rules: &Rules,
        at: DateTime<Utc>,
        mut t: Ticket,
        seat: Option<&Seat>,
    ) {
        match seat {
            None => t.place = self.take_place(at),
            // Just after the last join at or before its slot's start.
            Some(Seat {
                place: Some(place), ..
            }) => t.place = *place,
            Some(Seat {
                start, place: None, ..
            }) => {
                t.held = true;
                self.held.insert((*start, t.id));
            }
        }
        let (ticket, number) = (t.id, t.number);
        self.next_ticket_id = self.next_ticket_id.max(ticket.next());
        let day = self.services.entry(t.service.clone()).or_default();
        day.next_number = day.next_number.max(number + 1);
        day.issued += 1;
        self.by_label.insert(t.label.to_uppercase(), ticket);
        if !t.track.is_empty() {
            self.by_track.insert(t.track.clone(), ticket);
        }
        if t.held {
            day.held += 1;
            self.tickets.insert(ticket, t);
        } else {
            self.tickets.insert(ticket, t);
            self.enqueue(rules, ticket);
        }
    }

    /// An appointment held for its slot joins the queue.
    fn ticket_queued(&mut self, rules: &Rules, ticket: TicketId, place: u64) {
        let Some(t) = self.tickets.get_mut(&ticket) else {
            return;
        };
        if !t.held {
            return;
        }
        t.held = false;
        t.place = place;
        if let Some(a) = &t.appointment {
            self.held.remove(&(a.start, ticket));
        }
        if let Some(day) = self.services.get_mut(&t.service) {
            day.held = day.held.saturating_sub(1);
        }
        self.enqueue(rules, ticket);
    }

    /// A first call: the ticket leaves its queue for the counter.
    fn ticket_called(
        &mut self,
        rules: &Rules,
        at: DateTime<Utc>,
        ticket: TicketId,
        counter: CounterNo,
        staff: &StaffCode,
    ) {
        let was_priority = self.tickets.get(&ticket).is_some_and(Ticket::is_priority);
        let first_wait = self
            .tickets
            .get(&ticket)
            .filter(|t| t.status == TicketStatus::Waiting)
            .map(|t| (at - t.issued_at).num_seconds().max(0));
        let normal_waiting = self
            .counters
            .get(&counter)
            .is_some_and(|c| self.normal_waiting_for(c));
        self.dequeue(rules, ticket);
        if let Some(c) = self.counters.get_mut(&counter) {
            c.priority_streak = if was_priority && normal_waiting {
                c.priority_streak + 1
            } else {
                0
            };
            c.current = Some(ticket);
            if let Some(w) = first_wait {
                c.wait_secs_total += w;
                c.calls_today += 1;
            }
        }
        if let Some(t) = self.tickets.get_mut(&ticket) {
            t.status = TicketStatus::Called;
            t.called_at = Some(at);
            t.first_called_at.get_or_insert(at);
            t.counter = Some(counter);
            t.staff = Some(staff.clone());
            t.for_counter = None;
            t.recalls = 0;
        }
    }

    /// The boards' list of recent calls.
    fn remember_call(
        &mut self,
        rules: &Rules,
        ticket: TicketId,
        counter: CounterNo,
        at: DateTime<Utc>,
        recall: bool,
    ) {
        self.recent_calls.push_front(Call {
            ticket,
            counter,
            at,
            recall,
        });
        self.recent_calls.truncate(rules.recent_calls.max(1));
    }

    fn ticket_serving(&mut self, rules: &Rules, at: DateTime<Utc>, ticket: TicketId) {
        if let Some(t) = self.tickets.get_mut(&ticket) {
            t.status = TicketStatus::Serving;
            t.serving_at = Some(at);
            let target = rules.services.get(&t.service).map(|s| s.target_service);
            if let Some(target) = target {
                self.deadlines.insert((at + target, ticket, Phase::Serving));
            }
        }
    }

    fn ticket_finished(
        &mut self,
        rules: &Rules,
        at: DateTime<Utc>,
        ticket: TicketId,
        rating: Option<u8>,
    ) {
        let Some(t) = self.tickets.get_mut(&ticket) else {
            return;
        };
        t.status = TicketStatus::Done;
        t.finished_at = Some(at);
        t.rating = rating;
        t.rated_by = rating.map(|_| super::RatedBy::Counter);
        let started = t.serving_at.or(t.called_at).unwrap_or(at);
        let (service, counter) = (t.service.clone(), t.counter);
        let secs = (at - started).num_seconds().max(0);
        if let Some(d) = self.services.get_mut(&service) {
            d.recent_service_secs.push_back(secs);
            while d.recent_service_secs.len() > rules.eta_window.max(1) {
                d.recent_service_secs.pop_front();
            }
        }
        self.release(rules, ticket, counter, |c| {
            c.served_today += 1;
            c.service_secs_total += secs;
        });
    }

    fn ticket_no_show(&mut self, rules: &Rules, at: DateTime<Utc>, ticket: TicketId) {
        let Some(t) = self.tickets.get_mut(&ticket) else {
            return;
        };
        t.status = TicketStatus::NoShow;
        t.finished_at = Some(at);
        let counter = t.counter;
        self.release(rules, ticket, counter, |c| c.no_shows_today += 1);
    }

    fn ticket_cancelled(&mut self, rules: &Rules, at: DateTime<Utc>, ticket: TicketId) {
        let Some(t) = self.tickets.get(&ticket) else {
            return;
        };
        let counter = t
            .counter
            .filter(|_| !matches!(t.status, TicketStatus::Waiting));
        self.dequeue(rules, ticket);
        self.release(rules, ticket, counter, |_| {});
        if let Some(t) = self.tickets.get_mut(&ticket) {
            t.status = TicketStatus::Cancelled;
            t.finished_at = Some(at);
        }
    }

    /// Back to waiting, in another service's queue or for one counter.
    fn ticket_transferred(
        &mut self,
        rules: &Rules,
        at: DateTime<Utc>,
        ticket: TicketId,
        (service, counter): (&ServiceId, Option<CounterNo>),
        keep_place: bool,
    ) {
        let Some(from) = self.tickets.get(&ticket).map(|t| t.counter) else {
            return;
        };
        self.release(rules, ticket, from, |_| {});
        let place = (!keep_place).then(|| self.take_place(at));
        let Some(t) = self.tickets.get_mut(&ticket) else {
            return;
        };
        t.status = TicketStatus::Waiting;
        t.service = service.clone();
        t.for_counter = counter;
        t.transfers += 1;
        t.called_at = None;
        t.serving_at = None;
        t.counter = None;
        t.staff = None;
        t.recalls = 0;
        t.overdue_service = false;
        if let Some(place) = place {
            t.queued_at = at;
            t.place = place;
        }
        self.enqueue(rules, ticket);
    }

    fn ticket_overdue(&mut self, rules: &Rules, ticket: TicketId, phase: Phase) {
        let Some(t) = self.tickets.get_mut(&ticket) else {
            return;
        };
        match phase {
            Phase::Waiting => {
                t.overdue_wait = true;
                if t.status == TicketStatus::Waiting {
                    let service = t.service.clone();
                    if let Some(d) = self.services.get_mut(&service) {
                        d.overdue_waiting += 1;
                    }
                }
            }
            Phase::Serving => t.overdue_service = true,
        }
        if let Some(key) = self.deadline_key(rules, ticket, phase) {
            self.deadlines.remove(&key);
        }
    }

    // ------------------------------------------------------------------ counters

    fn evolve_counter(&mut self, event: &Event) {
        let (number, change): (&CounterNo, &dyn Fn(&mut Counter)) = match event {
            Event::CounterOpened {
                counter,
                device,
                staff,
            } => (counter, &|c: &mut Counter| {
                c.session = Some(Session {
                    device: device.clone(),
                    staff: staff.clone(),
                });
                c.paused = false;
                c.priority_streak = 0;
            }),
            Event::CounterClosed { counter } => (counter, &|c: &mut Counter| {
                c.session = None;
                c.paused = false;
                c.priority_streak = 0;
            }),
            Event::CounterPaused { counter } => (counter, &|c: &mut Counter| c.paused = true),
            Event::CounterResumed { counter } => (counter, &|c: &mut Counter| c.paused = false),
            Event::CounterServicesSet { counter, services } => (counter, &|c: &mut Counter| {
                c.services = services.clone();
                c.priority_streak = 0;
            }),
            _ => return,
        };
        if let Some(c) = self.counters.get_mut(number) {
            change(c);
        }
    }

    // ------------------------------------------------------------------ the centre

    fn evolve_centre(&mut self, rules: &Rules, at: DateTime<Utc>, event: &Event) {
        match event {
            Event::ServiceChanged {
                service,
                admin_closed,
                hours_open,
            } => {
                if let Some(d) = self.services.get_mut(service) {
                    d.admin_closed = *admin_closed;
                    d.hours_open = *hours_open;
                }
            }
            Event::DayStarted {
                day,
                next_ticket_id,
                sessions,
            } => {
                let devices = std::mem::take(&mut self.device_status);
                let changed = std::mem::take(&mut self.device_status_at);
                let mut book = std::mem::take(&mut self.book);
                *self = State::new_day(rules, *day, *next_ticket_id, sessions);
                self.device_status = devices;
                self.device_status_at = changed;
                // Yesterday's bookings are still looked up; older ones are of no more use.
                book.forget_before(rules, day.pred_opt().unwrap_or(*day));
                self.book = book;
            }
            Event::DeviceStatus { device, status } => {
                self.device_status.insert(device.clone(), status.clone());
                self.device_status_at.insert(device.clone(), at);
            }
            Event::NoticeChanged { notice } => self.notice = Some(notice.clone()),
            _ => {}
        }
    }

    // ------------------------------------------------------------------ the book of bookings

    /// Applies an appointment event to the book (which outlives the day: `DayStarted` keeps it).
    pub fn evolve_book(&mut self, rules: &Rules, at: DateTime<Utc>, event: &Event) {
        use crate::appointments::BookingStatus as S;
        let book = &mut self.book;
        match event {
            Event::AppointmentBooked {
                code,
                service,
                start,
                holder,
            } => book.booked(rules, at, code, service, *start, holder),
            Event::AppointmentCancelled { code } => {
                book.settled(rules, at, code, S::Cancelled, None)
            }
            Event::AppointmentCheckedIn {
                code,
                ticket,
                number,
            } => book.settled(rules, at, code, S::CheckedIn, Some((*ticket, number))),
            Event::AppointmentMissed { code } => book.settled(rules, at, code, S::Missed, None),
            _ => {}
        }
    }

    // ------------------------------------------------------------------ queues and deadlines

    /// The next place in the day's queues, taken at `at`.
    fn take_place(&mut self, at: DateTime<Utc>) -> u64 {
        let place = self.next_place;
        self.next_place += 2;
        self.joins.push((at, place));
        place
    }

    /// Puts a waiting ticket into its queue and arms its waiting deadline.
    fn enqueue(&mut self, rules: &Rules, id: TicketId) {
        let Some(t) = self.tickets.get(&id) else {
            return;
        };
        let key = t.queue_key();
        let service = t.service.clone();
        let overdue = t.overdue_wait;
        let target = rules.services.get(&service).map(|s| s.target_wait);
        let day = self.services.entry(service).or_default();
        match t.for_counter {
            Some(c) => {
                day.directed += 1;
                self.directed.entry(c).or_default().insert(key);
            }
            None => {
                day.queue.insert(key);
            }
        }
        if overdue {
            day.overdue_waiting += 1;
        } else if let Some(target) = target {
            self.deadlines
                .insert((t.wait_from() + target, id, Phase::Waiting));
        }
    }

    /// Takes a waiting ticket out of its queue (no-op when it is not waiting).
    fn dequeue(&mut self, rules: &Rules, id: TicketId) {
        let Some(t) = self.tickets.get(&id) else {
            return;
        };
        if t.status != TicketStatus::Waiting {
            return;
        }
        if t.held {
            let (service, start) = (t.service.clone(), t.appointment.as_ref().map(|a| a.start));
            if let Some(start) = start {
                self.held.remove(&(start, id));
            }
            if let Some(day) = self.services.get_mut(&service) {
                day.held = day.held.saturating_sub(1);
            }
            if let Some(t) = self.tickets.get_mut(&id) {
                t.held = false;
            }
            return;
        }
        if let Some(key) = self.deadline_key(rules, id, Phase::Waiting) {
            self.deadlines.remove(&key);
        }
        let Some(t) = self.tickets.get(&id) else {
            return;
        };
        let key = t.queue_key();
        if let Some(day) = self.services.get_mut(&t.service) {
            match t.for_counter {
                Some(c) => {
                    day.directed = day.directed.saturating_sub(1);
                    if let Some(q) = self.directed.get_mut(&c) {
                        q.remove(&key);
                    }
                }
                None => {
                    day.queue.remove(&key);
                }
            }
            if t.overdue_wait {
                day.overdue_waiting = day.overdue_waiting.saturating_sub(1);
            }
        }
    }

    /// Frees the counter that held a ticket and drops the ticket's pending deadlines.
    fn release(
        &mut self,
        rules: &Rules,
        id: TicketId,
        counter: Option<CounterNo>,
        tally: impl FnOnce(&mut Counter),
    ) {
        for phase in [Phase::Waiting, Phase::Serving] {
            if let Some(key) = self.deadline_key(rules, id, phase) {
                self.deadlines.remove(&key);
            }
        }
        if let Some(c) = counter.and_then(|c| self.counters.get_mut(&c))
            && c.current == Some(id)
        {
            c.current = None;
            tally(c);
        }
    }

    /// The deadline entry a ticket has (or would have) for a phase, from its current fields.
    fn deadline_key(
        &self,
        rules: &Rules,
        id: TicketId,
        phase: Phase,
    ) -> Option<(DateTime<Utc>, TicketId, Phase)> {
        let t = self.tickets.get(&id)?;
        let rule = rules.services.get(&t.service)?;
        let due = match phase {
            Phase::Waiting => t.wait_from() + rule.target_wait,
            Phase::Serving => t.serving_at? + rule.target_service,
        };
        Some((due, id, phase))
    }
}
