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
    /// Centre configuration (TOML), or `demo` for the built-in demo centre
    /// (assets/demo-center.toml). Needed to serve and for `report`; `simulate` defaults to `demo`.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// The SQLite database file. Needed to serve, for `report` and `backup`.
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    /// Create the database when it does not exist yet (a new centre's first start). Without it a
    /// missing file is an error: a hub that silently started a new day-one database would give
    /// out numbers already printed.
    #[arg(long)]
    create_db: bool,
    /// Address to serve HTTP and WebSocket on.
    #[arg(long, global = true, default_value = "127.0.0.1:7878")]
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
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Subcommand)]
enum Sub {
    /// Print the Argon2 hash of a PIN (read from standard input) for a [[staff]] entry.
    HashPin,
    /// Copy the database to DIR while the hub runs (SQLite's online backup), check the copy by
    /// opening it, and keep the newest KEEP copies. Restore: docs/OPERATIONS.md.
    Backup {
        /// Where the copies go (e.g. a USB stick's mount point).
        dir: PathBuf,
        /// How many copies to keep in DIR (older `hub-*.db` copies are deleted).
        #[arg(long, default_value_t = 14)]
        keep: usize,
    },
    /// Check this machine's set-up (configuration, database, clock, port, file limit, disk, the
    /// province's database, a kiosk's printer) and say what to fix. Without --config and --db:
    /// the installed paths.
    Doctor {
        /// A kiosk's settings on this machine, whose printer is tried (default: the installed
        /// /etc/hang-doi/kiosk.toml when it exists).
        #[arg(long)]
        kiosk_config: Option<PathBuf>,
    },
    /// Figures for service days FROM..=TO from a hub's database (read-only, also while it runs),
    /// or with --province for every centre of the province from its PostgreSQL.
    Report {
        /// First service day, YYYY-MM-DD.
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last service day, YYYY-MM-DD (default: FROM).
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        /// Lines by: total, service, counter, staff or priority (default total); with --province:
        /// centre (the default), service (per field across centres), priority or total.
        #[arg(long)]
        by: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// The province's PostgreSQL (a `postgresql://user@host/db` URL or a libpq string):
        /// the figures of every centre shipped there, computed by the database.
        #[arg(long, value_name = "URL")]
        province: Option<String>,
        /// With --province: a file whose first line is the password.
        #[arg(long, requires = "province")]
        password_file: Option<PathBuf>,
        /// With --province: the CA certificate (PEM) the province's server is signed by.
        #[arg(long, requires = "province")]
        ca_file: Option<PathBuf>,
    },
    /// Create the province's schema in its PostgreSQL, or bring it up to this hub's version
    /// (as the database's owner; docs/PROVINCE.md).
    ProvinceSchema {
        /// The province's PostgreSQL (URL or libpq string).
        #[arg(long, value_name = "URL")]
        province: String,
        /// A file whose first line is the password.
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// The CA certificate (PEM) the province's server is signed by.
        #[arg(long)]
        ca_file: Option<PathBuf>,
    },
    /// Ship this centre's event log to the province's PostgreSQL ([province] in the
    /// configuration) and exit once the province has all of it. The hub does the same by itself
    /// while it serves; this is for a catch-up by hand, or for a database carried on a stick.
    Ship {
        /// Keep shipping new events as they come, like the hub's own shipper.
        #[arg(long)]
        follow: bool,
    },
    /// Run a day through the queue rules on a virtual clock and print the report and the queue
    /// hour by hour. Deterministic for a seed.
    Simulate {
        /// Simulated hours from --start.
        #[arg(long, default_value_t = 8.0)]
        hours: f64,
        /// Arrivals per hour: SERVICE=PER_HOUR (repeat; default 6 an hour for every service).
        #[arg(long, value_parser = parse_arrival)]
        arrivals: Vec<(String, f64)>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The simulated service day (a date: the rules' hours and weekdays apply).
        #[arg(long, default_value = "2026-11-23")]
        day: chrono::NaiveDate,
        /// Local opening time.
        #[arg(long, default_value = "07:30")]
        start: chrono::NaiveTime,
        /// Give a counter other services: N=SERVICE,SERVICE (repeat). "Moving a clerk".
        #[arg(long, value_parser = parse_counter)]
        counter: Vec<(u32, Vec<String>)>,
        /// Counters without a clerk (repeat).
        #[arg(long)]
        close: Vec<u32>,
        /// Share of priority tickets (0–1).
        #[arg(long, default_value_t = 0.15)]
        priority_share: f64,
        /// Share of called citizens who do not come (0–1).
        #[arg(long, default_value_t = 0.05)]
        no_show_share: f64,
        #[arg(long, value_enum, default_value = "service")]
        by: hub::report::By,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Csv,
}

fn parse_arrival(s: &str) -> Result<(String, f64), String> {
    let (service, rate) = s
        .split_once('=')
        .ok_or("use SERVICE=PER_HOUR, e.g. TP=12")?;
    let rate: f64 = rate
        .trim()
        .parse()
        .map_err(|_| format!("{rate:?} is not a number"))?;
    Ok((service.trim().to_string(), rate))
}

fn parse_counter(s: &str) -> Result<(u32, Vec<String>), String> {
    let (n, services) = s
        .split_once('=')
        .ok_or("use N=SERVICE,SERVICE, e.g. 5=TP,GTVT")?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("{n:?} is not a counter number"))?;
    let services: Vec<String> = services
        .split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect();
    if services.is_empty() {
        return Err("a counter needs at least one service".into());
    }
    Ok((n, services))
}

/// File descriptors the hub keeps for itself (database, log, listener, threads' pipes).
const RESERVED_FILES: u64 = 64;

/// Raises the soft open-file limit to the hard one (1,024 under a default service manager would
/// cap the hub at about a thousand sockets), and shrinks the shared connection pool to what fits,
/// keeping one socket for every configured device.
fn fit_connections_to_file_limit(config: &mut hub::config::Config) {
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

/// Under libfaketime (how a wall-clock step is tested), the monotonic clock is faked by default
/// too, and jumps with the wall clock — which the kernel's never does. Every timer of the async
/// runtime would then fire at once for as long as the step (handshakes cut short, hellos timed
/// out). So the hub restarts itself with the monotonic clock left real: the wall clock steps, as
/// it would on a real machine, and time keeps passing.
#[cfg(unix)]
fn keep_the_monotonic_clock_real() {
    use std::os::unix::process::CommandExt;
    let preloaded = std::env::var("LD_PRELOAD").unwrap_or_default();
    if !preloaded.contains("faketime") || std::env::var_os("FAKETIME_DONT_FAKE_MONOTONIC").is_some()
    {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let error = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .exec();
    eprintln!("hub: cannot restart with a real monotonic clock: {error}");
}

fn main() -> std::process::ExitCode {
    #[cfg(unix)]
    keep_the_monotonic_clock_real();
    if let Err(e) = logging::init("info", logging::Output::Stderr) {
        eprintln!("hub: {e:#}");
    }
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hub: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `hub doctor`: every finding printed; fails when something must be fixed.
fn doctor(cli: &Cli, kiosk_config: Option<PathBuf>) -> anyhow::Result<()> {
    use hub::doctor::{INSTALLED_CONFIG, INSTALLED_DB, INSTALLED_KIOSK_CONFIG, Setup, Verdict};
    let installed_kiosk = PathBuf::from(INSTALLED_KIOSK_CONFIG);
    let setup = Setup {
        config: cli.config.clone().unwrap_or(INSTALLED_CONFIG.into()),
        db: cli.db.clone().unwrap_or(INSTALLED_DB.into()),
        listen: cli.listen,
        kiosk_config: kiosk_config.or(installed_kiosk.exists().then_some(installed_kiosk)),
    };
    println!(
        "hub doctor — {} · {}\n",
        setup.config.display(),
        setup.db.display()
    );
    let findings = hub::doctor::examine(&setup);
    // A blank line between findings: each is said in Vietnamese, then in English.
    for f in &findings {
        println!("{f}\n");
    }
    let to_fix = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Fix)
        .count();
    anyhow::ensure!(
        to_fix == 0,
        "{to_fix} điều cần sửa (FIX ở trên) · {to_fix} thing(s) to fix (FIX above)"
    );
    println!("không có gì cần sửa · nothing to fix");
    Ok(())
}

/// The province's database as the command line names it.
fn province_link(
    database: &str,
    password_file: &Option<PathBuf>,
    ca_file: &Option<PathBuf>,
) -> hub::province::Link {
    hub::province::Link {
        database: database.to_string(),
        password_file: password_file.clone(),
        ca_file: ca_file.clone(),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("starting the runtime")
}

/// `hub report --province`.
fn province_report(
    link: hub::province::Link,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    by: hub::province::figures::ProvinceBy,
    format: Format,
) -> anyhow::Result<()> {
    anyhow::ensure!(from <= to, "--from must not be after --to");
    runtime()?.block_on(async {
        let client = link.connect().await?;
        let lines = hub::province::figures::load(&client, from, to, by).await?;
        match format {
            Format::Table => {
                println!("Báo cáo toàn tỉnh · Province report — {from} … {to}\n");
                use hub::province::figures::{ProvinceBy, centre_names, service_names};
                let names = match by {
                    ProvinceBy::Centre => centre_names(&client).await?,
                    ProvinceBy::Service => service_names(&client).await?,
                    ProvinceBy::Priority | ProvinceBy::Total => vec![],
                };
                for (id, name) in &names {
                    println!("  {id}: {name}");
                }
                if !names.is_empty() {
                    println!();
                }
                print!("{}", hub::report::table(&lines));
            }
            Format::Csv => print!("{}", hub::report::csv(&lines)),
        }
        Ok(())
    })
}

/// `hub ship`: everything now, or (with --follow) on and on.
fn ship(config: &hub::config::Config, db: &std::path::Path, follow: bool) -> anyhow::Result<()> {
    anyhow::ensure!(db.is_file(), "no database at {}", db.display());
    let shipper = hub::province::ship::Shipper::from_config(config, db).context(
        "this configuration ships nowhere: add a [province] section and [center] id (docs/PROVINCE.md)",
    )?;
    // Read-only, at this hub's schema: a file a serving hub may hold is never migrated here
    // (an older one is refused, with what to do).
    drop(ledger::Reader::open(db)?);
    runtime()?.block_on(async {
        if follow {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let (report, _) = tokio::sync::watch::channel(Default::default());
            let task = tokio::spawn(shipper.run(stopped, report, None));
            hub::shutdown_signal().await;
            let _ = stop.send(true);
            let _ = task.await;
            return Ok(());
        }
        let mut client = shipper.connect().await?;
        let progress = shipper.ship_all(&mut client).await?;
        println!(
            "{}: {} events sent; the province has every event up to {}",
            shipper.centre.id, progress.sent, progress.shipped
        );
        Ok(())
    })
}

fn required_db(cli: &Cli) -> anyhow::Result<&std::path::Path> {
    cli.db.as_deref().context(
        "which database? Give --db FILE (the centre's database; add --create-db on its very first start)",
    )
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
    if let Some(Sub::Backup { dir, keep }) = &cli.command {
        let db = required_db(&cli)?;
        let made = hub::backup::run(db, dir, *keep)?;
        println!(
            "{}: {} events, last on service day {} — checked",
            made.path.display(),
            made.last_seq,
            made.last_day.map_or("-".to_string(), |d| d.to_string())
        );
        return Ok(());
    }
    if let Some(Sub::Doctor { kiosk_config }) = &cli.command {
        return doctor(&cli, kiosk_config.clone());
    }
    if let Some(Sub::ProvinceSchema {
        province,
        password_file,
        ca_file,
    }) = &cli.command
    {
        let link = province_link(province, password_file, ca_file);
        return runtime()?.block_on(async {
            let mut client = link.connect().await?;
            let version = hub::province::schema::migrate(&mut client).await?;
            println!("the province's schema is at version {version}");
            Ok(())
        });
    }
    if let Some(Sub::Report {
        from,
        to,
        by,
        format,
        province: Some(url),
        password_file,
        ca_file,
    }) = &cli.command
    {
        let by: hub::province::figures::ProvinceBy = by
            .as_deref()
            .unwrap_or("centre")
            .parse()
            .map_err(anyhow::Error::msg)?;
        let link = province_link(url, password_file, ca_file);
        return province_report(link, *from, to.unwrap_or(*from), by, *format);
    }
    let config_arg = match (&cli.config, &cli.command) {
        (Some(c), _) => c.clone(),
        // A what-if run harms nothing: the demo centre is a fine default there.
        (None, Some(Sub::Simulate { .. })) => PathBuf::from(hub::DEMO_BY_NAME),
        (None, _) => anyhow::bail!(
            "which centre? Give --config FILE (the centre's TOML), or --config demo for the demo centre"
        ),
    };
    let config = hub::load_config(&config_arg)?;
    let db_given = required_db(&cli).map(std::path::Path::to_path_buf);
    match cli.command {
        Some(Sub::Report {
            from,
            to,
            by,
            format,
            ..
        }) => {
            let by: hub::report::By = by
                .as_deref()
                .unwrap_or("total")
                .parse()
                .map_err(anyhow::Error::msg)?;
            let (from, to) = (from, to.unwrap_or(from));
            anyhow::ensure!(from <= to, "--from must not be after --to");
            let today = config.rules.service_day(chrono::Utc::now());
            let rows = hub::report::load(&db_given?, from, to, today)?;
            let lines = hub::report::summarize(&rows, by);
            match format {
                Format::Table => {
                    println!("{} — {from} … {to}\n", config.center.name);
                    print!("{}", hub::report::table(&lines));
                }
                Format::Csv => print!("{}", hub::report::csv(&lines)),
            }
            return Ok(());
        }
        Some(Sub::Ship { follow }) => return ship(&config, &db_given?, follow),
        Some(Sub::Simulate {
            hours,
            arrivals,
            seed,
            day,
            start,
            counter,
            close,
            priority_share,
            no_show_share,
            by,
        }) => {
            let arrivals = if arrivals.is_empty() {
                config
                    .rules
                    .services
                    .keys()
                    .map(|s| (s.clone(), 6.0))
                    .collect()
            } else {
                arrivals
                    .into_iter()
                    .map(|(s, rate)| (queue_core::ServiceId(s), rate))
                    .collect()
            };
            let options = simulator::Options {
                day,
                start,
                hours,
                arrivals,
                seed,
                priority_share,
                no_show_share,
                counters: counter
                    .into_iter()
                    .map(|(n, services)| {
                        let services = services.into_iter().map(queue_core::ServiceId).collect();
                        (queue_core::CounterNo(n), services)
                    })
                    .collect(),
                closed: close.into_iter().map(queue_core::CounterNo).collect(),
            };
            let outcome = simulator::run(&config.rules, &options)?;
            println!(
                "{} — simulated {day} from {start} for {hours} h, seed {seed}\n",
                config.center.name
            );
            print!(
                "{}",
                hub::report::table(&hub::report::summarize(&outcome.rows, by))
            );
            println!(
                "\nHàng chờ theo giờ (số đang chờ cuối giờ / thời gian chờ TB của số lấy trong giờ):\n"
            );
            print!("{}", simulator::hours_table(&config.rules, &outcome.hours));
            return Ok(());
        }
        _ => {}
    }
    let source = if config_arg == std::path::Path::new(hub::DEMO_BY_NAME) {
        hub::config::DEMO_CONFIG_NAME.to_string()
    } else {
        config_arg.display().to_string()
    };
    if cli.check_config {
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
        return Ok(());
    }
    let db = required_db(&cli)?.to_path_buf();
    hub::check_start(&config, &db, cli.create_db, cli.listen)?;
    if config.uses_demo_tokens() {
        tracing::warn!(
            "running with the public demo device tokens: fine on this machine only (loopback)"
        );
    }
    let mut config = config;
    fit_connections_to_file_limit(&mut config);
    let tls = match (&cli.tls_cert, &cli.tls_key) {
        (Some(cert), Some(key)) => Some(hub::tls::server_config(cert, key)?),
        _ => None,
    };
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    runtime()?.block_on(async {
        let clock = std::sync::Arc::new(hub::clock::SystemClock::new());
        let options = hub::Options {
            clock,
            tls,
            accept_date: cli.accept_date,
        };
        let hub = hub::Hub::start_with(config, &db, cli.listen, options).await?;
        hub::service::ready(hub.addr);
        tracing::info!(addr = %hub.addr, config = %source, db = %db.display(), "hub serving: {scheme}://{}/ws", hub.addr);
        let web = if scheme == "wss" { "https" } else { "http" };
        tracing::info!("supervisor's console: {web}://{}/console", hub.addr);
        hub.run_until_signal().await
    })
}
