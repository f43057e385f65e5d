//! What the counter screen shows and which actions make sense, computed from the hub's state.
//! No Slint here: `adapter.rs` copies a `Screen` into the window.

use chrono::{DateTime, FixedOffset};
use hub_client::Mirror;
use protocol::{Command, CounterState, Ticket, TicketStatus};

/// Everything a clerk can press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CallNext,
    Recall,
    Start,
    Finish,
    NoShow,
    Transfer,
    PauseResume,
    CallNumber,
    Logout,
    Login,
}

/// One line of the waiting list.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitingRow {
    pub number: String,
    pub service: String,
    pub priority: String,
    pub waited: String,
    pub overdue: bool,
}

/// The ticket at the counter.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub number: String,
    pub service: String,
    pub priority: String,
    pub status: String,
    pub waited: String,
    pub in_service: String,
    pub overdue: bool,
    pub recalls: u32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Screen {
    pub online: bool,
    pub banner: String,
    pub logged_in: bool,
    pub counter_title: String,
    pub staff_name: String,
    pub paused: bool,
    pub current: Option<Current>,
    pub waiting: Vec<WaitingRow>,
    pub served: u32,
    pub no_shows: u32,
    pub avg_wait: String,
    pub avg_service: String,
    pub enabled: Enabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Enabled {
    pub call_next: bool,
    pub recall: bool,
    pub start: bool,
    pub finish: bool,
    pub no_show: bool,
    pub transfer: bool,
    pub pause_resume: bool,
    pub call_number: bool,
    pub logout: bool,
}

impl Enabled {
    pub fn allows(&self, a: Action) -> bool {
        match a {
            Action::CallNext => self.call_next,
            Action::Recall => self.recall,
            Action::Start => self.start,
            Action::Finish => self.finish,
            Action::NoShow => self.no_show,
            Action::Transfer => self.transfer,
            Action::PauseResume => self.pause_resume,
            Action::CallNumber => self.call_number,
            Action::Logout => self.logout,
            Action::Login => !self.logout && !self.pause_resume,
        }
    }
}

/// Minutes, Vietnamese style: "12 phút", "1 giờ 05 phút".
pub fn minutes_text(secs: i64) -> String {
    let m = secs.max(0) / 60;
    if m < 60 {
        format!("{m} phút")
    } else {
        format!("{} giờ {:02} phút", m / 60, m % 60)
    }
}

/// Mm:ss for a live timer.
pub fn clock_text(secs: i64) -> String {
    let s = secs.max(0);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

pub struct Controller {
    pub device: String,
    /// A command is on its way: buttons wait for its answer so a double click acts once.
    pub busy: bool,
    /// The last answer worth telling the clerk (an error, "no one waiting" …).
    pub message: String,
}

impl Controller {
    pub fn new(device: impl Into<String>) -> Controller {
        Controller {
            device: device.into(),
            busy: false,
            message: String::new(),
        }
    }

    pub fn priority_label(mirror: &Mirror, t: &Ticket) -> String {
        t.priority
            .as_ref()
            .map(|p| {
                mirror
                    .categories
                    .iter()
                    .find(|c| &c.id == p)
                    .map_or_else(|| p.clone(), |c| c.name_vi.clone())
            })
            .unwrap_or_default()
    }

    pub fn screen(&self, mirror: &Mirror, now: DateTime<FixedOffset>) -> Screen {
        let mut s = Screen {
            online: mirror.online,
            banner: match (&mirror.refused, mirror.online) {
                (Some(reason), _) => format!("Máy chủ từ chối thiết bị này: {reason}"),
                (None, false) => {
                    "Mất kết nối với máy chủ — đang kết nối lại… / Offline, reconnecting…".into()
                }
                (None, true) => String::new(),
            },
            ..Screen::default()
        };
        let Some(counter) = mirror.counter_of_device(&self.device) else {
            return s;
        };
        s.logged_in = true;
        s.counter_title = counter.name.clone();
        s.staff_name = counter.staff_name.clone().unwrap_or_default();
        s.paused = counter.state == CounterState::Paused;
        s.served = counter.served_today;
        s.no_shows = counter.no_shows_today;
        s.avg_wait = counter
            .avg_wait_sec
            .map(|x| minutes_text(i64::from(x)))
            .unwrap_or_else(|| "—".into());
        s.avg_service = counter
            .avg_service_sec
            .map(|x| minutes_text(i64::from(x)))
            .unwrap_or_else(|| "—".into());
        let current = counter.current.as_ref();
        s.current = current.map(|t| {
            let called = t.called_at.unwrap_or(now);
            Current {
                number: t.number.clone(),
                service: mirror.service_name(&t.service),
                priority: Self::priority_label(mirror, t),
                status: match t.status {
                    TicketStatus::Called if t.recalls > 0 => {
                        format!("Đã gọi lại {} lần", t.recalls)
                    }
                    TicketStatus::Called => "Đang mời".into(),
                    TicketStatus::Serving => "Đang phục vụ".into(),
                    _ => String::new(),
                },
                waited: minutes_text((called - t.issued_at).num_seconds()),
                in_service: t
                    .serving_at
                    .map(|x| clock_text((now - x).num_seconds()))
                    .unwrap_or_default(),
                overdue: t.overdue,
                recalls: t.recalls,
            }
        });
        let rank = |service: &str| counter.services.iter().position(|x| x == service);
        let mut rows: Vec<(&Ticket, usize)> = mirror
            .waiting
            .iter()
            .filter(|t| !counter.priority_only || t.priority.is_some())
            .filter_map(|t| rank(&t.service).map(|r| (t, r)))
            .collect();
        rows.sort_by_key(|(t, r)| (t.priority.is_none(), *r, t.issued_at, t.id));
        s.waiting = rows
            .into_iter()
            .map(|(t, _)| WaitingRow {
                number: t.number.clone(),
                service: mirror.service_name(&t.service),
                priority: Self::priority_label(mirror, t),
                waited: minutes_text((now - t.issued_at).num_seconds()),
                overdue: t.overdue,
            })
            .collect();
        let status = current.map(|t| t.status);
        let ready = mirror.online && !self.busy;
        s.enabled = Enabled {
            call_next: ready && !s.paused && status != Some(TicketStatus::Called),
            recall: ready && status == Some(TicketStatus::Called),
            start: ready && status == Some(TicketStatus::Called),
            finish: ready && matches!(status, Some(TicketStatus::Called | TicketStatus::Serving)),
            no_show: ready && status == Some(TicketStatus::Called),
            transfer: ready && matches!(status, Some(TicketStatus::Called | TicketStatus::Serving)),
            pause_resume: ready,
            call_number: ready && !s.paused && status != Some(TicketStatus::Called),
            logout: ready && current.is_none(),
        };
        s
    }

    /// The command an action sends, when it needs no further input.
    pub fn command(&self, action: Action, screen: &Screen) -> Option<Command> {
        if !screen.enabled.allows(action) {
            return None;
        }
        Some(match action {
            Action::CallNext => Command::CallNext {},
            Action::Recall => Command::Recall {},
            Action::Start => Command::StartServing {},
            Action::Finish => Command::Finish { rating: None },
            Action::NoShow => Command::NoShow {},
            Action::PauseResume if screen.paused => Command::Resume {},
            Action::PauseResume => Command::Pause {},
            Action::Logout => Command::Logout {},
            Action::Transfer | Action::CallNumber | Action::Login => return None,
        })
    }

    /// What to tell the clerk about a refused command.
    pub fn explain(error: &hub_client::CommandError) -> String {
        use protocol::ErrorCode as E;
        match error.code() {
            Some(E::QueueEmpty) => "Không có ai đang chờ. / Nobody is waiting.".into(),
            Some(E::Unauthorized) => {
                "Sai mã nhân viên hoặc mã PIN. / Wrong staff code or PIN.".into()
            }
            Some(E::RateLimited) => {
                "Nhập sai quá nhiều lần, vui lòng thử lại sau. / Too many attempts.".into()
            }
            Some(E::NotFound) => "Không tìm thấy số này hôm nay. / No such number today.".into(),
            Some(E::InvalidState) | Some(E::UnknownCounter) | Some(E::UnknownService) => {
                match error {
                    hub_client::CommandError::Rejected(e) => e.message.clone(),
                    hub_client::CommandError::Stopped => String::new(),
                }
            }
            _ => error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(minutes_text(59), "0 phút");
        assert_eq!(minutes_text(12 * 60 + 5), "12 phút");
        assert_eq!(minutes_text(65 * 60), "1 giờ 05 phút");
        assert_eq!(clock_text(75), "01:15");
        assert_eq!(clock_text(3725), "1:02:05");
        assert_eq!(clock_text(-3), "00:00");
    }

    #[test]
    fn offline_or_logged_out_disables_everything() {
        let c = Controller::new("counter-1");
        let s = c.screen(&Mirror::default(), chrono::Utc::now().fixed_offset());
        assert!(!s.logged_in);
        assert_eq!(s.enabled, Enabled::default());
        assert!(s.banner.contains("Mất kết nối"));
        assert!(c.command(Action::CallNext, &s).is_none());
    }
}
