use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use hub::Hub;
use hub_client::{ClientConfig, CommandError, HubClient, Update};
use protocol::{Command, Role};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::{ManualClock, StablePort, WAIT, demo_config, url};

/// A real hub serving the demo centre, driven from synchronous test code: the apps' UI tests and
/// the end-to-end tests run Slint on the test's thread and the hub on this runtime.
pub struct Centre {
    pub runtime: tokio::runtime::Runtime,
    hub: Option<Hub>,
    /// Where clients connect: kept bound across restarts (see [`StablePort`]), so that clients
    /// reconnect to the same address and no other test can take the port in between.
    pub addr: SocketAddr,
    port: StablePort,
    /// `None`: the system clock.
    pub clock: Option<Arc<ManualClock>>,
    /// The centre the hub serves.
    config: centre_config::Config,
    dir: tempfile::TempDir,
    /// Clients of the test itself (a kiosk issuing, a clerk calling), alive while held here.
    clients: Vec<(HubClient, UnboundedReceiver<Update>)>,
    kiosk: Option<usize>,
}

impl Centre {
    /// A hub on the system clock.
    pub fn new() -> Centre {
        Centre::start(None, crate::real_clock_config())
    }

    /// A hub on the system clock serving `config` (from [`crate::real_clock_config`], changed).
    pub fn with_config(config: centre_config::Config) -> Centre {
        Centre::start(None, config)
    }

    /// A hub on a manual clock starting at `at`.
    pub fn with_clock(at: DateTime<Utc>) -> Centre {
        Centre::start(Some(Arc::new(ManualClock::new(at))), demo_config())
    }

    fn start(clock: Option<Arc<ManualClock>>, config: centre_config::Config) -> Centre {
        let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
        let port = runtime.block_on(StablePort::open());
        let mut centre = Centre {
            runtime,
            hub: None,
            addr: port.addr,
            port,
            clock,
            config,
            dir: tempfile::tempdir().expect("a temporary folder"),
            clients: vec![],
            kiosk: None,
        };
        centre.start_hub();
        centre
    }

    /// The test's own folder (the database, printer files, tickets).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("hub.db")
    }

    pub fn url(&self) -> String {
        url(self.addr)
    }

    pub fn runtime(&self) -> tokio::runtime::Handle {
        self.runtime.handle().clone()
    }

    /// The manual clock (panics for a centre on the system clock: a mistake in the test).
    pub fn clock(&self) -> &ManualClock {
        self.clock
            .as_deref()
            .expect("this centre was made with_clock")
    }

    pub fn start_hub(&mut self) {
        let db = self.db();
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let config = self.config.clone();
        let started = match &self.clock {
            Some(clock) => {
                self.runtime
                    .block_on(Hub::start_with_clock(config, &db, loopback, clock.clone()))
            }
            None => self.runtime.block_on(Hub::start(config, &db, loopback)),
        };
        let hub = started.expect("the hub starts");
        self.port.forward_to(hub.addr);
        self.hub = Some(hub);
    }

    pub fn stop_hub(&mut self) {
        self.port.refuse();
        if let Some(hub) = self.hub.take() {
            self.runtime.block_on(hub.stop()).expect("the hub stops");
        }
    }

    pub fn restart_hub(&mut self) {
        self.stop_hub();
        self.start_hub();
    }

    /// A protocol client with the demo token; returns its index for [`Centre::send`].
    pub fn client(&mut self, role: Role, device: &str) -> usize {
        let _inside = self.runtime.enter();
        self.clients.push(HubClient::connect(ClientConfig::new(
            self.url(),
            role,
            device,
            format!("demo-{device}"),
        )));
        self.clients.len() - 1
    }

    /// Sends a command from one of the test's clients and waits for the answer.
    pub fn try_send(
        &self,
        client: usize,
        cmd: Command,
    ) -> Result<protocol::ReplyResult, CommandError> {
        let c = &self.clients[client].0;
        self.runtime
            .block_on(async { tokio::time::timeout(WAIT, c.send(cmd)).await })
            .expect("an answer in time")
    }

    /// Sends a command the hub must accept.
    pub fn send(&self, client: usize, cmd: Command) -> protocol::ReplyResult {
        let name = cmd.name();
        self.try_send(client, cmd)
            .unwrap_or_else(|e| panic!("{name} refused: {e}"))
    }

    /// A clerk (`nvNN`, PIN 1234) logged in at `counter` from `counter-N`.
    pub fn clerk(&mut self, counter: u32) -> usize {
        let c = self.client(Role::Counter, &format!("counter-{counter}"));
        self.send(
            c,
            Command::Login {
                counter,
                staff: format!("nv{counter:02}"),
                pin: "1234".into(),
            },
        );
        c
    }

    /// Issues a ticket from the test's own kiosk (`kiosk-2`) and returns its number.
    pub fn issue(&mut self, service: &str, priority: Option<&str>) -> String {
        let kiosk = match self.kiosk {
            Some(k) => k,
            None => {
                let k = self.client(Role::Kiosk, "kiosk-2");
                self.kiosk = Some(k);
                k
            }
        };
        let result = self.send(
            kiosk,
            Command::IssueTicket {
                service: service.into(),
                priority: priority.map(str::to_string),
                phone: None,
            },
        );
        result
            .ticket()
            .expect("the result carries the ticket")
            .number
            .clone()
    }
}

impl Default for Centre {
    fn default() -> Centre {
        Centre::new()
    }
}
