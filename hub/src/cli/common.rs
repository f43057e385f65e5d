//! What the subcommands share: where an installed machine keeps things, the province's link,
//! the runtime, the output format.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Where a read-only subcommand finds the centre: what was given, or what is installed.
#[derive(clap::Args)]
pub struct Installed {
    /// Centre configuration (TOML), or `demo` (default: the installed
    /// /etc/hang-doi/centre.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The SQLite database (default: the installed /var/lib/hang-doi/hub.db).
    #[arg(long)]
    db: Option<PathBuf>,
}

impl Installed {
    pub fn config_path(&self) -> anyhow::Result<PathBuf> {
        given_or_installed(
            &self.config,
            hub::doctor::INSTALLED_CONFIG,
            "which centre? Give --config FILE (the centre's TOML), or --config demo",
        )
    }

    pub fn config(&self) -> anyhow::Result<centre_config::Config> {
        Ok(hub::load_config(&self.config_path()?)?)
    }

    pub fn db(&self) -> anyhow::Result<PathBuf> {
        given_or_installed(
            &self.db,
            hub::doctor::INSTALLED_DB,
            "which database? Give --db FILE (the centre's database)",
        )
    }
}

pub fn given_or_installed(
    given: &Option<PathBuf>,
    installed: &str,
    ask: &str,
) -> anyhow::Result<PathBuf> {
    match given {
        Some(path) => Ok(path.clone()),
        None if Path::new(installed).exists() => Ok(PathBuf::from(installed)),
        None => anyhow::bail!("{ask}; nothing is installed at {installed}"),
    }
}

/// The province's database as the command line names it.
#[derive(clap::Args)]
pub struct ProvinceLink {
    /// A file whose first line is the password.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// The CA certificate (PEM) the province's server is signed by.
    #[arg(long)]
    ca_file: Option<PathBuf>,
}

impl ProvinceLink {
    pub fn to(&self, database: &str) -> province::Link {
        province::Link {
            database: database.to_string(),
            password_file: self.password_file.clone(),
            ca_file: self.ca_file.clone(),
        }
    }
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("starting the runtime")
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
}
