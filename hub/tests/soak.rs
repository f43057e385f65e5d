//! A busy, unlucky day: kiosks issuing, clerks calling and serving, boards watching and new ones
//! joining, clients dropping at random — and the real hub binary killed with SIGKILL and
//! restarted several times. At the end every acknowledged ticket exists exactly once, no number
//! was issued twice, and every board's copy of the state equals the hub's.
//!
//! Short by default (part of the test suite); `SOAK_SECONDS=600 cargo test -p hub --test soak`
//! runs a longer day.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hub_client::{ClientConfig, HubClient, Mirror};
use protocol::{Command, Role};
use rand::{Rng, SeedableRng};
use testkit::{HubProcess, StablePort};
use tokio::sync::Notify;

fn config(addr: SocketAddr, role: Role, device: &str) -> ClientConfig {
    let mut c = ClientConfig::new(
        format!("ws://{addr}/ws"),
        role,
        device,
        format!("demo-{device}"),
    );
    // Back quickly after each kill: the test is about correctness, not patience.
    c.backoff_min = Duration::from_millis(20);
    c.backoff_max = Duration::from_millis(300);
    c
}

/// A board: a client and its mirror, fed by a task.
struct Board {
    _client: HubClient,
    mirror: Arc<Mutex<Mirror>>,
    task: tokio::task::JoinHandle<()>,
}

fn board(addr: SocketAddr, device: &str, changed: &Arc<Notify>) -> Board {
    let (client, mut updates) = HubClient::connect(config(addr, Role::Display, device));
    let mirror = Arc::new(Mutex::new(Mirror::default()));
    let m = mirror.clone();
    let changed = changed.clone();
    let task = tokio::spawn(async move {
        while let Some(u) = updates.recv().await {
            m.lock().expect("mirror").apply(&u);
            changed.notify_one();
        }
    });
    Board {
        _client: client,
        mirror,
        task,
    }
}

/// Waiting ticket ids; per service (waiting, issued today); per counter its current ticket.
type View = (
    Vec<u64>,
    BTreeMap<String, (u32, u32)>,
    BTreeMap<u32, Option<(u64, String)>>,
);

/// What of a mirror must equal the hub's state.
fn view(m: &Mirror) -> View {
    let mut waiting: Vec<u64> = m.waiting.iter().map(|t| t.id).collect();
    waiting.sort_unstable();
    let services = m
        .services
        .iter()
        .map(|s| (s.id.clone(), (s.waiting, s.issued_today)))
        .collect();
    let counters = m
        .counters
        .iter()
        .map(|c| {
            (
                c.number,
                c.current
                    .as_ref()
                    .map(|t| (t.id, format!("{:?}", t.status))),
            )
        })
        .collect();
    (waiting, services, counters)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_day_with_crashes_loses_nothing_and_every_board_agrees() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let kills = (seconds / 2).clamp(3, 200);
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_hub"));
    // Every client connects here; each new hub process gets a port of its own behind it.
    let port = StablePort::open().await;
    let mut hub = HubProcess::demo(exe, &db);
    port.forward_to(hub.addr);
    let addr = port.addr;
    let acked: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let mut actors = vec![];

    for k in 1..=2 {
        actors.push(kiosk(addr, k, acked.clone()));
    }
    for n in 1..=4u32 {
        actors.push(clerk(addr, n));
    }
    let changed = Arc::new(Notify::new());
    let mut boards = vec![
        board(addr, "display-1", &changed),
        board(addr, "display-2", &changed),
    ];

    let mut rng = rand::rngs::StdRng::seed_from_u64(seconds);
    let started = Instant::now();
    let mut killed = 0;
    while started.elapsed() < Duration::from_secs(seconds) || killed < kills {
        tokio::time::sleep(Duration::from_millis(rng.random_range(300..900))).await;
        if killed < kills && rng.random_bool(0.6) {
            port.refuse();
            hub.child.kill().expect("SIGKILL");
            hub.child.wait().expect("reaped");
            killed += 1;
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..200))).await;
            hub = HubProcess::demo(exe, &db);
            port.forward_to(hub.addr);
        } else {
            // A board drops out and another joins.
            let gone = boards.remove(rng.random_range(0..boards.len()));
            gone.task.abort();
            let device = if rng.random_bool(0.5) {
                "display-1"
            } else {
                "display-2"
            };
            boards.push(board(addr, device, &changed));
        }
    }
    for a in &actors {
        a.abort();
    }

    // Quiet now: every board catches up with the hub, and sees what a fresh board sees.
    let fresh = board(addr, "display-1", &changed);
    let settled = all_caught_up(&fresh, &boards, &changed).await;
    assert!(settled, "boards did not catch up with the hub");
    let truth = view(&fresh.mirror.lock().expect("mirror"));
    for b in &boards {
        assert_eq!(
            view(&b.mirror.lock().expect("mirror")),
            truth,
            "a board disagrees with the hub"
        );
    }
    hub.kill();

    // Every acknowledged ticket exists exactly once, with its number; no number twice.
    let acked = acked.lock().expect("acked").clone();
    assert!(
        acked.len() > 50,
        "only {} tickets acknowledged",
        acked.len()
    );
    let stored: Vec<(u64, String)> = ledger::Reader::open(&db)
        .and_then(|r| r.tickets())
        .expect("the tickets")
        .into_iter()
        .map(|t| (t.id, t.number))
        .collect();
    let by_id: BTreeMap<u64, &String> = stored.iter().map(|(i, n)| (*i, n)).collect();
    assert_eq!(by_id.len(), stored.len(), "a ticket id twice");
    for (id, number) in &acked {
        assert_eq!(
            by_id.get(id),
            Some(&number),
            "acknowledged ticket {number} ({id})"
        );
    }
    let numbers: BTreeSet<&String> = stored.iter().map(|(_, n)| n).collect();
    assert_eq!(numbers.len(), stored.len(), "a number issued twice");
    assert!(killed >= 3);
}

