//! Appointments: the slots a service offers and the book of what is booked in them.
//!
//! The book lives beside the service day's state but outlives it: a booking is made days before
//! its slot. It changes only by the four appointment events (`State::evolve_book`), so the hub
//! rebuilds it, like the day, by replaying them (those of the last days, then today's).
//!
//! **When an appointment is called.** A ticket checked in on time is called as if it had been
//! issued at its slot's start: its place is the place of the last queue join at or before the
//! start. Checked in early, it is held out of the queue until the start (arriving early puts
//! nobody behind it who was there before its slot); checked in late, within the window, it
//! goes before those who came after its slot began. It is a normal ticket otherwise, so the
//! priority rule and the fairness between services hold for it as for any other.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::rules::TicketId;
use crate::rules::{AppointmentRule, Rules, ServiceId, ServiceRule};

pub use protocol::booking_code::{CODE_ALPHABET, CODE_LEN, normalise_code};

/// One slot of a service: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Every slot of `service` on the local date `date`, in order (none without appointments).
pub fn slots_on(rules: &Rules, service: &ServiceRule, date: NaiveDate) -> Vec<Slot> {
    let Some(a) = &service.appointments else {
        return vec![];
    };
    let hours = a
        .hours
        .as_ref()
        .or(service.hours.as_ref())
        .unwrap_or(&rules.hours);
    let length = a.slot.num_minutes().max(1) as u32;
    let mut slots = Vec::new();
    for &(from, until) in hours.ranges_on(date.weekday()) {
        let mut minute = from;
        while minute + length <= until {
            let local = date.and_time(chrono::NaiveTime::MIN) + TimeDelta::minutes(minute.into());
            // A slot inside a daylight-saving gap does not exist.
            if let Some(start) = rules.tz.from_local_datetime(&local).earliest() {
                let start = start.with_timezone(&Utc);
                slots.push(Slot {
                    start,
                    end: start + a.slot,
                });
            }
            minute += length;
        }
    }
    slots.sort();
    slots
}

/// The slot of `service` that starts exactly at `start`.
pub fn slot_at(rules: &Rules, service: &ServiceRule, start: DateTime<Utc>) -> Option<Slot> {
    let date = start.with_timezone(&rules.tz).date_naive();
    slots_on(rules, service, date)
        .into_iter()
        .find(|s| s.start == start)
}

/// Whether `date` (local) is within the days `service` may be booked for, seen at `now`.
pub fn within_days_ahead(
    rules: &Rules,
    service: &ServiceRule,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> bool {
    let today = now.with_timezone(&rules.tz).date_naive();
    let ahead = service.appointments.as_ref().map_or(0, |a| a.days_ahead);
    date >= today && (date - today).num_days() <= i64::from(ahead)
}

/// Who holds a booking: a citizen known by a keyed hash of their phone number (the number
/// itself is never kept), or the staff member who booked on a citizen's behalf.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Holder {
    Phone(String),
    /// Booked by staff (the event's `staff` says who): no per-phone limit.
    Staff,
    /// Booked at the province's door, in the province's share of the slot (the door counts
    /// phones across the province; the hub knows only that the pass was signed).
    Province,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Booked,
    CheckedIn,
    Cancelled,
    Missed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    pub code: String,
    pub service: ServiceId,
    pub start: DateTime<Utc>,
    pub holder: Holder,
    pub status: BookingStatus,
    pub booked_at: DateTime<Utc>,
    /// When it was cancelled (its place is quarantined from then).
    pub cancelled_at: Option<DateTime<Utc>>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub ticket: Option<TicketId>,
    /// Its ticket's printed number (kept after the ticket's day is over).
    pub number: Option<String>,
}

/// Every booking the hub still needs: those of the days ahead, today's, and yesterday's (still
/// looked up). Indexed so that no decision scans it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Book {
    by_code: HashMap<String, Booking>,
    /// The codes booked (in any status) in each slot.
    by_slot: BTreeMap<(ServiceId, DateTime<Utc>), Vec<String>>,
    /// Bookings not yet checked in, by the end of their check-in window.
    open_windows: BTreeSet<(DateTime<Utc>, String)>,
}

