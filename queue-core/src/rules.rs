//! The centre's fixed rules as the core needs them: services, counters, priority categories,
//! fairness and time. Built from the configuration file by `crate::config`; nothing here reads a
//! file or the clock.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// An identifier that is a configured word: serialised as the bare string, so events and the
/// wire are unchanged, but a device id cannot be passed where a staff code is expected.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        // Maps keyed by the id can be looked up with a plain `&str`.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name(s.to_string())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> $name {
                $name(s)
            }
        }
    };
}

string_id!(
    /// A service's id as configured (`"TP"`, `"GTVT"` …).
    ServiceId
);
string_id!(
    /// A device's id as configured (`"kiosk-1"`, `"counter-3"` …).
    DeviceId
);
string_id!(
    /// The id a device chose for one command (`"kiosk-1:7f3a"`): with the device, its
    /// idempotency key for the service day.
    CommandId
);
string_id!(
    /// A staff member's code as configured (`"nv01"`).
    StaffCode
);
string_id!(
    /// A priority category's id (`"elderly"`, `"pregnant"`, `"disabled"` …).
    CategoryId
);

/// A ticket's id: unique over the life of the hub's database (numbers restart daily, ids not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketId(pub u64);

impl TicketId {
    /// The id after this one.
    pub fn next(self) -> TicketId {
        TicketId(self.0 + 1)
    }
}

impl std::fmt::Display for TicketId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A counter's number as shown above the desk ("Quầy 3").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CounterNo(pub u32);

impl fmt::Display for CounterNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The three priority categories the law requires; configuration may add more.
pub const REQUIRED_CATEGORIES: [(&str, &str, &str); 3] = [
    ("elderly", "Người cao tuổi", "Elderly (60+)"),
    ("pregnant", "Phụ nữ mang thai", "Pregnant women"),
    ("disabled", "Người khuyết tật", "People with disabilities"),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    pub id: CategoryId,
    pub name_vi: String,
    pub name_en: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRule {
    pub id: ServiceId,
    pub name_vi: String,
    pub name_en: String,
    pub prefix: String,
    pub first_number: u32,
    pub last_number: u32,
    pub daily_limit: Option<u32>,
    pub target_wait: TimeDelta,
    pub target_service: TimeDelta,
    /// Own opening hours; `None` means the centre's.
    pub hours: Option<Hours>,
    /// Bookable ahead (`[service.appointments]`); `None`: walk-in only.
    pub appointments: Option<AppointmentRule>,
    /// The pictogram its kiosk tile shows (a name of the shipped set); `None`: the default.
    pub icon: Option<String>,
}

/// How a service offers appointments.
#[derive(Debug, Clone, PartialEq)]
pub struct AppointmentRule {
    /// A slot's length.
    pub slot: TimeDelta,
    /// Bookings one slot holds.
    pub per_slot: u32,
    /// Today is day 0; bookable up to this many days ahead.
    pub days_ahead: u32,
    /// When slots exist; `None`: the service's hours (or the centre's).
    pub hours: Option<Hours>,
    /// Check-in opens this long before a slot's start …
    pub early: TimeDelta,
    /// … and closes this long after it.
    pub late: TimeDelta,
    /// Of `per_slot`, the places the province's door books (docs/PROVINCE.md, "Booking any
    /// centre"); the centre's own page and staff book the rest. Split, not shared, so neither
    /// side can overbook the other while the link between them is down.
    pub province_share: u32,
}

impl AppointmentRule {
    /// The places of a slot the centre itself books.
    pub fn own_places(&self) -> u32 {
        self.per_slot.saturating_sub(self.province_share)
    }
}

/// Bookings made at the province's door, as the hub honours them: their passes name this
/// centre and are signed by one of these keys (`[province] booking_keys`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvincePasses {
    pub centre: String,
    pub keys: Vec<province_pass::PassCheck>,
}

/// The centre's limits on bookings (`[appointments]`).
#[derive(Debug, Clone, PartialEq)]
pub struct AppointmentLimits {
    /// Bookings one phone number may hold for one service day, all services together.
    pub per_phone_per_day: u32,
    /// A cancelled place becomes bookable again this long after the cancellation, so that a
    /// freed slot cannot be handed over to someone waiting for it.
    pub quarantine: TimeDelta,
}

