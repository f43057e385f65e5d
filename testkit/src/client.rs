use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use hub::Hub;
use hub_client::{ClientConfig, CommandError, HubClient, Update};
use protocol::{EventBody, EventKind, Role, Snapshot, Ticket};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::WAIT;

/// A hub serving the demo centre on a free loopback port.
/// On the system clock, its service day starting far from now.
pub async fn start_hub(db: &Path) -> Hub {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    start_hub_with(crate::real_clock_config(), db, loopback).await
}

/// The same behind `port`, for a test that restarts the hub: clients connect to `port.addr`,
/// which stays bound while one hub stops and the next starts. Call `port.refuse()` before
/// stopping this one (its own port is free from then on, and another test may take it).
pub async fn start_hub_behind(db: &Path, port: &crate::StablePort) -> Hub {
    let hub = start_hub(db).await;
    port.forward_to(hub.addr);
    hub
}

/// A hub serving the demo centre on a free loopback port, on `clock` (its day starts at
/// midnight in Hà Nội: the test chooses the time).
pub async fn start_hub_on(clock: &std::sync::Arc<crate::ManualClock>, db: &Path) -> Hub {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    Hub::start_with_clock(crate::demo_config(), db, loopback, clock.clone())
        .await
        .expect("the hub starts")
}

/// A hub serving `config` at `addr`.
pub async fn start_hub_with(config: centre_config::Config, db: &Path, addr: SocketAddr) -> Hub {
    Hub::start(config, db, addr).await.expect("the hub starts")
}

pub fn url(addr: SocketAddr) -> String {
    format!("ws://{addr}/ws")
}

/// A connected protocol client and what it has received, for `async` tests.
pub struct Client {
    pub hub: HubClient,
    pub updates: UnboundedReceiver<Update>,
}

impl Client {
    /// Connects with the demo token and waits for the first snapshot.
    pub async fn connect(addr: SocketAddr, role: Role, device: &str) -> (Client, Snapshot) {
        let mut c = Client::connect_with_token(addr, role, device, &format!("demo-{device}"));
        let snap = c.snapshot().await;
        (c, snap)
    }

    pub fn connect_with_token(addr: SocketAddr, role: Role, device: &str, token: &str) -> Client {
        let mut cfg = ClientConfig::new(url(addr), role, device, token);
        // Back quickly after a restart: the tests are about correctness, not patience.
        cfg.backoff_min = Duration::from_millis(20);
        cfg.backoff_max = Duration::from_millis(200);
        let (hub, updates) = HubClient::connect(cfg);
        Client { hub, updates }
    }

    /// The screen facing the citizen at counter `n` (`pad-n` in the demo).
    pub async fn pad(addr: SocketAddr, n: u32) -> Client {
        Client::connect(addr, Role::CounterDisplay, &format!("pad-{n}"))
            .await
            .0
    }

    /// Finishes the clerk's ticket and has the citizen rate it `rating` on `pad` (with
    /// `reasons`, for a low one), as at a counter with a counter display; the ticket as rated.
    pub async fn finish_rated(&self, pad: &Client, rating: u8, reasons: &[&str]) -> Ticket {
        let done = ticket_of(
            &self
                .send(protocol::Command::Finish { rating: None })
                .await
                .expect("the clerk finishes"),
        );
        ticket_of(
            &pad.send(protocol::Command::Rate {
                ticket: protocol::TicketRef::Id(done.id),
                rating,
                reasons: reasons.iter().map(|r| r.to_string()).collect(),
            })
            .await
            .expect("the citizen rates"),
        )
    }

    /// Counter `n`'s PC with its clerk `nv0n` logged in (PIN 1234, as in the demo).
    pub async fn clerk(addr: SocketAddr, n: u32) -> Client {
        let (clerk, _) = Client::connect(addr, Role::Counter, &format!("counter-{n}")).await;
        clerk
            .send(protocol::Command::Login {
                counter: n,
                staff: format!("nv{n:02}"),
                pin: "1234".into(),
            })
            .await
            .expect("the clerk logs in");
        clerk
    }

    /// A clerk's client sees one ticket through: called, served, finished.
    pub async fn serve_one(&self) {
        self.send(protocol::Command::CallNext {})
            .await
            .expect("call");
        self.send(protocol::Command::StartServing {})
            .await
            .expect("serve");
        self.send(protocol::Command::Finish { rating: None })
            .await
            .expect("finish");
    }

    pub async fn next_update(&mut self) -> Update {
        tokio::time::timeout(WAIT, self.updates.recv())
            .await
            .expect("an update in time")
            .expect("client running")
    }

    /// Waits for the next full snapshot, skipping anything else.
    pub async fn snapshot(&mut self) -> Snapshot {
        loop {
            match self.next_update().await {
                Update::Snapshot { snapshot, .. } => return *snapshot,
                // A refusal repeats on every retry: waiting on would only hide it.
                Update::Refused { error } => panic!("the hub refused the client: {error:?}"),
                _ => {}
            }
        }
    }

    /// Waits for the next event of a kind; returns its seq and body.
    pub async fn event(&mut self, kind: EventKind) -> (u64, EventBody) {
        loop {
            if let Update::Event(f) = self.next_update().await
                && f.event.kind == kind
            {
                return (f.seq, f.event);
            }
        }
    }

    pub async fn send(
        &self,
        cmd: protocol::Command,
    ) -> Result<protocol::ReplyResult, CommandError> {
        tokio::time::timeout(WAIT, self.hub.send(cmd))
            .await
            .expect("reply in time")
    }
}

/// The ticket in a command's result.
pub fn ticket_of(result: &protocol::ReplyResult) -> Ticket {
    result.ticket().cloned().expect("result carries a ticket")
}

/// The status code and the whole response of `GET /healthz`.
pub async fn healthz(addr: SocketAddr) -> (u16, String) {
    crate::raw::get_whole(addr, "/healthz").await
}
