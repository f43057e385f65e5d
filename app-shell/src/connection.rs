use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use hub_client::{ClientConfig, HubClient, Update};
use protocol::Role;

use crate::Inbox;

/// Where a device's token may come from instead of the command line (which `ps` shows).
pub const TOKEN_ENV: &str = "HANG_DOI_TOKEN";

/// The flags every app takes to reach the hub.
#[derive(clap::Args, Debug, Clone)]
pub struct HubArgs {
    /// A TOML file of this app's flags (keys are the flags' names: `hub`, `device`,
    /// `token_file`, …), e.g. /etc/hang-doi/kiosk.toml. Flags given here win over it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The hub's WebSocket address; with two hub PCs, both, separated by a comma
    /// (`ws://192.168.1.10:7878/ws,ws://192.168.1.11:7878/ws`): the app uses the one that serves.
    #[arg(long, default_value = "ws://127.0.0.1:7878/ws")]
    pub hub: String,
    /// This device's id in the hub's configuration (default: the app's first demo device).
    #[arg(long)]
    pub device: Option<String>,
    /// The device's token. Better kept out of the command line: `--token-file`, or the
    /// environment variable HANG_DOI_TOKEN. Default: the demo token `demo-<device>`.
    #[arg(long, env = TOKEN_ENV, hide_env_values = true)]
    pub token: Option<String>,
    /// A file holding the device's token (its first line).
    #[arg(long, conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// For a wss:// hub: the centre's certificate authority (PEM file).
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// For a wss:// hub: trust exactly the certificate with this SHA-256 (hex).
    #[arg(long, conflicts_with = "tls_ca")]
    pub tls_pin: Option<String>,
}

/// A device's way to the hub.
#[derive(Debug, Clone)]
pub struct Connection {
    pub url: String,
    pub device: String,
    pub token: String,
    /// Whom to trust on a `wss://` hub.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl HubArgs {
    /// The connection these flags describe; `default_device` when `--device` is not given.
    pub fn connection(&self, default_device: &str) -> anyhow::Result<Connection> {
        let device = self.device.as_deref().unwrap_or(default_device).to_string();
        let token = match (&self.token_file, &self.token) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the token file {}", path.display()))?;
                let token = text.lines().next().unwrap_or_default().trim().to_string();
                anyhow::ensure!(
                    !token.is_empty(),
                    "the token file {} is empty",
                    path.display()
                );
                token
            }
            (None, Some(token)) => token.clone(),
            (None, None) => format!("demo-{device}"),
        };
        let tls = hub_client::tls::trusting(self.tls_ca.as_deref(), self.tls_pin.as_deref())?;
        Ok(Connection {
            url: self.hub.clone(),
            device,
            token,
            tls,
        })
    }
}

impl Connection {
    /// A demo device (token `demo-<device>`), as the demo launcher and the tests connect.
    pub fn demo(url: impl Into<String>, device: &str) -> Connection {
        Connection {
            url: url.into(),
            device: device.to_string(),
            token: format!("demo-{device}"),
            tls: None,
        }
    }
}

/// Connects as `role` on `runtime` and forwards every update into `inbox`. `light`: the app
/// needs no list of waiting tickets (kiosks and boards show counts only).
pub fn connect<M: From<Update> + Send + 'static>(
    connection: &Connection,
    role: Role,
    light: bool,
    runtime: &tokio::runtime::Handle,
    inbox: &Inbox<M>,
) -> HubClient {
    let mut config =
        ClientConfig::new(&connection.url, role, &connection.device, &connection.token);
    config.light = light;
    config.tls = connection.tls.clone();
    let (client, mut updates) = {
        let _inside = runtime.enter();
        HubClient::connect(config)
    };
    let forward = inbox.sender();
    runtime.spawn(async move {
        while let Some(u) = updates.recv().await {
            if forward.send(M::from(u)).is_err() {
                break;
            }
        }
    });
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(token: Option<&str>, token_file: Option<PathBuf>) -> HubArgs {
        HubArgs {
            config: None,
            hub: "ws://hub:7878/ws".into(),
            device: None,
            token: token.map(str::to_string),
            token_file,
            tls_ca: None,
            tls_pin: None,
        }
    }

    #[test]
    fn the_token_comes_from_a_file_a_flag_or_the_demo() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("token");
        std::fs::write(&file, "s3cret-token\n").expect("write");
        let c = args(None, Some(file)).connection("kiosk-1").expect("file");
        assert_eq!(
            (c.url.as_str(), c.device.as_str(), c.token.as_str()),
            ("ws://hub:7878/ws", "kiosk-1", "s3cret-token")
        );
        assert!(c.tls.is_none());
        let c = args(Some("flag-token"), None)
            .connection("kiosk-1")
            .expect("flag");
        assert_eq!(c.token, "flag-token");
        assert_eq!(
            args(None, None).connection("board-2").expect("demo").token,
            "demo-board-2"
        );
    }

    #[test]
    fn a_missing_or_empty_token_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tmp");
        let missing = args(None, Some(dir.path().join("nope"))).connection("k");
        assert!(format!("{:#}", missing.expect_err("missing")).contains("nope"));
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").expect("write");
        let e = args(None, Some(empty)).connection("k").expect_err("empty");
        assert!(e.to_string().contains("empty"), "{e}");
    }
}
