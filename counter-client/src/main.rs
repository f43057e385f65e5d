//! `counter-client --hub ws://HOST:PORT/ws --device counter-3 --token …`

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use counter_client::AppWindow;
use counter_client::app::{App, Options};
use slint::ComponentHandle;

#[derive(Parser)]
#[command(
    name = "counter-client",
    version,
    about = "The counter screen of a public administration service centre"
)]
struct Cli {
    /// The hub's WebSocket address.
    #[arg(long, default_value = "ws://127.0.0.1:7878/ws")]
    hub: String,
    /// This PC's device id in the hub's configuration.
    #[arg(long, default_value = "counter-1")]
    device: String,
    /// The device's token (default: the demo token `demo-<device>`).
    #[arg(long)]
    token: Option<String>,
    /// Ask the citizen's rating (1–4) when finishing.
    #[arg(long)]
    ratings: bool,
    /// Where to remember the last counter and staff code (never the PIN).
    #[arg(long)]
    remember: Option<PathBuf>,
    /// Render the screen to this PNG without a window once the hub's state has arrived, and exit.
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// With --snapshot: log in first, as STAFF:PIN:COUNTER.
    #[arg(long, requires = "snapshot")]
    login: Option<String>,
    /// With --snapshot: call the next ticket (after --login) before rendering.
    #[arg(long, requires = "login")]
    call_next: bool,
    /// With --snapshot: the screen size.
    #[arg(long, default_value = "1366x768")]
    size: String,
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("counter-client: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let remember = cli.remember.clone().or_else(|| {
        std::env::var_os("HOME").map(|h| {
            PathBuf::from(h)
                .join(".config/hang-doi")
                .join(format!("{}.last", cli.device))
        })
    });
    let options = Options {
        hub: cli.hub.clone(),
        token: cli
            .token
            .clone()
            .unwrap_or_else(|| format!("demo-{}", cli.device)),
        device: cli.device.clone(),
        ratings: cli.ratings,
        remember: if cli.snapshot.is_some() {
            None
        } else {
            remember
        },
    };
    match &cli.snapshot {
        Some(path) => run_snapshot(&cli, options, runtime.handle().clone(), path),
        None => {
            let ui = AppWindow::new().context("creating the window (is a display available?)")?;
            let app = App::new(ui.clone_strong(), options, runtime.handle().clone());
            let timer = slint::Timer::default();
            let pump = app.clone();
            timer.start(
                slint::TimerMode::Repeated,
                Duration::from_millis(100),
                move || {
                    pump.borrow_mut().pump();
                },
            );
            ui.run().context("running the window")?;
            Ok(())
        }
    }
}

fn run_snapshot(
    cli: &Cli,
    options: Options,
    runtime: tokio::runtime::Handle,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let (w, h) = snapshot::parse_size(&cli.size).context("--size")?;
    let window = snapshot::install(w, h)?;
    let ui = AppWindow::new()?;
    let app = App::new(ui.clone_strong(), options, runtime);
    let wait = Duration::from_secs(15);
    let mut a = app.borrow_mut();
    anyhow::ensure!(
        a.pump_until(wait, |a| a.mirror.online),
        "no state from the hub at {}",
        cli.hub
    );
    if let Some(login) = &cli.login {
        let mut parts = login.splitn(3, ':');
        let (Some(staff), Some(pin), Some(counter)) = (parts.next(), parts.next(), parts.next())
        else {
            anyhow::bail!("--login must be STAFF:PIN:COUNTER");
        };
        let counter: u32 = counter.parse().context("counter number")?;
        let adapter = a.ui.global::<counter_client::CounterAdapter>();
        adapter.set_login_staff(staff.into());
        adapter.set_login_pin(pin.into());
        let index = a
            .mirror
            .counters
            .iter()
            .position(|c| c.number == counter)
            .context("no such counter")?;
        adapter.set_login_counter_index(index as i32);
        a.login();
        // The reply may come before the event that opens the counter: wait for the state.
        a.pump_until(wait, |a| {
            !a.ctrl.busy && (a.screen().logged_in || !a.ctrl.message.is_empty())
        });
        anyhow::ensure!(a.screen().logged_in, "login refused: {}", a.ctrl.message);
        if cli.call_next {
            a.action("call_next");
            anyhow::ensure!(
                a.pump_until(wait, |a| !a.ctrl.busy),
                "the hub did not answer the call"
            );
            // The call's events may trail its reply: wait until the mirror shows the ticket.
            a.pump_until(wait, |a| {
                a.screen().current.is_some() || !a.ctrl.message.is_empty()
            });
        }
    }
    a.render();
    ui.show()?;
    snapshot::write_png(&window, path)?;
    println!("{}", path.display());
    Ok(())
}
