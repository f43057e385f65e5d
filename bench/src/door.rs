//! `hub-bench --door`: the province's door (docs/PERFORMANCE.md, "The province's door").
//!
//! - **The waits page under load**: 30 centres' waits (8 fields each, as their shippers write
//!   them), two door instances on one durable PostgreSQL, concurrent readers spread over both.
//! - **From a call at a hub to the door showing it**: a real hub (the demo centre, the system
//!   clock) shipping to that PostgreSQL; each call's ticket watched on the door's
//!   `/api/t/{code}` until it says `called`.
//! - **A thousand bookers at once**: 20 slots of one field with 5 places each for the province,
//!   every booker holding a place at the same moment over both doors (each from an address of
//!   its own, as the load balancer names it), then the lucky ones confirming: no slot over its
//!   places, every booker answered, and how long each answer took.

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
    pub bookers: usize,
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
    bookers(&link, o.bookers).await?;
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

/// The province's places in each of the bench's slots.
const PLACES: i32 = 5;
/// The slots of the field booked.
const SLOTS: usize = 20;
/// The bench's proof of work: the hashing is the booker's cost, paid before the clock starts.
const BENCH_PROOF_BITS: u32 = 8;

/// A booker's hold, ready to send: the door, the address the balancer names, the body.
type Ask = (SocketAddr, String, serde_json::Value);

/// `bookers` holds at the same moment on 20 slots, over two doors taking bookings.
async fn bookers(link: &province::Link, bookers: usize) -> anyhow::Result<()> {
    let key = province_pass::PassKey::from_bytes(&rand::random());
    let doors = [
        booking_door(link, &key).await?,
        booking_door(link, &key).await?,
    ];
    let mut client = province::Link::connect_as(link, "hub-bench").await?;
    let rows = bench_slots(&mut client).await?;
    let asks = prepared(doors, &rows, bookers).await;
    warm_up(doors, &rows).await?;
    // The floor: the same rush of connections on a page that asks the database nothing.
    let floor = all_at_once(asks.iter().cloned().map(|(addr, from, _)| async move {
        let t = Instant::now();
        let (status, _) = raw::request_forwarded_for(addr, "GET", "/dat-lich", &from, None).await;
        (status, t.elapsed())
    }))
    .await?;
    anyhow::ensure!(floor.iter().all(|f| f.0 == 200), "the page did not load");
    super::show(
        &format!("  {bookers} at once: GET /dat-lich (no database)"),
        floor.iter().map(|f| f.1).collect(),
    );
    let started = Instant::now();
    // Each booker a task of its own, as each phone is its own client.
    let answers = all_at_once(asks.iter().cloned().map(|(addr, from, body)| async move {
        let t = Instant::now();
        let (status, response) =
            raw::request_forwarded_for(addr, "POST", "/api/bookings", &from, Some(&body)).await;
        (
            status,
            raw::json_body(&response),
            t.elapsed(),
            from,
            body["phone"].clone(),
        )
    }))
    .await?;
    let secs = started.elapsed().as_secs_f64();
    let held: Vec<_> = answers.iter().filter(|a| a.0 == 201).collect();
    let full = answers.iter().filter(|a| a.0 == 409).count();
    let other = answers.len() - held.len() - full;
    println!(
        "\n{:<44} {:>9.0} answers/s  ({} held, {full} told full, {other} other, of {} at once in {secs:.2} s)",
        format!("{bookers} bookers, {SLOTS} slots × {PLACES} places"),
        answers.len() as f64 / secs,
        held.len(),
        answers.len(),
    );
    super::show(
        "  each hold's answer",
        answers.iter().map(|a| a.2).collect(),
    );
    let held: Vec<(String, String, serde_json::Value)> = held
        .iter()
        .map(|a| {
            (
                a.1["code"].as_str().unwrap_or_default().to_string(),
                a.3.clone(),
                a.4.clone(),
            )
        })
        .collect();
    confirm_all(doors, &held).await?;
    let over: i64 = client
        .query_one(
            "SELECT count(*) FROM (SELECT start FROM province_bookings
                WHERE centre = 'door-bench-00' AND state <> 'cancelled'
                GROUP BY start HAVING count(*) > $1) AS o",
            &[&i64::from(PLACES)],
        )
        .await?
        .get(0);
    anyhow::ensure!(over == 0, "{over} slots over their places");
    if other > 0 {
        let mut statuses: Vec<u16> = answers
            .iter()
            .map(|a| a.0)
            .filter(|s| *s != 201 && *s != 409)
            .collect();
        statuses.sort_unstable();
        statuses.dedup();
        anyhow::bail!("{other} bookers were not answered held or full (statuses {statuses:?})");
    }
    anyhow::ensure!(
        held.len() == SLOTS * PLACES as usize || bookers < SLOTS * PLACES as usize,
        "{} held of {} places",
        held.len(),
        SLOTS * PLACES as usize
    );
    println!("  no slot over its places; every booker answered");
    Ok(())
}

