//! `hang-doi-province`: the province's door, serving until SIGTERM (docs/PROVINCE.md, "The
//! province's door").

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// The schema version this door reads (`province/sql/`); a database behind it is refused.
const NEEDS_SCHEMA: i32 = 5;

#[derive(Parser)]
#[command(
    name = "hang-doi-province",
    about = "The province's public door: every centre's waits, from the province's PostgreSQL"
)]
struct Cli {
    /// The province's database: a postgresql:// URL or a libpq string (a read-only role does
    /// without bookings; with them, the grants of docs/PROVINCE.md).
    #[arg(long, env = "PROVINCE_DATABASE", required_unless_present_any = ["new_booking_key", "show_booking_key", "new_push_key"])]
    database: Option<String>,
    /// The database password's file (its first line), kept out of the command line.
    #[arg(long, env = "PROVINCE_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
    /// The CA that signed the database's certificate (default: the system's).
    #[arg(long, env = "PROVINCE_CA_FILE")]
    ca_file: Option<PathBuf>,
    /// Where to serve HTTP (a load balancer or reverse proxy terminates HTTPS in front).
    #[arg(long, env = "PROVINCE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Connections to the database this instance may hold at most.
    #[arg(long, env = "PROVINCE_CONNECTIONS", default_value_t = 16)]
    connections: usize,
    /// Create or bring the schema up to date first (needs the tables' owner, as `hang-doi-hub
    /// province-schema` does).
    #[arg(long)]
    migrate: bool,
    /// The province's booking key (a file written by --new-booking-key, readable by this service
    /// alone): with it the door takes bookings for every centre that offers it a share.
    #[arg(long, env = "PROVINCE_BOOKING_KEY_FILE")]
    booking_key_file: Option<PathBuf>,
    /// Bookings one phone number may hold for one service day, across the province.
    #[arg(long, env = "PROVINCE_PER_PHONE_PER_DAY", default_value_t = 2)]
    per_phone_per_day: i64,
    /// Minutes a held place waits for its confirmation.
    #[arg(long, env = "PROVINCE_HOLD_MIN", default_value_t = 10)]
    hold_min: u64,
    /// The proof of work a hold costs, in leading zero bits of SHA-256 (16: ~65,000 hashes).
    #[arg(long, env = "PROVINCE_PROOF_BITS", default_value_t = 16)]
    proof_bits: u32,
    /// The load balancers whose X-Forwarded-For names the client (comma-separated addresses).
    #[arg(long, env = "PROVINCE_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Writes a new booking key to this file (never over an existing one), prints its public
    /// half for the hubs' `[province] booking_keys`, and exits.
    #[arg(long, value_name = "FILE")]
    new_booking_key: Option<PathBuf>,
    /// Prints the public half of --booking-key-file's key and exits.
    #[arg(long)]
    show_booking_key: bool,
    /// The door's Web Push (VAPID) key, a file written by --new-push-key: with it, the tracking
    /// page opened from a ticket's QR can be told on a locked phone. The same file on every
    /// instance.
    #[arg(long, env = "PROVINCE_PUSH_KEY_FILE")]
    push_key_file: Option<PathBuf>,
    /// How a push service reaches the province: `mailto:…` or an `https://` page (VAPID `sub`).
    #[arg(
        long,
        env = "PROVINCE_PUSH_CONTACT",
        default_value = "mailto:hanhchinhcong@example.gov.vn"
    )]
    push_contact: String,
    /// People ahead at which a ticket's follower is told its turn is near.
    #[arg(long, env = "PROVINCE_NEAR_AHEAD", default_value_t = 3)]
    near_ahead: u32,
    /// Writes a new Web Push key to this file (never over an existing one) and exits.
    #[arg(long, value_name = "FILE")]
    new_push_key: Option<PathBuf>,
    /// Tests only: push endpoints over plain http and on loopback are allowed.
    #[arg(long, hide = true)]
    allow_insecure_push_endpoints: bool,
}

/// `--new-push-key FILE`: a fresh VAPID key, in a file only its owner reads.
fn new_push_key(path: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let secret = notices::VapidKey::fresh_secret();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    writeln!(file, "{secret}")?;
    file.sync_all()?;
    eprintln!("The door's Web Push key is in {}.", path.display());
    Ok(())
}

fn read_push_key(path: &std::path::Path) -> anyhow::Result<notices::VapidKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the push key {}", path.display()))?;
    notices::VapidKey::from_secret(text.trim())
        .map_err(|_| anyhow::anyhow!("the push key {} is damaged", path.display()))
}

