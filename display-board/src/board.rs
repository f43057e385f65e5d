//! What the wall screen shows, decided from the hub's state without any Slint type: the calls in
//! progress (newest first, the newest flashing for a few seconds), the last calls, each service's
//! queue, the centre's name, date and time in the hub's time zone, the notice line and whether
//! the board is offline.

use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Utc};
use hub_client::{Mirror, Update};
use protocol::{CallView, EventKind, ServiceState, TicketStatus};

/// How long the newest call flashes.
pub const FLASH: Duration = Duration::from_secs(8);
/// Calls in progress shown in large type.
pub const CALLING_ROWS: usize = 4;
/// Earlier calls shown in the "last calls" strip.
pub const HISTORY_ROWS: usize = 5;

/// Which counters and services a board shows. Empty lists show everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub counters: Vec<u32>,
    pub services: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a counter number (a list looks like 1,2,5)")]
pub struct BadFilter(String);

impl Filter {
    /// From the command line: `--counters 1,2,5` and `--services TP,GTVT`.
    pub fn parse(counters: Option<&str>, services: Option<&str>) -> Result<Filter, BadFilter> {
        let items = |s: Option<&str>| -> Vec<String> {
            s.unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        };
        let counters = items(counters)
            .into_iter()
            .map(|c| c.parse::<u32>().map_err(|_| BadFilter(c)))
            .collect::<Result<_, _>>()?;
        Ok(Filter {
            counters,
            services: items(services),
        })
    }

    pub fn shows_counter(&self, counter: u32) -> bool {
        self.counters.is_empty() || self.counters.contains(&counter)
    }

    pub fn shows_service(&self, service: &str) -> bool {
        self.services.is_empty() || self.services.iter().any(|s| s == service)
    }

