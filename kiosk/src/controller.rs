//! What a tap does, without Slint or sockets: three steps (services → who the ticket is for →
//! the ticket), or the check-in of a booked appointment (its code typed on the screen's
//! keyboard or its QR scanned → the ticket); where the centre sends SMS, a phone screen before
//! the ticket (a number on a keypad, or skipped in one tap); the language, the idle return, the
//! CCCD decision, the printer's state, and the rule that one press makes at most one ticket.
//! Inputs come in; effects (ask the hub for a ticket, print it, tell the hub about the printer)
//! go out for the app to carry out.

use std::time::{Duration, Instant};

use hub_client::{CommandError, Mirror};
use protocol::{ErrorCode, ServiceState, Ticket};

use crate::cccd::{self, Decision, ScanBuffer};

/// The category a CCCD of someone 60 or over selects.
pub const ELDERLY: &str = "elderly";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Services,
    Category {
        service: String,
    },
    /// "I have an appointment": the code typed so far.
    CheckIn {
        typed: String,
    },
    /// "To be told when your turn is near": a phone number, optional, before the ticket (only
    /// where the centre sends SMS). The digits live here only until the press is sent.
    Phone {
        asked: Asked,
        typed: String,
    },
    Ticket,
}

/// What the phone screen sends on when the citizen is done with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    Issue(IssueRequest),
    CheckIn(String),
}

/// The longest number the phone keypad takes (a landline: 11 digits).
pub const PHONE_DIGITS: usize = 11;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintState {
    Printing,
    Printed,
    Failed,
}

/// The ticket on screen 3.
#[derive(Debug, Clone, PartialEq)]
pub struct Issued {
    pub ticket: Ticket,
    pub print: PrintState,
}

/// A ticket to ask the hub for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRequest {
    pub service: String,
    pub priority: Option<String>,
    /// To be told by SMS (national form), if the citizen gave one.
    pub phone: Option<String>,
}

/// What the controller asks the app to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Ask the hub for this ticket: one command id per press, resent unchanged after a reconnect.
    Issue(IssueRequest),
    /// Check this booking code in: its ticket (the same one for a code already checked in).
    CheckIn { code: String, phone: Option<String> },
    /// Print this ticket (off the UI thread: printers are slow and may hang).
    Print(Box<Ticket>),
    /// Tell the hub the printer's state changed (`ok`, `paper_out`, `printer_offline` …).
    ReportPrinter(String),
}

#[derive(Debug)]
pub struct Controller {
    pub step: Step,
    pub english: bool,
    /// A request is with the hub: further taps are ignored until it answers.
    pub issuing: bool,
    pub issued: Option<Issued>,
    /// A short message for the citizen (why a ticket could not be issued, a CCCD result).
    pub message: String,
    /// Set by a CCCD of someone 60 or over: the next ticket is an elderly one.
    pub elderly_confirmed: bool,
    idle: Duration,
    last_touch: Instant,
    /// This kiosk has a printer (without one the screen asks the citizen to remember the number).
    has_printer: bool,
    /// The printer's state last reported to the hub.
    printer_status: String,
    /// What a QR reader has typed so far.
    scan: ScanBuffer,
    /// The request with the hub is a check-in (its refusals are told differently).
    checking_in: bool,
    /// The centre sends SMS notices: a ticket is asked for after the phone screen.
    pub offer_sms: bool,
}

impl Controller {
    pub fn new(idle: Duration, has_printer: bool, now: Instant) -> Controller {
        Controller {
            step: Step::Services,
            english: false,
            issuing: false,
            issued: None,
            message: String::new(),
            elderly_confirmed: false,
            idle,
            last_touch: now,
            has_printer,
            printer_status: String::new(),
            scan: ScanBuffer::default(),
            checking_in: false,
            offer_sms: false,
        }
    }

    /// Any touch keeps the screen from going back by itself.
    pub fn touched(&mut self, now: Instant) {
        self.last_touch = now;
    }

