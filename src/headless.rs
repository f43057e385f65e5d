//! The demo centre without a display: the real hub on an accelerated clock, simulated citizens
//! taking tickets at a kiosk and clerks calling and serving them, and a board-like observer that
//! prints what happens — issued, called (with the sentence the board would say), served,
//! no-shows, overdue — so a newcomer on a server still sees the system work.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use hub_client::{ClientConfig, HubClient, Update};
use protocol::{Command, EventKind, Role, TicketStatus};
use rand::Rng;

/// Time running `speed` times faster than the wall clock, from now.
struct FastClock {
    start: DateTime<Utc>,
    real: Instant,
    speed: u32,
}

impl hub_engine::clock::Clock for FastClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + TimeDelta::from_std(self.elapsed()).unwrap_or_default()
    }

    fn elapsed(&self) -> Duration {
        self.real.elapsed() * self.speed
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> hub_engine::clock::Sleep {
        let wait = (at - self.now()).to_std().unwrap_or(Duration::ZERO) / self.speed;
        Box::pin(tokio::time::sleep(
            wait.min(hub_engine::clock::LONGEST_SLEEP) + Duration::from_millis(5),
        ))
    }
}

/// Sleeps `virtual_secs` of simulated time.
async fn pause(speed: u32, virtual_secs: f64) {
    tokio::time::sleep(Duration::from_secs_f64(virtual_secs / f64::from(speed))).await;
}

pub fn run(
    data: &Path,
    listen: SocketAddr,
    speed: u32,
    seconds: Option<u64>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let config = centre_config::Config::demo()?;
        let clock = Arc::new(FastClock {
            start: Utc::now(),
            real: Instant::now(),
            speed,
        });
        // A simulation starts from an empty day: its clock runs ahead of the wall clock, and a
        // database from an earlier run would hold events "from the future".
        let db = data.join("hub-headless.db");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let hub = hub::Hub::start_with_clock(config, &db, listen, clock).await?;
        let url = format!("ws://{}/ws", hub.addr);
        println!(
            "Demo centre (headless) — hub at {url}, database {}, time ×{speed}.\n\
             Simulated: one kiosk, six counters (nv01–nv06), one lobby board. Ctrl-C stops.\n\
             The manager's console: http://{}/console (ql01, PIN 1234); booking: /dat-lich\n\
             The hub's own log: {}\n",
            db.display(),
            hub.addr,
            data.join("hub.log").display()
        );
        let mut clients = vec![];
        let connect = |role: Role, device: &str| {
            HubClient::connect(ClientConfig::new(
                url.clone(),
                role,
                device,
                format!("demo-{device}"),
            ))
        };
        // The observer prints the centre's life from the events a board would receive.
        let (observer, mut updates) = connect(Role::Display, "display-2");
        clients.push(observer);
        // The board's first state before anyone acts, so the log misses nothing.
        let first = tokio::time::timeout(Duration::from_secs(10), updates.recv())
            .await
            .ok()
            .flatten();
        let log = tokio::spawn(narrate(first, updates));
        // A client runs while its updates are received; these actors need none of them.
        let mut quiet = vec![];
        let (kiosk, kiosk_updates) = connect(Role::Kiosk, "kiosk-2");
        quiet.push(kiosk_updates);
        tokio::spawn(citizens(kiosk.clone(), speed));
        clients.push(kiosk);
        for n in 1..=6u32 {
            let (clerk, clerk_updates) = connect(Role::Counter, &format!("counter-{n}"));
            quiet.push(clerk_updates);
            tokio::spawn(clerk_day(clerk.clone(), n, speed));
            clients.push(clerk);
        }
        match seconds {
            Some(s) => {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(s)) => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        drop(clients);
        drop(quiet);
        log.abort();
        hub.stop().await?;
        println!("\nStopped.");
        anyhow::Ok(())
    })
}

/// Citizens arriving: a ticket every 20–90 simulated seconds, a priority one in six.
async fn citizens(kiosk: HubClient, speed: u32) {
    const SERVICES: [(&str, u32); 7] = [
        ("TP", 30),
        ("GTVT", 20),
        ("DD", 15),
        ("DKKD", 10),
        ("LDTBXH", 10),
        ("XD", 8),
        ("BCCI", 7),
    ];
    const PRIORITY: [&str; 5] = ["elderly", "pregnant", "disabled", "child", "merit"];
    loop {
        let (service, priority, wait) = {
            let mut rng = rand::rng();
            let total: u32 = SERVICES.iter().map(|s| s.1).sum();
            let mut pick = rng.random_range(0..total);
            let service = SERVICES
                .iter()
                .find(|(_, w)| {
                    if pick < *w {
                        true
                    } else {
                        pick -= w;
                        false
                    }
                })
                .map_or("TP", |s| s.0);
            let priority = rng
                .random_bool(1.0 / 6.0)
                .then(|| PRIORITY[rng.random_range(0..PRIORITY.len())].to_string());
            (service, priority, rng.random_range(20.0..90.0))
        };
        let _ = kiosk
            .send(Command::IssueTicket {
                service: service.into(),
                priority,
                phone: None,
            })
            .await;
        pause(speed, wait).await;
    }
}

