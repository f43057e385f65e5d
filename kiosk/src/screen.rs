//! What the kiosk's screen shows, computed from the controller and the hub's state: tiles,
//! names in the chosen language, the ticket on screen 3. No Slint here: `app.rs` copies a
//! `Screen` into the window.

use chrono::{DateTime, Utc};
use hub_client::Mirror;
use protocol::ServiceState;

use crate::controller::{Controller, PrintState, Step};

/// Which of the three screens is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Services,
    Category,
    /// "I have an appointment": the code's keyboard.
    CheckIn,
    /// "To be told when your turn is near": the phone keypad.
    Phone,
    Ticket,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceTile {
    pub id: String,
    pub name: String,
    /// The name in the other language, smaller.
    pub sub: String,
    pub waiting: u32,
    /// "15 phút", or "" when unknown.
    pub eta: String,
    pub available: bool,
    /// Why it cannot be tapped.
    pub reason: String,
    /// Its pictogram, as SVG path commands on a 24×24 view box (to stroke).
    pub icon: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CategoryTile {
    /// "" for a normal ticket.
    pub id: String,
    pub name: String,
    pub sub: String,
}

/// The ticket on screen 3.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketView {
    pub number: String,
    pub service: String,
    pub priority: String,
    pub ahead: u32,
    pub eta: String,
    pub print: PrintState,
    /// "Lịch hẹn 09:00" for an appointment's ticket, else "".
    pub appointment: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Screen {
    pub page: Page,
    pub english: bool,
    pub online: bool,
    /// The other hub is taking over: presses wait rather than being refused.
    pub switching: bool,
    pub issuing: bool,
    pub message: String,
    pub center: String,
    pub clock: String,
    pub services: Vec<ServiceTile>,
    pub chosen_service: String,
    pub categories: Vec<CategoryTile>,
    pub ticket: Option<TicketView>,
    /// Some field takes appointments: screen 1 offers the check-in.
    pub has_appointments: bool,
    /// The booking code typed so far on the check-in screen.
    pub code_typed: String,
    /// The phone number typed so far, in groups ("0912 345 678").
    pub phone_typed: String,
    /// Long enough to be a number: "Nhắn tin cho tôi" can be tapped.
    pub phone_complete: bool,
}

/// The keys of the check-in screen: the codes' characters, letters then digits.
pub fn code_keys() -> Vec<String> {
    protocol::booking_code::CODE_ALPHABET
        .iter()
        .map(|b| char::from(*b).to_string())
        .collect()
}

fn pick<'a>(english: bool, vi: &'a str, en: &'a str) -> &'a str {
    if english { en } else { vi }
}

fn minutes(english: bool, eta: Option<u32>) -> String {
    eta.filter(|e| *e > 0)
        .map(|e| format!("{e} {}", pick(english, "phút", "min")))
        .unwrap_or_default()
}

/// The screen for `ctrl` over `mirror` at `now`.
pub fn screen(ctrl: &Controller, mirror: &Mirror, now: DateTime<Utc>) -> Screen {
    let english = ctrl.english;
    let service_name = |id: &str| {
        mirror
            .service(id)
            .map(|s| pick(english, &s.name_vi, &s.name_en).to_string())
            .unwrap_or_default()
    };
    let category_name = |id: &str| {
        mirror.categories.iter().find(|c| c.id == id).map_or_else(
            || id.to_string(),
            |c| pick(english, &c.name_vi, &c.name_en).to_string(),
        )
    };
    let services = mirror
        .services
        .iter()
        .map(|s| {
            let reason = match s.state {
                ServiceState::SoldOut => {
                    pick(english, "Đã hết số hôm nay", "No more numbers today")
                }
                ServiceState::Closed => pick(english, "Ngoài giờ tiếp nhận", "Closed now"),
                ServiceState::Open => "",
            };
            ServiceTile {
                id: s.id.clone(),
                name: pick(english, &s.name_vi, &s.name_en).to_string(),
                sub: pick(english, &s.name_en, &s.name_vi).to_string(),
                waiting: s.waiting,
                eta: minutes(english, s.eta_min),
                available: Controller::available(mirror, &s.id),
                reason: reason.to_string(),
                icon: s
                    .icon
                    .as_deref()
                    .and_then(hub_client::pictograms::path_commands)
                    .or_else(|| {
                        hub_client::pictograms::path_commands(hub_client::pictograms::DEFAULT)
                    })
                    .unwrap_or_default()
                    .to_string(),
            }
        })
        .collect();
    let mut categories = vec![CategoryTile {
        id: String::new(),
        name: pick(english, "Công dân", "Citizen").into(),
        sub: pick(english, "Số thường", "Normal ticket").into(),
    }];
    categories.extend(mirror.categories.iter().map(|c| CategoryTile {
        id: c.id.clone(),
        name: pick(english, &c.name_vi, &c.name_en).to_string(),
        sub: pick(english, "Ưu tiên", "Priority").into(),
    }));
    let (page, chosen_service) = match &ctrl.step {
        Step::Services => (Page::Services, String::new()),
        Step::Category { service } => (Page::Category, service_name(service)),
        Step::CheckIn { .. } => (Page::CheckIn, String::new()),
        Step::Phone { asked, .. } => match asked {
            crate::controller::Asked::Issue(r) => (Page::Phone, service_name(&r.service)),
            crate::controller::Asked::CheckIn(_) => (Page::Phone, String::new()),
        },
        Step::Ticket => (Page::Ticket, String::new()),
    };
    let code_typed = match &ctrl.step {
        Step::CheckIn { typed } => typed.clone(),
        _ => String::new(),
    };
    let phone = match &ctrl.step {
        Step::Phone { typed, .. } => typed.as_str(),
        _ => "",
    };
    let zone = app_shell::centre_time::zone(mirror);
    let ticket = ctrl.issued.as_ref().map(|i| TicketView {
        number: i.ticket.number.clone(),
        service: service_name(&i.ticket.service),
        priority: i
            .ticket
            .priority
            .as_deref()
            .map(category_name)
            .unwrap_or_default(),
        ahead: i.ticket.ahead.unwrap_or(0),
        eta: minutes(english, i.ticket.eta_min),
        print: i.print,
        appointment: i
            .ticket
            .appointment
            .as_ref()
            .map(|a| {
                let at = a.start.with_timezone(&zone).format("%H:%M");
                format!("{} {at}", pick(english, "Lịch hẹn lúc", "Appointment at"))
            })
            .unwrap_or_default(),
    });
    Screen {
        page,
        english,
        online: mirror.online,
        switching: !mirror.online && mirror.switching,
        issuing: ctrl.issuing,
        message: ctrl.message.clone(),
        center: mirror
            .center
            .as_ref()
            .map(|c| pick(english, &c.name, &c.name_en).to_string())
            .unwrap_or_default(),
        clock: app_shell::centre_time::local(mirror, now)
            .format("%H:%M")
            .to_string(),
        services,
        chosen_service,
        categories,
        ticket,
        has_appointments: mirror.services.iter().any(|s| s.appointments),
        code_typed,
        phone_typed: grouped(phone),
        phone_complete: phone.len() >= 10,
    }
}

/// A phone number as it is read aloud: "0912 345 678" (a landline's 11: "024 3826 1234").
fn grouped(digits: &str) -> String {
    let cuts: &[usize] = if digits.starts_with("02") {
        &[3, 7]
    } else {
        &[4, 7]
    };
    let mut out = String::with_capacity(digits.len() + 2);
    for (i, c) in digits.chars().enumerate() {
        if cuts.contains(&i) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::controller::tests::mirror;

    fn nine_am() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T09:05:00+07:00")
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn tiles_say_what_can_be_tapped_and_why_not_in_either_language() {
        let m = mirror();
        let mut c = Controller::new(Duration::from_secs(20), true, Instant::now());
        let s = screen(&c, &m, nine_am());
        assert_eq!(
            (s.page, s.center.as_str(), s.clock.as_str()),
            (Page::Services, "TT", "09:05")
        );
        assert_eq!(s.services[0].name, "Tư pháp");
        assert_eq!(s.services[0].sub, "Justice");
        assert_eq!(s.services[0].eta, "10 phút");
        assert!(s.services[0].available);
        assert!(!s.services[1].available);
        assert_eq!(s.services[1].reason, "Đã hết số hôm nay");
        assert_eq!(s.categories.len(), 2, "normal, then each priority category");
        c.toggle_language(Instant::now());
        let s = screen(&c, &m, nine_am());
        assert_eq!(
            (s.services[0].name.as_str(), s.services[0].eta.as_str()),
            ("Justice", "10 min")
        );
        assert_eq!(s.services[1].reason, "No more numbers today");
        assert_eq!(s.categories[1].name, "Elderly");
    }

    #[test]
    fn the_chosen_service_is_named_on_the_second_screen() {
        let m = mirror();
        let mut c = Controller::new(Duration::from_secs(20), true, Instant::now());
        c.choose_service(&m, "TP", Instant::now());
        let s = screen(&c, &m, nine_am());
        assert_eq!(
            (s.page, s.chosen_service.as_str()),
            (Page::Category, "Tư pháp")
        );
    }
}
