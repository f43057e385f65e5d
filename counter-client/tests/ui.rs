//! The counter window, headless (Slint's testing backend), against a real hub. Buttons are found
//! by their accessible label and pressed as a screen reader or a finger would.

use std::cell::RefCell;
use std::rc::Rc;

use app_shell::{Connection, Pump};
use counter_client::app::{App, Options};
use counter_client::{AppWindow, CounterAdapter, Dialog};
use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use slint::ComponentHandle;
use slint::platform::{Key, WindowEvent};
use testkit::{Centre, WAIT};

/// A real hub (demo centre) for a counter window on Slint's testing backend.
fn centre() -> Centre {
    i_slint_backend_testing::init_no_event_loop();
    Centre::new()
}

/// The counter app at `device`, once it has the hub's state.
fn open(centre: &Centre, device: &str, ratings: bool) -> Rc<RefCell<App>> {
    let ui = AppWindow::new().expect("window");
    ui.show().expect("show");
    let options = Options {
        connection: Connection::demo(centre.url(), device),
        ratings,
        remember: None,
    };
    let app = App::new(ui, options, centre.runtime());
    assert!(
        app.borrow_mut().pump_until(WAIT, |a| a.mirror.online),
        "the client got the hub's state"
    );
    app
}

fn button(ui: &AppWindow, label: &str) -> ElementHandle {
    ElementHandle::find_by_accessible_label(ui, label)
        .find(|e| e.accessible_role() == Some(AccessibleRole::Button))
        .unwrap_or_else(|| panic!("no button {label:?}"))
}

fn press(app: &Rc<RefCell<App>>, label: &str) {
    let ui = app.borrow().ui.clone_strong();
    button(&ui, label).invoke_accessible_default_action();
}

fn key(app: &Rc<RefCell<App>>, k: Key) {
    let ui = app.borrow().ui.clone_strong();
    let text: slint::SharedString = k.into();
    ui.window()
        .dispatch_event(WindowEvent::KeyPressed { text: text.clone() });
    ui.window()
        .dispatch_event(WindowEvent::KeyReleased { text });
}

/// Pumps until the app is idle and `done` holds.
fn settle(app: &Rc<RefCell<App>>, done: impl Fn(&App) -> bool) {
    let ok = app
        .borrow_mut()
        .pump_until(WAIT, |a| !a.ctrl.busy && done(a));
    assert!(
        ok,
        "state not reached; message: {:?}",
        app.borrow().ctrl.message
    );
}

fn adapter_current(app: &Rc<RefCell<App>>) -> counter_client::CurrentTicket {
    app.borrow().ui.global::<CounterAdapter>().get_current()
}

fn login(app: &Rc<RefCell<App>>, staff: &str, pin: &str, counter: u32) {
    assert!(
        app.borrow().fill_login(staff, pin, counter),
        "counter {counter}"
    );
    press(app, "Đăng nhập");
}

fn logged_in(app: &Rc<RefCell<App>>) -> bool {
    app.borrow().ui.global::<CounterAdapter>().get_logged_in()
}

#[test]
fn a_clerk_logs_in_calls_recalls_and_marks_a_no_show() {
    let mut centre = centre();
    let a1 = centre.issue("TP", None);
    let a2 = centre.issue("TP", None);
    let app = open(&centre, "counter-1", false);
    assert!(!logged_in(&app));

    login(&app, "nv01", "1234", 1);
    settle(&app, |a| a.screen().logged_in);
    assert_eq!(
        app.borrow().ui.global::<CounterAdapter>().get_staff_name(),
        "Nguyễn Thị Lan"
    );
    assert!(
        app.borrow()
            .ui
            .global::<CounterAdapter>()
            .get_login_pin()
            .is_empty(),
        "the PIN is not kept"
    );

    // A double click calls one citizen, not two.
    press(&app, "Gọi số tiếp theo");
    press(&app, "Gọi số tiếp theo");
    settle(&app, |a| a.screen().current.is_some());
    assert_eq!(adapter_current(&app).number, a1.as_str());
    assert!(
        app.borrow().mirror.waiting.iter().any(|t| t.number == a2),
        "the second ticket still waits"
    );
    // Called but not served: calling again is disabled, no-show needs two recalls first.
    assert!(
        !app.borrow()
            .ui
            .global::<CounterAdapter>()
            .get_enabled()
            .call_next
    );
    press(&app, "Vắng mặt");
    settle(&app, |a| !a.ctrl.message.is_empty());
    assert!(
        app.borrow().ctrl.message.contains("recall"),
        "{}",
        app.borrow().ctrl.message
    );
    press(&app, "Gọi lại");
    settle(&app, |a| {
        a.screen().current.as_ref().is_some_and(|c| c.recalls == 1)
    });
    press(&app, "Gọi lại");
    settle(&app, |a| {
        a.screen().current.as_ref().is_some_and(|c| c.recalls == 2)
    });
    press(&app, "Vắng mặt");
    settle(&app, |a| a.screen().current.is_none());
    assert_eq!(app.borrow().ui.global::<CounterAdapter>().get_no_shows(), 1);

    press(&app, "Gọi số tiếp theo");
    settle(&app, |a| a.screen().current.is_some());
    assert_eq!(adapter_current(&app).number, a2.as_str());
}

