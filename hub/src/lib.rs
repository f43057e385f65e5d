//! The hub: the only truth of a centre. See `docs/ARCHITECTURE.md` for the map.

pub mod backup;
pub mod doctor;
pub mod integrity;
pub mod service;
pub mod tls;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::watch;

use centre_config::Config;
use hub_engine::{Clock, SystemClock};

/// How long `stop` waits for the engine's last batch and the database to close.
const ENGINE_CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How a hub is started beyond its configuration and database.
pub struct Options {
    /// The one clock of the engine and the timer.
    pub clock: Arc<dyn Clock>,
    /// Serve `https://` and `wss://` with this.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The operator confirms this service day although it looks implausible next to the log
    /// (`--accept-date`).
    pub accept_date: Option<chrono::NaiveDate>,
}

impl Options {
    pub fn new(clock: Arc<dyn Clock>) -> Options {
        Options {
            clock,
            tls: None,
            accept_date: None,
        }
    }
}

/// A running hub: its address, and the switch that stops it.
pub struct Hub {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Turns true if the engine thread ends on its own: the hub can no longer serve.
    engine_gone: watch::Receiver<bool>,
    check_now: Arc<tokio::sync::Notify>,
    health: watch::Receiver<hub_engine::Health>,
}

impl Hub {
    /// Opens the database, rebuilds the state and starts serving on `listen` (port 0 picks one).
    pub async fn start(config: Config, db: &Path, listen: SocketAddr) -> anyhow::Result<Hub> {
        Hub::start_with_clock(config, db, listen, Arc::new(SystemClock::new())).await
    }

    pub async fn start_with_clock(
        config: Config,
        db: &Path,
        listen: SocketAddr,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Hub> {
        Hub::start_with(config, db, listen, Options::new(clock)).await
    }

    /// The same, with every option.
    pub async fn start_with(
        config: Config,
        db: &Path,
        listen: SocketAddr,
        options: Options,
    ) -> anyhow::Result<Hub> {
        let Options {
            clock,
            tls,
            accept_date,
        } = options;
        let config = Arc::new(config);
        let engine = hub_engine::start(config.clone(), db, clock.clone(), accept_date)?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let mut app =
            hub_web::AppState::new(config.clone(), db, engine.clone(), shutdown_rx.clone());
        app.arm_presence_alerts();
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let addr = listener.local_addr()?;
        if let Some(pair) = engine.pair.clone() {
            start_pair(pair, &engine, &shutdown_rx).await;
        }
        let engine_gone = engine.stopped.clone();
        let health = engine.health.clone();
        let check_now = Arc::new(tokio::sync::Notify::new());
        tokio::spawn(integrity::run(
            engine.clone(),
            db.to_path_buf(),
            check_now.clone(),
            shutdown_rx.clone(),
        ));
        if let Some(shipper) = province::ship::Shipper::from_config(&config, db) {
            tracing::info!(centre = %shipper.centre.id, "shipping the event log to the province");
            let (report, shipping) = watch::channel(province::ship::Shipping::default());
            app.province = Some(shipping);
            let shipping = shipper.run(
                clock.clone(),
                shutdown_rx.clone(),
                report,
                Some(health.clone()),
                Some(engine.waits.clone()),
            );
            // Shipped exactly once: by whichever hub of a pair is the primary (the province
            // keeps what it has, so a new primary goes on from there).
            tokio::spawn(hub_engine::pair::while_primary(
                engine.pair.clone(),
                shipping,
            ));
        }
        if let Some(p) = config
            .province
            .as_ref()
            .filter(|p| !p.booking_keys.is_empty())
        {
            // Learned by the primary only, as it ships: the standby has them from its log.
            let learning = province::bookings::learn(
                province::Link::from(p),
                p.centre_id.clone(),
                engine.clone(),
                clock.clone(),
                shutdown_rx.clone(),
            );
            tokio::spawn(hub_engine::pair::while_primary(
                engine.pair.clone(),
                learning,
            ));
        }
        start_notices(&config, &engine).await?;
        tokio::spawn(service::watchdog(engine.clone()));
        tokio::spawn(hub_web::run_timer(engine, clock, shutdown_rx.clone()));
        let router = hub_web::router(app);
        let tls = tls.map(tokio_rustls::TlsAcceptor::from);
        let proxies = config.trusted_proxies.clone();
        let task = tokio::spawn(hub_web::serve(listener, router, tls, proxies, shutdown_rx));
        Ok(Hub {
            addr,
            shutdown: shutdown_tx,
            task,
            engine_gone,
            check_now,
            health,
        })
    }

    /// Stops accepting, closes every connection with "hub is stopping", and waits — also for
    /// the engine to close the database, so that the file may be replaced (a restore) at once.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.task.await??;
        let mut gone = self.engine_gone.clone();
        let closed = tokio::time::timeout(ENGINE_CLOSE_TIMEOUT, gone.wait_for(|g| *g)).await;
        if closed.is_err() {
            tracing::warn!("the engine has not closed the database yet");
        }
        Ok(())
    }

