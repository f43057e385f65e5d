//! The counter's behaviour: what the screen shows and which actions make sense, computed from the
//! hub's state, and what each press, login or answer does — as effects for the app to carry out
//! (send this command, remember this login, empty the PIN field). No Slint here: `app.rs` copies
//! the `Screen` and the dialog into the window and carries out the effects.

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
    /// Devices that need someone (a kiosk out of paper): a small centre has no supervisor at a
    /// screen, so the clerks hear of it.
    pub alerts: String,
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
    /// The counter has a screen facing the citizen, where the citizen rates the service.
    pub citizen_rates: bool,
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

/// "Máy lấy số 1: hết giấy · …" for every device whose last status is not `ok`.
pub fn device_alerts(mirror: &Mirror) -> String {
    mirror
        .devices
        .iter()
        .filter(|(_, status)| **status != protocol::DeviceState::Ok)
        .map(|(device, status)| format!("{}: {}", device_name(device), status_text(status)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// "kiosk-1" → "Máy lấy số 1": how the floor calls its devices.
fn device_name(id: &str) -> String {
    let names = [
        ("kiosk-", "Máy lấy số "),
        ("counter-", "Máy quầy "),
        ("display-", "Màn hình "),
    ];
    names
        .iter()
        .find_map(|(prefix, name)| id.strip_prefix(prefix).map(|n| format!("{name}{n}")))
        .unwrap_or_else(|| id.to_string())
}

fn status_text(status: &protocol::DeviceState) -> &str {
    use protocol::DeviceState as S;
    match status {
        S::PaperOut => "hết giấy",
        S::PrinterOffline => "máy in không kết nối",
        S::Other(word) if word == "printer_error" => "máy in lỗi",
        other => other.as_str(),
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

/// A dialog over the work screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialog {
    #[default]
    None,
    Transfer,
    CallNumber,
    Rating,
}

/// What the controller asks the app to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send this command to the hub; its answer comes back to [`Controller::answered`].
    Send { action: Action, command: Command },
    /// Remember this counter and staff code for the next login (never the PIN).
    Remember { counter: u32, staff: String },
    /// Empty the PIN field.
    ClearPin,
}

/// Where a ticket may be transferred: services by name and id, other counters by name and number.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TransferChoices {
    pub services: Vec<(String, String)>,
    pub counters: Vec<(String, u32)>,
}

/// The longest ticket number a clerk may type.
const MAX_NUMBER_LEN: usize = 12;

pub struct Controller {
    pub device: String,
    /// Ask the citizen's rating when finishing.
    ratings: bool,
    /// A command is on its way: buttons wait for its answer so a double click acts once.
    pub busy: bool,
    /// The last answer worth telling the clerk (an error, "no one waiting" …).
    pub message: String,
    pub dialog: Dialog,
    /// The last finish was at a counter whose citizen rates on a screen of their own.
    rated_by_citizen: bool,
}

/// Said after a finish where `--ratings` is on but the citizen rates on the counter's screen.
pub const CITIZEN_RATES: &str = "Công dân đánh giá trên màn hình tại quầy. / The citizen rates the service on the counter's screen.";

impl Controller {
    pub fn new(device: impl Into<String>, ratings: bool) -> Controller {
        Controller {
            device: device.into(),
            ratings,
            busy: false,
            message: String::new(),
            dialog: Dialog::None,
            rated_by_citizen: false,
        }
    }

    /// A button or its F-key.
    pub fn press(&mut self, action: Action, screen: &Screen) -> Vec<Effect> {
        if !screen.enabled.allows(action) {
            return vec![];
        }
        if action == Action::Finish {
            self.rated_by_citizen = self.ratings && screen.citizen_rates;
        }
        match action {
            Action::Transfer => self.dialog = Dialog::Transfer,
            Action::CallNumber => self.dialog = Dialog::CallNumber,
            Action::Finish if self.ratings && !screen.citizen_rates => self.dialog = Dialog::Rating,
            _ => {
                if let Some(command) = self.command(action, screen) {
                    return self.send(action, command);
                }
            }
        }
        vec![]
    }

    /// The login form: staff code, PIN and the chosen counter (`None`: none chosen).
    pub fn login(&mut self, staff: &str, pin: &str, counter: Option<u32>) -> Vec<Effect> {
        let (staff, pin) = (staff.trim(), pin.trim());
        let Some(counter) = counter else {
            self.message = "Chọn quầy. / Choose a counter.".into();
            return vec![];
        };
        if staff.is_empty() || pin.is_empty() {
            self.message = "Nhập mã nhân viên và mã PIN. / Enter staff code and PIN.".into();
            return vec![];
        }
        let mut effects = vec![
            Effect::Remember {
                counter,
                staff: staff.to_string(),
            },
            Effect::ClearPin,
        ];
        effects.extend(self.send(
            Action::Login,
            Command::Login {
                counter,
                staff: staff.to_string(),
                pin: pin.to_string(),
            },
        ));
        effects
    }

    pub fn transfer_to_service(&mut self, service: &str) -> Vec<Effect> {
        self.dialog = Dialog::None;
        let command = Command::Transfer {
            service: Some(service.to_string()),
            counter: None,
        };
        self.send(Action::Transfer, command)
    }

    pub fn transfer_to_counter(&mut self, counter: u32) -> Vec<Effect> {
        self.dialog = Dialog::None;
        let command = Command::Transfer {
            service: None,
            counter: Some(counter),
        };
        self.send(Action::Transfer, command)
    }

    /// The number typed in the "call a number" dialog.
    pub fn call_number(&mut self, text: &str) -> Vec<Effect> {
        let number = text.trim().to_uppercase();
        if number.is_empty() || number.len() > MAX_NUMBER_LEN {
            return vec![];
        }
        self.dialog = Dialog::None;
        self.send(Action::CallNumber, Command::CallTicket { number })
    }

    /// The rating dialog's answer: 1–4, anything else for no rating.
    pub fn finish_with(&mut self, rating: i32) -> Vec<Effect> {
        self.dialog = Dialog::None;
        let rating = u8::try_from(rating).ok().filter(|r| (1..=4).contains(r));
        self.send(Action::Finish, Command::Finish { rating })
    }

    pub fn close_dialog(&mut self) {
        self.dialog = Dialog::None;
    }

    /// The hub's answer to what `action` sent.
    pub fn answered(
        &mut self,
        action: Action,
        result: Result<(), &hub_client::CommandError>,
    ) -> Vec<Effect> {
        self.busy = false;
        match result {
            Ok(()) => {
                self.message.clear();
                if action == Action::Finish && self.rated_by_citizen {
                    self.message = CITIZEN_RATES.into();
                }
                if action == Action::Logout {
                    return vec![Effect::ClearPin];
                }
            }
            Err(e) => self.message = Controller::explain(e),
        }
        vec![]
    }

    /// Dialogs about the current ticket close when there is none any more; all close at logout.
    pub fn settle(&mut self, screen: &Screen) {
        let about_ticket = matches!(self.dialog, Dialog::Transfer | Dialog::Rating);
        if (!screen.logged_in && self.dialog != Dialog::None)
            || (about_ticket && screen.current.is_none())
        {
            self.dialog = Dialog::None;
        }
    }

    /// Where the current ticket may go: every service, every other counter.
    pub fn transfer_choices(&self, mirror: &Mirror) -> TransferChoices {
        let own = mirror.counter_of_device(&self.device).map(|c| c.number);
        TransferChoices {
            services: mirror
                .services
                .iter()
                .map(|s| (s.name_vi.clone(), s.id.clone()))
                .collect(),
            counters: mirror
                .counters
                .iter()
                .filter(|c| Some(c.number) != own)
                .map(|c| (c.name.clone(), c.number))
                .collect(),
        }
    }

    fn send(&mut self, action: Action, command: Command) -> Vec<Effect> {
        if self.busy {
            return vec![];
        }
        self.busy = true;
        self.message.clear();
        vec![Effect::Send { action, command }]
    }

    /// What the clerk should know of a ticket besides its number: its priority category, and
    /// the time of its appointment (the citizen booked, and expects to be called then).
    pub fn priority_label(mirror: &Mirror, t: &Ticket, zone: &FixedOffset) -> String {
        let category = t.priority.as_ref().map(|p| {
            mirror
                .categories
                .iter()
                .find(|c| &c.id == p)
                .map_or_else(|| p.clone(), |c| c.name_vi.clone())
        });
        let appointment = t
            .appointment
            .as_ref()
            .map(|a| format!("Lịch hẹn {}", a.start.with_timezone(zone).format("%H:%M")));
        [category, appointment]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ")
    }

    pub fn screen(&self, mirror: &Mirror, now: DateTime<FixedOffset>) -> Screen {
        let mut s = Screen {
            online: mirror.online,
            banner: match (&mirror.refused, mirror.online) {
                (Some(reason), _) => format!("Máy chủ từ chối thiết bị này: {reason}"),
                (None, false) if mirror.switching => {
                    "Đang chuyển máy chủ… — thao tác sẽ được gửi khi kết nối lại / Switching to the other hub…".into()
                }
                (None, false) => {
                    "Mất kết nối với máy chủ — đang kết nối lại… / Offline, reconnecting…".into()
                }
                (None, true) => String::new(),
            },
            alerts: device_alerts(mirror),
            ..Screen::default()
        };
        let Some(counter) = mirror.counter_of_device(&self.device) else {
            return s;
        };
        s.logged_in = true;
        s.citizen_rates = counter.citizen_screen;
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
                priority: Self::priority_label(mirror, t, now.offset()),
                status: match t.status {
                    TicketStatus::Called => called_status(t.recalls, t.told.as_ref()),
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
                priority: Self::priority_label(mirror, t, now.offset()),
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
                    hub_client::CommandError::Stopped | hub_client::CommandError::Expired => {
                        String::new()
                    }
                }
            }
            _ => error.to_string(),
        }
    }
}

