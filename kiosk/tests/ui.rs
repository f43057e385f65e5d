//! The kiosk window, headless (Slint's testing backend), against a real hub: tapping through the
//! screens issues exactly one ticket per press (also when tapped twice), the hub going down and
//! coming back, the idle return, a CCCD scanned by a keyboard-like QR reader, a printer failure.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use app_shell::{Connection, Pump};
use chrono::{Datelike, NaiveDate};
use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use kiosk::app::{App, Options};
use kiosk::controller::{PrintState, Step};
use kiosk::printer::PrinterSpec;
use kiosk::{KioskAdapter, KioskWindow, Page as UiPage, PrintState as UiPrintState};
use slint::ComponentHandle;
use slint::platform::WindowEvent;
use testkit::{Centre, WAIT};

/// A real hub (demo centre, system clock) for a kiosk window on Slint's testing backend.
fn centre() -> Centre {
    i_slint_backend_testing::init_no_event_loop();
    Centre::new()
}

/// The kiosk app as `kiosk-1`, once it has the hub's state.
fn kiosk(c: &Centre, printer: Option<PrinterSpec>) -> Rc<RefCell<App>> {
    let ui = KioskWindow::new().expect("window");
    ui.show().expect("show");
    let options = Options {
        connection: Connection::demo(c.url(), "kiosk-1"),
        printer,
        idle: Duration::from_secs(20),
        save_tickets: None,
    };
    let app = App::new(ui, options, c.runtime());
    assert!(app.borrow_mut().pump_until(WAIT, |a| a.mirror.online));
    app
}

/// A printer that writes its bytes to a file in the test's folder.
fn file_printer(c: &Centre) -> PrinterSpec {
    let path = c.dir().join("printer.bin");
    PrinterSpec::parse(&format!("file:{}", path.display()), 80, false).expect("spec")
}

fn tap(app: &Rc<RefCell<App>>, label: &str) {
    let ui = app.borrow().ui.clone_strong();
    let button = ElementHandle::find_by_accessible_label(&ui, label)
        .find(|e| e.accessible_role() == Some(AccessibleRole::Button))
        .unwrap_or_else(|| panic!("no button {label:?}"));
    button.invoke_accessible_default_action();
}

fn issued_today(app: &App, service: &str) -> u32 {
    app.mirror.service(service).map_or(0, |s| s.issued_today)
}

#[test]
fn a_kiosk_without_a_pointer_still_takes_touches() {
    let c = centre();
    let app = kiosk(&c, None);
    let ui = app.borrow().ui.clone_strong();
    let adapter = ui.global::<KioskAdapter>();
    assert!(
        !adapter.get_hide_pointer(),
        "a window (the demo) keeps its pointer"
    );
    app.borrow().hide_pointer(true);
    assert!(adapter.get_hide_pointer());
    tap(&app, "Tư pháp – Hộ tịch");
    assert!(matches!(app.borrow().ctrl.step, Step::Category { .. }));
}

#[test]
fn tapping_through_issues_one_ticket_and_prints_it() {
    let c = centre();
    let app = kiosk(&c, Some(file_printer(&c)));
    let before = issued_today(&app.borrow(), "TP");
    tap(&app, "Tư pháp – Hộ tịch");
    assert!(matches!(app.borrow().ctrl.step, Step::Category { .. }));
    assert_eq!(
        app.borrow().ui.global::<KioskAdapter>().get_page(),
        UiPage::Category
    );
    tap(&app, "Công dân");
    let mut a = app.borrow_mut();
    assert!(a.pump_until(WAIT, |a| {
        a.ctrl
            .issued
            .as_ref()
            .is_some_and(|i| i.print != PrintState::Printing)
    }));
    let issued = a.ctrl.issued.clone().expect("issued");
    assert_eq!(issued.print, PrintState::Printed);
    assert!(issued.ticket.number.starts_with('A'));
    let adapter = a.ui.global::<KioskAdapter>();
    assert_eq!(adapter.get_page(), UiPage::Ticket);
    assert_eq!(adapter.get_ticket_number().as_str(), issued.ticket.number);
    assert!(a.pump_until(WAIT, |a| issued_today(a, "TP") == before + 1));
    let printed = std::fs::read(c.dir().join("printer.bin")).expect("printed");
    assert!(
        printed.windows(3).any(|w| w == [0x1d, b'v', b'0']),
        "a raster image"
    );
    assert_eq!(a.requests_sent, 1);
}