    pub fn toggle_language(&mut self, now: Instant) {
        self.touched(now);
        self.english = !self.english;
    }

    /// Whether a service's tile can be tapped: also while the other hub takes over (the press
    /// is sent when it answers, and gets the same ticket whichever hub first heard it).
    pub fn available(mirror: &Mirror, service: &str) -> bool {
        (mirror.online || mirror.switching)
            && mirror
                .service(service)
                .is_some_and(|s| s.open && s.state == ServiceState::Open)
    }

    /// Screen 1: a service was tapped. With a confirmed CCCD the ticket is issued at once.
    pub fn choose_service(&mut self, mirror: &Mirror, service: &str, now: Instant) -> Vec<Effect> {
        self.touched(now);
        self.scan.clear();
        if self.step != Step::Services || self.issuing || !Self::available(mirror, service) {
            return vec![];
        }
        self.message.clear();
        if self.elderly_confirmed && mirror.categories.iter().any(|c| c.id == ELDERLY) {
            return self.request(service, Some(ELDERLY));
        }
        if mirror.categories.is_empty() {
            return self.request(service, None);
        }
        self.step = Step::Category {
            service: service.to_string(),
        };
        vec![]
    }

    /// Screen 1: "Tôi đã đặt lịch hẹn".
    pub fn start_check_in(&mut self, now: Instant) {
        self.touched(now);
        if self.step == Step::Services && !self.issuing {
            self.message.clear();
            self.step = Step::CheckIn {
                typed: String::new(),
            };
        }
    }

    /// A key of the check-in screen's keyboard: a character of the codes' alphabet.
    pub fn code_key(&mut self, key: &str, now: Instant) {
        self.touched(now);
        let Step::CheckIn { typed } = &mut self.step else {
            return;
        };
        let key = key.to_ascii_uppercase();
        if key.len() == 1
            && protocol::booking_code::CODE_ALPHABET.contains(&key.as_bytes()[0])
            && typed.len() < protocol::booking_code::CODE_LEN
        {
            typed.push_str(&key);
            self.message.clear();
        }
    }

    pub fn code_delete(&mut self, now: Instant) {
        self.touched(now);
        if let Step::CheckIn { typed } = &mut self.step {
            typed.pop();
        }
    }

    /// The check-in screen's OK: a whole code goes to the hub.
    pub fn code_submit(&mut self, now: Instant) -> Vec<Effect> {
        self.touched(now);
        let Step::CheckIn { typed } = &self.step else {
            return vec![];
        };
        match protocol::booking_code::normalise_code(typed) {
            Some(code) if !self.issuing => self.check_in(code),
            _ => vec![],
        }
    }

    fn check_in(&mut self, code: String) -> Vec<Effect> {
        self.ask(Asked::CheckIn(code))
    }

    /// A ticket is asked for: at once, or after the phone screen where the centre sends SMS.
    fn ask(&mut self, asked: Asked) -> Vec<Effect> {
        if self.offer_sms {
            self.message.clear();
            self.step = Step::Phone {
                asked,
                typed: String::new(),
            };
            return vec![];
        }
        self.send(asked, None)
    }

    fn send(&mut self, asked: Asked, phone: Option<String>) -> Vec<Effect> {
        self.issuing = true;
        match asked {
            Asked::Issue(mut request) => {
                request.phone = phone;
                vec![Effect::Issue(request)]
            }
            Asked::CheckIn(code) => {
                self.checking_in = true;
                vec![Effect::CheckIn { code, phone }]
            }
        }
    }

    /// A key of the phone screen's keypad: a digit.
    pub fn phone_key(&mut self, key: &str, now: Instant) {
        self.touched(now);
        let Step::Phone { typed, .. } = &mut self.step else {
            return;
        };
        if key.len() == 1 && key.as_bytes()[0].is_ascii_digit() && typed.len() < PHONE_DIGITS {
            typed.push_str(key);
            self.message.clear();
        }
    }