    /// A call is shown when both its counter and its service are.
    pub fn shows(&self, counter: u32, service: &str) -> bool {
        self.shows_counter(counter) && self.shows_service(service)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRow {
    pub number: String,
    pub counter: u32,
    pub service: String,
    /// The number is being served (the citizen arrived), not just called.
    pub serving: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRow {
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
    pub waiting: u32,
    pub overdue: u32,
    pub eta_min: Option<u32>,
    pub open: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Screen {
    pub center: String,
    pub center_en: String,
    pub date: String,
    pub clock: String,
    pub online: bool,
    /// Offline for a moment while the other hub takes over: said so, not "offline".
    pub switching: bool,
    /// Why the board is offline, shown over the dimmed last state.
    pub offline_reason: String,
    pub calling: Vec<CallRow>,
    pub history: Vec<CallRow>,
    pub services: Vec<ServiceRow>,
    pub notice: String,
    /// The number that flashes now, if any.
    pub flashing: Option<String>,
}

/// The board's state: the mirror of the hub plus what only the board knows.
#[derive(Debug, Default)]
pub struct Board {
    pub mirror: Mirror,
    pub filter: Filter,
    newest: Option<(String, Instant)>,
    offline_reason: String,
}

impl Board {
    pub fn new(filter: Filter) -> Board {
        Board {
            filter,
            ..Board::default()
        }
    }

    /// Applies one update. A live call makes its number the flashing one; catch-up events do not
    /// (the announcer's `CallWatcher` decides what is live and tells us through `flash`).
    pub fn apply(&mut self, update: &Update) {
        match update {
            Update::Offline { reason, .. } => self.offline_reason = reason.clone(),
            Update::Refused { error } => self.offline_reason = error.message.clone(),
            _ => self.offline_reason.clear(),
        }
        self.mirror.apply(update);
    }

    /// Makes `number` flash from `now`.
    pub fn flash(&mut self, number: &str, now: Instant) {
        self.newest = Some((number.to_string(), now));
    }

    /// The screen at `now` (`wall` is the wall-clock time shown, in the hub's time zone).
    pub fn screen(&self, now: Instant, wall: DateTime<Utc>) -> Screen {
        let m = &self.mirror;
        let center = m.center.as_ref();
        let local = app_shell::centre_time::local(m, wall);
        let calling = self.calling();
        let history = self.history(&calling);
        let services = m
            .services
            .iter()
            .filter(|s| self.filter.shows_service(&s.id))
            .map(|s| ServiceRow {
                id: s.id.clone(),
                name_vi: s.name_vi.clone(),
                name_en: s.name_en.clone(),
                waiting: s.waiting,
                overdue: s.overdue,
                eta_min: s.eta_min,
                open: s.open && s.state == ServiceState::Open,
            })
            .collect();
        let flashing = self
            .newest
            .as_ref()
            .filter(|(number, at)| {
                now.duration_since(*at) < FLASH && calling.iter().any(|c| &c.number == number)
            })
            .map(|(n, _)| n.clone());
        Screen {
            center: center.map(|c| c.name.clone()).unwrap_or_default(),
            center_en: center.map(|c| c.name_en.clone()).unwrap_or_default(),
            date: format!(
                "{}, {:02}/{:02}/{}",
                WEEKDAYS[local.weekday().num_days_from_monday() as usize],
                local.day(),
                local.month(),
                local.year()
            ),
            clock: local.format("%H:%M").to_string(),
            online: m.online,
            switching: m.switching,
            offline_reason: self.offline_reason.clone(),
            calling,
            history,
            services,
            notice: center.map(|c| c.notice.clone()).unwrap_or_default(),
            flashing,
        }
    }

    /// Counters with a ticket called or in service, newest call first.
    fn calling(&self) -> Vec<CallRow> {
        let mut rows: Vec<(DateTime<chrono::FixedOffset>, CallRow)> = self
            .mirror
            .counters
            .iter()
            .filter(|c| self.filter.shows_counter(c.number))
            .filter_map(|c| {
                let t = c.current.as_ref()?;
                if !self.filter.shows_service(&t.service) {
                    return None;
                }
                let serving = match t.status {
                    TicketStatus::Called => false,
                    TicketStatus::Serving => true,
                    _ => return None,
                };
                // A recall counts as the newest call for ordering.
                let last_call = self
                    .mirror
                    .recent_calls
                    .iter()
                    .find(|r| r.ticket == t.id)
                    .map(|r| r.at)
                    .or(t.called_at)
                    .unwrap_or(t.issued_at);
                Some((
                    last_call,
                    CallRow {
                        number: t.number.clone(),
                        counter: c.number,
                        service: t.service.clone(),
                        serving,
                    },
                ))
            })
            .collect();
        rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.counter.cmp(&b.1.counter)));
        rows.into_iter()
            .map(|(_, r)| r)
            .take(CALLING_ROWS)
            .collect()
    }

    /// Earlier calls, newest first, without the ones still in progress and without repeats.
    fn history(&self, calling: &[CallRow]) -> Vec<CallRow> {
        let mut seen: Vec<u64> = vec![];
        self.mirror
            .recent_calls
            .iter()
            .filter(|c: &&CallView| self.filter.shows(c.counter, &c.service))
            .filter(|c| !calling.iter().any(|r| r.number == c.number))
            .filter(|c| {
                let first = !seen.contains(&c.ticket);
                seen.push(c.ticket);
                first
            })
            .take(HISTORY_ROWS)
            .map(|c| CallRow {
                number: c.number.clone(),
                counter: c.counter,
                service: c.service.clone(),
                serving: false,
            })
            .collect()
    }
}

const WEEKDAYS: [&str; 7] = [
    "Thứ Hai",
    "Thứ Ba",
    "Thứ Tư",
    "Thứ Năm",
    "Thứ Sáu",
    "Thứ Bảy",
    "Chủ nhật",
];

/// Whether an update is a call (live or not): the screen changes its lists.
pub fn is_call(update: &Update) -> bool {
    matches!(update, Update::Event(f) if f.event.kind == EventKind::TicketCalled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_from_the_command_line() {
        let f = Filter::parse(Some("1, 3"), Some("TP,GTVT")).expect("ok");
        assert!(f.shows(1, "TP") && f.shows(3, "GTVT"));
        assert!(!f.shows(2, "TP") && !f.shows(1, "DD"));
        assert!(Filter::default().shows(99, "ANY"));
        assert_eq!(Filter::parse(Some("1,x"), None), Err(BadFilter("x".into())));
    }

    #[test]
    fn the_date_and_time_are_the_hubs() {
        let board = Board::default();
        let wall = DateTime::parse_from_rfc3339("2026-11-22T23:30:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let s = board.screen(Instant::now(), wall);
        // 06:30 on Monday in Hà Nội while it is still Sunday in UTC.
        assert_eq!(s.clock, "06:30");
        assert_eq!(s.date, "Thứ Hai, 23/11/2026");
    }
}
