//! One centre end to end, headless: a real hub, and the kiosk, counter and board apps driven
//! through their controllers and windows (Slint's testing backend) — a citizen takes a priority
//! ticket, the clerk calls it, the board shows and announces it, the tracking page's data says
//! which counter; then a hub restart in the middle of the day, and a day rollover.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use app_shell::{Connection, Pump};
use chrono::TimeDelta;
use counter_client::controller::Action;
use futures_util::{SinkExt, StreamExt};
use slint::ComponentHandle;
use testkit::{Centre, WAIT, monday_morning};
use tokio_tungstenite::tungstenite::Message;

/// A real hub on a manual clock (Monday 09:00 in Hà Nội), apps on Slint's testing backend.
fn centre() -> Centre {
    i_slint_backend_testing::init_no_event_loop();
    Centre::with_clock(monday_morning())
}

/// The kiosk, printing to a file in the test's folder.
fn kiosk(c: &Centre) -> Rc<RefCell<kiosk::app::App>> {
    let ui = kiosk::KioskWindow::new().expect("kiosk window");
    ui.show().expect("show");
    let printer = kiosk::printer::PrinterSpec::parse(
        &format!("file:{}", c.dir().join("ticket.bin").display()),
        80,
        false,
    )
    .expect("printer");
    let app = kiosk::app::App::new(
        ui,
        kiosk::app::Options {
            connection: Connection::demo(c.url(), "kiosk-1"),
            printer: Some(printer),
            idle: Duration::from_secs(20),
            save_tickets: None,
        },
        c.runtime(),
    );
    assert!(app.borrow_mut().pump_until(WAIT, |a| a.mirror.online));
    app
}

/// Counter `n`, its clerk logged in through the login form.
fn counter(c: &Centre, n: u32) -> Rc<RefCell<counter_client::app::App>> {
    let ui = counter_client::AppWindow::new().expect("counter window");
    ui.show().expect("show");
    let app = counter_client::app::App::new(
        ui,
        counter_client::app::Options {
            connection: Connection::demo(c.url(), &format!("counter-{n}")),
            ratings: false,
            remember: None,
        },
        c.runtime(),
    );
    let mut a = app.borrow_mut();
    assert!(a.pump_until(WAIT, |a| a.mirror.online));
    assert!(a.fill_login(&format!("nv{n:02}"), "1234", n));
    a.login();
    assert!(a.pump_until(WAIT, |a| a.screen().logged_in));
    drop(a);
    app
}

/// The lobby board, silent.
fn board(c: &Centre) -> display_board::app::App {
    let ui = display_board::BoardWindow::new().expect("board window");
    ui.show().expect("show");
    let mut app = display_board::app::App::new(
        ui,
        display_board::app::Options {
            connection: Connection::demo(c.url(), "display-1"),
            filter: Default::default(),
        },
        None,
        &c.runtime(),
    );
    assert!(app.pump_until(WAIT, |a| a.board.mirror.online));
    app
}

/// What a phone on the tracking page receives first.
fn tracking_page(c: &Centre, code: &str) -> serde_json::Value {
    let url = c.url();
    let code = code.to_string();
    c.runtime.block_on(async move {
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("ws");
        let hello = serde_json::json!({"type": "hello", "protocol": 1, "role": "tracker",
                                       "device": "phone", "token": code});
        ws.send(Message::text(hello.to_string()))
            .await
            .expect("hello");
        loop {
            let m = tokio::time::timeout(WAIT, ws.next())
                .await
                .expect("in time")
                .expect("open")
                .expect("readable");
            if let Message::Text(t) = m {
                return serde_json::from_str(t.as_str()).expect("json");
            }
        }
    })
}

/// The kiosk, tapped by a citizen: service, then category. Returns the ticket.
fn take_ticket(
    kiosk: &Rc<RefCell<kiosk::app::App>>,
    service: &str,
    category: &str,
) -> protocol::Ticket {
    let mut k = kiosk.borrow_mut();
    k.choose_service(service);
    k.choose_category(category);
    assert!(k.pump_until(WAIT, |a| {
        a.ctrl
            .issued
            .as_ref()
            .is_some_and(|i| i.print != kiosk::controller::PrintState::Printing)
    }));
    let issued = k.ctrl.issued.clone().expect("issued");
    assert_eq!(issued.print, kiosk::controller::PrintState::Printed);
    k.back();
    issued.ticket
}