impl Default for AppointmentLimits {
    fn default() -> AppointmentLimits {
        AppointmentLimits {
            per_phone_per_day: 2,
            quarantine: TimeDelta::minutes(10),
        }
    }
}

impl ServiceRule {
    /// The printed form of a number: prefix plus digits padded to the width of the range.
    pub fn label(&self, number: u32) -> String {
        let width = self.last_number.to_string().len();
        format!("{}{:0width$}", self.prefix, number)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CounterRule {
    pub number: CounterNo,
    pub name: String,
    /// Services in order of preference, as configured for the start of each day.
    pub services: Vec<ServiceId>,
    /// Reserved for priority citizens (Decree 107/2021 allows such a counter).
    pub priority_only: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub tz: Tz,
    /// Local time at which numbering restarts and what still waits expires.
    pub day_start: NaiveTime,
    pub hours: Hours,
    pub services: BTreeMap<ServiceId, ServiceRule>,
    /// Order of services as configured, for screens.
    pub service_order: Vec<ServiceId>,
    pub counters: BTreeMap<CounterNo, CounterRule>,
    pub categories: Vec<Category>,
    pub staff_names: BTreeMap<StaffCode, String>,
    /// At most this many priority calls in a row at a counter while a normal ticket it may
    /// serve is waiting.
    pub max_priority_in_row: u32,
    /// Recalls a clerk must make before marking a ticket no-show.
    pub recalls_before_no_show: u32,
    /// A ticket transferred to another service keeps its place by its issue time (true) or goes
    /// to the back of the new queue (false).
    pub transfer_keeps_place: bool,
    /// How many recent service times feed the waiting estimate.
    pub eta_window: usize,
    /// How long after finishing a ticket the citizen's rating may still be recorded.
    pub rating_window: TimeDelta,
    /// The screens facing the citizen, each bound to its counter. A counter with one takes its
    /// ratings from the citizen only.
    pub counter_displays: BTreeMap<DeviceId, CounterNo>,
    /// The rating scale's words, best (4) first.
    pub rating_levels: Vec<protocol::RatingLevel>,
    /// What a citizen may say of a rating of 2 and below.
    pub rating_reasons: Vec<protocol::RatingReason>,
    /// How many recent calls the snapshot carries.
    pub recent_calls: usize,
    pub appointment_limits: AppointmentLimits,
    /// `None`: this centre honours no booking made at the province.
    pub province_passes: Option<ProvincePasses>,
}

/// The words of the four levels when the configuration gives none: the scale the satisfaction
/// surveys of Vietnamese public services use.
pub fn default_rating_levels() -> Vec<protocol::RatingLevel> {
    [
        (4, "Rất hài lòng", "Very satisfied"),
        (3, "Hài lòng", "Satisfied"),
        (2, "Bình thường", "Neutral"),
        (1, "Không hài lòng", "Dissatisfied"),
    ]
    .into_iter()
    .map(|(value, vi, en)| protocol::RatingLevel {
        value,
        name_vi: vi.into(),
        name_en: en.into(),
    })
    .collect()
}

/// Ratings of this and below may carry reasons.
pub const LOW_RATING: u8 = 2;

impl Rules {
    /// Whether `counter` has a screen facing the citizen (and so takes its ratings from it).
    pub fn has_counter_display(&self, counter: CounterNo) -> bool {
        self.counter_displays.values().any(|c| *c == counter)
    }

    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id.as_str() == id)
    }

    /// The service day an instant belongs to: the local date, shifted back by the day start.
    pub fn service_day(&self, now: DateTime<Utc>) -> NaiveDate {
        let local = now.with_timezone(&self.tz).naive_local();
        let since_midnight =
            TimeDelta::seconds(i64::from(self.day_start.num_seconds_from_midnight()));
        (local - since_midnight).date()
    }