    pub fn phone_delete(&mut self, now: Instant) {
        self.touched(now);
        if let Step::Phone { typed, .. } = &mut self.step {
            typed.pop();
        }
    }

    /// "Nhắn tin cho tôi": the number with the press, if it is one.
    pub fn phone_submit(&mut self, now: Instant) -> Vec<Effect> {
        self.touched(now);
        let Step::Phone { asked, typed } = &mut self.step else {
            return vec![];
        };
        if self.issuing {
            return vec![];
        }
        let Some(phone) = protocol::phone::national(typed) else {
            self.message = if self.english {
                "This is not a phone number: 10 digits, starting with 0.".into()
            } else {
                "Số điện thoại chưa đúng: 10 chữ số, bắt đầu bằng số 0.".into()
            };
            return vec![];
        };
        typed.clear();
        let asked = asked.clone();
        self.send(asked, Some(phone))
    }

    /// "Bỏ qua": the ticket without a number, in one tap.
    pub fn phone_skip(&mut self, now: Instant) -> Vec<Effect> {
        self.touched(now);
        let Step::Phone { asked, typed } = &mut self.step else {
            return vec![];
        };
        if self.issuing {
            return vec![];
        }
        typed.clear();
        let asked = asked.clone();
        self.message.clear();
        self.send(asked, None)
    }

    /// Screen 2: normal (`None`) or a priority category was tapped.
    pub fn choose_category(&mut self, category: Option<&str>, now: Instant) -> Vec<Effect> {
        self.touched(now);
        let Step::Category { service } = &self.step else {
            return vec![];
        };
        if self.issuing {
            return vec![];
        }
        let service = service.clone();
        self.request(&service, category)
    }

    fn request(&mut self, service: &str, priority: Option<&str>) -> Vec<Effect> {
        self.ask(Asked::Issue(IssueRequest {
            service: service.to_string(),
            priority: priority.map(str::to_string),
            phone: None,
        }))
    }

    pub fn back(&mut self, now: Instant) {
        self.touched(now);
        self.scan.clear();
        if !self.issuing {
            self.reset();
        }
    }

    /// The hub answered the request: the ticket is shown and printed, or the citizen told why not.
    pub fn issued(&mut self, result: Result<Ticket, CommandError>, now: Instant) -> Vec<Effect> {
        self.issuing = false;
        self.touched(now);
        self.elderly_confirmed = false;
        let checking_in = std::mem::take(&mut self.checking_in);
        match result {
            Ok(ticket) => {
                self.step = Step::Ticket;
                self.message.clear();
                let print = if self.has_printer {
                    PrintState::Printing
                } else {
                    PrintState::Failed
                };
                self.issued = Some(Issued {
                    ticket: ticket.clone(),
                    print,
                });
                if self.has_printer {
                    return vec![Effect::Print(Box::new(ticket))];
                }
            }
            Err(e) if checking_in => self.check_in_refused(&e),
            Err(e) => {
                self.step = Step::Services;
                self.message = refusal(&e);
            }
        }
        vec![]
    }

    /// Why a check-in gave no ticket, said as the hub said it (when to come, in the citizen's
    /// language). Too late, the citizen goes back to the fields for a normal ticket; a wrong
    /// code is typed again.
    fn check_in_refused(&mut self, e: &CommandError) {
        let said = match e {
            CommandError::Rejected(body) => in_language(&body.message, self.english),
            _ => String::new(),
        };
        match e.code() {
            Some(ErrorCode::AppointmentLate) => {
                self.step = Step::Services;
                self.message = said;
            }
            Some(ErrorCode::AppointmentEarly) => self.message = said,
            Some(ErrorCode::NotFound) => {
                self.step = Step::CheckIn {
                    typed: String::new(),
                };
                self.message = if self.english {
                    "No appointment with this code. Please check it and type it again.".into()
                } else {
                    "Không tìm thấy lịch hẹn với mã này. Xin kiểm tra và nhập lại.".into()
                };
            }
            _ => self.message = refusal(e),
        }
    }

