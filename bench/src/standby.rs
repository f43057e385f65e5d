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
    let config = |name: &str, peer: std::net::SocketAddr| -> anyhow::Result<std::path::PathBuf> {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(
            &path,
            format!(
                "{base}\n[replication]\npeer = \"ws://{peer}\"\ntoken_file = \"{}\"\n",
                secret.display()
            ),
        )?;
        Ok(path)
    };
    let (db_a, db_b) = (dir.join("primary.db"), dir.join("standby.db"));
    let config_a = config("primary", port_b.addr)?;
    let (primary, _) = start_hub(bin, &config_a, &db_a).await?;
    port_a.forward_to(primary.addr);
    // The standby dials the primary's own address, as on site: through the bench's
    // forwarder, each batch and acknowledgement would cost two more wake-ups of its own.
    let config_b = config("standby", primary.addr)?;
    make_standby(bin, &config_b, &db_b, &[])?;
    let (standby, _) = start_hub(bin, &config_b, &db_b).await?;
    port_b.forward_to(standby.addr);
    in_step(primary.addr).await?;
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
    takeover(bin, &config_b, primary, &standby, &port_a, &port_b).await?;
    standby.kill();
    Ok(())
}

/// Screens connected to the pair (both addresses, as installed), the primary killed, the
/// standby promoted: from the promotion to each screen served again.
async fn takeover(
    bin: &Path,
    config_b: &Path,
    primary: testkit::HubProcess,
    standby: &testkit::HubProcess,
    port_a: &StablePort,
    port_b: &StablePort,
) -> anyhow::Result<()> {
    use hub_client::{ClientConfig, HubClient, Update};
    const SCREENS: usize = 100;
    in_step(primary.addr).await?;
    let hubs = format!("ws://{}/ws,ws://{}/ws", port_a.addr, port_b.addr);
    let (served_tx, mut served) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let mut clients = Vec::new();
    for n in 1..=SCREENS {
        let mut config = ClientConfig::new(
            &hubs,
            protocol::Role::Display,
            format!("display-{n}"),
            "bench-token",
        );
        config.light = true;
        let (client, mut updates) = HubClient::connect(config);
        let tx = served_tx.clone();
        tokio::spawn(async move {
            while let Some(u) = updates.recv().await {
                if matches!(u, Update::Snapshot { .. } | Update::Resumed { .. }) {
                    let _ = tx.send((n, Instant::now()));
                }
            }
        });
        clients.push(client);
    }
    // Every screen served by the primary first.
    let mut first = std::collections::HashSet::new();
    while first.len() < SCREENS {
        let (n, _) = served
            .recv()
            .await
            .ok_or_else(|| anyhow::anyhow!("a screen stopped"))?;
        first.insert(n);
    }
    port_a.refuse();
    primary.kill();
    let promoted = Process::new(bin)
        .args(["promote", "--config"])
        .arg(config_b)
        .args(["--hub", &format!("ws://{}", standby.addr)])
        .output()?;
    let at = Instant::now();
    anyhow::ensure!(
        promoted.status.success(),
        "hub promote: {}",
        String::from_utf8_lossy(&promoted.stderr)
    );
    let mut again: std::collections::HashMap<usize, Duration> = std::collections::HashMap::new();
    while again.len() < SCREENS {
        let (n, when) = tokio::time::timeout(Duration::from_secs(60), served.recv())
            .await?
            .ok_or_else(|| anyhow::anyhow!("a screen stopped"))?;
        again.entry(n).or_insert(when.saturating_duration_since(at));
    }
    super::show(
        &format!("takeover: promotion → each of {SCREENS} screens served"),
        again.into_values().collect(),
    );
    drop(clients);
    Ok(())
}

/// Waits until the primary at `addr` says its standby is in step.
async fn in_step(addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let (_, response) = testkit::raw::get_whole(addr, "/healthz").await;
        if testkit::raw::json_body(&response)["replication"]["standby"]["sync"] == true {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the standby did not come in step"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
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
