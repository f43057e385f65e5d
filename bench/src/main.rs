//! `hub-bench`: measures the hub on this machine and prints the figures, beside the machine's
//! own floor (an fsync, a loopback round trip).
//!
//! It starts the real `hub` binary (next to this one) on loopback with a fresh database and a
//! benchmark centre (20 services, high rate limits, enough display devices), then measures:
//! `issue_ticket` round trips, sustained tickets per second with K kiosks, `call_next` → received
//! by N displays, the hub's resident memory with those N connections, and the restart time over a
//! database of M events (generated in-process through the real engine).
//!
//! `cargo build --release -p hub -p hub-bench && target/release/hub-bench [--displays 1000] [--kiosks 8] [--events 1000000]`

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use testkit::HubProcess;
use testkit::raw::{self, Ws};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

mod appointments;
mod door;
mod province;
mod push;
mod raw_display;
mod standby;

#[derive(Parser)]
#[command(
    name = "hub-bench",
    about = "Measures the hub: latency, throughput, fan-out, memory, restart"
)]
struct Cli {
    /// Display connections for the fan-out and memory figures.
    #[arg(long, default_value_t = 1000)]
    displays: usize,
    /// Calls timed in each fan-out run.
    #[arg(long, default_value_t = 50)]
    rounds: usize,
    /// Concurrent kiosks for the throughput figure.
    #[arg(long, default_value_t = 8)]
    kiosks: usize,
    /// Seconds of sustained issuing.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Sequential issue_ticket round trips for the latency figure.
    #[arg(long, default_value_t = 2000)]
    round_trips: usize,
    /// Events in the database for the restart figure (0: skip).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Waiting tickets for the join-cost figure (0: skip).
    #[arg(long, default_value_t = 20_000)]
    waiting: u64,
    /// Service days for the storage figure (0: skip).
    #[arg(long, default_value_t = 30)]
    storage_days: u32,
    /// Visits a day for the storage figure (a busy centre).
    #[arg(long, default_value_t = 5000)]
    visits_per_day: u64,
    /// Keep the storage figure's database here (to look inside it).
    #[arg(long)]
    storage_db: Option<PathBuf>,
    /// Only the province's figures (ingest into PostgreSQL, the province report over a year);
    /// needs PostgreSQL installed (scripts/ensure-system-packages).
    #[arg(long)]
    province: bool,
    /// Only the province's door's figures (the waits page under load, a call at a hub to the
    /// door showing it); needs PostgreSQL installed.
    #[arg(long)]
    door: bool,
    /// Concurrent readers of the door's waits page.
    #[arg(long, default_value_t = 32)]
    door_readers: usize,
    /// Calls watched from the hub to the door.
    #[arg(long, default_value_t = 30)]
    door_calls: usize,
    /// Citizens booking at once at the door, on 20 slots of one field.
    #[arg(long, default_value_t = 1000)]
    door_bookers: usize,
    /// Centres shipping at once for the province's ingest figure.
    #[arg(long, default_value_t = 8)]
    province_centres: usize,
    /// Busy days in each centre's log for the ingest figure (visits a day: --visits-per-day).
    #[arg(long, default_value_t = 5)]
    province_days: u32,
    /// Centres of the simulated province for the report's figure.
    #[arg(long, default_value_t = 30)]
    year_centres: u32,
    /// Service days of the simulated year.
    #[arg(long, default_value_t = 300)]
    year_days: u32,
    /// Seconds of racing bookers for the appointments' figures (0: skip them).
    #[arg(long, default_value_t = 3)]
    booking_seconds: u64,
    /// Also the round trip and throughput with a standby hub (a second process) acknowledging
    /// every commit.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    standby: bool,
    /// Calls timed in each phase of the push figures (no subscription, 1,000, 2,000 with half
    /// hanging; 0: skip them).
    #[arg(long, default_value_t = 100)]
    push_rounds: usize,
    /// The hub binary (default: `hub` next to this program).
    #[arg(long)]
    hub: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn show(name: &str, mut v: Vec<Duration>) {
    v.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<44} p50 {:>7.3} ms   p99 {:>7.3} ms   max {:>7.3} ms   (n = {})",
        ms(percentile(&v, 0.5)),
        ms(percentile(&v, 0.99)),
        ms(v.last().copied().unwrap_or_default()),
        v.len()
    );
}