/// The clerk presses F1 once the waiting list shows someone.
fn call_next(clerk: &Rc<RefCell<counter_client::app::App>>) {
    let mut a = clerk.borrow_mut();
    // A clerk presses when the button is enabled: the previous answer is in, someone waits.
    assert!(a.pump_until(WAIT, |a| {
        let s = a.screen();
        !a.ctrl.busy && !s.waiting.is_empty() && s.enabled.call_next
    }));
    let before = a.screen().current.map(|t| t.number);
    a.press(Action::CallNext);
    assert!(a.ctrl.busy, "the press was sent");
    // The answer and the events may come in either order; finishing the one in service may show
    // an empty counter for a moment.
    assert!(a.pump_until(WAIT, |a| {
        let now = a.screen().current.map(|t| t.number);
        !a.ctrl.busy && now.is_some() && now != before
    }));
}

fn calling(board: &display_board::app::App) -> Vec<(String, i32)> {
    use slint::Model;
    board
        .ui
        .global::<display_board::BoardAdapter>()
        .get_calling()
        .iter()
        .map(|c| (c.number.to_string(), c.counter))
        .collect()
}

#[test]
fn a_priority_citizen_is_called_shown_announced_and_tracked() {
    let c = centre();
    let kiosk = kiosk(&c);
    let clerk = counter(&c, 1);
    let mut board = board(&c);
    let normal = take_ticket(&kiosk, "TP", "");
    let elderly = take_ticket(&kiosk, "TP", "elderly");
    assert_eq!(elderly.priority.as_deref(), Some("elderly"));
    let track = elderly
        .track
        .clone()
        .expect("the kiosk has the tracking code");
    assert_eq!(tracking_page(&c, &track)["ticket"]["status"], "waiting");

    // The clerk calls: the priority citizen comes first although the other ticket is older.
    call_next(&clerk);
    let current = clerk.borrow().screen().current.expect("current");
    assert_eq!(current.number, elderly.number);
    assert_ne!(current.number, normal.number);

    assert!(board.pump_until(WAIT, |b| calling(b) == [(elderly.number.clone(), 1)]));
    assert_eq!(board.announced.len(), 1);
    let sentence = board.announced[0].sentence().expect("readable");
    assert!(sentence.ends_with("đến quầy số một"), "{sentence}");

    let tracked = tracking_page(&c, &track);
    assert_eq!(tracked["ticket"]["status"], "called");
    assert_eq!(tracked["ticket"]["counter"], 1);
}

#[test]
fn a_hub_restart_in_the_middle_and_a_new_day() {
    let mut c = centre();
    let kiosk = kiosk(&c);
    let clerk = counter(&c, 2);
    let mut board = board(&c);
    let first = take_ticket(&kiosk, "TP", "");
    let second = take_ticket(&kiosk, "TP", "");
    call_next(&clerk);
    assert!(board.pump_until(WAIT, |b| !calling(b).is_empty()));
    // The citizen arrives: service starts (F3).
    clerk.borrow_mut().press(Action::Start);
    assert!(clerk.borrow().ctrl.busy, "the press was sent");
    assert!(
        clerk
            .borrow_mut()
            .pump_until(WAIT, |a| !a.ctrl.busy && !a.screen().enabled.start)
    );
    assert!(clerk.borrow().ctrl.message.is_empty());

    // The hub goes down between two calls; everyone reconnects by themselves.
    c.restart_hub();
    assert!(
        clerk
            .borrow_mut()
            .pump_until(Duration::from_secs(30), |a| !a.screen().online)
    );
    assert!(
        clerk
            .borrow_mut()
            .pump_until(Duration::from_secs(30), |a| a.screen().online
                && a.screen().logged_in)
    );
    assert!(board.pump_until(Duration::from_secs(30), |b| b.board.mirror.online));
    call_next(&clerk);
    let now_current = clerk.borrow().screen().current.map(|t| t.number);
    assert_eq!(
        now_current,
        Some(second.number.clone()),
        "{:?}",
        clerk.borrow().ctrl.message
    );
    assert!(board.pump_until(WAIT, |b| calling(b) == [(second.number.clone(), 2)]));
    assert_eq!(
        board
            .announced
            .iter()
            .map(|a| a.label.clone())
            .collect::<Vec<_>>(),
        [first.number.clone(), second.number.clone()],
        "each call said once, none repeated after the restart"
    );
    assert!(
        kiosk
            .borrow_mut()
            .pump_until(Duration::from_secs(30), |a| a.mirror.online)
    );
    let third = take_ticket(&kiosk, "TP", "");
    assert_ne!(third.number, first.number);
    assert_ne!(third.number, second.number);

    // The next morning: numbering starts again and yesterday's queue is gone from the board.
    c.clock().advance(TimeDelta::days(1));
    let tomorrow = take_ticket(&kiosk, "TP", "");
    assert_eq!(
        tomorrow.number, first.number,
        "numbers restart with the day"
    );
    assert!(board.pump_until(WAIT, |b| {
        b.board
            .mirror
            .service("TP")
            .is_some_and(|s| s.waiting == 1 && s.issued_today == 1)
    }));
}