#[test]
fn a_double_tap_makes_one_ticket() {
    let c = centre();
    let app = kiosk(&c, None);
    let before = issued_today(&app.borrow(), "GTVT");
    tap(&app, "Giao thông vận tải");
    tap(&app, "Người cao tuổi (từ 60 tuổi)");
    // The overlay is up and the tiles are disabled, but a fast finger may still land.
    app.borrow_mut().choose_category("elderly");
    app.borrow_mut().choose_category("");
    let mut a = app.borrow_mut();
    assert!(a.pump_until(WAIT, |a| a.ctrl.step == Step::Ticket));
    assert_eq!(a.requests_sent, 1);
    assert_eq!(
        a.ctrl
            .issued
            .as_ref()
            .and_then(|i| i.ticket.priority.clone()),
        Some("elderly".into())
    );
    // Without a printer the screen says to remember the number.
    assert_eq!(
        a.ctrl.issued.as_ref().map(|i| i.print),
        Some(PrintState::Failed)
    );
    assert!(a.pump_until(WAIT, |a| issued_today(a, "GTVT") == before + 1));
}

#[test]
fn the_hub_down_and_back() {
    let mut c = centre();
    let app = kiosk(&c, None);
    c.stop_hub();
    assert!(app.borrow_mut().pump_until(WAIT, |a| !a.mirror.online));
    let ui = app.borrow().ui.clone_strong();
    assert!(
        ElementHandle::find_by_accessible_label(&ui, "Mất kết nối")
            .next()
            .is_some()
    );
    // No number is invented: the tap does nothing.
    app.borrow_mut().choose_service("TP");
    assert_eq!(app.borrow().ctrl.step, Step::Services);
    assert_eq!(app.borrow().requests_sent, 0);
    c.start_hub();
    assert!(
        app.borrow_mut()
            .pump_until(Duration::from_secs(20), |a| a.mirror.online)
    );
    tap(&app, "Tư pháp – Hộ tịch");
    tap(&app, "Công dân");
    assert!(
        app.borrow_mut()
            .pump_until(WAIT, |a| a.ctrl.step == Step::Ticket)
    );
}

#[test]
fn it_returns_to_the_services_when_left_alone() {
    let c = centre();
    let app = kiosk(&c, None);
    tap(&app, "English");
    tap(&app, "Land");
    assert!(matches!(app.borrow().ctrl.step, Step::Category { .. }));
    let mut a = app.borrow_mut();
    a.tick_at(Instant::now() + Duration::from_secs(5));
    assert!(matches!(a.ctrl.step, Step::Category { .. }));
    a.tick_at(Instant::now() + Duration::from_secs(21));
    assert_eq!(a.ctrl.step, Step::Services);
    assert!(
        !a.ui.global::<KioskAdapter>().get_english(),
        "back in Vietnamese"
    );
}

fn type_text(ui: &KioskWindow, text: &str) {
    for ch in text.chars() {
        let t: slint::SharedString = ch.to_string().into();
        ui.window()
            .dispatch_event(WindowEvent::KeyPressed { text: t.clone() });
        ui.window()
            .dispatch_event(WindowEvent::KeyReleased { text: t });
    }
}

#[test]
fn a_cccd_of_someone_sixty_selects_the_elderly_category() {
    let c = centre();
    let app = kiosk(&c, None);
    let day = {
        let a = app.borrow();
        let d = &a.mirror.center.as_ref().expect("center").service_day;
        NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("day")
    };
    let born = |years: i32| {
        format!(
            "{:02}{:02}{}",
            day.day().min(28),
            day.month(),
            day.year() - years
        )
    };
    let card =
        |birth: String| format!("079066001234||Lê Văn C|{birth}|Nam|TP Hồ Chí Minh|10102021\n");
    tap(&app, "Đất đai");
    let ui = app.borrow().ui.clone_strong();
    // 59: the kiosk says so and selects nothing; garbage: ignored.
    type_text(&ui, &card(born(59)));
    {
        let a = app.borrow();
        assert_eq!(a.requests_sent, 0);
        assert!(a.ctrl.message.contains("60"), "{}", a.ctrl.message);
    }
    type_text(&ui, "not a card at all\n");
    {
        let a = app.borrow();
        assert_eq!(a.requests_sent, 0);
        assert!(matches!(a.ctrl.step, Step::Category { .. }));
    }
    // 60 on the service day (a birthday already passed this year or today): elderly.
    type_text(&ui, &card(born(60)));
    let mut a = app.borrow_mut();
    assert_eq!(a.requests_sent, 1);
    assert!(a.pump_until(WAIT, |a| a.ctrl.step == Step::Ticket));
    assert_eq!(
        a.ctrl
            .issued
            .as_ref()
            .and_then(|i| i.ticket.priority.clone()),
        Some("elderly".into())
    );
}

