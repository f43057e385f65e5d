//! `hang-doi-province`: the province's door, serving until SIGTERM (docs/PROVINCE.md, "The
//! province's door").

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// The schema version this door reads (`province/sql/`); a database behind it is refused.
const NEEDS_SCHEMA: i32 = 4;

#[derive(Parser)]
#[command(
    name = "hang-doi-province",
    about = "The province's public door: every centre's waits, from the province's PostgreSQL"
)]
struct Cli {
    /// The province's database: a postgresql:// URL or a libpq string (a read-only role does).
    #[arg(long, env = "PROVINCE_DATABASE")]
    database: String,
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    logging::init("info", logging::Output::Stderr)?;
    let cli = Cli::parse();
    let link = province::Link {
        database: cli.database.clone(),
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
    let door = province_door::Door::new(&link, cli.connections)?;
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
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
