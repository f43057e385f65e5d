//! `hub-bench --door`: the province's door (docs/PERFORMANCE.md, "The province's door").
//!
//! - **The waits page under load**: 30 centres' waits (8 fields each, as their shippers write
//!   them), two door instances on one durable PostgreSQL, concurrent readers spread over both.
//! - **From a call at a hub to the door showing it**: a real hub (the demo centre, the system
//!   clock) shipping to that PostgreSQL; each call's ticket watched on the door's
//!   `/api/t/{code}` until it says `called`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use protocol::{Command as Cmd, Role, ServiceState, ServiceView};
use province::ship::{Centre, Shipper};
use testkit::{Client, raw};

pub struct Options {
    pub readers: usize,
    pub seconds: u64,
    pub calls: usize,
}

pub async fn run(dir: &std::path::Path, o: &Options) -> anyhow::Result<()> {
    let pg = testkit::Postgres::start_durable();
    println!("The province's door — PostgreSQL on this machine (durable: fsync on)\n");
    let mut link = province::Link::new(pg.database());
    link.password_file = Some(pg.password_file());
    for n in 0..30 {
        centre_waits(&link, n).await?;
    }
    let doors = [door(&link).await?, door(&link).await?];
    waits_under_load(doors, o).await?;
    call_to_door(&pg, dir, doors[0], o.calls).await
}

/// Centre `n` as its shipper says it: 8 fields, some waiting.
async fn centre_waits(link: &province::Link, n: u32) -> anyhow::Result<()> {
    let fields: Vec<(String, String, String)> = (0..8)
        .map(|f| {
            (
                format!("F{f}"),
                format!("Lĩnh vực {f}"),
                format!("Field {f}"),
            )
        })
        .collect();
    let shipper = Shipper {
        centre: Centre {
            id: format!("door-bench-{n:02}"),
            name: format!("Trung tâm Phục vụ hành chính công huyện {n:02}"),
            name_en: String::new(),
            time_zone: "Asia/Ho_Chi_Minh".into(),
            day_starts_at: "00:00:00".into(),
            services: fields.clone(),
        },
        db: std::path::PathBuf::new(),
        link: link.clone(),
        batch: 1000,
        rules: None,
    };
    let mut client = shipper.connect().await?;
    let waits = hub_engine::CentreWaits {
        day: None,
        fields: fields
            .iter()
            .enumerate()
            .map(|(i, (id, name_vi, name_en))| hub_engine::FieldWaits {
                view: ServiceView {
                    id: id.clone(),
                    name_vi: name_vi.clone(),
                    name_en: name_en.clone(),
                    prefix: "A".into(),
                    state: ServiceState::Open,
                    open: true,
                    waiting: (i as u32 * 7 + n) % 40,
                    overdue: 0,
                    eta_min: Some(i as u32 * 5),
                    issued_today: 100,
                    target_wait_min: 30,
                    target_service_min: 15,
                    icon: None,
                    appointments: false,
                },
                queue: (1..=40).collect(),
                secs_per_ahead: Some(180.0),
                secs_per_ahead_priority: Some(120.0),
            })
            .collect(),
    };
    shipper.publish_waits(&mut client, &waits).await?;
    Ok(())
}

/// A door instance in this process (as the binary runs it), on a loopback port.
async fn door(link: &province::Link) -> anyhow::Result<SocketAddr> {
    let door = province_door::Door::new(link, 16)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _running = stop;
        province_door::serve::serve(listener, province_door::router(door), stopping).await;
    });
    Ok(addr)
}

async fn waits_under_load(doors: [SocketAddr; 2], o: &Options) -> anyhow::Result<()> {
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut readers = tokio::task::JoinSet::new();
    for r in 0..o.readers {
        let (addr, done) = (doors[r % 2], done.clone());
        readers.spawn(async move {
            let mut times = vec![];
            let mut failed = 0u64;
            while !done.load(Ordering::Relaxed) {
                let t = Instant::now();
                let (status, body) = raw::get_whole(addr, "/api/waits").await;
                if status == 200 && body.contains("door-bench-29") {
                    times.push(t.elapsed());
                } else {
                    failed += 1;
                }
            }
            (times, failed)
        });
    }
    tokio::time::sleep(Duration::from_secs(o.seconds)).await;
    done.store(true, Ordering::Relaxed);
    let (mut times, mut failed) = (vec![], 0);
    while let Some(r) = readers.join_next().await {
        let (t, f) = r?;
        times.extend(t);
        failed += f;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{:<44} {:>9.0} requests/s  ({} in {secs:.1} s, {} readers over 2 doors, {failed} failed)",
        "GET /api/waits, 30 centres × 8 fields",
        times.len() as f64 / secs,
        times.len(),
        o.readers
    );
    super::show("  each request", times);
    Ok(())
}

/// Calls at a real hub, each watched on the door until it shows the ticket called.
async fn call_to_door(
    pg: &testkit::Postgres,
    dir: &std::path::Path,
    door: SocketAddr,
    calls: usize,
) -> anyhow::Result<()> {
    let demo = std::fs::read_to_string(testkit::real_clock_config_file(dir))?;
    let text = demo.replacen("[center]\n", "[center]\nid = \"door-bench-hub\"\n", 1)
        + &format!(
            "\n[province]\ndatabase = \"{}\"\npassword_file = \"{}\"\n",
            pg.database(),
            pg.password_file().display()
        );
    let path = dir.join("door-bench.toml");
    std::fs::write(&path, text)?;
    let config = centre_config::Config::load(&path)?;
    let hub = hub::Hub::start(config, &dir.join("door-bench.db"), "127.0.0.1:0".parse()?).await?;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let clerk = Client::clerk(hub.addr, 1).await;
    let mut tracks = vec![];
    for _ in 0..calls {
        let reply = kiosk
            .send(testkit::issue("TP"))
            .await
            .map_err(|e| anyhow::anyhow!("issue: {e:?}"))?;
        let ticket = reply.ticket().ok_or_else(|| anyhow::anyhow!("no ticket"))?;
        tracks.push(ticket.track.clone().unwrap_or_default());
    }
    let mut times = vec![];
    for track in &tracks {
        let t = Instant::now();
        clerk
            .send(Cmd::CallNext {})
            .await
            .map_err(|e| anyhow::anyhow!("call: {e:?}"))?;
        loop {
            let (status, body) = raw::get_whole(door, &format!("/api/t/{track}")).await;
            if status == 200 && body.contains("\"status\":\"called\"") {
                times.push(t.elapsed());
                break;
            }
            anyhow::ensure!(
                t.elapsed() < Duration::from_secs(60),
                "the door never showed the call"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        clerk
            .send(Cmd::StartServing {})
            .await
            .map_err(|e| anyhow::anyhow!("start: {e:?}"))?;
        clerk
            .send(Cmd::Finish { rating: None })
            .await
            .map_err(|e| anyhow::anyhow!("finish: {e:?}"))?;
    }
    super::show("a call at the hub → the door shows it", times);
    hub.stop().await?;
    Ok(())
}