    /// The printer finished: `"ok"`, or the status word of what went wrong.
    pub fn printed(&mut self, status: &str, now: Instant) -> Vec<Effect> {
        self.touched(now);
        if let Some(i) = &mut self.issued {
            i.print = if status == "ok" {
                PrintState::Printed
            } else {
                PrintState::Failed
            };
        }
        if self.printer_status == status {
            return vec![];
        }
        self.printer_status = status.to_string();
        vec![Effect::ReportPrinter(status.to_string())]
    }

    /// The hub did not take the last printer status: report the next one whatever it is.
    pub fn forget_printer_status(&mut self) {
        self.printer_status.clear();
    }

    /// A key from a QR reader (or a stray keyboard). The text is dropped after the decision.
    pub fn key(
        &mut self,
        text: &str,
        service_day: Option<chrono::NaiveDate>,
        now: Instant,
    ) -> Vec<Effect> {
        match self.scan.key(text) {
            Some(scan) => self.scanned(&scan, service_day, now),
            None => vec![],
        }
    }

    /// A CCCD text (or anything else a reader typed) arrived. Only the decision is kept.
    pub fn scanned(
        &mut self,
        text: &str,
        service_day: Option<chrono::NaiveDate>,
        now: Instant,
    ) -> Vec<Effect> {
        let Some(day) = service_day else {
            return vec![];
        };
        if self.issuing || self.step == Step::Ticket {
            return vec![];
        }
        // A booking's QR code holds its code alone, or (booked at the province's door) a
        // signed pass only the hub can check: checked in from whichever screen is up.
        if protocol::booking_code::looks_like_pass(text) {
            self.touched(now);
            self.message.clear();
            return self.check_in(text.trim().to_string());
        }
        if let Some(code) = protocol::booking_code::normalise_code(text) {
            self.touched(now);
            self.message.clear();
            return self.check_in(code);
        }
        match cccd::decide(text, day) {
            Decision::NotACccd => vec![],
            Decision::NotElderly => {
                self.touched(now);
                self.message =
                    "Thẻ CCCD: chưa đủ 60 tuổi — vui lòng chọn đối tượng phù hợp.".into();
                vec![]
            }
            Decision::Elderly => {
                self.touched(now);
                match &self.step {
                    Step::Category { .. } => self.choose_category(Some(ELDERLY), now),
                    _ => {
                        self.elderly_confirmed = true;
                        self.message = "Đã xác nhận người cao tuổi — mời chọn lĩnh vực.".into();
                        vec![]
                    }
                }
            }
        }
    }

    /// Goes back to the services screen after the idle time. Returns whether it did.
    pub fn tick(&mut self, now: Instant) -> bool {
        let idle = now.saturating_duration_since(self.last_touch) >= self.idle;
        let printing = self
            .issued
            .as_ref()
            .is_some_and(|i| i.print == PrintState::Printing);
        if idle && !self.issuing && !printing && self.step_or_state_to_reset() {
            self.reset();
            self.scan.clear();
            return true;
        }
        false
    }

    fn step_or_state_to_reset(&self) -> bool {
        self.step != Step::Services
            || self.english
            || !self.message.is_empty()
            || self.elderly_confirmed
    }

    fn reset(&mut self) {
        self.step = Step::Services;
        self.issued = None;
        self.message.clear();
        self.english = false;
        self.elderly_confirmed = false;
    }
}

/// How long a press waits for its ticket before it is abandoned (and can no longer print one).
pub const PRESS_DEADLINE: std::time::Duration = std::time::Duration::from_secs(8);

/// The part of a hub's "Vietnamese / English" message in the citizen's language.
fn in_language(message: &str, english: bool) -> String {
    match message.split_once(" / ") {
        Some((vi, en)) => if english { en } else { vi }.trim().to_string(),
        None => message.to_string(),
    }
}

