//! `kiosk --hub ws://HOST:PORT/ws --device kiosk-1 --token-file /etc/hang-doi/token --printer tcp:192.168.1.50`
//! `kiosk print-test --printer SPEC`

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use app_shell::{HubArgs, Pump, snapshot};
use clap::{Parser, Subcommand};
use kiosk::KioskWindow;
use kiosk::app::{App, Options};
use kiosk::printer::PrinterSpec;
use kiosk::ticket::TicketContent;
use slint::ComponentHandle;

#[derive(Parser)]
#[command(
    // A flag given twice takes its last value: the --config file's come first.
    args_override_self = true,
    name = "kiosk",
    version,
    about = "The ticket kiosk of a public administration service centre",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Tool>,
    #[command(flatten)]
    hub: HubArgs,
    #[command(flatten)]
    printer: PrinterArgs,
    /// Show no mouse pointer (a touch-only kiosk; the installed kiosk.toml says so).
    #[arg(long)]
    hide_pointer: bool,
    /// Seconds without a touch before the kiosk goes back to the services.
    #[arg(long, default_value_t = 20)]
    idle: u64,
    /// Also save every printed ticket as a PNG in this folder.
    #[arg(long)]
    save_tickets: Option<PathBuf>,
    /// Render the screen to this PNG without a window once the hub's state has arrived, and exit.
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// With --snapshot: the screen size (portrait 1080x1920 or landscape 1920x1080).
    #[arg(long, default_value = "1080x1920")]
    size: String,
    /// With --snapshot: tap this service first (its id, e.g. TP) to show screen 2.
    #[arg(long, requires = "snapshot")]
    tap: Option<String>,
    /// With --snapshot and --tap: then tap this category (`normal`, `elderly`, …): a real ticket
    /// is issued (and printed with --printer) and screen 3 is rendered.
    #[arg(long, requires = "tap")]
    category: Option<String>,
    /// With --snapshot: show the English screens.
    #[arg(long, requires = "snapshot")]
    english: bool,
    /// With --snapshot: tap "I have an appointment" and type this; a whole booking code is
    /// checked in (a real ticket) and the answer rendered.
    #[arg(long, requires = "snapshot", conflicts_with = "tap")]
    check_in: Option<String>,
    /// With --category, where the centre sends SMS: type these digits on the phone screen and
    /// render it (without one, the phone screen is skipped and the ticket rendered).
    #[arg(long, requires = "category")]
    phone: Option<String>,
}

#[derive(clap::Args, Clone)]
struct PrinterArgs {
    /// The ticket printer: tcp:HOST[:PORT], /dev/usb/lp0, or file:PATH. None: no printing.
    #[arg(long)]
    printer: Option<String>,
    /// Paper width in mm: 80 (576 dots) or 58 (384 dots).
    #[arg(long, default_value_t = 80)]
    paper: u32,
    /// The printer cannot print images: send plain text without diacritics.
    #[arg(long)]
    text_only: bool,
}

impl PrinterArgs {
    fn spec(&self) -> anyhow::Result<Option<PrinterSpec>> {
        self.printer
            .as_deref()
            .map(|p| PrinterSpec::parse(p, self.paper, self.text_only))
            .transpose()
            .context("--printer")
    }
}