#[test]
fn a_printer_failure_asks_the_citizen_to_remember_the_number() {
    let c = centre();
    let unreachable = PrinterSpec::parse("tcp:127.0.0.1:1", 80, false).expect("spec");
    let app = kiosk(&c, Some(unreachable));
    tap(&app, "Xây dựng");
    tap(&app, "Công dân");
    let mut a = app.borrow_mut();
    assert!(a.pump_until(WAIT, |a| {
        a.ctrl
            .issued
            .as_ref()
            .is_some_and(|i| i.print == PrintState::Failed)
    }));
    assert_eq!(
        a.ui.global::<KioskAdapter>().get_print_state(),
        UiPrintState::Failed
    );
    drop(a);
    // The hub hears of it: an admin sees the kiosk's printer offline.
    let (_admin, mut updates) = {
        let _inside = c.runtime.enter();
        hub_client::HubClient::connect(hub_client::ClientConfig::new(
            c.url(),
            protocol::Role::Admin,
            "admin",
            "demo-admin",
        ))
    };
    let reported = c.runtime.block_on(async {
        tokio::time::timeout(WAIT, async {
            while let Some(u) = updates.recv().await {
                let seen = match &u {
                    hub_client::Update::Snapshot { snapshot, .. } => snapshot
                        .devices
                        .iter()
                        .any(|d| d.device == "kiosk-1" && d.status == "printer_offline"),
                    hub_client::Update::Event(f) => {
                        f.event.device.as_deref() == Some("kiosk-1")
                            && f.event.status == Some(protocol::DeviceState::PrinterOffline)
                    }
                    _ => false,
                };
                if seen {
                    return true;
                }
            }
            false
        })
        .await
    });
    assert_eq!(reported, Ok(true));
}

/// Books the next slot of TP (the demo's slots run round the clock, every quarter of an hour,
/// so its check-in window is open now — after 23:45, the first of tomorrow) and returns the
/// booking's code.
fn book_next_slot(c: &Centre, phone: &str) -> String {
    let addr = c.addr;
    c.runtime.block_on(async move {
        let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
        let mut start = serde_json::Value::Null;
        for day in [now.date_naive(), now.date_naive() + chrono::Days::new(1)] {
            let path = format!("/api/appointments/slots?service=TP&date={day}");
            let (status, slots) = testkit::raw::get(addr, &path).await;
            assert_eq!(status, 200, "{slots}");
            let slots: serde_json::Value = serde_json::from_str(&slots).expect("json");
            start = slots["slots"][0]["start"].clone();
            if !start.is_null() {
                break;
            }
        }
        let body = serde_json::json!({"service": "TP", "start": start, "phone": phone});
        let (status, response) =
            testkit::raw::request(addr, "POST", "/api/appointments", None, Some(&body)).await;
        assert_eq!(status, 201, "{response}");
        let booked = testkit::raw::json_body(&response);
        booked["code"].as_str().expect("code").to_string()
    })
}

#[test]
fn an_appointment_is_checked_in_by_its_typed_code_or_its_qr() {
    let c = centre();
    let app = kiosk(&c, None);
    let typed = book_next_slot(&c, "0912345678");
    let scanned = book_next_slot(&c, "0987654321");
    tap(&app, "Tôi đã đặt lịch hẹn");
    assert!(matches!(app.borrow().ctrl.step, Step::CheckIn { .. }));
    // A wrong key first, taken back; the button waits for the whole code.
    tap(&app, "A");
    tap(&app, "Xóa");
    for key in typed.chars() {
        tap(&app, &key.to_string());
    }
    tap(&app, "Nhận số");
    let first = {
        let mut a = app.borrow_mut();
        assert!(
            a.pump_until(WAIT, |a| a.ctrl.step == Step::Ticket),
            "{}",
            a.ctrl.message
        );
        let ticket = a
            .ctrl
            .issued
            .as_ref()
            .map(|i| i.ticket.clone())
            .expect("ticket");
        assert_eq!(
            ticket.appointment.as_ref().map(|x| x.code.as_str()),
            Some(typed.as_str())
        );
        let shown = a.ui.global::<KioskAdapter>().get_ticket_appointment();
        assert!(shown.starts_with("Lịch hẹn lúc "), "{shown}");
        ticket
    };
    tap(&app, "Xong");
    // The other booking's QR code, read from the first screen: its ticket at once.
    let ui = app.borrow().ui.clone_strong();
    type_text(&ui, &format!("{scanned}\n"));
    {
        let mut a = app.borrow_mut();
        assert!(a.pump_until(WAIT, |a| a.ctrl.step == Step::Ticket));
        let ticket = a
            .ctrl
            .issued
            .as_ref()
            .map(|i| i.ticket.clone())
            .expect("ticket");
        assert_eq!(ticket.appointment.map(|x| x.code), Some(scanned.clone()));
        assert_ne!(ticket.id, first.id);
    }
    tap(&app, "Xong");
    // Scanned again, at this kiosk or another: the same ticket, never a second one.
    type_text(&ui, &format!("{}\n", typed.to_lowercase()));
    let mut a = app.borrow_mut();
    assert!(a.pump_until(WAIT, |a| a.ctrl.step == Step::Ticket));
    assert_eq!(a.ctrl.issued.as_ref().map(|i| i.ticket.id), Some(first.id));
    assert!(
        a.pump_until(WAIT, |a| issued_today(a, "TP") == 2),
        "two tickets, not three"
    );
}