/// The benchmark centre: 20 services of 99,999 numbers, no practical rate limit.
fn bench_config(displays: usize, kiosks: usize) -> anyhow::Result<String> {
    let pin = centre_config::auth::hash_pin("1234").map_err(anyhow::Error::msg)?;
    let mut t = String::from(
        "[center]\nname = \"Bench\"\nname_en = \"Bench\"\ntimezone = \"Asia/Ho_Chi_Minh\"\nhours = \"mon-sun 00:00-24:00\"\n\n\
         [limits]\nburst = 1000000\nper_second = 1000000\nmax_connections = 20000\n\n",
    );
    for (i, prefix) in ('A'..='T').enumerate() {
        t.push_str(&format!(
            "[[service]]\nid = \"S{i:02}\"\nname_vi = \"Dịch vụ {i}\"\nname_en = \"Service {i}\"\nprefix = \"{prefix}\"\nfirst_number = 1\nlast_number = 99999\ntarget_wait_min = 30\ntarget_service_min = 10\n\n"
        ));
    }
    t.push_str("[[counter]]\nnumber = 1\nservices = [\"S00\"]\n\n");
    t.push_str(&format!(
        "[[staff]]\ncode = \"nv01\"\nname = \"Bench\"\npin_hash = \"{pin}\"\n\n"
    ));
    t.push_str("[[device]]\nid = \"counter-1\"\nrole = \"counter\"\ntoken = \"bench-token\"\n\n");
    for k in 1..=kiosks {
        t.push_str(&format!(
            "[[device]]\nid = \"kiosk-{k}\"\nrole = \"kiosk\"\ntoken = \"bench-token\"\n\n"
        ));
    }
    for d in 1..=displays {
        t.push_str(&format!(
            "[[device]]\nid = \"display-{d}\"\nrole = \"display\"\ntoken = \"bench-token\"\n\n"
        ));
    }
    Ok(t)
}

/// Starts the hub binary on a free loopback port (as the tests do, `testkit::HubProcess`) and
/// waits until `/healthz` answers 200; returns it and the time that took.
async fn start_hub(bin: &Path, config: &Path, db: &Path) -> anyhow::Result<(HubProcess, Duration)> {
    let started = Instant::now();
    let mut command = Process::new(bin);
    command
        .arg("--config")
        .arg(config)
        .arg("--db")
        .arg(db)
        .args(["--create-db", "--listen", "127.0.0.1:0"])
        // Warnings only, so that logging costs nothing in the figures; but the line that says
        // where the hub serves.
        .env("RUST_LOG", "warn,hub::cli::serve=info");
    let hub = HubProcess::start(command);
    loop {
        if testkit::healthz(hub.addr).await.0 == 200 {
            return Ok((hub, started.elapsed()));
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "the hub did not become healthy"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A device of the benchmark centre connected and welcomed. Screens and kiosks ask for light
/// snapshots (no waiting list), as the project's apps do.
async fn connect(addr: SocketAddr, role: &str, device: &str) -> Ws {
    let mut hello = raw::hello_with_token(role, device, "bench-token");
    hello["light"] = (role != "counter").into();
    let mut ws = raw::open(addr).await;
    raw::say(&mut ws, &hello).await;
    ws
}

async fn reply(ws: &mut Ws) -> anyhow::Result<String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.as_str().starts_with("{\"type\":\"reply\"") => {
                return Ok(t.to_string());
            }
            Some(Ok(_)) => continue,
            _ => anyhow::bail!("connection lost"),
        }
    }
}

fn issue(id: &str, service: usize) -> Message {
    Message::text(format!(
        r#"{{"type":"cmd","id":"{id}","cmd":"issue_ticket","args":{{"service":"S{:02}"}}}}"#,
        service % 20
    ))
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A process's CPU time so far (user and system, all threads), in milliseconds.
fn process_cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may contain spaces) end with ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks are 100 a second on every Linux this runs on.
    Some((utime + stime) * 10.0)
}

