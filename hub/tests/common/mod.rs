//! Helpers for tests that drive a real hub through the protocol crate.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use hub::Hub;
use hub::config::Config;
use protocol::{ClientConfig, EventKind, HubClient, Role, Snapshot, Update};
use tokio::sync::mpsc::UnboundedReceiver;

pub const WAIT: Duration = Duration::from_secs(10);

pub async fn start_hub(db: &Path) -> Hub {
    start_hub_at(db, "127.0.0.1:0".parse().expect("addr")).await
}

pub async fn start_hub_at(db: &Path, addr: SocketAddr) -> Hub {
    Hub::start(Config::demo().expect("demo config"), db, addr)
        .await
        .expect("hub starts")
}

pub fn url(addr: SocketAddr) -> String {
    format!("ws://{addr}/ws")
}

/// A connected client and what it has received.
pub struct Client {
    pub hub: HubClient,
    pub updates: UnboundedReceiver<Update>,
}

impl Client {
    pub async fn connect(addr: SocketAddr, role: Role, device: &str) -> (Client, Snapshot) {
        let mut c = Client::connect_with_token(addr, role, device, &format!("demo-{device}"));
        let snap = c.snapshot().await;
        (c, snap)
    }

    pub fn connect_with_token(addr: SocketAddr, role: Role, device: &str, token: &str) -> Client {
        let mut cfg = ClientConfig::new(url(addr), role, device, token);
        cfg.backoff_min = Duration::from_millis(20);
        cfg.backoff_max = Duration::from_millis(200);
        let (hub, updates) = HubClient::connect(cfg);
        Client { hub, updates }
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
            if let Update::Snapshot { snapshot, .. } = self.next_update().await {
                return *snapshot;
            }
        }
    }

    /// Waits for the next event of a kind; returns its seq and body.
    pub async fn event(&mut self, kind: EventKind) -> (u64, protocol::EventBody) {
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
    ) -> Result<serde_json::Value, protocol::CommandError> {
        tokio::time::timeout(WAIT, self.hub.send(cmd))
            .await
            .expect("reply in time")
    }
}

pub fn ticket_of(result: &serde_json::Value) -> protocol::Ticket {
    serde_json::from_value(result["ticket"].clone()).expect("result carries a ticket")
}
