//! What the kiosk shows and what a tap does, without Slint or sockets: three steps (services →
//! who the ticket is for → the ticket), the language, the idle return, the CCCD decision, and the
//! rule that one press makes at most one ticket.

use std::time::{Duration, Instant};

use hub_client::Mirror;
use protocol::{ServiceState, Ticket};

use crate::cccd::{self, Decision};

/// The category a CCCD of someone 60 or over selects.
pub const ELDERLY: &str = "elderly";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Services,
    Category { service: String },
    Ticket,
}

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
}

impl Controller {
    pub fn new(idle: Duration, now: Instant) -> Controller {
        Controller {
            step: Step::Services,
            english: false,
            issuing: false,
            issued: None,
            message: String::new(),
            elderly_confirmed: false,
            idle,
            last_touch: now,
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

    /// Whether a service's tile can be tapped.
    pub fn available(mirror: &Mirror, service: &str) -> bool {
        mirror.online
            && mirror
                .service(service)
                .is_some_and(|s| s.open && s.state == ServiceState::Open)
    }

    /// Screen 1: a service was tapped. With a confirmed CCCD the ticket is issued at once.
    pub fn choose_service(
        &mut self,
        mirror: &Mirror,
        service: &str,
        now: Instant,
    ) -> Option<IssueRequest> {
        self.touched(now);
        if self.step != Step::Services || self.issuing || !Self::available(mirror, service) {
            return None;
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
        None
    }

    /// Screen 2: normal (`None`) or a priority category was tapped.
    pub fn choose_category(
        &mut self,
        category: Option<&str>,
        now: Instant,
    ) -> Option<IssueRequest> {
        self.touched(now);
        let Step::Category { service } = &self.step else {
            return None;
        };
        if self.issuing {
            return None;
        }
        let service = service.clone();
        self.request(&service, category)
    }

    fn request(&mut self, service: &str, priority: Option<&str>) -> Option<IssueRequest> {
        self.issuing = true;
        Some(IssueRequest {
            service: service.to_string(),
            priority: priority.map(str::to_string),
        })
    }

    pub fn back(&mut self, now: Instant) {
        self.touched(now);
        if !self.issuing {
            self.reset();
        }
    }

    /// The hub answered the request.
    pub fn issued(&mut self, result: Result<Ticket, String>, now: Instant) {
        self.issuing = false;
        self.touched(now);
        self.elderly_confirmed = false;
        match result {
            Ok(ticket) => {
                self.issued = Some(Issued {
                    ticket,
                    print: PrintState::Printing,
                });
                self.step = Step::Ticket;
                self.message.clear();
            }
            Err(message) => {
                self.step = Step::Services;
                self.message = message;
            }
        }
    }

    pub fn printed(&mut self, ok: bool, now: Instant) {
        self.touched(now);
        if let Some(i) = &mut self.issued {
            i.print = if ok {
                PrintState::Printed
            } else {
                PrintState::Failed
            };
        }
    }

    /// A CCCD text (or anything else a reader typed) arrived. Only the decision is kept.
    pub fn scanned(
        &mut self,
        text: &str,
        service_day: Option<chrono::NaiveDate>,
        now: Instant,
    ) -> Option<IssueRequest> {
        let day = service_day?;
        if self.issuing || self.step == Step::Ticket {
            return None;
        }
        match cccd::decide(text, day) {
            Decision::NotACccd => None,
            Decision::NotElderly => {
                self.touched(now);
                self.message =
                    "Thẻ CCCD: chưa đủ 60 tuổi — vui lòng chọn đối tượng phù hợp.".into();
                None
            }
            Decision::Elderly => {
                self.touched(now);
                match &self.step {
                    Step::Category { .. } => self.choose_category(Some(ELDERLY), now),
                    _ => {
                        self.elderly_confirmed = true;
                        self.message = "Đã xác nhận người cao tuổi — mời chọn lĩnh vực.".into();
                        None
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mirror() -> Mirror {
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

    fn day() -> Option<chrono::NaiveDate> {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
    }

    #[test]
    fn one_press_one_request() {
        let t0 = Instant::now();
        let m = mirror();
        let mut c = Controller::new(Duration::from_secs(20), t0);
        assert_eq!(
            c.choose_service(&m, "DD", t0),
            None,
            "sold out is not tappable"
        );
        assert_eq!(c.step, Step::Services);
        assert_eq!(c.choose_service(&m, "TP", t0), None);
        assert!(matches!(c.step, Step::Category { .. }));
        let first = c.choose_category(None, t0);
        assert_eq!(
            first,
            Some(IssueRequest {
                service: "TP".into(),
                priority: None
            })
        );
        assert_eq!(
            c.choose_category(None, t0),
            None,
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
        let mut c = Controller::new(Duration::from_secs(20), t0);
        c.choose_service(&m, "TP", t0);
        assert!(!c.tick(t0 + Duration::from_secs(19)));
        assert!(c.tick(t0 + Duration::from_secs(20)));
        assert_eq!(c.step, Step::Services);
        c.choose_service(&m, "TP", t0);
        c.choose_category(None, t0);
        let ticket: Ticket = serde_json::from_value(serde_json::json!({
            "id": 1, "number": "A1001", "service": "TP", "status": "waiting",
            "issued_at": "2026-11-23T09:00:00+07:00"
        }))
        .expect("ticket");
        c.issued(Ok(ticket), t0);
        assert!(!c.tick(t0 + Duration::from_secs(60)), "still printing");
        c.printed(true, t0 + Duration::from_secs(61));
        assert!(c.tick(t0 + Duration::from_secs(81)));
        assert_eq!((c.step.clone(), c.issued.is_none()), (Step::Services, true));
    }

    #[test]
    fn a_cccd_of_sixty_selects_elderly_fifty_nine_does_not() {
        let t0 = Instant::now();
        let m = mirror();
        let mut c = Controller::new(Duration::from_secs(20), t0);
        let card = |birth: &str| format!("001066012345||Nguyễn Văn An|{birth}|Nam|Hà Nội|01052021");
        // Screen 1: remembered, then the service tap issues an elderly ticket.
        assert_eq!(c.scanned(&card("23111966"), day(), t0), None);
        assert!(c.elderly_confirmed);
        assert_eq!(
            c.choose_service(&m, "TP", t0),
            Some(IssueRequest {
                service: "TP".into(),
                priority: Some(ELDERLY.into())
            })
        );
        // Screen 2: issues at once.
        let mut c = Controller::new(Duration::from_secs(20), t0);
        c.choose_service(&m, "TP", t0);
        assert_eq!(c.scanned(&card("24111966"), day(), t0), None);
        assert!(!c.elderly_confirmed && !c.message.is_empty());
        assert_eq!(c.scanned("garbage|||", day(), t0), None);
        assert_eq!(
            c.scanned(&card("01011950"), day(), t0)
                .and_then(|r| r.priority),
            Some(ELDERLY.into())
        );
    }
}
