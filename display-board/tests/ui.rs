//! The board window, headless (Slint's testing backend), against a real hub: calls appear and
//! flash and are announced (recalls again), overdue counts turn red when the hub says so, filters
//! hold, and a hub restart leaves the board offline then caught up without repeating old calls.

use std::time::Duration;

use app_shell::{Connection, Pump};
use chrono::TimeDelta;
use display_board::app::{App, Options};
use display_board::board::Filter;
use display_board::{BoardAdapter, BoardWindow};
use i_slint_backend_testing::ElementHandle;
use protocol::{Command, Role};
use slint::{ComponentHandle, Model};
use testkit::{Centre, WAIT, issue, monday_morning};

/// A real hub on a manual clock at Monday 09:00 in Hà Nội, for boards on Slint's testing backend.
fn centre() -> Centre {
    i_slint_backend_testing::init_no_event_loop();
    Centre::with_clock(monday_morning())
}

/// A board (silent) showing what `filter` lets through, once it has the hub's state.
fn board(c: &Centre, filter: Filter) -> App {
    let ui = BoardWindow::new().expect("window");
    ui.show().expect("show");
    let options = Options {
        connection: Connection::demo(c.url(), "display-1"),
        filter,
    };
    let mut app = App::new(ui, options, None, &c.runtime());
    assert!(
        app.pump_until(WAIT, |a| a.board.mirror.online),
        "the board got the hub's state"
    );
    app
}

fn calling(app: &App) -> Vec<(String, i32)> {
    let a = app.ui.global::<BoardAdapter>();
    a.get_calling()
        .iter()
        .map(|c| (c.number.to_string(), c.counter))
        .collect()
}

fn number(reply: &protocol::ReplyResult) -> String {
    reply.ticket().expect("a ticket").number.clone()
}

#[test]
fn a_call_appears_flashes_and_is_announced_and_a_recall_again() {
    let mut c = centre();
    let kiosk = c.client(Role::Kiosk, "kiosk-1");
    let mut board = board(&c, Filter::default());
    assert!(calling(&board).is_empty());
    let issued = number(&c.send(kiosk, issue("TP")));
    let clerk = c.clerk(1);
    let called = number(&c.send(clerk, Command::CallNext {}));
    assert_eq!(called, issued);
    assert!(board.pump_until(WAIT, |a| calling(a) == [(called.clone(), 1)]));
    let adapter = board.ui.global::<BoardAdapter>();
    assert_eq!(adapter.get_flashing().as_str(), called);
    let line =
        ElementHandle::find_by_accessible_label(&board.ui, &format!("Số {called} mời đến quầy 1"))
            .next()
            .expect("the call is on screen");
    assert_eq!(line.accessible_description().as_deref(), Some("mới gọi"));
    assert_eq!(board.announced.len(), 1);
    assert_eq!(
        board.announced[0].sentence().expect("readable"),
        format!(
            "Mời công dân có số thứ tự {} đến quầy số một",
            display_board::speech::label_words(&called)
                .expect("words")
                .join(" ")
        )
    );
    c.send(clerk, Command::Recall {});
    assert!(board.pump_until(WAIT, |a| a.announced.len() == 2));
    assert!(board.announced[1].recall);
    assert_eq!(board.announced[1].label, called);
    // Serving: still on screen with its counter, no new announcement.
    c.send(clerk, Command::StartServing {});
    assert!(board.pump_until(WAIT, |a| {
        a.ui.global::<BoardAdapter>()
            .get_calling()
            .iter()
            .any(|r| r.serving)
    }));
    assert_eq!(board.announced.len(), 2);
}

