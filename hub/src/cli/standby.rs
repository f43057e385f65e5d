//! `hub standby`: makes this machine's database a standby's — a new one, or (`--resync`) the
//! old primary's, kept aside, replaced by an empty one that the primary fills.

use std::path::{Path, PathBuf};

use anyhow::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Centre configuration (TOML): it must have [replication] naming the primary.
    #[arg(long)]
    config: PathBuf,
    /// The SQLite database of this machine's hub (stop the hub first).
    #[arg(long)]
    db: PathBuf,
    /// This database holds a log of its own (an old primary's): keep it aside as
    /// `DB.replaced-TIME` and start an empty one, which the primary fills from its first event.
    #[arg(long)]
    resync: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = hub::load_config(&args.config)?;
    let replication = config.replication.context(
        "the configuration has no [replication]: add one naming the primary (peer) and the pair's secret (token_file)",
    )?;
    if args.db.exists() {
        let (seq, role) = {
            let reader = ledger::Reader::open(&args.db)
                .with_context(|| format!("reading {}", args.db.display()))?;
            (reader.last_seq()?, reader.role()?)
        };
        let standby = role.as_deref() == Some("standby");
        if args.resync {
            let aside = set_aside(&args.db)?;
            println!(
                "{} ({seq} events) kept aside as {}",
                args.db.display(),
                aside.display()
            );
        } else if seq > 0 && !standby {
            anyhow::bail!(
                "{} holds {seq} events of its own (a primary's, or a replaced one's): to make this PC the standby, \
                 stop its hub and run this again with --resync (the file is kept aside, not deleted)",
                args.db.display()
            );
        }
    }
    let writer = ledger::Writer::open(&args.db)
        .with_context(|| format!("creating {}", args.db.display()))?;
    writer.set_role(hub_engine::pair::Mode::Standby.stored())?;
    println!(
        "{} là cơ sở dữ liệu của máy chủ dự phòng; khởi động lại dịch vụ để theo máy chủ chính {}.\n\
         {} is a standby's database now: (re)start the hub and it follows the primary at {}.",
        args.db.display(),
        replication.peer,
        args.db.display(),
        replication.peer
    );
    Ok(())
}

/// Renames the database (and its WAL and shared-memory files) aside; returns its new name.
fn set_aside(db: &Path) -> anyhow::Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let aside = PathBuf::from(format!("{}.replaced-{stamp}", db.display()));
    for suffix in ["-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", db.display()));
        if from.exists() {
            std::fs::rename(&from, format!("{}{suffix}", aside.display()))
                .with_context(|| format!("moving {} aside", from.display()))?;
        }
    }
    std::fs::rename(db, &aside).with_context(|| format!("moving {} aside", db.display()))?;
    Ok(aside)
}
