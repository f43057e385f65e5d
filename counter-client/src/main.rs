//! `counter-client --hub ws://HOST:PORT/ws --device counter-3 --token-file /etc/hang-doi/token`

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use app_shell::{HubArgs, Pump, snapshot};
use clap::Parser;
use counter_client::AppWindow;
use counter_client::app::{App, Options};
use counter_client::controller::Action;
use slint::ComponentHandle;

#[derive(Parser)]
#[command(
    // A flag given twice takes its last value: the --config file's come first.
    args_override_self = true,
    name = "counter-client",
    version,
    about = "The counter screen of a public administration service centre"
)]
struct Cli {
    #[command(flatten)]
    hub: HubArgs,
    /// Ask the citizen's rating (1–4) when finishing, for centres without counter displays (a
    /// counter with one takes its ratings from the citizen's screen, and this asks nothing).
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
    app_shell::run("counter-client", run)
}

fn run() -> anyhow::Result<()> {
    let cli: Cli = app_shell::parse_args(&[])?;
    let connection = cli.hub.connection("counter-1")?;
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let remember = match (&cli.snapshot, &cli.remember) {
        (Some(_), _) => None,
        (None, Some(path)) => Some(path.clone()),
        (None, None) => counter_client::remember::default_path(&connection.device),
    };
    let options = Options {
        connection,
        ratings: cli.ratings,
        remember,
    };
    match &cli.snapshot {
        Some(path) => run_snapshot(&cli, options, runtime.handle().clone(), path),
        None => {
            let ui = AppWindow::new().context("creating the window (is a display available?)")?;
            let app = App::new(ui.clone_strong(), options, runtime.handle().clone());
            app_shell::run_window(&ui, move || {
                app.borrow_mut().pump();
            })
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
        cli.hub.hub
    );
    if let Some(login) = &cli.login {
        let mut parts = login.splitn(3, ':');
        let (Some(staff), Some(pin), Some(counter)) = (parts.next(), parts.next(), parts.next())
        else {
            anyhow::bail!("--login must be STAFF:PIN:COUNTER");
        };
        let counter: u32 = counter.parse().context("counter number")?;
        anyhow::ensure!(a.fill_login(staff, pin, counter), "no counter {counter}");
        a.login();
        // The reply may come before the event that opens the counter: wait for the state.
        a.pump_until(wait, |a| {
            !a.ctrl.busy && (a.screen().logged_in || !a.ctrl.message.is_empty())
        });
        anyhow::ensure!(a.screen().logged_in, "login refused: {}", a.ctrl.message);
        if cli.call_next {
            a.press(Action::CallNext);
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