#[test]
fn the_overdue_count_turns_red_when_the_hub_says_so() {
    let mut c = centre();
    let kiosk = c.client(Role::Kiosk, "kiosk-1");
    let mut board = board(&c, Filter::default());
    let issue = |c: &Centre| c.send(kiosk, issue("TP"));
    issue(&c);
    let overdue_cell = |b: &App| {
        ElementHandle::find_by_accessible_label(&b.ui, "Quá hạn TP")
            .next()
            .expect("the TP row")
    };
    assert!(board.pump_until(WAIT, |a| {
        a.board.mirror.service("TP").is_some_and(|s| s.waiting == 1)
    }));
    assert_eq!(
        overdue_cell(&board).accessible_description().as_deref(),
        Some("không quá hạn")
    );
    // Past the demo's 30-minute target for TP; the next command makes the hub look at the time.
    c.clock().advance(TimeDelta::minutes(35));
    issue(&c);
    assert!(board.pump_until(WAIT, |a| {
        a.board
            .mirror
            .service("TP")
            .is_some_and(|s| (s.waiting, s.overdue) == (2, 1))
    }));
    let cell = overdue_cell(&board);
    assert_eq!(
        cell.accessible_description().as_deref(),
        Some("có số quá hạn")
    );
    let row = board
        .ui
        .global::<BoardAdapter>()
        .get_services()
        .iter()
        .find(|s| s.id == "TP")
        .expect("TP");
    assert_eq!((row.waiting, row.overdue), (2, 1));
}

#[test]
fn a_filtered_board_shows_and_says_only_its_counters() {
    let mut c = centre();
    let kiosk = c.client(Role::Kiosk, "kiosk-1");
    let mut board = board(&c, Filter::parse(Some("2"), Some("TP")).expect("filter"));
    let services: Vec<String> = board
        .ui
        .global::<BoardAdapter>()
        .get_services()
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    assert_eq!(services, ["TP"]);
    for _ in 0..2 {
        c.send(kiosk, issue("TP"));
    }
    let one = c.clerk(1);
    let first = number(&c.send(one, Command::CallNext {}));
    let two = c.clerk(2);
    let second = number(&c.send(two, Command::CallNext {}));
    assert!(board.pump_until(WAIT, |a| !calling(a).is_empty()));
    // Both calls have reached the board once counter 2's has; counter 1's is not shown.
    assert!(board.pump_until(WAIT, |a| {
        a.board
            .mirror
            .counter(1)
            .and_then(|x| x.current.as_ref())
            .is_some_and(|t| t.number == first)
    }));
    board.pump();
    assert_eq!(calling(&board), [(second.clone(), 2)]);
    let said: Vec<&str> = board.announced.iter().map(|a| a.label.as_str()).collect();
    assert_eq!(said, [second.as_str()]);
}

#[test]
fn offline_keeps_the_last_state_and_old_calls_are_not_announced_again() {
    let mut c = centre();
    let kiosk = c.client(Role::Kiosk, "kiosk-1");
    let mut board = board(&c, Filter::default());
    c.send(kiosk, issue("GTVT"));
    let clerk = c.clerk(3);
    let called = number(&c.send(clerk, Command::CallNext {}));
    assert!(board.pump_until(WAIT, |a| a.announced.len() == 1));
    c.stop_hub();
    assert!(board.pump_until(WAIT, |a| !a.board.mirror.online));
    assert!(
        ElementHandle::find_by_accessible_label(&board.ui, "Mất kết nối")
            .next()
            .is_some(),
        "the board says it is offline"
    );
    assert_eq!(
        calling(&board),
        [(called.clone(), 3)],
        "the last state stays"
    );
    c.start_hub();
    assert!(board.pump_until(Duration::from_secs(20), |a| a.board.mirror.online));
    // A live event after the reconnection proves the board has caught up.
    c.send(kiosk, issue("GTVT"));
    assert!(board.pump_until(WAIT, |a| {
        a.board
            .mirror
            .service("GTVT")
            .is_some_and(|s| s.waiting == 1)
    }));
    assert_eq!(calling(&board), [(called, 3)]);
    assert_eq!(board.announced.len(), 1, "nothing said twice");
    assert!(
        ElementHandle::find_by_accessible_label(&board.ui, "Mất kết nối")
            .next()
            .is_none()
    );
}