    /// The instant the service day after `day` begins.
    pub fn next_day_start(&self, day: NaiveDate) -> DateTime<Utc> {
        let next = day.succ_opt().unwrap_or(day).and_time(self.day_start);
        match self.tz.from_local_datetime(&next) {
            chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
            chrono::LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            // A day start inside a DST gap: the first instant after it.
            chrono::LocalResult::None => self
                .tz
                .from_local_datetime(&(next + TimeDelta::hours(1)))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&next)),
        }
    }

    /// Whether a service's hours allow issuing now (ignores admin closing and limits).
    pub fn within_hours(&self, service: &ServiceRule, now: DateTime<Utc>) -> bool {
        let local = now.with_timezone(&self.tz).naive_local();
        let hours = service.hours.as_ref().unwrap_or(&self.hours);
        self.hours.is_open(local) && hours.is_open(local)
    }

    /// True when any opening hours are not round-the-clock, so the core must look at the clock
    /// every minute to announce openings and closings.
    pub fn has_hour_boundaries(&self) -> bool {
        !self.hours.is_always()
            || self
                .services
                .values()
                .any(|s| s.hours.as_ref().is_some_and(|h| !h.is_always()))
    }
}

/// Weekly opening hours, e.g. `["mon-fri 07:30-11:30 13:30-17:00", "sat 07:30-11:30"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hours {
    /// Minute ranges `[start, end)` for each weekday, Monday first.
    days: [Vec<(u32, u32)>; 7],
}

impl Hours {
    pub fn always() -> Hours {
        Hours {
            days: std::array::from_fn(|_| vec![(0, 24 * 60)]),
        }
    }

    pub fn is_always(&self) -> bool {
        self.days.iter().all(|d| d == &[(0, 24 * 60)])
    }

    /// The minute ranges `[start, end)` of a weekday.
    pub fn ranges_on(&self, weekday: chrono::Weekday) -> &[(u32, u32)] {
        &self.days[weekday.num_days_from_monday() as usize]
    }

    /// Parses the one-line form `"mon-fri 07:30-11:00, 13:30-16:30; sat 08:00-11:00"`: lines
    /// split at `;`, or at a comma followed by a day name; a comma before a time adds a range
    /// to the same days.
    pub fn parse_one_line(text: &str) -> Result<Hours, String> {
        let mut lines: Vec<String> = Vec::new();
        for part in text.split([',', ';']) {
            let part = part.trim();
            let more_ranges = part.starts_with(|c: char| c.is_ascii_digit());
            match lines.last_mut() {
                Some(line) if more_ranges => {
                    line.push(' ');
                    line.push_str(part);
                }
                // "mon,wed 08:00-09:00": a day list split at its comma.
                Some(line) if !line.contains(' ') && line != "always" => {
                    line.push(',');
                    line.push_str(part);
                }
                _ => lines.push(part.to_string()),
            }
        }
        Hours::parse_lines(&lines)
    }

    pub fn is_open(&self, local: chrono::NaiveDateTime) -> bool {
        let day = local.weekday().num_days_from_monday() as usize;
        let minute = local.hour() * 60 + local.minute();
        self.days[day]
            .iter()
            .any(|&(s, e)| s <= minute && minute < e)
    }

    /// Parses a list of lines, each `DAYS RANGE…` or the word `always`.
    pub fn parse_lines<S: AsRef<str>>(lines: &[S]) -> Result<Hours, String> {
        let mut days: [Vec<(u32, u32)>; 7] = Default::default();
        for line in lines {
            let line = line.as_ref().trim();
            if line == "always" {
                return Ok(Hours::always());
            }
            let mut parts = line.split_whitespace();
            let Some(day_spec) = parts.next() else {
                return Err("empty opening-hours line".into());
            };
            let selected = parse_days(day_spec)?;
            let ranges: Vec<(u32, u32)> = parts.map(parse_range).collect::<Result<_, _>>()?;
            if ranges.is_empty() {
                return Err(format!("{line:?}: no time range after the days"));
            }
            for d in selected {
                days[d].extend(ranges.iter().copied());
            }
        }
        Ok(Hours { days })
    }
}