/// A door instance taking bookings under `key`, its clients named by a balancer on loopback.
async fn booking_door(
    link: &province::Link,
    key: &province_pass::PassKey,
) -> anyhow::Result<SocketAddr> {
    let settings = province_door::booking::Settings {
        proof_bits: BENCH_PROOF_BITS,
        ..Default::default()
    };
    let door = province_door::Door::new(link, 16)?
        .trusting(vec![std::net::Ipv4Addr::LOCALHOST.into()])
        .with_booking(key.clone(), settings);
    let listener = province_door::serve::bind("127.0.0.1:0".parse()?)?;
    let addr = listener.local_addr()?;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _running = stop;
        province_door::serve::serve(listener, province_door::router(door), stopping).await;
    });
    Ok(addr)
}

/// The field's slots tomorrow, published as a hub would.
async fn bench_slots(
    client: &mut tokio_postgres::Client,
) -> anyhow::Result<Vec<province::bookings::SlotRow>> {
    let now = chrono::Utc::now();
    let first = chrono::DurationRound::duration_trunc(now, chrono::TimeDelta::hours(1))?
        + chrono::TimeDelta::days(1);
    let rows: Vec<province::bookings::SlotRow> = (0..SLOTS)
        .map(|i| {
            let start = first + chrono::TimeDelta::minutes(15 * i as i64);
            province::bookings::SlotRow {
                service: "F0".into(),
                start,
                end: start + chrono::TimeDelta::minutes(15),
                places: PLACES,
                check_in_from: start - chrono::TimeDelta::minutes(30),
                check_in_until: start + chrono::TimeDelta::minutes(15),
            }
        })
        .collect();
    province::bookings::publish_slots(client, "door-bench-00", &rows, now).await?;
    Ok(rows)
}

/// Each booker's challenge, solved before the burst: the door's time is what is measured.
async fn prepared(
    doors: [SocketAddr; 2],
    rows: &[province::bookings::SlotRow],
    bookers: usize,
) -> Vec<Ask> {
    let mut asks = Vec::with_capacity(bookers);
    for n in 0..bookers {
        let addr = doors[n % 2];
        let from = std::net::Ipv4Addr::from(0x0a00_0000 + n as u32).to_string();
        let (_, c) =
            raw::request_forwarded_for(addr, "GET", "/api/bookings/challenge", &from, None).await;
        let c = raw::json_body(&c);
        let challenge = c["challenge"].as_str().unwrap_or_default().to_string();
        let nonce = province_door::proof::solve(&challenge, BENCH_PROOF_BITS);
        let body = serde_json::json!({"centre": "door-bench-00", "service": "F0",
            "start": rows[n % SLOTS].start, "phone": format!("09{n:08}"),
            "challenge": challenge, "nonce": nonce});
        asks.push((addr, from, body));
    }
    asks
}

/// A door in service has its connections to the database open (each costs a SCRAM handshake
/// to make): they are opened before the rush, as a running door has them.
async fn warm_up(
    doors: [SocketAddr; 2],
    rows: &[province::bookings::SlotRow],
) -> anyhow::Result<()> {
    let date = rows[0]
        .start
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .date_naive();
    let warm = (0..64).map(|n| {
        let addr = doors[n % 2];
        let path = format!("/api/bookings/slots?centre=door-bench-00&service=F0&date={date}");
        let from = std::net::Ipv4Addr::from(0x0b00_0000 + n as u32).to_string();
        async move {
            raw::request_forwarded_for(addr, "GET", &path, &from, None)
                .await
                .0
        }
    });
    let warmed = futures_util::future::join_all(warm).await;
    anyhow::ensure!(
        warmed.iter().all(|s| *s == 200),
        "the slots did not load: {warmed:?}"
    );
    Ok(())
}

/// The held ones (code, address, phone) confirm at once.
async fn confirm_all(
    doors: [SocketAddr; 2],
    held: &[(String, String, serde_json::Value)],
) -> anyhow::Result<()> {
    let started = Instant::now();
    let confirmed = all_at_once(held.iter().cloned().enumerate().map(
        |(i, (code, from, phone))| {
            let addr = doors[i % 2];
            let mine = serde_json::json!({"centre": "door-bench-00", "code": code, "phone": phone});
            async move {
                let t = Instant::now();
                let (status, _) = raw::request_forwarded_for(
                    addr,
                    "POST",
                    "/api/bookings/confirm",
                    &from,
                    Some(&mine),
                )
                .await;
                (status, t.elapsed())
            }
        },
    ))
    .await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{:<44} {:>9.0} bookings/s  ({} of {} confirmed in {secs:.2} s)",
        "  confirmed with their passes",
        confirmed.len() as f64 / secs,
        confirmed.iter().filter(|c| c.0 == 200).count(),
        held.len()
    );
    super::show(
        "  each confirmation",
        confirmed.iter().map(|c| c.1).collect(),
    );
    Ok(())
}

/// Runs every future as a task of its own, all at once; their outputs in order.
async fn all_at_once<F>(futures: impl Iterator<Item = F>) -> anyhow::Result<Vec<F::Output>>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(tasks.len());
    for t in tasks {
        outputs.push(t.await?);
    }
    Ok(outputs)
}