/// The machine's floor: fsync of a small write, and a TCP round trip on loopback.
async fn floor(dir: &Path) -> anyhow::Result<()> {
    let path = dir.join("fsync.bin");
    let mut f = std::fs::File::create(&path)?;
    let mut times = vec![];
    for _ in 0..200 {
        let t = Instant::now();
        f.write_all(&[7u8; 4096])?;
        f.sync_data()?;
        times.push(t.elapsed());
    }
    show("floor: 4 KiB write + fdatasync", times);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        if let Ok((mut s, _)) = listener.accept().await {
            let _ = s.set_nodelay(true);
            let mut b = [0u8; 64];
            while let Ok(n) = s.read(&mut b).await {
                if n == 0 || s.write_all(&b[..n]).await.is_err() {
                    break;
                }
            }
        }
    });
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut times = vec![];
    let mut b = [0u8; 64];
    for _ in 0..2000 {
        let t = Instant::now();
        s.write_all(&[1u8; 64]).await?;
        s.read_exact(&mut b).await?;
        times.push(t.elapsed());
    }
    show("floor: loopback TCP round trip (64 B)", times);
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if cli.province {
        return province_figures(&cli).await;
    }
    if cli.door {
        let dir = tempfile::tempdir()?;
        let options = door::Options {
            readers: cli.door_readers,
            seconds: cli.seconds,
            calls: cli.door_calls,
            bookers: cli.door_bookers,
        };
        return door::run(dir.path(), &options).await;
    }
    let bin = match &cli.hub {
        Some(b) => b.clone(),
        None => std::env::current_exe()?.with_file_name("hub"),
    };
    anyhow::ensure!(
        bin.is_file(),
        "no hub binary at {} (build it, or give --hub)",
        bin.display()
    );
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("bench.toml");
    std::fs::write(&config, bench_config(cli.displays, cli.kiosks)?)?;
    println!("hub-bench on {}\n", machine());
    floor(dir.path()).await?;

    let (hub, _) = start_hub(&bin, &config, &dir.path().join("hub.db")).await?;
    round_trips(
        hub.addr,
        cli.round_trips,
        "issue_ticket round trip (after commit)",
    )
    .await?;
    sustained(hub.addr, cli.kiosks, cli.seconds, "sustained issue_ticket").await?;
    hub.kill();
    if cli.standby {
        // A hundred screens for the takeover figure.
        let base = bench_config(100, cli.kiosks)?;
        standby::figures(&bin, dir.path(), &base, &cli).await?;
    }
    let (hub, _) = start_hub(&bin, &config, &dir.path().join("fanout.db")).await?;
    fan_out_figures(&hub, &cli).await?;
    hub.kill();
    if cli.events > 0 {
        restart_figure(&bin, &config, &dir.path().join("big.db"), cli.events).await?;
    }
    if cli.storage_days > 0 {
        let db = cli
            .storage_db
            .clone()
            .unwrap_or_else(|| dir.path().join("storage.db"));
        storage_figure(&config, db, cli.storage_days, cli.visits_per_day)?;
    }
    if cli.waiting > 0 {
        join_figure(&config, dir.path().join("queue.db"), cli.waiting)?;
    }
    if cli.push_rounds > 0 {
        let base = bench_config(0, 1)?;
        push::figures(&bin, dir.path(), &base, cli.push_rounds).await?;
    }
    if cli.booking_seconds > 0 {
        let base = bench_config(1, 1)?;
        appointments::figures(&bin, dir.path(), &base, cli.booking_seconds).await?;
    }
    Ok(())
}

/// The province's figures only: ingest into PostgreSQL, the province report over a year.
async fn province_figures(cli: &Cli) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("bench.toml");
    std::fs::write(&config, bench_config(0, 1)?)?;
    let options = province::Options {
        centres: cli.province_centres,
        days: cli.province_days,
        visits: cli.visits_per_day,
        year_centres: cli.year_centres,
        year_days: cli.year_days,
    };
    province::run(&config, dir.path(), &options).await
}

/// "N CPUs — model name", for the first line of the figures.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            let line = c.lines().find(|l| l.starts_with("model name"))?;
            Some(line.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    format!("{cpus} CPUs — {model}")
}

/// Round trips, one kiosk, one command at a time.
async fn round_trips(addr: SocketAddr, n: usize, name: &str) -> anyhow::Result<()> {
    let mut ws = connect(addr, "kiosk", "kiosk-1").await;
    let mut times = vec![];
    for i in 0..n {
        let t = Instant::now();
        ws.send(issue(&format!("rt-{i}"), i)).await?;
        let r = reply(&mut ws).await?;
        times.push(t.elapsed());
        anyhow::ensure!(r.contains("\"ok\":true"), "refused: {r}");
    }
    show(name, times);
    Ok(())
}