#[test]
fn where_the_centre_sends_sms_a_number_typed_on_the_keypad_is_told_near() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().expect("tmp");
    let token_file = dir.path().join("sms-token");
    std::fs::write(&token_file, "t0k").expect("token");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let gateway = runtime.block_on(testkit::sms::SmsGateway::start(0));
    let mut config = testkit::real_clock_config();
    config.notify.sms = Some(centre_config::SmsGateway {
        url: gateway.url(),
        token_file,
    });
    config.center.sms = true;
    let c = Centre::with_config(config);
    let app = kiosk(&c, None);
    assert!(app.borrow().ctrl.offer_sms, "the hub says it sends SMS");
    tap(&app, "Tư pháp – Hộ tịch");
    tap(&app, "Công dân");
    assert_eq!(
        app.borrow().ui.global::<KioskAdapter>().get_page(),
        UiPage::Phone
    );
    for key in "0912345678".chars() {
        tap(&app, &key.to_string());
    }
    assert_eq!(
        app.borrow()
            .ui
            .global::<KioskAdapter>()
            .get_phone_typed()
            .as_str(),
        "0912 345 678"
    );
    tap(&app, "Nhắn tin cho tôi");
    let number = {
        let mut a = app.borrow_mut();
        assert!(
            a.pump_until(WAIT, |a| a.ctrl.step == Step::Ticket),
            "{}",
            a.ctrl.message
        );
        a.ctrl
            .issued
            .as_ref()
            .map(|i| i.ticket.number.clone())
            .expect("ticket")
    };
    // Nobody ahead: "near" at once, to the number typed.
    let sent = runtime.block_on(gateway.wait_for(1, WAIT));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["to"], "0912345678");
    assert_eq!(sent[0].body["ticket"], number.as_str());
    // The next citizen skips in one tap.
    tap(&app, "Xong");
    tap(&app, "Tư pháp – Hộ tịch");
    tap(&app, "Công dân");
    tap(&app, "Bỏ qua, nhận số ngay");
    let mut a = app.borrow_mut();
    assert!(a.pump_until(WAIT, |a| a.ctrl.step == Step::Ticket));
    assert!(a.pump_until(WAIT, |a| issued_today(a, "TP") == 2));
}

#[test]
fn a_press_while_the_other_hub_takes_over_waits_and_completes() {
    let mut c = centre();
    // The kiosk knows a second hub PC (here a port nobody answers on, as a standby's would
    // refuse): losing the first is a switch, not an outage.
    let other = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let ui = KioskWindow::new().expect("window");
    ui.show().expect("show");
    let options = Options {
        connection: Connection::demo(format!("{},ws://{other}/ws", c.url()), "kiosk-1"),
        printer: None,
        idle: Duration::from_secs(20),
        save_tickets: None,
    };
    let app = App::new(ui, options, c.runtime());
    assert!(app.borrow_mut().pump_until(WAIT, |a| a.mirror.online));
    c.stop_hub();
    assert!(app.borrow_mut().pump_until(WAIT, |a| a.mirror.switching));
    let ui = app.borrow().ui.clone_strong();
    assert!(
        ElementHandle::find_by_accessible_label(&ui, "Đang chuyển máy chủ")
            .next()
            .is_some(),
        "the band says a switch, not «Tạm thời chưa thể cấp số»"
    );
    assert!(
        ElementHandle::find_by_accessible_label(&ui, "Mất kết nối")
            .next()
            .is_none()
    );
    // The citizen presses now: the press waits…
    tap(&app, "Tư pháp – Hộ tịch");
    tap(&app, "Công dân");
    assert!(app.borrow().ctrl.issuing);
    // …and completes once a hub serves again, with one ticket.
    c.start_hub();
    assert!(
        app.borrow_mut()
            .pump_until(WAIT, |a| a.ctrl.step == Step::Ticket)
    );
    assert!(
        app.borrow_mut()
            .pump_until(WAIT, |a| issued_today(a, "TP") == 1)
    );
}