/// A kiosk issuing a ticket every 15 ms, noting the ones acknowledged, until it is stopped.
fn kiosk(
    addr: SocketAddr,
    k: usize,
    acked: Arc<Mutex<Vec<(u64, String)>>>,
) -> tokio::task::JoinHandle<()> {
    let (client, updates) = HubClient::connect(config(addr, Role::Kiosk, &format!("kiosk-{k}")));
    tokio::spawn(async move {
        let _keep = updates;
        let services = ["TP", "GTVT", "DD", "BCCI"];
        for i in 0.. {
            let cmd = Command::IssueTicket {
                service: services[i % services.len()].into(),
                priority: (i % 5 == 0).then(|| "elderly".into()),
                phone: None,
            };
            match client.send(cmd).await {
                Ok(v) => {
                    let t = v.into_ticket().expect("a ticket");
                    acked.lock().expect("acked").push((t.id, t.number));
                }
                Err(hub_client::CommandError::Stopped) => break,
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    })
}

/// A clerk at counter `n`: signs in, then calls, serves and finishes, until stopped.
fn clerk(addr: SocketAddr, n: u32) -> tokio::task::JoinHandle<()> {
    let (client, updates) =
        HubClient::connect(config(addr, Role::Counter, &format!("counter-{n}")));
    tokio::spawn(async move {
        let _keep = updates;
        let login = Command::Login {
            counter: n,
            staff: format!("nv{n:02}"),
            pin: "1234".into(),
        };
        while client.send(login.clone()).await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        loop {
            for cmd in [
                Command::CallNext {},
                Command::StartServing {},
                Command::Finish { rating: None },
            ] {
                if let Err(hub_client::CommandError::Stopped) = client.send(cmd).await {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    })
}

/// Whether every board reaches the fresh board's head (and it is online) within 30 s.
async fn all_caught_up(fresh: &Board, boards: &[Board], changed: &Notify) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let head = fresh.mirror.lock().expect("mirror").seq;
        let seqs: Vec<u64> = boards
            .iter()
            .map(|b| b.mirror.lock().expect("mirror").seq)
            .collect();
        let online = fresh.mirror.lock().expect("mirror").online;
        if online && head > 0 && seqs.iter().all(|s| *s == head) {
            break true;
        }
        // Wait for the next update any board applies.
        let left = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, changed.notified())
            .await
            .is_err()
        {
            break false;
        }
    }
}