/// Sustained: `kiosks` kiosks, each keeping 64 commands in flight for `seconds`.
async fn sustained(
    addr: SocketAddr,
    kiosks: usize,
    seconds: u64,
    name: &str,
) -> anyhow::Result<()> {
    let stop_at = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = vec![];
    for k in 1..=kiosks {
        let ws = connect(addr, "kiosk", &format!("kiosk-{k}")).await;
        tasks.push(tokio::spawn(keep_issuing(ws, k, stop_at)));
    }
    let started = Instant::now();
    let mut total = 0;
    for t in tasks {
        total += t.await?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{:<44} {:>9.0} tickets/s  ({total} in {secs:.1} s, {kiosks} kiosks × 64 in flight)",
        name,
        total as f64 / secs,
    );
    Ok(())
}

/// One kiosk of the sustained figure: 64 in flight until `stop_at`; the replies it had.
async fn keep_issuing(ws: Ws, k: usize, stop_at: Instant) -> usize {
    let (mut tx, mut rx) = ws.split();
    let mut sent = 0usize;
    let mut done = 0usize;
    for _ in 0..64 {
        let _ = tx.send(issue(&format!("k{k}-{sent}"), sent + k)).await;
        sent += 1;
    }
    while let Some(Ok(m)) = rx.next().await {
        if let Message::Text(t) = m
            && t.as_str().starts_with("{\"type\":\"reply\"")
        {
            done += 1;
            if Instant::now() < stop_at {
                let _ = tx.send(issue(&format!("k{k}-{sent}"), sent + k)).await;
                sent += 1;
            } else if done == sent {
                break;
            }
        }
    }
    done
}

/// Fan-out on a fresh hub with a centre's realistic queue (300 waiting): a display's
/// snapshot carries the waiting list, and the sustained phase left tens of thousands.
async fn fan_out_figures(hub: &HubProcess, cli: &Cli) -> anyhow::Result<()> {
    let mut ws = connect(hub.addr, "kiosk", "kiosk-1").await;
    for i in 0..300 {
        ws.send(issue(&format!("q-{i}"), if i % 3 == 0 { 0 } else { i }))
            .await?;
        reply(&mut ws).await?;
    }
    // The counter serves S00, which has ~110 of those; each fan-out run calls `rounds`.
    for i in 0..(2 * cli.rounds).saturating_sub(100) {
        ws.send(issue(&format!("q0-{i}"), 0)).await?;
        reply(&mut ws).await?;
    }
    drop(ws);
    // Once as before (1,000 readers parsing every frame on the hub's own cores), once with lean
    // readers on one thread of their own, so that the second figure measures the hub.
    for readers in [Readers::FullParse, Readers::Lean] {
        let run = fan_out(hub.addr, hub.child.id(), cli.displays, cli.rounds, readers).await?;
        show_fan_out(&run, readers, cli.displays);
    }
    Ok(())
}

fn show_fan_out(run: &FanOut, readers: Readers, displays: usize) {
    let how = match readers {
        Readers::FullParse => "full parse",
        Readers::Lean => "lean readers",
    };
    show(
        &format!("call_next → each of {displays} displays ({how})"),
        run.times.clone(),
    );
    if let Some(hub_cpu) = run.hub_cpu_per_call {
        println!(
            "{:<44} {:>9.1} ms CPU per call (a call and a start of service, {displays} displays)",
            "  the hub's own cost", hub_cpu
        );
    }
    if let Some((per_call, per_frame)) = run.measuring_cost {
        println!(
            "{:<44} {:>9.1} ms CPU per call, {:.1} µs per frame (one thread)",
            "  the lean readers' own cost", per_call, per_frame
        );
    }
    // Memory on the fresh hub (the first round): the second adds what the first left.
    if readers == Readers::FullParse {
        println!(
            "{:<44} {:>9.1} MB with {displays} display connections",
            "hub resident memory (VmRSS)",
            run.rss_kb.unwrap_or(0) as f64 / 1024.0,
        );
    }
}

/// Restart over a database of `events` events, generated through the real engine.
async fn restart_figure(bin: &Path, config: &Path, big: &Path, events: u64) -> anyhow::Result<()> {
    let made = Instant::now();
    let (c, b) = (config.to_path_buf(), big.to_path_buf());
    std::thread::spawn(move || generate(&c, &b, events))
        .join()
        .map_err(|_| anyhow::anyhow!("the generator panicked"))??;
    println!(
        "{:<44} {:>9.1} s   ({events} events through the engine, {:.0} events/s)",
        "generated restart database",
        made.elapsed().as_secs_f64(),
        events as f64 / made.elapsed().as_secs_f64()
    );
    let size = std::fs::metadata(big).map(|m| m.len()).unwrap_or(0);
    let (hub, took) = start_hub(bin, config, big).await?;
    println!(
        "{:<44} {:>9.3} s   (database {:.0} MB, to /healthz answering)",
        format!("hub restart over {events} events"),
        took.as_secs_f64(),
        size as f64 / 1e6
    );
    hub.kill();
    Ok(())
}

