//! The demo centre with windows: the hub on a background runtime, and the four apps' windows on
//! this thread's one Slint event loop.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use app_shell::{Connection, Pump};
use slint::ComponentHandle;

pub fn run(data: &Path, listen: SocketAddr) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let config = centre_config::Config::demo()?;
    let db = data.join("hub.db");
    let hub = runtime.block_on(hub::Hub::start(config, &db, listen))?;
    let url = format!("ws://{}/ws", hub.addr);
    let tickets = data.join("tickets");
    std::fs::create_dir_all(&tickets)?;

    let kiosk_ui = kiosk::KioskWindow::new().context("opening the kiosk window")?;
    let printer = kiosk::printer::PrinterSpec::parse(
        &format!("file:{}", tickets.join("last-ticket.bin").display()),
        80,
        false,
    )?;
    let kiosk_app = kiosk::app::App::new(
        kiosk_ui.clone_strong(),
        kiosk::app::Options {
            connection: Connection::demo(&url, "kiosk-1"),
            printer: Some(printer),
            idle: Duration::from_secs(20),
            save_tickets: Some(tickets.clone()),
        },
        runtime.handle().clone(),
    );
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
                connection: Connection::demo(&url, &format!("counter-{n}")),
                ratings: false,
                remember: Some(remember),
            },
            runtime.handle().clone(),
        );
        counters.push((ui, app));
    }
    let board_ui = display_board::BoardWindow::new().context("opening the board window")?;
    let voice = display_board::voice::Voice::new(None)?;
    let announcer = display_board::announcer::Announcer::start(
        voice,
        Box::new(display_board::announcer::AplaySpeaker),
        None,
    );
    let board_app = std::rc::Rc::new(std::cell::RefCell::new(display_board::app::App::new(
        board_ui.clone_strong(),
        display_board::app::Options {
            connection: Connection::demo(&url, "display-1"),
            filter: Default::default(),
        },
        Some(announcer),
        runtime.handle(),
    )));

    // Windows of a sensible size for one screen, side by side.
    let place = |w: &slint::Window, x: i32, y: i32, width: f32, height: f32| {
        w.set_size(slint::LogicalSize::new(width, height));
        w.set_position(slint::LogicalPosition::new(x as f32, y as f32));
    };
    place(kiosk_ui.window(), 0, 0, 540.0, 960.0);
    place(board_ui.window(), 560, 0, 960.0, 540.0);
    for (i, (ui, _)) in counters.iter().enumerate() {
        place(
            ui.window(),
            560 + 40 * i as i32,
            580 + 40 * i as i32,
            1024.0,
            640.0,
        );
    }
    kiosk_ui.show()?;
    board_ui.show()?;
    for (ui, _) in &counters {
        ui.show()?;
    }
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
         \n  more       counter-client --device counter-3, kiosk --device kiosk-2, display-board …\
         \n\nCtrl-C (or closing the windows) stops everything.\n",
        addr = hub.addr,
        tickets = tickets.display(),
        log = data.join("hub.log").display()
    );

    let pump = slint::Timer::default();
    let counters_for_pump: Vec<_> = counters.iter().map(|(_, app)| app.clone()).collect();
    let board_for_pump = board_app.clone();
    pump.start(
        slint::TimerMode::Repeated,
        app_shell::PUMP_EVERY,
        move || {
            kiosk_app.borrow_mut().pump();
            for app in &counters_for_pump {
                app.borrow_mut().pump();
            }
            board_for_pump.borrow_mut().pump();
        },
    );
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