/// Why the hub did not issue a ticket, for the citizen.
fn refusal(e: &CommandError) -> String {
    match e.code() {
        Some(ErrorCode::ServiceClosed) => {
            "Lĩnh vực này hiện không tiếp nhận. Xin vui lòng hỏi cán bộ hướng dẫn.".into()
        }
        Some(ErrorCode::DailyLimitReached) => "Lĩnh vực này đã hết số hôm nay.".into(),
        Some(ErrorCode::UnknownService) => "Lĩnh vực không còn trong danh sách.".into(),
        Some(ErrorCode::Expired) => {
            "Máy chưa liên lạc được với hệ thống nên chưa cấp số. Xin vui lòng bấm lại.".into()
        }
        _ => "Chưa cấp được số, xin vui lòng thử lại.".into(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A centre with one open service (TP), one sold out (DD) and the elderly category.
    pub(crate) fn mirror() -> Mirror {
        let snapshot: protocol::Snapshot = serde_json::from_value(serde_json::json!({
            "center": {"name": "TT", "name_en": "C", "service_day": "2026-11-23",
                       "timezone": "Asia/Ho_Chi_Minh", "now": "2026-11-23T09:00:00+07:00", "notice": ""},
            "categories": [{"id": "elderly", "name_vi": "Người cao tuổi", "name_en": "Elderly"}],
            "services": [
                {"id": "TP", "name_vi": "Tư pháp", "name_en": "Justice", "prefix": "A", "state": "open",
                 "open": true, "waiting": 2, "overdue": 0, "eta_min": 10, "issued_today": 2,
                 "target_wait_min": 30, "target_service_min": 10},
                {"id": "DD", "name_vi": "Đất đai", "name_en": "Land", "prefix": "C", "state": "sold_out",
                 "open": false, "waiting": 0, "overdue": 0, "issued_today": 200,
                 "target_wait_min": 30, "target_service_min": 10}
            ],
            "counters": [], "waiting": [], "recent_calls": []
        }))
        .expect("snapshot");
        let mut m = Mirror::default();
        m.apply(&hub_client::Update::Snapshot {
            seq: 1,
            snapshot: Box::new(snapshot),
        });
        m
    }

    #[test]
    fn a_press_waits_while_the_other_hub_takes_over_but_not_when_offline() {
        let mut m = mirror();
        let switching = hub_client::Update::Offline {
            reason: "lost".into(),
            switching: true,
        };
        m.apply(&switching);
        assert!(
            Controller::available(&m, "TP"),
            "a switch lets the press wait"
        );
        assert!(
            !Controller::available(&m, "DD"),
            "a sold-out field stays closed"
        );
        let offline = hub_client::Update::Offline {
            reason: "still lost".into(),
            switching: false,
        };
        m.apply(&offline);
        assert!(
            !Controller::available(&m, "TP"),
            "offline: never promise a number"
        );
    }

    /// The ticket the hub issues in these tests.
    fn a1001() -> Ticket {
        serde_json::from_value(serde_json::json!({
            "id": 1, "number": "A1001", "service": "TP", "status": "waiting",
            "issued_at": "2026-11-23T09:00:00+07:00"
        }))
        .expect("ticket")
    }

    fn day() -> Option<chrono::NaiveDate> {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
    }

    #[test]
    fn one_press_one_request() {
        let t0 = Instant::now();
        let m = mirror();
        let mut c = Controller::new(Duration::from_secs(20), true, t0);
        assert_eq!(
            c.choose_service(&m, "DD", t0),
            vec![],
            "sold out is not tappable"
        );
        assert_eq!(c.step, Step::Services);
        assert_eq!(c.choose_service(&m, "TP", t0), vec![]);
        assert!(matches!(c.step, Step::Category { .. }));
        let first = c.choose_category(None, t0);
        assert_eq!(
            first,
            vec![Effect::Issue(IssueRequest {
                service: "TP".into(),
                priority: None,
                phone: None,
            })]
        );
        assert_eq!(
            c.choose_category(None, t0),
            vec![],
            "a second tap while issuing"
        );
        c.back(t0);
        assert!(
            matches!(c.step, Step::Category { .. }),
            "no going back mid-issue"
        );
    }

    #[test]
    fn idle_returns_to_the_services_but_not_while_printing() {
        let t0 = Instant::now();
        let m = mirror();
        let mut c = Controller::new(Duration::from_secs(20), true, t0);
        c.choose_service(&m, "TP", t0);
        assert!(!c.tick(t0 + Duration::from_secs(19)));
        assert!(c.tick(t0 + Duration::from_secs(20)));
        assert_eq!(c.step, Step::Services);
        c.choose_service(&m, "TP", t0);
        c.choose_category(None, t0);
        let ticket = a1001();
        assert_eq!(
            c.issued(Ok(ticket.clone()), t0),
            vec![Effect::Print(Box::new(ticket))]
        );
        assert!(!c.tick(t0 + Duration::from_secs(60)), "still printing");
        assert_eq!(
            c.printed("ok", t0 + Duration::from_secs(61)),
            vec![Effect::ReportPrinter("ok".into())]
        );
        assert_eq!(
            c.printed("ok", t0 + Duration::from_secs(61)),
            vec![],
            "reported once"
        );
        assert!(c.tick(t0 + Duration::from_secs(81)));
        assert_eq!((c.step.clone(), c.issued.is_none()), (Step::Services, true));
    }

    #[test]
    fn a_cccd_of_sixty_selects_elderly_fifty_nine_does_not() {
        let t0 = Instant::now();
        let m = mirror();
        let mut c = Controller::new(Duration::from_secs(20), true, t0);
        let card = |birth: &str| format!("001066012345||Nguyễn Văn An|{birth}|Nam|Hà Nội|01052021");
        // Screen 1: remembered, then the service tap issues an elderly ticket.
        assert_eq!(c.scanned(&card("23111966"), day(), t0), vec![]);
        assert!(c.elderly_confirmed);
        assert_eq!(
            c.choose_service(&m, "TP", t0),
            vec![Effect::Issue(IssueRequest {
                service: "TP".into(),
                priority: Some(ELDERLY.into()),
                phone: None,
            })]
        );
        // Screen 2: issues at once.
        let mut c = Controller::new(Duration::from_secs(20), true, t0);
        c.choose_service(&m, "TP", t0);
        assert_eq!(c.scanned(&card("24111966"), day(), t0), vec![]);
        assert!(!c.elderly_confirmed && !c.message.is_empty());
        assert_eq!(c.scanned("garbage|||", day(), t0), vec![]);
        assert!(matches!(
            c.scanned(&card("01011950"), day(), t0).as_slice(),
            [Effect::Issue(IssueRequest { priority: Some(p), .. })] if p == ELDERLY
        ));
    }

    #[test]
    fn without_a_printer_the_number_is_shown_to_remember() {
        let t0 = Instant::now();
        let m = mirror();
        let mut c = Controller::new(Duration::from_secs(20), false, t0);
        c.choose_service(&m, "TP", t0);
        c.choose_category(None, t0);
        let ticket = a1001();
        assert_eq!(c.issued(Ok(ticket), t0), vec![], "nothing to print on");
        assert_eq!(c.issued.as_ref().map(|i| i.print), Some(PrintState::Failed));
    }

    #[test]
    fn a_refusal_is_explained_and_the_kiosk_starts_again() {
        let t0 = Instant::now();
        let m = mirror();
        let mut c = Controller::new(Duration::from_secs(20), true, t0);
        c.choose_service(&m, "TP", t0);
        c.choose_category(None, t0);
        let refused = CommandError::Rejected(protocol::ErrorBody {
            code: ErrorCode::DailyLimitReached,
            message: "limit".into(),
        });
        assert_eq!(c.issued(Err(refused), t0), vec![]);
        assert_eq!(c.step, Step::Services);
        assert!(c.message.contains("hết số"), "{}", c.message);
        assert!(!c.issuing);
    }

    #[test]
    fn a_press_nobody_answered_in_time_asks_the_citizen_to_press_again() {
        let t0 = Instant::now();
        let m = mirror();
        let mut c = Controller::new(Duration::from_secs(20), true, t0);
        c.choose_service(&m, "TP", t0);
        c.choose_category(None, t0);
        assert!(c.issuing);
        let later = t0 + PRESS_DEADLINE;
        assert_eq!(c.issued(Err(CommandError::Expired), later), vec![]);
        assert_eq!((c.step.clone(), c.issuing), (Step::Services, false));
        assert!(c.message.contains("bấm lại"), "{}", c.message);
        // The message goes with the idle time, like any other.
        assert!(c.tick(later + Duration::from_secs(20)));
        assert!(c.message.is_empty());
    }

    fn refused(code: ErrorCode, message: &str) -> CommandError {
        CommandError::Rejected(protocol::ErrorBody {
            code,
            message: message.into(),
        })
    }

    #[test]
    fn a_booking_code_is_typed_on_its_own_keys_and_sent_once_whole() {
        let t0 = Instant::now();
        let mut c = Controller::new(Duration::from_secs(20), true, t0);
        c.start_check_in(t0);
        for key in ["k", "O", "E", "4", "1", "P", "X", "9", "M", "T", "W"] {
            c.code_key(key, t0);
        }
        assert_eq!(
            c.step,
            Step::CheckIn {
                typed: "KE4PX9MT".into()
            },
            "small letters taken, look-alikes and a ninth key ignored"
        );
        c.code_delete(t0);
        assert_eq!(c.code_submit(t0), vec![], "not whole");
        c.code_key("T", t0);
        assert_eq!(
            c.code_submit(t0),
            vec![Effect::CheckIn {
                code: "KE4PX9MT".into(),
                phone: None
            }]
        );
        assert_eq!(c.code_submit(t0), vec![], "once");
        assert!(c.issuing);
    }

    #[test]
    fn a_refused_check_in_says_why_and_what_to_do() {
        let t0 = Instant::now();
        let mut c = Controller::new(Duration::from_secs(20), true, t0);
        let early = "Chưa đến giờ nhận số: … từ 08:30. / Too early: … opens at 08:30.";
        let late = "Đã hết giờ … lấy số thường. / Check-in closed … a normal ticket.";
        let submit = |c: &mut Controller| {
            c.start_check_in(t0);
            for key in "KE4PX9MT".chars() {
                c.code_key(&key.to_string(), t0);
            }
            c.code_submit(t0)
        };
        submit(&mut c);
        c.issued(Err(refused(ErrorCode::AppointmentEarly, early)), t0);
        assert!(
            matches!(c.step, Step::CheckIn { .. }),
            "stays, to try later"
        );
        assert_eq!(c.message, "Chưa đến giờ nhận số: … từ 08:30.");
        c.back(t0);
        c.toggle_language(t0);
        submit(&mut c);
        c.issued(Err(refused(ErrorCode::AppointmentLate, late)), t0);
        assert_eq!(
            c.step,
            Step::Services,
            "back to the fields for a normal ticket"
        );
        assert_eq!(c.message, "Check-in closed … a normal ticket.");
        submit(&mut c);
        c.issued(Err(refused(ErrorCode::NotFound, "x")), t0);
        assert_eq!(
            c.step,
            Step::CheckIn {
                typed: String::new()
            },
            "typed again"
        );
        assert!(c.message.contains("No appointment"), "{}", c.message);
        // A walk-in's refusal is still told the walk-in's way.
        let m = mirror();
        c.back(t0);
        c.choose_service(&m, "TP", t0);
        c.choose_category(None, t0);
        c.issued(Err(refused(ErrorCode::DailyLimitReached, "x")), t0);
        assert!(c.message.contains("hết số"), "{}", c.message);
    }

    #[test]
    fn a_scanned_province_pass_goes_to_the_hub_as_it_is() {
        let t0 = Instant::now();
        let mut c = Controller::new(Duration::from_secs(20), true, t0);
        let pass = "HD1.Y2F1LWdpYXkKVFAKMTc5NjAwMDQwMApLRTRQWDlNVA.c2lnbmF0dXJl";
        assert_eq!(
            c.scanned(&format!("{pass}\r"), day(), t0),
            vec![Effect::CheckIn {
                code: pass.into(),
                phone: None
            }]
        );
        let mut c = Controller::new(Duration::from_secs(20), true, t0);
        assert_eq!(
            c.scanned("HD1.<script>", day(), t0),
            vec![],
            "not a pass, not a code, not a card"
        );
    }

    #[test]
    fn a_scanned_booking_code_checks_in_from_any_screen() {
        let t0 = Instant::now();
        let m = mirror();
        let mut c = Controller::new(Duration::from_secs(20), true, t0);
        c.choose_service(&m, "TP", t0);
        assert_eq!(
            c.scanned("ke4p-x9mt", day(), t0),
            vec![Effect::CheckIn {
                code: "KE4PX9MT".into(),
                phone: None
            }]
        );
        let mut ticket = a1001();
        ticket.appointment = Some(protocol::AppointmentRef {
            code: "KE4PX9MT".into(),
            start: chrono::DateTime::parse_from_rfc3339("2026-11-23T09:30:00+07:00").expect("time"),
        });
        assert_eq!(
            c.issued(Ok(ticket.clone()), t0),
            vec![Effect::Print(Box::new(ticket))]
        );
        assert_eq!(c.step, Step::Ticket);
    }

    #[test]
    fn where_the_centre_sends_sms_the_phone_screen_comes_before_the_ticket() {
        let m = mirror();
        let t0 = Instant::now();
        let mut c = Controller::new(Duration::from_secs(20), true, t0);
        c.offer_sms = true;
        c.choose_service(&m, "TP", t0);
        assert_eq!(
            c.choose_category(None, t0),
            vec![],
            "the phone screen first"
        );
        assert!(matches!(c.step, Step::Phone { .. }));
        for key in ["0", "9", "1", "2", "x", "34", "3", "4", "5", "6", "7", "8"] {
            c.phone_key(key, t0);
        }
        assert!(matches!(&c.step, Step::Phone { typed, .. } if typed == "0912345678"));
        let sent = c.phone_submit(t0);
        assert_eq!(
            sent,
            vec![Effect::Issue(IssueRequest {
                service: "TP".into(),
                priority: None,
                phone: Some("0912345678".into()),
            })]
        );
        assert!(
            matches!(&c.step, Step::Phone { typed, .. } if typed.is_empty()),
            "the digits are gone once sent"
        );
        assert_eq!(c.phone_submit(t0), vec![], "one press, one ticket");
    }

    #[test]
    fn the_phone_screen_is_skipped_in_one_tap_and_a_wrong_number_is_said() {
        let m = mirror();
        let t0 = Instant::now();
        let mut c = Controller::new(Duration::from_secs(20), true, t0);
        c.offer_sms = true;
        c.choose_service(&m, "TP", t0);
        c.choose_category(None, t0);
        for key in ["1", "2", "3"] {
            c.phone_key(key, t0);
        }
        assert_eq!(c.phone_submit(t0), vec![]);
        assert!(
            c.message.contains("Số điện thoại chưa đúng"),
            "{}",
            c.message
        );
        assert!(
            matches!(
                c.phone_skip(t0).as_slice(),
                [Effect::Issue(IssueRequest { phone: None, .. })]
            ),
            "skipped: the ticket without a number"
        );
        // A check-in passes the same screen; idle, the screen forgets what was typed.
        let mut c = Controller::new(Duration::from_secs(20), true, t0);
        c.offer_sms = true;
        c.start_check_in(t0);
        for key in "KE4PX9MT".chars() {
            c.code_key(&key.to_string(), t0);
        }
        assert_eq!(c.code_submit(t0), vec![]);
        c.phone_key("0", t0);
        assert!(c.tick(t0 + Duration::from_secs(21)));
        assert_eq!(c.step, Step::Services);
    }
}