/// What the database weighs after a month of a busy centre, and a year extrapolated.
fn storage_figure(config: &Path, db: PathBuf, days: u32, visits: u64) -> anyhow::Result<()> {
    let c = config.to_path_buf();
    let made = Instant::now();
    let sizes = std::thread::spawn(move || storage(&c, &db, days, visits))
        .join()
        .map_err(|_| anyhow::anyhow!("the storage measurement panicked"))??;
    report_storage(&sizes, visits, made.elapsed());
    Ok(())
}

/// What a screen joining costs the engine with a long queue.
fn join_figure(config: &Path, db: PathBuf, waiting: u64) -> anyhow::Result<()> {
    let c = config.to_path_buf();
    let (full, light) = std::thread::spawn(move || join_cost(&c, &db, waiting))
        .join()
        .map_err(|_| anyhow::anyhow!("the join measurement panicked"))??;
    for (kind, times) in [("full", full), ("light", light)] {
        let (engine, ready): (Vec<_>, Vec<_>) = times.into_iter().unzip();
        show(&format!("join, {waiting} waiting, {kind}: engine"), engine);
        show(
            &format!("join, {waiting} waiting, {kind}: frame ready"),
            ready,
        );
    }
    Ok(())
}

/// Who measures the fan-out.
#[derive(Clone, Copy, PartialEq)]
enum Readers {
    /// As the apps do: a WebSocket library and a JSON parse of every frame, on two threads.
    FullParse,
    /// Raw sockets on one thread of their own (`raw_display`): the figure measures the hub.
    Lean,
}

/// What one fan-out run found.
struct FanOut {
    /// For each call and each display, from sending `call_next` to the display having it.
    times: Vec<Duration>,
    /// The lean readers' thread: its CPU time per call, and per frame read (µs).
    measuring_cost: Option<(f64, f64)>,
    /// The hub's resident memory (KiB) once every display is connected.
    rss_kb: Option<u64>,
    /// The hub's CPU time per call (ms), all its threads, while the calls were timed.
    hub_cpu_per_call: Option<f64>,
}

/// Connects `displays` boards and times, for each of `rounds` calls, when every one of them has
/// the call.
async fn fan_out(
    addr: SocketAddr,
    hub_pid: u32,
    displays: usize,
    rounds: usize,
    readers: Readers,
) -> anyhow::Result<FanOut> {
    // A call's arrival times, sent by the readers: one per display per frame (full parse), or
    // all of them at once when the last display has it (lean).
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<(String, Vec<Instant>)>();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<anyhow::Result<()>>();
    let reader_thread = start_readers(addr, displays, rounds, readers, seen_tx, stop_rx, ready_tx);
    ready_rx
        .await
        .map_err(|_| anyhow::anyhow!("the readers' thread ended"))??;
    let rss_kb = rss_kb(hub_pid);
    let mut counter = connect(addr, "counter", "counter-1").await;
    counter
        .send(Message::text(r#"{"type":"cmd","id":"login","cmd":"login","args":{"counter":1,"staff":"nv01","pin":"1234"}}"#))
        .await?;
    reply(&mut counter).await?;
    let hub_cpu_before = process_cpu_ms(hub_pid);
    let times = time_calls(&mut counter, &mut seen_rx, displays, rounds, readers).await?;
    let hub_cpu_per_call = process_cpu_ms(hub_pid)
        .zip(hub_cpu_before)
        .map(|(after, before)| (after - before) / rounds as f64);
    let _ = stop_tx.send(true);
    let measuring_cost = reader_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the readers' thread panicked"))??;
    Ok(FanOut {
        times,
        measuring_cost,
        rss_kb,
        hub_cpu_per_call,
    })
}

/// The displays' readers, on a thread of their own: connects them all, says so on `ready`,
/// and once `stop` turns true ends them and returns the lean readers' cost (ms CPU per call,
/// µs per frame).
fn start_readers(
    addr: SocketAddr,
    displays: usize,
    rounds: usize,
    readers: Readers,
    seen_tx: mpsc::UnboundedSender<(String, Vec<Instant>)>,
    stop_rx: tokio::sync::watch::Receiver<bool>,
    ready_tx: tokio::sync::oneshot::Sender<anyhow::Result<()>>,
) -> std::thread::JoinHandle<anyhow::Result<Option<(f64, f64)>>> {
    std::thread::spawn(move || -> anyhow::Result<Option<(f64, f64)>> {
        let runtime = match readers {
            Readers::Lean => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            Readers::FullParse => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?,
        };
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async move {
            let arrivals = raw_display::Arrivals::new(displays, seen_tx.clone());
            let mut tasks = vec![];
            for d in 1..=displays {
                let device = format!("display-{d}");
                let task = match readers {
                    Readers::FullParse => {
                        let ws = connect(addr, "display", &device).await;
                        Ok(tokio::spawn(read_calls(ws, seen_tx.clone())).abort_handle())
                    }
                    Readers::Lean => raw_display::connect(addr, &device).await.map(|display| {
                        if d == 1 {
                            println!(
                                "{:<44} {:>9} bytes",
                                "a display's welcome (light snapshot)", display.welcome_bytes
                            );
                        }
                        tokio::task::spawn_local(raw_display::watch(display, arrivals.clone()))
                            .abort_handle()
                    }),
                };
                match task {
                    Ok(t) => tasks.push(t),
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return Ok(None);
                    }
                }
            }
            drop(seen_tx);
            let _ = ready_tx.send(Ok(()));
            let (cpu_before, frames_before) =
                (raw_display::thread_cpu_ms(), arrivals.borrow().frames);
            let mut stop = stop_rx;
            let _ = stop.wait_for(|s| *s).await;
            let cpu = raw_display::thread_cpu_ms() - cpu_before;
            let frames = arrivals.borrow().frames - frames_before;
            for t in tasks {
                t.abort();
            }
            Ok((readers == Readers::Lean)
                .then(|| (cpu / rounds as f64, cpu * 1e3 / frames.max(1) as f64)))
        })
    })
}

