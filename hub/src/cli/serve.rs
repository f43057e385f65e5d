//! Serving a centre: `hub --config FILE --db FILE` (or `hub serve …`). Paths are always
//! explicit here: a hub that guessed its database could give out numbers already printed.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

use super::common::runtime;

#[derive(clap::Args)]
pub struct Args {
    /// Centre configuration (TOML), or `demo` for the built-in demo centre
    /// (assets/demo-center.toml).
    #[arg(long)]
    pub(super) config: Option<PathBuf>,
    /// The SQLite database file.
    #[arg(long)]
    pub(super) db: Option<PathBuf>,
    /// Create the database when it does not exist yet (a new centre's first start). Without it a
    /// missing file is an error: a hub that silently started a new day-one database would give
    /// out numbers already printed.
    #[arg(long)]
    create_db: bool,
    /// Address to serve HTTP and WebSocket on.
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// Serve HTTPS and WSS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Start the service day of this date although the clock looks wrong next to the database
    /// (more than a few weeks after its last event): the operator has checked the clock.
    #[arg(long)]
    accept_date: Option<chrono::NaiveDate>,
    /// Check the configuration, print a summary and exit.
    #[arg(long)]
    check_config: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config_arg = args.config.clone().context(
        "which centre? Give --config FILE (the centre's TOML), or --config demo for the demo centre",
    )?;
    let config = hub::load_config(&config_arg)?;
    let source = if config_arg == std::path::Path::new(hub::DEMO_BY_NAME) {
        centre_config::DEMO_CONFIG_NAME.to_string()
    } else {
        config_arg.display().to_string()
    };
    if args.check_config {
        print_summary(&source, &config);
        return Ok(());
    }
    let db = args.db.clone().context(
        "which database? Give --db FILE (the centre's database; add --create-db on its very first start)",
    )?;
    hub::check_start(&config, &db, args.create_db, args.listen)?;
    if config.uses_demo_tokens() {
        tracing::warn!(
            "running with the public demo device tokens: fine on this machine only (loopback)"
        );
    }
    let mut config = config;
    fit_connections_to_file_limit(&mut config);
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(hub::tls::server_config(cert, key)?),
        _ => None,
    };
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    runtime()?.block_on(async {
        let clock = std::sync::Arc::new(hub_engine::clock::SystemClock::new());
        let options = hub::Options {
            clock,
            tls,
            accept_date: args.accept_date,
        };
        let hub = hub::Hub::start_with(config, &db, args.listen, options).await?;
        hub::service::ready(hub.addr);
        tracing::info!(addr = %hub.addr, config = %source, db = %db.display(), "hub serving: {scheme}://{}/ws", hub.addr);
        let web = if scheme == "wss" { "https" } else { "http" };
        tracing::info!("supervisor's console: {web}://{}/console", hub.addr);
        hub.run_until_signal().await
    })
}

/// `--check-config`: what the file describes, in one line.
fn print_summary(source: &str, config: &centre_config::Config) {
    let ships = config
        .province
        .as_ref()
        .map(|p| format!("; ships to the province as {:?}", p.centre_id))
        .unwrap_or_default();
    println!(
        "{source}: ok — {} ({} services, {} counters, {} devices, {} staff{ships})",
        config.center.name,
        config.rules.services.len(),
        config.rules.counters.len(),
        config.devices.len(),
        config.staff.len()
    );
}

/// File descriptors the hub keeps for itself (database, log, listener, threads' pipes).
const RESERVED_FILES: u64 = 64;

/// Raises the soft open-file limit to the hard one (1,024 under a default service manager would
/// cap the hub at about a thousand sockets), and shrinks the shared connection pool to what fits,
/// keeping one socket for every configured device.
fn fit_connections_to_file_limit(config: &mut centre_config::Config) {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-file limit");
            return;
        }
    };
    let devices = config.devices.len() as u64;
    let pool = limit.saturating_sub(RESERVED_FILES + devices);
    let wanted = u64::from(config.limits.max_connections);
    if pool < wanted {
        let fitted = u32::try_from(pool).unwrap_or(u32::MAX).max(16);
        tracing::warn!(
            open_file_limit = limit,
            wanted,
            fitted,
            "the open-file limit is too low for [limits] max_connections: using {fitted} \
             (raise LimitNOFILE in the service unit)"
        );
        config.limits.max_connections = fitted;
    } else {
        tracing::info!(open_file_limit = limit, "open-file limit");
    }
}