/// The key in `path`.
fn read_key(path: &std::path::Path) -> anyhow::Result<province_pass::PassKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the booking key {}", path.display()))?;
    province_pass::signing_key(text.lines().next().unwrap_or(""))
        .with_context(|| format!("the booking key {} is damaged", path.display()))
}

fn public_line(key: &province_pass::PassKey) -> String {
    province_pass::key_text(key.verifying_key().as_bytes())
}

/// `--new-booking-key FILE`: 32 random bytes, in a file only its owner reads.
fn new_key(path: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let seed: [u8; 32] = rand::random();
    let key = province_pass::PassKey::from_bytes(&seed);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    writeln!(file, "{}", province_pass::key_text(&seed))?;
    file.sync_all()?;
    println!("{}", public_line(&key));
    eprintln!(
        "The booking key is in {}. Each centre's hub honours its passes with, in [province]:\n  booking_keys = [\"{}\"]",
        path.display(),
        public_line(&key)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    logging::init("info", logging::Output::Stderr)?;
    let cli = Cli::parse();
    if let Some(path) = &cli.new_booking_key {
        return new_key(path);
    }
    if let Some(path) = &cli.new_push_key {
        return new_push_key(path);
    }
    let push_key = cli
        .push_key_file
        .as_deref()
        .map(read_push_key)
        .transpose()?;
    let key = cli.booking_key_file.as_deref().map(read_key).transpose()?;
    if cli.show_booking_key {
        let key = key.context("--show-booking-key needs --booking-key-file")?;
        println!("{}", public_line(&key));
        return Ok(());
    }
    let link = province::Link {
        database: cli.database.clone().unwrap_or_default(),
        password_file: cli.password_file.clone(),
        ca_file: cli.ca_file.clone(),
    };
    let mut client = link
        .connect_as("hang-doi-province")
        .await
        .context("cannot reach the province's database")?;
    if cli.migrate {
        let version = province::schema::migrate(&mut client).await?;
        tracing::info!(version, "the province's schema is up to date");
    }
    let version = province::schema::version(&client).await?;
    anyhow::ensure!(
        version >= NEEDS_SCHEMA,
        "the province's database has schema version {version}; this door needs {NEEDS_SCHEMA}: \
         run it once with --migrate as the tables' owner, or `hang-doi-hub province-schema`"
    );
    drop(client);
    let mut door =
        province_door::Door::new(&link, cli.connections)?.trusting(cli.trusted_proxies.clone());
    if let Some(key) = key {
        tracing::info!(key = %public_line(&key), "taking bookings; hubs honour passes of this key");
        door = door.with_booking(
            key,
            province_door::booking::Settings {
                hold: std::time::Duration::from_secs(cli.hold_min.clamp(1, 60) * 60),
                per_phone_per_day: cli.per_phone_per_day.clamp(1, 20),
                proof_bits: cli.proof_bits.min(24),
                ..Default::default()
            },
        );
    }
    if let Some(vapid) = push_key {
        let settings = province_door::push::Settings {
            vapid,
            contact: cli.push_contact.clone(),
            near_ahead: cli.near_ahead,
            allow_insecure_endpoints: cli.allow_insecure_push_endpoints,
        };
        door = door.with_push(settings.clone());
        tokio::spawn(province_door::push::run(
            door.clone(),
            std::sync::Arc::new(settings),
            link.clone(),
        ));
        tracing::info!("sending Web Push for the tickets followed here");
    }
    tokio::spawn(sweeping(
        door.clone(),
        cli.booking_key_file.is_some(),
        cli.push_key_file.is_some(),
    ));
    let listener = province_door::serve::bind(cli.listen)
        .with_context(|| format!("cannot listen on {}", cli.listen))?;
    let addr = listener.local_addr()?;
    // Tests and scripts read this line to find the port when asked for port 0.
    tracing::info!(%addr, "the province's door serves on http://{addr}/");
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stopping: finishing the requests in hand");
        let _ = stop.send(true);
    });
    province_door::serve::serve(listener, province_door::router(door), stopping).await;
    Ok(())
}

/// What the door no longer needs, emptied every few minutes (each instance does it; it is the
/// same work twice, never a conflict).
async fn sweeping(door: province_door::Door, booking: bool, push: bool) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(300));
    loop {
        every.tick().await;
        if booking && let Err(e) = province_door::booking::sweep(&door).await {
            tracing::warn!(error = %e, "cannot sweep spent challenges and past phone hashes");
        }
        if push && let Err(e) = province_door::push::sweep(&door).await {
            tracing::warn!(error = %e, "cannot sweep old push subscriptions");
        }
    }
}

/// SIGTERM (a service manager) or Ctrl-C.
async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(t) => t,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