/// Calls `rounds` tickets, each timed until every display has it (then serves it, so that the
/// next call is allowed, and waits for that too: each call is timed on a quiet hub).
async fn time_calls(
    counter: &mut Ws,
    seen_rx: &mut mpsc::UnboundedReceiver<(String, Vec<Instant>)>,
    displays: usize,
    rounds: usize,
    readers: Readers,
) -> anyhow::Result<Vec<Duration>> {
    let mut times = vec![];
    let mut arrived: HashMap<String, Vec<Instant>> = HashMap::new();
    let tag = if readers == Readers::Lean {
        "lean"
    } else {
        "full"
    };
    for i in 0..rounds {
        let sent = Instant::now();
        counter
            .send(Message::text(format!(
                r#"{{"type":"cmd","id":"call-{tag}-{i}","cmd":"call_next","args":{{}}}}"#
            )))
            .await?;
        let r = reply(counter).await?;
        let v: serde_json::Value = serde_json::from_str(&r)?;
        let number = v["result"]["ticket"]["number"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        anyhow::ensure!(!number.is_empty(), "call_next refused: {r}");
        // Wait until every display has it, then serve so the next call is allowed — and wait
        // for that to reach every display too: each call is timed on a quiet hub.
        let called =
            all_arrived(seen_rx, &mut arrived, &format!("called:{number}"), displays).await?;
        times.extend(called.into_iter().map(|a| a - sent));
        counter
            .send(Message::text(format!(
                r#"{{"type":"cmd","id":"start-{tag}-{i}","cmd":"start_serving","args":{{}}}}"#
            )))
            .await?;
        reply(counter).await?;
        all_arrived(
            seen_rx,
            &mut arrived,
            &format!("serving:{number}"),
            displays,
        )
        .await?;
    }
    Ok(times)
}

/// Waits until `key` ("called:A001") has reached every display; when each one had it.
async fn all_arrived(
    seen: &mut mpsc::UnboundedReceiver<(String, Vec<Instant>)>,
    arrived: &mut HashMap<String, Vec<Instant>>,
    key: &str,
    displays: usize,
) -> anyhow::Result<Vec<Instant>> {
    while arrived.get(key).is_none_or(|a| a.len() < displays) {
        let Some((k, at)) = tokio::time::timeout(Duration::from_secs(30), seen.recv())
            .await
            .ok()
            .flatten()
        else {
            anyhow::bail!("displays stopped receiving");
        };
        arrived.entry(k).or_default().extend(at);
    }
    Ok(arrived.remove(key).unwrap_or_default())
}

/// One display as the apps read: reports the number of every call it receives, parsed.
async fn read_calls(ws: Ws, seen: mpsc::UnboundedSender<(String, Vec<Instant>)>) {
    let (_tx, mut rx) = ws.split();
    while let Some(Ok(m)) = rx.next().await {
        let Message::Text(t) = m else { continue };
        let now = Instant::now();
        let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap_or_default();
        let kind = match v["event"]["kind"].as_str() {
            Some("ticket_called") => "called",
            Some("ticket_serving") => "serving",
            _ => continue,
        };
        let number = v["event"]["ticket"]["number"].as_str().unwrap_or_default();
        let _ = seen.send((format!("{kind}:{number}"), vec![now]));
    }
}

/// Prints the storage figures: the size after the retention window, the steady growth per
/// visit (from the last third of the days), and a year at that pace.
fn report_storage(sizes: &[(u32, u64)], visits: u64, took: Duration) {
    let Some(&(last_day, last)) = sizes.last() else {
        return;
    };
    let from = sizes[sizes.len() * 2 / 3];
    let steady_days = u64::from(last_day - from.0).max(1);
    let per_visit = last.saturating_sub(from.1) as f64 / (steady_days * visits) as f64;
    let year =
        last as f64 + per_visit * (visits * 365u64.saturating_sub(u64::from(last_day))) as f64;
    println!(
        "{:<44} {:>9.1} MB   ({last_day} days of {visits} visits, {:.0} s)",
        "database after the measured days",
        last as f64 / 1e6,
        took.as_secs_f64()
    );
    println!(
        "{:<44} {:>9.0} B    (days {}..{last_day}, retention applied)",
        "steady growth per visit", per_visit, from.0
    );
    println!(
        "{:<44} {:>9.2} GB   (extrapolated at that pace)",
        format!("a year at {visits} visits a day"),
        year / 1e9
    );
}

/// A kiosk talking to the engine directly, with up to 4,096 tickets in flight.
struct Issuer<'a> {
    engine: &'a hub_engine::EngineHandle,
    prefix: &'static str,
    in_flight: std::collections::VecDeque<hub_engine::Reply>,
}

