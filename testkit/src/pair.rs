//! Two hub processes as a centre's pair of PCs: a primary and its standby, each reached through
//! a [`StablePort`] (so that each hub's configuration can name the other's address before
//! either has started, and a killed hub's address stays the same for its successor).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{HubProcess, StablePort};

/// The pair's shared secret in the tests.
pub const PAIR_SECRET: &str = "test-pair-secret-0123456789";

/// Two kiosks more than the demo's: a burst from four kiosks.
const KIOSKS: &str = "[[device]]\nid = \"kiosk-3\"\nrole = \"kiosk\"\ntoken = \"demo-kiosk-3\"\n\n\
[[device]]\nid = \"kiosk-4\"\nrole = \"kiosk\"\ntoken = \"demo-kiosk-4\"\n";

/// One PC of the pair: its database, its configuration, its address, and its hub when running.
pub struct PairMember {
    pub db: PathBuf,
    pub config: PathBuf,
    pub port: StablePort,
    pub hub: Option<HubProcess>,
}

impl PairMember {
    /// `ws://ADDR/ws` of this PC, as clients list it.
    pub fn ws(&self) -> String {
        format!("ws://{}/ws", self.port.addr)
    }

    /// Starts this PC's hub (its database made if missing) and points its address at it.
    pub fn start(&mut self, exe: &Path) {
        let hub = HubProcess::spawn(
            exe,
            &[
                "--config",
                &self.config.display().to_string(),
                "--db",
                &self.db.display().to_string(),
                "--create-db",
                "--listen",
                "127.0.0.1:0",
            ],
        );
        self.port.forward_to(hub.addr);
        self.hub = Some(hub);
    }

    /// The running hub.
    pub fn hub(&self) -> &HubProcess {
        self.hub.as_ref().expect("this PC's hub runs")
    }

    /// Kills the hub as a power cut would; its address refuses from now on.
    pub fn kill(&mut self) {
        self.port.refuse();
        if let Some(hub) = self.hub.take() {
            hub.kill();
        }
    }

    /// The hub's `/healthz` as JSON (whatever its status code).
    pub async fn health(&self) -> serde_json::Value {
        let (_, response) = crate::raw::get_whole(self.hub().addr, "/healthz").await;
        let health = crate::raw::json_body(&response);
        assert!(
            health.as_object().is_some_and(|o| !o.is_empty()),
            "health JSON: {response}"
        );
        health
    }

    /// Waits until its `/healthz` satisfies `ok` (at most [`crate::WAIT`] × 2).
    pub async fn wait_health(
        &self,
        what: &str,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + crate::WAIT * 2;
        let mut changes = tokio::time::interval(Duration::from_millis(20));
        loop {
            let health = self.health().await;
            if ok(&health) {
                return health;
            }
            assert!(Instant::now() < deadline, "{what}: {health:#}");
            changes.tick().await;
        }
    }
}

/// A primary (`a`) and its standby (`b`), not started yet.
pub struct HubPair {
    pub a: PairMember,
    pub b: PairMember,
}

impl HubPair {
    /// Writes both configurations (the demo centre on the system clock, its day far from now)
    /// with `[replication]` naming the other's address, and makes `b`'s database a standby's.
    pub async fn new(dir: &Path, exe: &str, sync_timeout_ms: u64) -> HubPair {
        let base = std::fs::read_to_string(crate::real_clock_config_file(dir)).expect("demo toml");
        HubPair::from_base(dir, exe, sync_timeout_ms, base).await
    }

    /// The same from a configuration of the caller's (the demo centre's limits widened, two
    /// kiosks and `[replication]` added).
    pub async fn from_base(dir: &Path, exe: &str, sync_timeout_ms: u64, base: String) -> HubPair {
        let secret = dir.join("pair.secret");
        std::fs::write(&secret, format!("{PAIR_SECRET}\n")).expect("the secret is written");
        // A day's worth of presses from one kiosk within a test.
        let base = base.replacen(
            "burst = 500\nper_second = 200",
            "burst = 5000\nper_second = 5000",
            1,
        );
        assert!(base.contains("burst = 5000"), "the demo's [limits] moved");
        // And more than a catch-up message's replies: each field may give all its numbers.
        let base = ["400", "200", "100"].iter().fold(base, |text, limit| {
            text.replace(&format!("daily_limit = {limit}\n"), "daily_limit = 999\n")
        });
        let (port_a, port_b) = (StablePort::open().await, StablePort::open().await);
        let config = |name: &str, peer: &StablePort| {
            let path = dir.join(format!("{name}.toml"));
            let text = format!(
                "{base}\n{KIOSKS}\n[replication]\npeer = \"ws://{}\"\ntoken_file = \"{}\"\nsync_timeout_ms = {sync_timeout_ms}\n",
                peer.addr,
                secret.display()
            );
            std::fs::write(&path, text).expect("the configuration is written");
            path
        };
        let a = PairMember {
            db: dir.join("a.db"),
            config: config("a", &port_b),
            port: port_a,
            hub: None,
        };
        let b = PairMember {
            db: dir.join("b.db"),
            config: config("b", &a.port),
            port: port_b,
            hub: None,
        };
        crate::hub_cli_ok(
            exe,
            &[
                "standby",
                "--config",
                &b.config.display().to_string(),
                "--db",
                &b.db.display().to_string(),
            ],
        );
        HubPair { a, b }
    }

    /// The same, both hubs started, once the primary's answers wait for its standby.
    pub async fn in_step(dir: &Path, exe: &str, sync_timeout_ms: u64) -> HubPair {
        let mut pair = HubPair::new(dir, exe, sync_timeout_ms).await;
        pair.start_in_step(exe).await;
        pair
    }

    /// Starts both hubs and waits until the primary's answers wait for its standby.
    pub async fn start_in_step(&mut self, exe: &str) {
        self.a.start(Path::new(exe));
        self.b.start(Path::new(exe));
        self.a.wait_health("the standby in step", in_sync).await;
    }

    /// Both client addresses, as a kiosk's `--hub` lists them.
    pub fn hub_list(&self) -> String {
        format!("{},{}", self.a.ws(), self.b.ws())
    }
}

/// Whether a primary's health says its standby is in step (every answer waits for it).
pub fn in_sync(health: &serde_json::Value) -> bool {
    health["replication"]["standby"]["sync"] == true
}