impl Book {
    pub fn get(&self, code: &str) -> Option<&Booking> {
        self.by_code.get(code)
    }

    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }

    /// Places of a slot the centre itself still has free at `now`: its own places (the
    /// province's share is the door's to book) less what it booked, checked in or missed, less
    /// the places cancelled within the quarantine.
    pub fn free(
        &self,
        rules: &Rules,
        service: &ServiceRule,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> u32 {
        let capacity = service
            .appointments
            .as_ref()
            .map_or(0, AppointmentRule::own_places);
        let quarantine = rules.appointment_limits.quarantine;
        let taken = self
            .by_slot
            .get(&(service.id.clone(), start))
            .into_iter()
            .flatten()
            .filter_map(|code| self.by_code.get(code))
            .filter(|b| b.holder != Holder::Province)
            .filter(|b| match b.status {
                BookingStatus::Cancelled => b.cancelled_at.is_some_and(|at| now < at + quarantine),
                _ => true,
            })
            .count() as u32;
        capacity.saturating_sub(taken)
    }

    /// Bookings `holder` holds (not cancelled) for the service day `day`.
    pub fn held_by(&self, rules: &Rules, holder: &Holder, day: NaiveDate) -> u32 {
        // Bounded by the book's days: a few thousand bookings at most.
        self.by_code
            .values()
            .filter(|b| {
                &b.holder == holder
                    && b.status != BookingStatus::Cancelled
                    && rules.service_day(b.start) == day
            })
            .count() as u32
    }

    /// The first booking whose check-in window has closed by `now` without a check-in.
    pub fn missed_by(&self, now: DateTime<Utc>) -> impl Iterator<Item = &str> {
        self.open_windows
            .iter()
            .take_while(move |(until, _)| *until <= now)
            .map(|(_, code)| code.as_str())
    }

    /// When the next check-in window closes.
    pub fn next_window_close(&self) -> Option<DateTime<Utc>> {
        self.open_windows.first().map(|(until, _)| *until)
    }

    pub(crate) fn booked(
        &mut self,
        rules: &Rules,
        at: DateTime<Utc>,
        code: &str,
        service: &ServiceId,
        start: DateTime<Utc>,
        holder: &Holder,
    ) {
        let booking = Booking {
            code: code.to_string(),
            service: service.clone(),
            start,
            holder: holder.clone(),
            status: BookingStatus::Booked,
            booked_at: at,
            cancelled_at: None,
            checked_in_at: None,
            ticket: None,
            number: None,
        };
        self.by_slot
            .entry((service.clone(), start))
            .or_default()
            .push(code.to_string());
        if let Some(until) = window_close(rules, service, start) {
            self.open_windows.insert((until, code.to_string()));
        }
        self.by_code.insert(code.to_string(), booking);
    }

    /// A booking leaves `Booked` for `status`.
    pub(crate) fn settled(
        &mut self,
        rules: &Rules,
        at: DateTime<Utc>,
        code: &str,
        status: BookingStatus,
        ticket: Option<(TicketId, &String)>,
    ) {
        let Some(b) = self.by_code.get_mut(code) else {
            return;
        };
        if let Some(until) = window_close(rules, &b.service, b.start) {
            self.open_windows.remove(&(until, code.to_string()));
        }
        b.status = status;
        match status {
            BookingStatus::Cancelled => b.cancelled_at = Some(at),
            BookingStatus::CheckedIn => {
                b.checked_in_at = Some(at);
                b.ticket = ticket.map(|(id, _)| id);
                b.number = ticket.map(|(_, number)| number.clone());
            }
            BookingStatus::Booked | BookingStatus::Missed => {}
        }
    }

    /// Forgets the bookings of service days before `keep_from`.
    pub(crate) fn forget_before(&mut self, rules: &Rules, keep_from: NaiveDate) {
        let old: Vec<String> = self
            .by_code
            .values()
            .filter(|b| rules.service_day(b.start) < keep_from)
            .map(|b| b.code.clone())
            .collect();
        for code in old {
            if let Some(b) = self.by_code.remove(&code) {
                if let Some(codes) = self.by_slot.get_mut(&(b.service.clone(), b.start)) {
                    codes.retain(|c| c != &code);
                    if codes.is_empty() {
                        self.by_slot.remove(&(b.service.clone(), b.start));
                    }
                }
                if let Some(until) = window_close(rules, &b.service, b.start) {
                    self.open_windows.remove(&(until, code));
                }
            }
        }
    }
}

/// When check-in for a slot of `service` starting at `start` opens and closes: `early` before
/// the start (but not before the slot's service day begins), until `late` after it.
pub fn check_in_window(
    rules: &Rules,
    service: &ServiceId,
    start: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let a = rules.services.get(service)?.appointments.as_ref()?;
    // Not before its slot's service day begins: a ticket of the day before would expire with it.
    let day = rules.service_day(start);
    let day_begins = rules.next_day_start(day.pred_opt().unwrap_or(day));
    Some(((start - a.early).max(day_begins), start + a.late))
}

fn window_close(rules: &Rules, service: &ServiceId, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
    check_in_window(rules, service, start).map(|(_, until)| until)
}

/// The end of a slot of `service` starting at `start`.
pub fn slot_end(rules: &Rules, service: &ServiceId, start: DateTime<Utc>) -> DateTime<Utc> {
    let length = rules
        .services
        .get(service)
        .and_then(|s| s.appointments.as_ref())
        .map_or(TimeDelta::zero(), |a| a.slot);
    start + length
}