    /// Serves until the process gets SIGTERM or Ctrl-C — or the engine ends, which is an error:
    /// the connections are closed (screens show offline) and the process exits with failure so
    /// the service manager restarts it, rather than living on as a zombie that answers pings.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        let mut gone = self.engine_gone.clone();
        let engine_gone = async move { drop(gone.wait_for(|g| *g).await) };
        tokio::select! {
            _ = shutdown_signal() => {
                tracing::info!("shutting down");
                service::stopping();
                self.stop().await
            }
            _ = engine_gone => {
                tracing::error!("the engine stopped: closing connections and exiting");
                let _ = self.stop().await;
                anyhow::bail!("the engine stopped (see the log above); exiting so that the hub is restarted")
            }
        }
    }

    /// Checks the database for damage now instead of at the next scheduled time (`/healthz`
    /// shows the finding).
    pub fn check_database_now(&self) {
        self.check_now.notify_one();
    }

    /// What `/healthz` reports, as it changes.
    pub fn health(&self) -> watch::Receiver<hub_engine::Health> {
        self.health.clone()
    }

    /// Whether the engine thread has ended on its own.
    pub fn engine_stopped(&self) -> bool {
        *self.engine_gone.borrow()
    }
}

/// A pair's tasks: a primary asks its peer what it is before serving (a hub of a higher term
/// there means this one was replaced) and every few seconds after; a standby follows.
async fn start_pair(
    pair: Arc<hub_engine::pair::Pair>,
    engine: &hub_engine::EngineHandle,
    shutdown: &watch::Receiver<bool>,
) {
    if pair.standing().mode == hub_engine::pair::Mode::Primary {
        replication::standby::check_peer(&pair, &engine.requests).await;
    }
    tokio::spawn(replication::standby::watch_peer(
        pair.clone(),
        engine.requests.clone(),
        shutdown.clone(),
    ));
    // A standby's engine follows on its own thread (a primary's ignores this).
    let dial = Box::new(replication::standby::Dialer::new(pair));
    let _ = engine
        .requests
        .send(hub_engine::Request::FollowPrimary { dial })
        .await;
}

/// Resolves at SIGTERM (a service manager stopping us) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// What `--config` names: `demo` is the built-in demo centre (asked for by name, never a default),
/// anything else a TOML file.
pub fn load_config(arg: &Path) -> Result<Config, centre_config::ConfigError> {
    if arg == Path::new(DEMO_BY_NAME) {
        Config::demo()
    } else {
        Config::load(arg)
    }
}

/// The `--config` value that selects the demo centre (a file called so: `./demo`).
pub const DEMO_BY_NAME: &str = "demo";

/// Why the hub refuses to serve with what it was given.
#[derive(Debug, thiserror::Error)]
pub enum RefusedStart {
    #[error(
        "no database at {0}: give the path of this centre's database, or add --create-db to start a new one (only on a centre's very first start)"
    )]
    NoDatabase(std::path::PathBuf),
    #[error(
        "refusing to serve the public demo tokens (`demo-…`) on {0}, which is not a loopback address: anyone on that network could act as a kiosk, counter or admin. Give every device its own token in the configuration, or listen on 127.0.0.1"
    )]
    DemoTokensOnNetwork(SocketAddr),
}

/// The checks before serving: the database exists (or may be created), and demo tokens stay on
/// this machine.
pub fn check_start(
    config: &Config,
    db: &Path,
    create_db: bool,
    listen: SocketAddr,
) -> Result<(), RefusedStart> {
    if !create_db && !db.exists() {
        return Err(RefusedStart::NoDatabase(db.to_path_buf()));
    }
    if config.uses_demo_tokens() && !listen.ip().is_loopback() {
        return Err(RefusedStart::DemoTokensOnNetwork(listen));
    }
    Ok(())
}

/// The sender of "your turn is near" (`[notify.web_push]`, `[notify.sms]`), attached to the
/// engine: it reports each notice's end back as a request. Nothing to start when both are off.
async fn start_notices(config: &Config, engine: &hub_engine::EngineHandle) -> anyhow::Result<()> {
    let notify = &config.notify;
    if notify.web_push.is_none() && notify.sms.is_none() {
        return Ok(());
    }
    let sms = match &notify.sms {
        Some(gateway) => {
            let token = std::fs::read_to_string(&gateway.token_file).map_err(|e| {
                anyhow::anyhow!(
                    "[notify.sms] token_file {}: {e}",
                    gateway.token_file.display()
                )
            })?;
            Some(notices::SmsGateway {
                url: gateway.url.clone(),
                token: token.trim().to_string(),
            })
        }
        None => None,
    };
    let settings = notices::Settings {
        vapid: engine.vapid.clone(),
        contact: notify.contact.clone(),
        allow_insecure_endpoints: notify
            .web_push
            .as_ref()
            .is_some_and(|w| w.allow_insecure_endpoints),
        sms,
        first_retry: std::time::Duration::from_secs(1),
        client: notices::http::Client::new(),
        tokens: Default::default(),
    };
    let requests = engine.requests.clone();
    let notifier = notices::start(settings, move |report| {
        // A full engine queue drops the report: the notice's end goes unrecorded, and a
        // "near" not recorded may be sent again after a restart — never the queue delayed.
        let _ = requests.try_send(hub_engine::Request::Notified(report));
    });
    engine
        .requests
        .send(hub_engine::Request::AttachNotifier(notifier))
        .await
        .map_err(|_| anyhow::anyhow!("the engine stopped before the notices' sender started"))?;
    Ok(())
}
