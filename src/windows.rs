//! The demo centre with windows: the hub on a background runtime, and the four apps' windows on
//! this thread's one Slint event loop.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use app_shell::{Connection, Pump};
use slint::ComponentHandle;

use std::cell::RefCell;
use std::rc::Rc;

/// The four apps' windows and what drives each.
struct Windows {
    kiosk: (kiosk::KioskWindow, Rc<RefCell<kiosk::app::App>>),
    counters: Vec<(
        counter_client::AppWindow,
        Rc<RefCell<counter_client::app::App>>,
    )>,
    board: (
        display_board::BoardWindow,
        Rc<RefCell<display_board::app::App>>,
    ),
}

pub fn run(data: &Path, listen: SocketAddr) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let mut config = centre_config::Config::demo()?;
    // The kiosk offers to text the citizen; the demo's gateway prints what it would send.
    config.notify.sms = Some(runtime.block_on(crate::demo_sms::start(data))?);
    config.center.sms = true;
    let db = data.join("hub.db");
    let hub = runtime.block_on(hub::Hub::start(config, &db, listen))?;
    let url = format!("ws://{}/ws", hub.addr);
    let tickets = data.join("tickets");
    std::fs::create_dir_all(&tickets)?;
    let handle = runtime.handle();
    let windows = Windows {
        kiosk: open_kiosk(&url, &tickets, handle)?,
        counters: open_counters(&url, data, handle)?,
        board: open_board(&url, handle)?,
    };
    windows.show()?;
    print_guide(&url, hub.addr, &tickets, data);
    let pump = windows.pump();
    // Ctrl-C ends the event loop; the hub is then stopped cleanly.
    runtime.spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = slint::invoke_from_event_loop(|| {
                let _ = slint::quit_event_loop();
            });
        }
    });
    slint::run_event_loop().context("running the windows")?;
    drop(pump);
    runtime.block_on(hub.stop())?;
    println!("Stopped.");
    Ok(())
}

/// The kiosk, printing to a file in `tickets` (each ticket also saved there as a PNG).
fn open_kiosk(
    url: &str,
    tickets: &Path,
    runtime: &tokio::runtime::Handle,
) -> anyhow::Result<(kiosk::KioskWindow, Rc<RefCell<kiosk::app::App>>)> {
    let ui = kiosk::KioskWindow::new().context("opening the kiosk window")?;
    let printer = kiosk::printer::PrinterSpec::parse(
        &format!("file:{}", tickets.join("last-ticket.bin").display()),
        80,
        false,
    )?;
    let app = kiosk::app::App::new(
        ui.clone_strong(),
        kiosk::app::Options {
            connection: Connection::demo(url, "kiosk-1"),
            printer: Some(printer),
            idle: Duration::from_secs(20),
            save_tickets: Some(tickets.to_path_buf()),
        },
        runtime.clone(),
    );
    Ok((ui, app))
}

/// Quầy 1 and Quầy 2.
fn open_counters(
    url: &str,
    data: &Path,
    runtime: &tokio::runtime::Handle,
) -> anyhow::Result<
    Vec<(
        counter_client::AppWindow,
        Rc<RefCell<counter_client::app::App>>,
    )>,
> {
    let mut counters = vec![];
    for n in 1..=2 {
        // Each counter window starts on its own counter and staff code (the remember file).
        let remember = data.join(format!("counter-{n}.last"));
        if !remember.exists() {
            std::fs::write(&remember, format!("{n} nv{n:02}\n"))?;
        }
        let ui = counter_client::AppWindow::new().context("opening a counter window")?;
        let app = counter_client::app::App::new(
            ui.clone_strong(),
            counter_client::app::Options {
                connection: Connection::demo(url, &format!("counter-{n}")),
                ratings: false,
                remember: Some(remember),
            },
            runtime.clone(),
        );
        counters.push((ui, app));
    }
    Ok(counters)
}

