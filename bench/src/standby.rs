//! What a standby hub costs: the issue round trip and sustained tickets/s against a primary
//! whose every answer waits for its standby's acknowledgement (two hub processes on this
//! machine, each with its own database file).

use std::path::Path;
use std::process::Command as Process;
use std::time::{Duration, Instant};

use testkit::StablePort;

use super::{round_trips, start_hub, sustained};

pub async fn figures(bin: &Path, dir: &Path, base: &str, cli: &super::Cli) -> anyhow::Result<()> {
    let secret = dir.join("pair.secret");
    std::fs::write(&secret, "bench-pair-secret-0123456789\n")?;
    let (port_a, port_b) = (StablePort::open().await, StablePort::open().await);
    let config = |name: &str, peer: &StablePort| -> anyhow::Result<std::path::PathBuf> {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(
            &path,
            format!(
                "{base}\n[replication]\npeer = \"ws://{}\"\ntoken_file = \"{}\"\n",
                peer.addr,
                secret.display()
            ),
        )?;
        Ok(path)
    };
    let (config_a, config_b) = (config("primary", &port_b)?, config("standby", &port_a)?);
    let (db_a, db_b) = (dir.join("primary.db"), dir.join("standby.db"));
    make_standby(bin, &config_b, &db_b, &[])?;
    let (primary, _) = start_hub(bin, &config_a, &db_a).await?;
    port_a.forward_to(primary.addr);
    let (standby, _) = start_hub(bin, &config_b, &db_b).await?;
    port_b.forward_to(standby.addr);
    let started = Instant::now();
    loop {
        let (_, response) = testkit::raw::get_whole(primary.addr, "/healthz").await;
        if testkit::raw::json_body(&response)["replication"]["standby"]["sync"] == true {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the standby did not come in step"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    round_trips(
        primary.addr,
        cli.round_trips,
        "issue_ticket round trip, with a standby",
    )
    .await?;
    sustained(
        primary.addr,
        cli.kiosks,
        cli.seconds,
        "sustained issue_ticket, with a standby",
    )
    .await?;
    let (_, response) = testkit::raw::get_whole(primary.addr, "/healthz").await;
    let health = testkit::raw::json_body(&response);
    println!(
        "{:<44} {} (standby in step: {}, {} events behind)",
        "  after the load",
        health["seq"],
        health["replication"]["standby"]["sync"],
        health["replication"]["standby"]["lag"]
    );
    // A re-joined standby with an empty database catches up from the first event.
    standby.kill();
    let head = health["seq"].as_u64().unwrap_or(0);
    make_standby(bin, &config_b, &db_b, &["--resync"])?;
    let started = Instant::now();
    let (standby, _) = start_hub(bin, &config_b, &db_b).await?;
    port_b.forward_to(standby.addr);
    loop {
        let (_, response) = testkit::raw::get_whole(standby.addr, "/healthz").await;
        if testkit::raw::json_body(&response)["seq"].as_u64() >= Some(head) {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "the re-joined standby did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{:<44} {:>9.0} events/s  ({head} events in {secs:.1} s, from an empty database)",
        "a re-joined standby catching up",
        head as f64 / secs
    );
    primary.kill();
    standby.kill();
    Ok(())
}

/// `hub standby [FLAGS] --config CONFIG --db DB`.
fn make_standby(bin: &Path, config: &Path, db: &Path, flags: &[&str]) -> anyhow::Result<()> {
    let made = Process::new(bin)
        .arg("standby")
        .args(flags)
        .arg("--config")
        .arg(config)
        .arg("--db")
        .arg(db)
        .output()?;
    anyhow::ensure!(
        made.status.success(),
        "hub standby {flags:?}: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    Ok(())
}