impl<'a> Issuer<'a> {
    fn new(engine: &'a hub_engine::EngineHandle, prefix: &'static str) -> Issuer<'a> {
        Issuer {
            engine,
            prefix,
            in_flight: std::collections::VecDeque::new(),
        }
    }

    /// Issues ticket `n` (of service `n % 20`).
    async fn issue(&mut self, n: u64) -> anyhow::Result<()> {
        let command = protocol::Command::IssueTicket {
            service: format!("S{:02}", n % 20),
            priority: None,
            phone: None,
        };
        self.send("kiosk-1", protocol::Role::Kiosk, command, n)
            .await
    }

    /// Sends a command from `device` with the id `{prefix}-{device}-{n}`; its answer is awaited
    /// later (the engine handles one sender's commands in order).
    async fn send(
        &mut self,
        device: &str,
        role: protocol::Role,
        command: protocol::Command,
        n: u64,
    ) -> anyhow::Result<()> {
        let actor = queue_core::Actor {
            device: device.into(),
            role,
        };
        let (request, reply) =
            hub_engine::Request::command(actor, format!("{}-{device}-{n}", self.prefix), command);
        self.engine
            .requests
            .send(request)
            .await
            .map_err(|_| anyhow::anyhow!("engine stopped"))?;
        self.in_flight.push_back(reply);
        if self.in_flight.len() > 4096
            && let Some(reply) = self.in_flight.pop_front()
        {
            let _ = reply.await;
        }
        Ok(())
    }

    /// Waits until every ticket sent is answered.
    async fn settle(&mut self) {
        while let Some(reply) = self.in_flight.pop_front() {
            let _ = reply.await;
        }
    }
}

/// Per join: the engine's time (what the single writer spends), and until the frame is ready.
type JoinTimes = Vec<(Duration, Duration)>;