/// The lobby board, announcing through the sound device if there is one.
fn open_board(
    url: &str,
    runtime: &tokio::runtime::Handle,
) -> anyhow::Result<(
    display_board::BoardWindow,
    Rc<RefCell<display_board::app::App>>,
)> {
    let ui = display_board::BoardWindow::new().context("opening the board window")?;
    let voice = display_board::voice::Voice::new(None)?;
    let announcer = display_board::announcer::Announcer::start(
        voice,
        Box::new(display_board::announcer::AplaySpeaker),
        None,
    );
    let app = Rc::new(RefCell::new(display_board::app::App::new(
        ui.clone_strong(),
        display_board::app::Options {
            connection: Connection::demo(url, "display-1"),
            filter: Default::default(),
        },
        Some(announcer),
        runtime,
    )));
    Ok((ui, app))
}

impl Windows {
    /// Every window shown, of a sensible size for one screen, side by side.
    fn show(&self) -> anyhow::Result<()> {
        let place = |w: &slint::Window, x: i32, y: i32, width: f32, height: f32| {
            w.set_size(slint::LogicalSize::new(width, height));
            w.set_position(slint::LogicalPosition::new(x as f32, y as f32));
        };
        place(self.kiosk.0.window(), 0, 0, 540.0, 960.0);
        place(self.board.0.window(), 560, 0, 960.0, 540.0);
        for (i, (ui, _)) in self.counters.iter().enumerate() {
            let offset = 40 * i as i32;
            place(ui.window(), 560 + offset, 580 + offset, 1024.0, 640.0);
        }
        self.kiosk.0.show()?;
        self.board.0.show()?;
        for (ui, _) in &self.counters {
            ui.show()?;
        }
        Ok(())
    }

    /// The timer that hands each app what its connection received.
    fn pump(self) -> slint::Timer {
        let pump = slint::Timer::default();
        let Windows {
            kiosk: (kiosk_ui, kiosk),
            counters,
            board: (board_ui, board),
        } = self;
        pump.start(
            slint::TimerMode::Repeated,
            app_shell::PUMP_EVERY,
            move || {
                // The windows live as long as the timer that drives them.
                let _ = (&kiosk_ui, &board_ui);
                kiosk.borrow_mut().pump();
                for (_, app) in &counters {
                    app.borrow_mut().pump();
                }
                board.borrow_mut().pump();
            },
        );
        pump
    }
}

fn print_guide(url: &str, addr: SocketAddr, tickets: &Path, data: &Path) {
    println!(
        "\nDemo centre running — Trung tâm Phục vụ hành chính công (demo)\n\
         \n  windows    Kiosk lấy số (tap a service, then who the ticket is for)\
         \n             Quầy 1 and Quầy 2 (log in: nv01 / nv02, PIN 1234, then F1 calls the next)\
         \n             Bảng hiển thị (the lobby screen; calls are announced if a sound device exists)\
         \n  hub        {url}   (health: http://{addr}/healthz)\
         \n  console    http://{addr}/console   (the manager's screen in a browser: ql01, PIN 1234)\
         \n  tickets    {tickets}/ (each printed ticket also saved as PNG)\
         \n  log        {log}\
         \n  tracking   scan a ticket's QR code, or open http://{addr}/t/<code>\
         \n  booking    http://{addr}/dat-lich   (book from a phone; then at the kiosk: «Tôi đã đặt lịch hẹn»)\
         \n  counter    http://{addr}/quay?device=pad-1&token=demo-pad-1   (the citizen's screen at Quầy 1)\
         \n  SMS        a number typed at the kiosk is «texted» here, masked, when the turn is near\
         \n  more       counter-client --device counter-3, kiosk --device kiosk-2, display-board …\
         \n\nCtrl-C (or closing the windows) stops everything.\n",
        tickets = tickets.display(),
        log = data.join("hub.log").display()
    );
}
