//! `cargo run --release`: a whole demo centre on this machine.
//!
//! With a display: the hub, one kiosk, two counter clients and one display board, each in its own
//! window of this one process, all stopped together by Ctrl-C (or by closing the last window).
//! Without a display (or with `--headless`): the hub with simulated citizens and clerks at an
//! accelerated pace, printing the centre's life as a readable log.

mod demo_sms;
mod headless;
mod windows;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "trung-tam",
    version,
    about = "A demo public administration service centre"
)]
struct Cli {
    /// Where the hub listens.
    #[arg(long, env = "HUB_LISTEN", default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// The demo's data folder (database, printed tickets).
    #[arg(long, default_value = "demo-data")]
    data: PathBuf,
    /// Run the simulated centre in the terminal even when a display is available.
    #[arg(long)]
    headless: bool,
    /// Headless: how many times faster than real time the simulated day runs.
    #[arg(long, default_value_t = 30)]
    speed: u32,
    /// Headless: stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    seconds: Option<u64>,
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trung-tam: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    std::fs::create_dir_all(&cli.data)
        .with_context(|| format!("creating {}", cli.data.display()))?;
    // The terminal tells the centre's story; the hub's and the apps' log lines go to a file
    // beside the database, where an operator would look for them.
    let log = cli.data.join("hub.log");
    logging::init("info", logging::Output::File(&log))?;
    let has_display = std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty());
    if cli.headless || !has_display {
        if !cli.headless {
            println!(
                "No display server found (DISPLAY is not set): running the centre headless, \
                 with simulated citizens and clerks.\n"
            );
        }
        return headless::run(&cli.data, cli.listen, cli.speed.clamp(1, 600), cli.seconds);
    }
    windows::run(&cli.data, cli.listen)
}
