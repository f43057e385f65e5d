//! `hub`: serves a centre, checks a configuration, hashes a PIN.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "hub",
    version,
    about = "The queue hub of a public administration service centre"
)]
struct Cli {
    /// Centre configuration (TOML). Default: the built-in demo centre (assets/demo-center.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// SQLite database file; created when missing.
    #[arg(long, default_value = "hub.db")]
    db: PathBuf,
    /// Address to serve HTTP and WebSocket on.
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// Check the configuration, print a summary and exit.
    #[arg(long)]
    check_config: bool,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Subcommand)]
enum Sub {
    /// Print the Argon2 hash of a PIN (read from standard input) for a [[staff]] entry.
    HashPin,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hub: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Sub::HashPin) = cli.command {
        let mut pin = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut pin)
            .context("reading the PIN")?;
        let pin = pin.trim();
        anyhow::ensure!(
            pin.len() >= 4 && pin.chars().all(|c| c.is_ascii_digit()),
            "a PIN is at least 4 digits"
        );
        println!("{}", hub::auth::hash_pin(pin).map_err(anyhow::Error::msg)?);
        return Ok(());
    }
    let config = hub::load_config(cli.config.as_deref())?;
    let source = cli
        .config
        .as_ref()
        .map_or(hub::config::DEMO_CONFIG_NAME.to_string(), |p| {
            p.display().to_string()
        });
    if cli.check_config {
        println!(
            "{source}: ok — {} ({} services, {} counters, {} devices, {} staff)",
            config.center.name,
            config.rules.services.len(),
            config.rules.counters.len(),
            config.devices.len(),
            config.staff.len()
        );
        return Ok(());
    }
    if config.uses_demo_tokens() {
        let banner = "!".repeat(78);
        eprintln!(
            "{banner}\n!! DEMO TOKENS: some devices use the public `demo-…` tokens of the demo centre.\n!! Anyone on this network can act as a kiosk, counter or admin. Change them before real use.\n{banner}"
        );
        tracing::warn!("running with demo device tokens");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(async {
        let hub = hub::Hub::start(config, &cli.db, cli.listen).await?;
        tracing::info!(addr = %hub.addr, config = %source, db = %cli.db.display(), "hub serving: ws://{}/ws", hub.addr);
        hub.run_until_signal().await
    })
}