/// A clerk's day at counter `n`: call, sometimes recall and mark a no-show, serve, finish.
async fn clerk_day(clerk: HubClient, n: u32, speed: u32) {
    let login = Command::Login {
        counter: n,
        staff: format!("nv{n:02}"),
        pin: "1234".into(),
    };
    if clerk.send(login).await.is_err() {
        return;
    }
    loop {
        // Nobody waiting (or the link is down): look again a minute later.
        if clerk.send(Command::CallNext {}).await.is_err() {
            pause(speed, 60.0).await;
            continue;
        }
        let (absent, walk, service, rating) = {
            let mut rng = rand::rng();
            (
                rng.random_bool(0.08),
                rng.random_range(20.0..60.0),
                rng.random_range(240.0..900.0),
                rng.random_range(3..=4u8),
            )
        };
        if absent {
            for _ in 0..2 {
                pause(speed, 60.0).await;
                let _ = clerk.send(Command::Recall {}).await;
            }
            pause(speed, 60.0).await;
            let _ = clerk.send(Command::NoShow {}).await;
            continue;
        }
        pause(speed, walk).await;
        let _ = clerk.send(Command::StartServing {}).await;
        pause(speed, service).await;
        let _ = clerk
            .send(Command::Finish {
                rating: Some(rating),
            })
            .await;
    }
}

/// Prints one line per event worth telling.
async fn narrate(first: Option<Update>, mut updates: tokio::sync::mpsc::UnboundedReceiver<Update>) {
    let mut names = std::collections::HashMap::new();
    let mut categories = std::collections::HashMap::new();
    let mut pending = first;
    loop {
        let u = match pending.take() {
            Some(u) => u,
            None => match updates.recv().await {
                Some(u) => u,
                None => break,
            },
        };
        let frame = match &u {
            Update::Snapshot { snapshot, .. } => {
                for s in &snapshot.services {
                    names.insert(s.id.clone(), s.name_vi.clone());
                }
                for c in &snapshot.categories {
                    categories.insert(c.id.clone(), c.name_vi.clone());
                }
                continue;
            }
            Update::Event(f) => f,
            Update::Offline { reason, .. } => {
                println!("(mất kết nối: {reason})");
                continue;
            }
            _ => continue,
        };
        let e = &frame.event;
        let at = frame.at.format("%H:%M:%S");
        let Some(t) = &e.ticket else {
            if e.kind == EventKind::DayStarted {
                println!("{at}  — một ngày làm việc mới: số thứ tự bắt đầu lại");
            }
            continue;
        };
        let service = names
            .get(&t.service)
            .cloned()
            .unwrap_or_else(|| t.service.clone());
        let line = match e.kind {
            EventKind::TicketIssued => format!(
                "cấp số {} · {}{}",
                t.number,
                service,
                t.priority
                    .as_ref()
                    .map(|p| format!(" · ưu tiên: {}", categories.get(p).unwrap_or(p)))
                    .unwrap_or_default()
            ),
            EventKind::TicketCalled => {
                let counter = t.counter.unwrap_or_default();
                let sentence =
                    display_board::speech::call_sentence(&t.number, counter).unwrap_or_default();
                format!(
                    "{} {} → quầy {counter}\n          loa: «{sentence}»",
                    if e.recall == Some(true) {
                        "gọi lại"
                    } else {
                        "gọi"
                    },
                    t.number
                )
            }
            EventKind::TicketServing => {
                format!(
                    "quầy {} bắt đầu phục vụ {}",
                    t.counter.unwrap_or_default(),
                    t.number
                )
            }
            EventKind::TicketFinished => format!(
                "{} xong{}",
                t.number,
                t.rating
                    .map(|r| format!(" · đánh giá {r}/4"))
                    .unwrap_or_default()
            ),
            EventKind::TicketNoShow => format!("{} vắng mặt sau 2 lần gọi lại", t.number),
            EventKind::TicketOverdue => format!(
                "⚠ {} quá hạn ({})",
                t.number,
                if t.status == TicketStatus::Serving {
                    "phục vụ"
                } else {
                    "chờ"
                }
            ),
            _ => continue,
        };
        println!("{at}  {line}");
    }
}