#[test]
fn a_wrong_pin_is_refused_and_says_so() {
    let centre = centre();
    let app = open(&centre, "counter-2", false);
    login(&app, "nv02", "9999", 2);
    settle(&app, |a| !a.ctrl.message.is_empty());
    assert!(!logged_in(&app));
    assert!(
        app.borrow()
            .ctrl
            .message
            .contains("Sai mã nhân viên hoặc mã PIN")
    );
    login(&app, "nv02", "1234", 2);
    settle(&app, |a| a.screen().logged_in);
}

#[test]
fn the_waiting_list_follows_the_kiosk_in_calling_order() {
    let mut centre = centre();
    let app = open(&centre, "counter-1", false);
    login(&app, "nv01", "1234", 1);
    settle(&app, |a| a.screen().logged_in);
    assert_eq!(
        app.borrow()
            .ui
            .global::<CounterAdapter>()
            .get_waiting()
            .row_count(),
        0
    );
    use slint::Model;
    let normal = centre.issue("TP", None);
    let other_service = centre.issue("GTVT", None); // counter 1 does not serve transport
    let elderly = centre.issue("LDTBXH", Some("elderly"));
    let _ = other_service;
    settle(&app, |a| a.screen().waiting.len() == 2);
    let rows = app.borrow().ui.global::<CounterAdapter>().get_waiting();
    let first = rows.row_data(0).expect("row");
    assert_eq!(first.number, elderly.as_str(), "priority first");
    assert_eq!(first.priority, "Người cao tuổi (từ 60 tuổi)");
    assert_eq!(rows.row_data(1).expect("row").number, normal.as_str());
}

#[test]
fn transfer_finish_with_rating_and_pause() {
    // A centre without screens facing the citizen: the clerk's `--ratings` dialog records it.
    i_slint_backend_testing::init_no_event_loop();
    let mut config = testkit::real_clock_config();
    config.rules.counter_displays.clear();
    config
        .devices
        .retain(|_, d| d.role != protocol::Role::CounterDisplay);
    let mut centre = Centre::with_config(config);
    let t = centre.issue("TP", None);
    let app = open(&centre, "counter-1", true);
    login(&app, "nv01", "1234", 1);
    settle(&app, |a| a.screen().logged_in);
    press(&app, "Gọi số tiếp theo");
    settle(&app, |a| a.screen().current.is_some());
    press(&app, "Bắt đầu phục vụ");
    settle(&app, |a| {
        a.screen()
            .current
            .as_ref()
            .is_some_and(|c| c.status == "Đang phục vụ")
    });

    // Transfer to Labour (counter 1 serves it too): the ticket leaves, then comes back by call.
    press(&app, "Chuyển");
    assert_eq!(
        app.borrow().ui.global::<CounterAdapter>().get_dialog(),
        Dialog::Transfer
    );
    press(&app, "Lao động – Thương binh và Xã hội");
    settle(&app, |a| a.screen().current.is_none());
    assert_eq!(
        app.borrow()
            .mirror
            .waiting
            .iter()
            .find(|w| w.number == t)
            .map(|w| w.service.as_str()),
        Some("LDTBXH")
    );

    press(&app, "Gọi số tiếp theo");
    settle(&app, |a| a.screen().current.is_some());
    press(&app, "Hoàn thành");
    assert_eq!(
        app.borrow().ui.global::<CounterAdapter>().get_dialog(),
        Dialog::Rating
    );
    press(&app, "4 — Rất hài lòng");
    settle(&app, |a| a.screen().current.is_none());
    assert_eq!(app.borrow().ui.global::<CounterAdapter>().get_served(), 1);

    press(&app, "Tạm dừng");
    settle(&app, |a| a.screen().paused);
    assert!(
        !app.borrow()
            .ui
            .global::<CounterAdapter>()
            .get_enabled()
            .call_next,
        "paused: no calling"
    );
    press(&app, "Tiếp tục");
    settle(&app, |a| !a.screen().paused);
}