/// A called ticket's status for the clerk, and whether the citizen's phone was told: someone
/// told by push or SMS may be walking back from outside, worth a minute's wait.
fn called_status(recalls: u32, told: Option<&protocol::Told>) -> String {
    let called = if recalls > 0 {
        format!("Đã gọi lại {recalls} lần")
    } else {
        "Đang mời".into()
    };
    match told {
        Some(t) if t.called => {
            format!("{called} · đã báo qua điện thoại")
        }
        Some(t) if t.near => format!("{called} · đã báo sắp đến lượt"),
        _ => called,
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
    fn the_clerk_sees_that_the_citizens_phone_was_told() {
        assert_eq!(called_status(0, None), "Đang mời");
        assert_eq!(called_status(2, None), "Đã gọi lại 2 lần");
        let mut told = protocol::Told {
            push: 1,
            sms: 0,
            near: true,
            called: false,
            failed: 0,
        };
        assert!(called_status(0, Some(&told)).contains("sắp đến lượt"));
        told.called = true;
        let s = called_status(1, Some(&told));
        assert!(
            s.starts_with("Đã gọi lại 1 lần") && s.contains("qua điện thoại"),
            "{s}"
        );
    }

    #[test]
    fn offline_or_logged_out_disables_everything() {
        let c = Controller::new("counter-1", false);
        let s = c.screen(&Mirror::default(), chrono::Utc::now().fixed_offset());
        assert!(!s.logged_in);
        assert_eq!(s.enabled, Enabled::default());
        assert!(s.banner.contains("Mất kết nối"));
        assert!(c.command(Action::CallNext, &s).is_none());
        // A takeover in progress is said as one, not as a lost hub.
        let switching = Mirror {
            switching: true,
            ..Mirror::default()
        };
        let s = c.screen(&switching, chrono::Utc::now().fixed_offset());
        assert!(s.banner.starts_with("Đang chuyển máy chủ"), "{}", s.banner);
    }

    fn working_screen() -> Screen {
        Screen {
            online: true,
            logged_in: true,
            current: Some(Current {
                number: "A1001".into(),
                service: "Tư pháp".into(),
                priority: String::new(),
                status: "Đang phục vụ".into(),
                waited: "3 phút".into(),
                in_service: "01:00".into(),
                overdue: false,
                recalls: 0,
            }),
            enabled: Enabled {
                finish: true,
                transfer: true,
                pause_resume: true,
                ..Enabled::default()
            },
            ..Screen::default()
        }
    }

    #[test]
    fn a_press_sends_once_until_answered() {
        let mut c = Controller::new("counter-1", false);
        let s = working_screen();
        let first = c.press(Action::Finish, &s);
        assert_eq!(
            first,
            vec![Effect::Send {
                action: Action::Finish,
                command: Command::Finish { rating: None }
            }]
        );
        assert!(c.busy);
        assert!(
            c.press(Action::Finish, &s).is_empty(),
            "a double click acts once"
        );
        assert!(c.answered(Action::Finish, Ok(())).is_empty());
        assert!(!c.busy);
        assert!(
            c.press(Action::CallNext, &s).is_empty(),
            "disabled actions do nothing"
        );
    }

    #[test]
    fn finishing_asks_the_rating_when_configured() {
        let mut c = Controller::new("counter-1", true);
        let s = working_screen();
        assert!(c.press(Action::Finish, &s).is_empty());
        assert_eq!(c.dialog, Dialog::Rating);
        let sent = c.finish_with(4);
        assert_eq!(c.dialog, Dialog::None);
        assert!(matches!(
            sent.as_slice(),
            [Effect::Send {
                command: Command::Finish { rating: Some(4) },
                ..
            }]
        ));
        // The dialog closes by itself when the ticket is gone.
        c.busy = false;
        c.press(Action::Transfer, &s);
        assert_eq!(c.dialog, Dialog::Transfer);
        c.settle(&Screen { current: None, ..s });
        assert_eq!(c.dialog, Dialog::None);
    }

    #[test]
    fn where_the_citizen_rates_on_a_screen_of_their_own_the_clerk_is_not_asked() {
        let mut c = Controller::new("counter-1", true);
        let s = Screen {
            citizen_rates: true,
            ..working_screen()
        };
        let sent = c.press(Action::Finish, &s);
        assert_eq!(c.dialog, Dialog::None, "no rating dialog");
        assert_eq!(
            sent,
            vec![Effect::Send {
                action: Action::Finish,
                command: Command::Finish { rating: None }
            }]
        );
        c.answered(Action::Finish, Ok(()));
        assert_eq!(c.message, CITIZEN_RATES);
    }

    #[test]
    fn login_checks_the_form_and_keeps_no_pin() {
        let mut c = Controller::new("counter-1", false);
        assert!(c.login("nv01", "1234", None).is_empty());
        assert!(c.message.contains("Chọn quầy"));
        assert!(c.login(" ", "1234", Some(1)).is_empty());
        assert!(c.message.contains("mã PIN"));
        let effects = c.login(" nv01 ", "1234", Some(2));
        assert_eq!(
            effects,
            vec![
                Effect::Remember {
                    counter: 2,
                    staff: "nv01".into()
                },
                Effect::ClearPin,
                Effect::Send {
                    action: Action::Login,
                    command: Command::Login {
                        counter: 2,
                        staff: "nv01".into(),
                        pin: "1234".into()
                    }
                },
            ]
        );
    }

    #[test]
    fn a_typed_number_is_called_in_capitals() {
        let mut c = Controller::new("counter-1", false);
        assert!(c.call_number("   ").is_empty());
        assert!(c.call_number("A10000000000000").is_empty());
        assert_eq!(
            c.call_number(" a1005 "),
            vec![Effect::Send {
                action: Action::CallNumber,
                command: Command::CallTicket {
                    number: "A1005".into()
                }
            }]
        );
    }

    #[test]
    fn device_alerts_name_the_device_and_what_it_needs() {
        let mut m = Mirror::default();
        m.devices.insert("kiosk-1".into(), "paper_out".into());
        m.devices.insert("kiosk-2".into(), "ok".into());
        m.devices
            .insert("display-3".into(), "printer_offline".into());
        assert_eq!(
            device_alerts(&m),
            "Màn hình 3: máy in không kết nối · Máy lấy số 1: hết giấy"
        );
        m.devices.insert("kiosk-1".into(), "ok".into());
        m.devices.remove("display-3");
        assert_eq!(device_alerts(&m), "");
    }

    #[test]
    fn the_clerk_sees_a_tickets_priority_and_appointment() {
        let mut m = Mirror::default();
        m.categories.push(protocol::CategoryView {
            id: "elderly".into(),
            name_vi: "Người cao tuổi".into(),
            name_en: "Elderly".into(),
        });
        let mut t: Ticket = serde_json::from_value(serde_json::json!({
            "id": 1, "number": "A1001", "service": "TP", "status": "waiting",
            "issued_at": "2026-11-23T08:40:00+07:00"
        }))
        .expect("ticket");
        let hanoi = chrono::FixedOffset::east_opt(7 * 3600).expect("offset");
        assert_eq!(Controller::priority_label(&m, &t, &hanoi), "");
        t.appointment = Some(protocol::AppointmentRef {
            code: "KE4PX9MT".into(),
            start: chrono::DateTime::parse_from_rfc3339("2026-11-23T02:00:00Z").expect("time"),
        });
        assert_eq!(Controller::priority_label(&m, &t, &hanoi), "Lịch hẹn 09:00");
        t.priority = Some("elderly".into());
        assert_eq!(
            Controller::priority_label(&m, &t, &hanoi),
            "Người cao tuổi · Lịch hẹn 09:00"
        );
    }
}