/// Issues `waiting` tickets through the real engine, then times joins (an admin's full
/// snapshot, a board's light one), one ticket issued between joins so no cached snapshot is used.
fn join_cost(config: &Path, db: &Path, waiting: u64) -> anyhow::Result<(JoinTimes, JoinTimes)> {
    use hub_engine::Request;
    let config = Arc::new(centre_config::Config::load(config)?);
    let clock = Arc::new(testkit::ManualClock::new(chrono::Utc::now()));
    let engine = hub_engine::start(config, db, clock, None)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut kiosk = Issuer::new(&engine, "q");
        for n in 0..waiting {
            kiosk.issue(n).await?;
        }
        kiosk.settle().await;
        let (mut full, mut light) = (Vec::new(), Vec::new());
        for round in 0..20u64 {
            for (role, is_light, times) in [
                (protocol::Role::Admin, false, &mut full),
                (protocol::Role::Display, true, &mut light),
            ] {
                kiosk
                    .issue(waiting + 2 * round + u64::from(is_light))
                    .await?;
                kiosk.settle().await;
                let (tx, joined) = tokio::sync::oneshot::channel();
                let started = Instant::now();
                let join = Request::Join {
                    role,
                    resume_from: None,
                    light: is_light,
                    respond: tx,
                };
                engine
                    .requests
                    .send(join)
                    .await
                    .map_err(|_| anyhow::anyhow!("engine stopped"))?;
                let joined = joined.await;
                let engine_time = started.elapsed();
                if let Ok(joined) = joined
                    && let Some(welcome) = joined.snapshot
                {
                    let wire = welcome.wire();
                    anyhow::ensure!(wire.bytes.len() > 100, "an empty welcome");
                }
                times.push((engine_time, started.elapsed()));
            }
        }
        anyhow::Ok((full, light))
    })
}

/// What a centre's database weighs: `days` service days of `visits` each (issue, call, serve,
/// finish; every third visit rated) through the real engine with its retention, measured at the
/// end of each day. Returns (day, bytes of database and WAL) per day.
fn storage(config: &Path, db: &Path, days: u32, visits: u64) -> anyhow::Result<Vec<(u32, u64)>> {
    use protocol::{Command, Role};
    let config = Arc::new(centre_config::Config::load(config)?);
    let start = chrono::Utc::now() - chrono::TimeDelta::days(i64::from(days) + 1);
    let clock = Arc::new(testkit::ManualClock::new(start));
    let engine = hub_engine::start(config, db, clock.clone(), None)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let size = || -> u64 {
        ["", "-wal"]
            .iter()
            .filter_map(|s| std::fs::metadata(format!("{}{s}", db.display())).ok())
            .map(|m| m.len())
            .sum()
    };
    rt.block_on(async {
        let mut centre = Issuer::new(&engine, "v");
        let login = Command::Login {
            counter: 1,
            staff: "nv01".into(),
            pin: String::new(),
        };
        centre.send("counter-1", Role::Counter, login, 0).await?;
        let mut sizes = Vec::new();
        let mut n = 0;
        for day in 1..=days {
            for visit in 0..visits {
                n += 1;
                let issue = Command::IssueTicket {
                    service: "S00".into(),
                    priority: None,
                    phone: None,
                };
                centre.send("kiosk-1", Role::Kiosk, issue, n).await?;
                for command in [
                    Command::CallNext {},
                    Command::StartServing {},
                    Command::Finish {
                        rating: visit.is_multiple_of(3).then_some(5),
                    },
                ] {
                    n += 1;
                    centre.send("counter-1", Role::Counter, command, n).await?;
                }
            }
            centre.settle().await;
            sizes.push((day, size()));
            // The next morning: the day starts (and the retention runs) with the first command.
            clock.advance(chrono::TimeDelta::days(1));
        }
        anyhow::Ok(sizes)
    })
}

/// Fills a database with `events` issue events through the real engine, 2,000 tickets a day
/// (a busy centre), so that a restart replays what a real one would: the last day's events.
fn generate(config: &Path, db: &Path, events: u64) -> anyhow::Result<()> {
    let config = Arc::new(centre_config::Config::load(config)?);
    let start = chrono::Utc::now() - chrono::TimeDelta::days((events / 2000 + 2) as i64);
    let clock = Arc::new(testkit::ManualClock::new(start));
    let engine = hub_engine::start(config, db, clock.clone(), None)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut kiosk = Issuer::new(&engine, "gen");
        for issued in 0..events {
            if issued > 0 && issued.is_multiple_of(2000) {
                // Let the day's commands land, then move to the next morning.
                kiosk.settle().await;
                clock.advance(chrono::TimeDelta::days(1));
            }
            kiosk.issue(issued).await?;
        }
        kiosk.settle().await;
        anyhow::Ok(())
    })?;
    Ok(())
}