#[test]
fn keyboard_shortcuts_drive_the_counter() {
    let mut centre = centre();
    let t = centre.issue("TP", None);
    let app = open(&centre, "counter-1", false);
    login(&app, "nv01", "1234", 1);
    settle(&app, |a| a.screen().logged_in);
    app.borrow()
        .ui
        .window()
        .dispatch_event(WindowEvent::WindowActiveChanged(true));
    key(&app, Key::F1);
    settle(&app, |a| a.screen().current.is_some());
    assert_eq!(adapter_current(&app).number, t.as_str());
    key(&app, Key::F3);
    settle(&app, |a| {
        a.screen()
            .current
            .as_ref()
            .is_some_and(|c| c.status == "Đang phục vụ")
    });
    key(&app, Key::F4);
    settle(&app, |a| a.screen().current.is_none());
    key(&app, Key::F8);
    assert_eq!(
        app.borrow().ui.global::<CounterAdapter>().get_dialog(),
        Dialog::CallNumber
    );
    key(&app, Key::Escape);
    assert_eq!(
        app.borrow().ui.global::<CounterAdapter>().get_dialog(),
        Dialog::None
    );
}

#[test]
fn a_hub_restart_in_the_middle_of_a_call_is_caught_up_without_the_clerk() {
    let mut centre = centre();
    let first = centre.issue("TP", None);
    let second = centre.issue("TP", None);
    let app = open(&centre, "counter-1", false);
    login(&app, "nv01", "1234", 1);
    settle(&app, |a| a.screen().logged_in);
    press(&app, "Gọi số tiếp theo");
    settle(&app, |a| a.screen().current.is_some());

    centre.restart_hub();
    // Offline is shown and actions are disabled while the link is down …
    assert!(
        app.borrow_mut().pump_until(WAIT, |a| !a.mirror.online),
        "the client noticed the hub left"
    );
    {
        let a = app.borrow();
        let adapter = a.ui.global::<CounterAdapter>();
        assert!(adapter.get_banner().contains("Mất kết nối"));
        assert!(
            !adapter.get_enabled().recall,
            "actions are disabled while offline"
        );
        assert_eq!(
            adapter.get_current().number,
            first.as_str(),
            "the last state stays on screen"
        );
    }
    // … and it comes back by itself, still logged in, with the same citizen at the counter.
    settle(&app, |a| a.mirror.online && a.screen().logged_in);
    assert_eq!(adapter_current(&app).number, first.as_str());
    press(&app, "Bắt đầu phục vụ");
    settle(&app, |a| {
        a.screen()
            .current
            .as_ref()
            .is_some_and(|c| c.status == "Đang phục vụ")
    });
    press(&app, "Gọi số tiếp theo");
    settle(&app, |a| {
        a.screen()
            .current
            .as_ref()
            .is_some_and(|c| c.number == second)
    });
    assert_eq!(app.borrow().ui.global::<CounterAdapter>().get_served(), 1);
}

#[test]
fn at_a_counter_with_a_citizen_screen_the_clerk_is_not_asked_for_a_rating() {
    // The demo centre has a counter display (pad-1) at counter 1.
    let mut centre = centre();
    centre.issue("TP", None);
    let app = open(&centre, "counter-1", true);
    login(&app, "nv01", "1234", 1);
    settle(&app, |a| a.screen().logged_in);
    assert!(app.borrow().screen().citizen_rates);
    press(&app, "Gọi số tiếp theo");
    settle(&app, |a| a.screen().current.is_some());
    press(&app, "Hoàn thành");
    assert_eq!(
        app.borrow().ui.global::<CounterAdapter>().get_dialog(),
        Dialog::None,
        "no rating dialog: the person being rated does not hold the buttons"
    );
    settle(&app, |a| a.screen().current.is_none());
    assert_eq!(
        app.borrow().ctrl.message,
        counter_client::controller::CITIZEN_RATES
    );
}
