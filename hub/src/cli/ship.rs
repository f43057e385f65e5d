//! `hub ship`: everything now, or (with --follow) on and on.

use std::sync::Arc;

use anyhow::Context;
use hub_engine::clock::SystemClock;

use super::common::{Installed, runtime};

#[derive(clap::Args)]
pub struct Args {
    /// Keep shipping new events as they come, like the hub's own shipper.
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    installed: Installed,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = args.installed.config()?;
    let db = args.installed.db()?;
    let shipper = province::ship::Shipper::from_config(&config, &db).context(
        "this configuration ships nowhere: add a [province] section and [center] id (docs/PROVINCE.md)",
    )?;
    // Read-only, at this hub's schema: a file a serving hub may hold is never migrated here
    // (an older one is refused, with what to do).
    drop(ledger::Reader::open(&db)?);
    runtime()?.block_on(async {
        if args.follow {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let (report, _) = tokio::sync::watch::channel(Default::default());
            let task = tokio::spawn(shipper.run(
                Arc::new(SystemClock::new()),
                stopped,
                report,
                None,
                None,
            ));
            hub::shutdown_signal().await;
            let _ = stop.send(true);
            let _ = task.await;
            return Ok(());
        }
        let mut client = shipper.connect().await?;
        let progress = shipper.ship_all(&mut client).await?;
        println!(
            "{}: {} events sent; the province has every event up to {}",
            shipper.centre.id, progress.sent, progress.shipped
        );
        Ok(())
    })
}