impl FromStr for Hours {
    type Err = String;
    fn from_str(s: &str) -> Result<Hours, String> {
        Hours::parse_lines(&[s])
    }
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn parse_days(spec: &str) -> Result<Vec<usize>, String> {
    let index = |name: &str| {
        DAY_NAMES
            .iter()
            .position(|d| *d == name.to_ascii_lowercase())
            .ok_or_else(|| format!("{name:?} is not a day (use mon, tue, wed, thu, fri, sat, sun)"))
    };
    let mut out = Vec::new();
    for part in spec.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (index(a)?, index(b)?);
                if a > b {
                    return Err(format!("{part:?}: day range goes backwards"));
                }
                out.extend(a..=b);
            }
            None => out.push(index(part)?),
        }
    }
    Ok(out)
}

fn parse_range(range: &str) -> Result<(u32, u32), String> {
    let (a, b) = range
        .split_once('-')
        .ok_or_else(|| format!("{range:?} is not a time range like 07:30-11:30"))?;
    let (a, b) = (parse_minute(a)?, parse_minute(b)?);
    if a >= b {
        return Err(format!("{range:?}: the range ends before it starts"));
    }
    Ok((a, b))
}

/// Minutes since midnight of `HH:MM`; `24:00` is allowed as an end.
pub fn parse_minute(s: &str) -> Result<u32, String> {
    let bad = || format!("{s:?} is not a time like 07:30");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> chrono::NaiveDateTime {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test time")
    }

    #[test]
    fn office_hours_open_and_close_on_the_minute() {
        let h = Hours::parse_lines(&["mon-fri 07:30-11:30 13:30-17:00", "sat 07:30-11:30"])
            .expect("valid hours");
        // 2026-11-23 is a Monday.
        assert!(!h.is_open(at("2026-11-23 07:29")));
        assert!(h.is_open(at("2026-11-23 07:30")));
        assert!(!h.is_open(at("2026-11-23 11:30")));
        assert!(h.is_open(at("2026-11-23 16:59")));
        assert!(h.is_open(at("2026-11-28 08:00")));
        assert!(!h.is_open(at("2026-11-28 14:00")));
        assert!(!h.is_open(at("2026-11-29 08:00")));
        assert!(!h.is_always());
        assert!(
            Hours::parse_lines(&["mon-sun 00:00-24:00"])
                .expect("valid")
                .is_always()
        );
    }

    #[test]
    fn hours_on_one_line_as_the_appointments_table_writes_them() {
        let h = Hours::parse_one_line("mon-fri 07:30-11:00, 13:30-16:30; sat 08:00-10:00")
            .expect("valid");
        assert_eq!(h.ranges_on(chrono::Weekday::Wed), &[(450, 660), (810, 990)]);
        assert_eq!(h.ranges_on(chrono::Weekday::Sat), &[(480, 600)]);
        assert!(h.ranges_on(chrono::Weekday::Sun).is_empty());
        let h = Hours::parse_one_line("mon,wed 08:00-09:00, sat 07:00-08:00").expect("valid");
        assert_eq!(h.ranges_on(chrono::Weekday::Mon), &[(480, 540)]);
        assert!(h.ranges_on(chrono::Weekday::Tue).is_empty());
        assert_eq!(h.ranges_on(chrono::Weekday::Sat), &[(420, 480)]);
        assert!(Hours::parse_one_line("mon-fri 7h30-11:00").is_err());
    }

    #[test]
    fn bad_hours_say_what_is_wrong() {
        for (line, needle) in [
            ("mon-fry 07:30-11:30", "not a day"),
            ("mon 7h30-11:30", "not a time"),
            ("mon 11:30-07:30", "ends before"),
            ("mon", "no time range"),
            ("sun-mon 07:00-08:00", "backwards"),
            ("mon 25:00-26:00", "not a time"),
        ] {
            let err = Hours::parse_lines(&[line]).expect_err(line);
            assert!(err.contains(needle), "{line}: {err}");
        }
    }

    #[test]
    fn labels_pad_to_the_range() {
        let s = ServiceRule {
            id: ServiceId("TP".into()),
            name_vi: String::new(),
            name_en: String::new(),
            prefix: "A".into(),
            first_number: 1,
            last_number: 9999,
            daily_limit: None,
            target_wait: TimeDelta::minutes(20),
            target_service: TimeDelta::minutes(15),
            hours: None,
            appointments: None,
            icon: None,
        };
        assert_eq!(s.label(5), "A0005");
        assert_eq!(s.label(1005), "A1005");
    }
}