#[derive(Subcommand)]
enum Tool {
    /// Print a sample ticket through exactly the path real tickets take (installing a printer).
    PrintTest {
        #[command(flatten)]
        printer: PrinterArgs,
        /// Also write the rendered ticket as a PNG.
        #[arg(long)]
        png: Option<PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    app_shell::run("kiosk", run)
}

fn run() -> anyhow::Result<()> {
    let cli: Cli = app_shell::parse_args(&["print-test"])?;
    if let Some(Tool::PrintTest { printer, png }) = &cli.command {
        return print_test(printer, png.as_deref());
    }
    let options = Options {
        connection: cli.hub.connection("kiosk-1")?,
        printer: cli.printer.spec()?,
        idle: Duration::from_secs(cli.idle.max(5)),
        save_tickets: cli.save_tickets.clone(),
    };
    if options.printer.is_none() && cli.snapshot.is_none() {
        tracing::warn!("no --printer: tickets are shown on screen only");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    if let Some(path) = &cli.snapshot {
        return run_snapshot(&cli, options, runtime.handle().clone(), path);
    }
    let ui = KioskWindow::new().context("creating the window (is a display available?)")?;
    let app = App::new(ui.clone_strong(), options, runtime.handle().clone());
    app.borrow().hide_pointer(cli.hide_pointer);
    app_shell::run_window(&ui, move || {
        app.borrow_mut().pump();
    })
}

fn print_test(printer: &PrinterArgs, png: Option<&Path>) -> anyhow::Result<()> {
    let spec = printer
        .spec()?
        .context("print-test needs --printer (e.g. --printer file:t.bin)")?;
    let sample = TicketContent::sample();
    if let Some(png) = png {
        kiosk::ticket::render(&sample, spec.dots)
            .save(png)
            .with_context(|| format!("writing {}", png.display()))?;
    }
    spec.print(&sample)
        .map_err(|e| anyhow::anyhow!("{e} (status: {})", e.status()))?;
    println!(
        "printed a sample ticket ({} dots wide{}) to {}",
        spec.dots,
        if spec.text_only { ", text only" } else { "" },
        printer.printer.as_deref().unwrap_or_default()
    );
    Ok(())
}

fn run_snapshot(
    cli: &Cli,
    options: Options,
    runtime: tokio::runtime::Handle,
    path: &Path,
) -> anyhow::Result<()> {
    let (w, h) = snapshot::parse_size(&cli.size).context("--size")?;
    let window = snapshot::install(w, h)?;
    let ui = KioskWindow::new()?;
    let app = App::new(ui.clone_strong(), options, runtime);
    let mut a = app.borrow_mut();
    anyhow::ensure!(
        a.pump_until(Duration::from_secs(15), |a| a.mirror.online),
        "no state from the hub at {}",
        cli.hub.hub
    );
    if cli.english {
        a.ctrl.toggle_language(std::time::Instant::now());
    }
    if let Some(typed) = &cli.check_in {
        a.start_check_in();
        for key in typed.chars() {
            a.code_key(&key.to_string());
        }
        if protocol::booking_code::normalise_code(typed).is_some() {
            a.code_submit();
            anyhow::ensure!(
                a.pump_until(Duration::from_secs(15), |a| !a.ctrl.issuing
                    && a.ctrl.issued.as_ref().is_none_or(
                        |i| i.print != kiosk::controller::PrintState::Printing
                    )),
                "no answer from the hub"
            );
        }
    }
    if let Some(service) = &cli.tap {
        a.choose_service(service);
        anyhow::ensure!(
            a.ctrl.step != kiosk::controller::Step::Services,
            "service {service} cannot be tapped now"
        );
        if let Some(category) = &cli.category {
            a.choose_category(if category == "normal" { "" } else { category });
            if let Some(digits) = &cli.phone {
                anyhow::ensure!(
                    matches!(a.ctrl.step, kiosk::controller::Step::Phone { .. }),
                    "no phone screen: this centre sends no SMS ([notify.sms])"
                );
                for digit in digits.chars() {
                    a.phone_key(&digit.to_string());
                }
                a.render();
                ui.show()?;
                snapshot::write_png(&window, path)?;
                println!("{}", path.display());
                return Ok(());
            }
            if matches!(a.ctrl.step, kiosk::controller::Step::Phone { .. }) {
                a.phone_skip();
            }
            anyhow::ensure!(
                a.pump_until(Duration::from_secs(15), |a| a
                    .ctrl
                    .issued
                    .as_ref()
                    .is_some_and(|i| i.print != kiosk::controller::PrintState::Printing)),
                "no ticket from the hub: {}",
                a.ctrl.message
            );
        }
    }
    a.render();
    ui.show()?;
    snapshot::write_png(&window, path)?;
    println!("{}", path.display());
    Ok(())
}
