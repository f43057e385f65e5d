//! `cargo run --release`: the demo centre on this machine.
//!
//! Today this is the hub with the demo configuration and its database in `demo-data/`; the
//! kiosk, counter and display windows join it as their issues land.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let data = PathBuf::from("demo-data");
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let db = data.join("hub.db");
    let listen: SocketAddr = std::env::var("HUB_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:7878".into())
        .parse()
        .context("HUB_LISTEN must be HOST:PORT")?;
    let config = hub::config::Config::demo()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let hub = hub::Hub::start(config, &db, listen).await?;
        println!(
            "\nDemo centre running — Trung tâm Phục vụ hành chính công (demo)\n\
             \n  hub        ws://{addr}/ws   (health: http://{addr}/healthz)\
             \n  database   {db}\
             \n  devices    kiosk-1, kiosk-2, counter-1 … counter-8, display-1, display-2, admin\
             \n             token = \"demo-\" + device name (e.g. demo-kiosk-1)\
             \n  staff      nv01 … nv08, PIN 1234\
             \n\nCtrl-C stops everything.\n",
            addr = hub.addr,
            db = db.display()
        );
        hub.run_until_signal().await
    })
}
