//! `hub promote`: this machine's standby hub becomes the primary, in a new term.

use anyhow::Context;

use super::common::{Installed, runtime};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    installed: Installed,
    /// This machine's hub (the standby), as it listens.
    #[arg(long, default_value = "ws://127.0.0.1:7878")]
    hub: String,
    /// Promote although the standby is behind what the primary last said: tickets the old
    /// primary issued since may be issued again. Only when the old primary's disk is lost.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = args.installed.config()?;
    let replication = config.replication.context(
        "the configuration has no [replication]: this hub has no pair to take over from",
    )?;
    let pair = hub_engine::pair::Pair::new(
        replication,
        hub_engine::pair::Standing {
            mode: hub_engine::pair::Mode::Standby,
            term: 0,
        },
    )?;
    let url = format!("{}/replicate", args.hub.trim_end_matches('/'));
    let runtime = runtime()?;
    // Two primaries at once is what promotion must never make: the old one must be gone.
    if let Ok((hub_engine::pair::Mode::Primary, term, seq)) =
        runtime.block_on(replication::standby::ask(&pair))
        && !args.force
    {
        anyhow::bail!(
            "not promoted: the primary at {} still serves (term {term}, event {seq}). \
             Stop it first (systemctl stop hang-doi-hub there, or unplug its network cable), then promote",
            pair.config.peer
        );
    }
    let promoted = runtime.block_on(replication::standby::request_promotion(
        &url,
        &pair.token,
        pair.tls.clone(),
        args.force,
    ));
    match promoted {
        Ok((term, seq)) => {
            println!(
                "Đã chuyển thành máy chủ chính (nhiệm kỳ {term}, sự kiện {seq}). \
                 Các máy kiosk, quầy và màn hình sẽ tự kết nối lại.\n\
                 Promoted: this hub is the primary now (term {term}, event {seq}). \
                 Kiosks, counters and boards move to it by themselves."
            );
            Ok(())
        }
        Err(why) => anyhow::bail!("not promoted: {why}"),
    }
}
