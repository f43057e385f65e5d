//! `hub doctor`: every finding printed; fails when something must be fixed.

use std::net::SocketAddr;
use std::path::PathBuf;

use hub::doctor::{INSTALLED_CONFIG, INSTALLED_DB, INSTALLED_KIOSK_CONFIG, Setup, Verdict};

#[derive(clap::Args)]
pub struct Args {
    /// Centre configuration (default: the installed /etc/hang-doi/centre.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The SQLite database (default: the installed /var/lib/hang-doi/hub.db).
    #[arg(long)]
    db: Option<PathBuf>,
    /// The address the hub serves on (its port is tried).
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// A kiosk's settings on this machine, whose printer is tried (default: the installed
    /// /etc/hang-doi/kiosk.toml when it exists).
    #[arg(long)]
    kiosk_config: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let installed_kiosk = PathBuf::from(INSTALLED_KIOSK_CONFIG);
    // The doctor's business is what is missing: the installed paths are examined even when
    // they do not exist.
    let setup = Setup {
        config: args.config.unwrap_or(INSTALLED_CONFIG.into()),
        db: args.db.unwrap_or(INSTALLED_DB.into()),
        listen: args.listen,
        kiosk_config: args
            .kiosk_config
            .or(installed_kiosk.exists().then_some(installed_kiosk)),
    };
    println!(
        "hub doctor — {} · {}\n",
        setup.config.display(),
        setup.db.display()
    );
    let findings = hub::doctor::examine(&setup);
    // A blank line between findings: each is said in Vietnamese, then in English.
    for f in &findings {
        println!("{f}\n");
    }
    let to_fix = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Fix)
        .count();
    anyhow::ensure!(
        to_fix == 0,
        "{to_fix} điều cần sửa (FIX ở trên) · {to_fix} thing(s) to fix (FIX above)"
    );
    println!("không có gì cần sửa · nothing to fix");
    Ok(())
}
