//! `hub backup DIR`.

use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Where the copies go (e.g. a USB stick's mount point).
    dir: PathBuf,
    /// How many copies to keep in DIR (older `hub-*.db` copies are deleted).
    #[arg(long, default_value_t = 14)]
    keep: usize,
    /// The SQLite database (default: the installed /var/lib/hang-doi/hub.db).
    #[arg(long)]
    db: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let db = super::common::given_or_installed(
        &args.db,
        hub::doctor::INSTALLED_DB,
        "which database? Give --db FILE (the centre's database)",
    )?;
    // Of a pair of hub PCs, the primary backs up (the timer runs on both): once, not twice.
    if db.exists()
        && let Some(role) = ledger::Reader::open(&db)?.role()?
    {
        println!(
            "{}: this hub is a {role}, not the primary: the primary makes the backups",
            db.display()
        );
        return Ok(());
    }
    let made = hub::backup::run(&db, &args.dir, args.keep)?;
    println!(
        "{}: {} events, last on service day {} — checked",
        made.path.display(),
        made.last_seq,
        made.last_day.map_or("-".to_string(), |d| d.to_string())
    );
    Ok(())
}
