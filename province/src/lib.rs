//! The province: every centre's event log in one PostgreSQL, and the province's report.
//!
//! - [`schema`]: the central schema, from the versioned SQL files in `province/sql/`.
//! - [`ship`]: store-and-forward of a hub's event log (`[province]` in its configuration, or
//!   `hub ship`).
//! - [`bookings`]: the hub's half of booking any centre at the province's door: its slots
//!   published with the province's share, the bookings made there learned.
//! - [`figures`]: `hub report --province`, the figures computed by PostgreSQL.
//!
//! docs/PROVINCE.md is the operator's page.

pub mod bookings;
pub mod figures;
pub mod schema;
pub mod ship;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::Client;

/// Debian's bundle of the certificate authorities the system trusts, used when no `ca_file` is
/// given.
const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";
/// How long a connection attempt may take before the link counts as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// TCP keep-alive: a link that died silently (a cut cable, a NAT that forgot us) is noticed
/// within about a minute instead of two hours.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ProvinceError {
    #[error("the province's database address: {0}")]
    Address(String),
    #[error("the province's password file {path}: {reason}")]
    PasswordFile { path: String, reason: String },
    // The causes are in the messages, not chained as sources: `anyhow` would print them twice.
    #[error("the province's CA certificate: {0}")]
    Tls(hub_client::tls::TlsError),
    #[error("the province's database: {}", with_causes(.0))]
    Postgres(tokio_postgres::Error),
    #[error("the province's database did not answer within {0:?}")]
    Timeout(Duration),
    #[error(
        "the province's database has schema version {found}; this hub knows up to {known}: update this hub"
    )]
    SchemaTooNew { found: i32, known: i32 },
    #[error(
        "the province's database has no Hàng đợi schema yet: a centre's shipper creates it (or apply /usr/share/hang-doi-hub/province/*.sql with psql)"
    )]
    NoSchema,
    #[error("{0}")]
    Local(String),
    #[error("{0}")]
    Diverged(String),
}

impl ProvinceError {
    /// What went wrong in a few words, for `/healthz`: anyone on the lobby's network may read
    /// that, so no address, role name or server message — those are in the hub's log.
    pub fn kind(&self) -> &'static str {
        match self {
            ProvinceError::Address(_) | ProvinceError::PasswordFile { .. } => {
                "the [province] settings cannot be used"
            }
            ProvinceError::Tls(_) => "the province's CA certificate cannot be used",
            ProvinceError::Postgres(e) if e.as_db_error().is_some() => {
                "the province's database refuses"
            }
            ProvinceError::Postgres(_) | ProvinceError::Timeout(_) => {
                "the province's database cannot be reached"
            }
            ProvinceError::SchemaTooNew { .. } => "the province's schema is newer than this hub",
            ProvinceError::NoSchema => "the province's database has no schema",
            ProvinceError::Local(_) => "this centre's database cannot be read",
            ProvinceError::Diverged(_) => {
                "this centre's log differs from the province's (a restored backup?)"
            }
        }
    }
}

/// An error and what caused it, on one line ("error performing TLS handshake: invalid peer
/// certificate: UnknownIssuer").
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

impl From<tokio_postgres::Error> for ProvinceError {
    fn from(e: tokio_postgres::Error) -> ProvinceError {
        ProvinceError::Postgres(e)
    }
}

impl From<hub_client::tls::TlsError> for ProvinceError {
    fn from(e: hub_client::tls::TlsError) -> ProvinceError {
        ProvinceError::Tls(e)
    }
}

/// How to reach the province's database.
#[derive(Debug, Clone)]
pub struct Link {
    /// A libpq connection string or `postgresql://` URL (its password, if any, is used too:
    /// handy on the command line of a one-off report; the hub's configuration refuses one).
    pub database: String,
    pub password_file: Option<std::path::PathBuf>,
    pub ca_file: Option<std::path::PathBuf>,
}

impl Link {
    pub fn new(database: impl Into<String>) -> Link {
        Link {
            database: database.into(),
            password_file: None,
            ca_file: None,
        }
    }

    /// Connects; the connection is driven by a task of its own, which ends with the client.
    pub async fn connect(&self) -> Result<Client, ProvinceError> {
        self.connect_as("hang-doi-hub").await
    }

    /// The connection's settings and TLS, for a client of its own or a pool's: the address,
    /// the password file, a connect timeout and keep-alives, `name` as the application.
    pub fn config(
        &self,
        name: &str,
    ) -> Result<
        (
            tokio_postgres::Config,
            tokio_postgres_rustls::MakeRustlsConnect,
        ),
        ProvinceError,
    > {
        let mut config: tokio_postgres::Config =
            self.database.parse().map_err(|e: tokio_postgres::Error| {
                ProvinceError::Address(format!(
                    "{e}: give a postgresql://user@host/database URL, or a libpq string such as \
                     \"host=db.province.example dbname=hang_doi user=centre_a\""
                ))
            })?;
        if let Some(path) = &self.password_file {
            config.password(read_password(path)?);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.keepalives_idle(KEEPALIVE_IDLE);
        if config.get_application_name().is_none() {
            config.application_name(name);
        }
        let tls = match &self.ca_file {
            Some(ca) => hub_client::tls::trusting_ca(ca)?,
            None if Path::new(SYSTEM_CAS).is_file() => {
                hub_client::tls::trusting_ca(Path::new(SYSTEM_CAS))?
            }
            None => Arc::new(
                rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .map_err(|e| ProvinceError::Tls(e.into()))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
            ),
        };
        Ok((
            config,
            tokio_postgres_rustls::MakeRustlsConnect::new((*tls).clone()),
        ))
    }

    /// Connects under a name the province's administrator sees in `pg_stat_activity` (unless
    /// the connection string names one).
    pub async fn connect_as(&self, name: &str) -> Result<Client, ProvinceError> {
        let (config, tls) = self.config(name)?;
        let connecting = config.connect(tls);
        let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT * 2, connecting)
            .await
            .map_err(|_| ProvinceError::Timeout(CONNECT_TIMEOUT * 2))??;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "the province's connection ended");
            }
        });
        Ok(client)
    }
}

/// How the province keeps a ticket's tracking code: its SHA-256, in hex. The codes are random
/// (about 119 bits), so the hash cannot be walked back; the door hashes the code a phone shows.
pub fn track_hash(track: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, track.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn read_password(path: &Path) -> Result<String, ProvinceError> {
    let text = std::fs::read_to_string(path).map_err(|e| ProvinceError::PasswordFile {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let password = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if password.is_empty() {
        return Err(ProvinceError::PasswordFile {
            path: path.display().to_string(),
            reason: "its first line is empty".into(),
        });
    }
    Ok(password.to_string())
}

impl From<&centre_config::Province> for Link {
    fn from(p: &centre_config::Province) -> Link {
        Link {
            database: p.database.clone(),
            password_file: p.password_file.clone(),
            ca_file: p.ca_file.clone(),
        }
    }
}
