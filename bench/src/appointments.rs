//! The appointments' figures: bookings per second while a hundred bookers race for the same
//! slots over HTTP (each request from its own loopback address, as phones would come, so the
//! per-address allowance does not stop them), with no slot over capacity counted afterwards in
//! the database; the free-slots query over seven days of a 20-service centre; and the cost of a
//! join while thousands of bookings exist.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};

/// Places a slot holds in the bench centre.
const PER_SLOT: u32 = 2;
/// Days bookable ahead, today included.
const DAYS: u32 = 7;

/// The benchmark centre with every one of its 20 services bookable round the clock: quarter-hour
/// slots of two places, a week ahead.
pub fn config(base: &str) -> String {
    let table = format!(
        "[service.appointments]\nslot_min = 15\nper_slot = {PER_SLOT}\ndays_ahead = {}\n\n",
        DAYS - 1
    );
    let with = base.replace(
        "target_service_min = 10\n\n",
        &format!("target_service_min = 10\n{table}"),
    );
    format!(
        "{with}\n[[device]]\nid = \"admin\"\nrole = \"admin\"\ntoken = \"bench-token\"\n\n\
         [appointments]\nper_phone_per_day = 20\n"
    )
}

/// Each request from the next of the bench's loopback addresses.
static NEXT_ADDRESS: AtomicU32 = AtomicU32::new(0);

async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> anyhow::Result<(u16, String)> {
    // Fewer addresses than the hub remembers (4,096), each used a few times at most.
    let n = NEXT_ADDRESS.fetch_add(1, Ordering::Relaxed) % 4_000;
    let local = IpAddr::from([127, 10, (n / 250) as u8, (n % 250) as u8 + 1]);
    let json: Option<serde_json::Value> = if body.is_empty() {
        None
    } else {
        Some(serde_json::from_str(body)?)
    };
    Ok(testkit::raw::request_from(Some(local), addr, method, path, None, json.as_ref()).await)
}

/// Every slot start of tomorrow and the day after (96 a day), as the API writes them: room for
/// 7,680 bookings in the twenty services.
fn next_two_days_slots() -> Vec<String> {
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let today = Utc::now().with_timezone(&tz).date_naive();
    (1..=2)
        .flat_map(|d| {
            let day = today + TimeDelta::days(d);
            (0..96).map(move |i| {
                let minutes = i * 15;
                format!("{day}T{:02}:{:02}:00+07:00", minutes / 60, minutes % 60)
            })
        })
        .collect()
}

pub async fn figures(
    bin: &Path,
    dir: &Path,
    base_config: &str,
    seconds: u64,
) -> anyhow::Result<()> {
    let config_path = dir.join("appointments.toml");
    std::fs::write(&config_path, config(base_config))?;
    let db = dir.join("appointments.db");
    let (hub, _) = super::start_hub(bin, &config_path, &db).await?;
    race(hub.addr, seconds).await?;
    slot_queries(hub.addr).await?;
    joins(hub.addr).await?;
    hub.kill();
    over_capacity(&db)
}

/// A hundred bookers for the same few slots of one service, then for the slots of all twenty.
async fn race(addr: SocketAddr, seconds: u64) -> anyhow::Result<()> {
    let slots = Arc::new(next_two_days_slots());
    let stop_at = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let bookers: Vec<_> = (0..100u32)
        .map(|b| {
            let slots = slots.clone();
            tokio::spawn(async move {
                let (mut booked, mut full, mut limited, mut times) = (0u32, 0u32, 0u32, Vec::new());
                let mut i = 0usize;
                while Instant::now() < stop_at {
                    // Bookers pile onto the same slots: booker b tries slot (b + i) of service i.
                    let slot = &slots[(b as usize / 10 + i) % slots.len()];
                    let service = i % 20;
                    let phone = format!("09{:04}{:04}", b, i % 10_000);
                    let body = format!(
                        r#"{{"service":"S{service:02}","start":"{slot}","phone":"{phone}"}}"#
                    );
                    let t = Instant::now();
                    let (status, _) = http(addr, "POST", "/api/appointments", &body).await?;
                    times.push(t.elapsed());
                    match status {
                        201 => booked += 1,
                        409 => full += 1,
                        // The per-address allowance (each address has 30): a long run uses it up.
                        429 => limited += 1,
                        other => anyhow::bail!("a booking answered {other}"),
                    }
                    i += 1;
                }
                anyhow::Ok((booked, full, limited, times))
            })
        })
        .collect();
    let (mut booked, mut full, mut limited, mut times) = (0, 0, 0, Vec::new());
    for b in bookers {
        let (ok, refused, held_back, t) = b.await??;
        booked += ok;
        full += refused;
        limited += held_back;
        times.extend(t);
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "bookings, 100 racing bookers: {:.0} decided/s ({booked} booked, {full} refused full, \
         {limited} held back by the per-address allowance) over {took:.1} s",
        f64::from(booked + full) / took
    );
    super::show("booking round trip (HTTP, racing)", times);
    Ok(())
}

/// Each service's free slots, for each of the seven days, over and over.
async fn slot_queries(addr: SocketAddr) -> anyhow::Result<()> {
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let mut times = Vec::new();
    for round in 0..5 {
        for service in 0..20 {
            for day in 0..DAYS {
                let date = today + chrono::Days::new(u64::from(day));
                let path = format!("/api/appointments/slots?service=S{service:02}&date={date}");
                let t = Instant::now();
                let (status, body) = http(addr, "GET", &path, "").await?;
                times.push(t.elapsed());
                anyhow::ensure!(status == 200, "slots answered {status}: {body}");
                if round == 0 && day == 2 && service == 0 {
                    anyhow::ensure!(body.contains("\"free\":0"), "the race filled some slots");
                }
            }
        }
    }
    super::show("slots of a day (20 services × 7 days)", times);
    Ok(())
}

/// A display's (light) and an admin's (full) hello → welcome, with the bookings made.
async fn joins(addr: SocketAddr) -> anyhow::Result<()> {
    for (role, device) in [("display", "display-1"), ("admin", "admin")] {
        let mut times = Vec::new();
        for _ in 0..30 {
            let t = Instant::now();
            let ws = super::connect(addr, role, device).await;
            times.push(t.elapsed());
            drop(ws);
        }
        super::show(&format!("join ({role}) with the bookings made"), times);
    }
    Ok(())
}

/// Counted in the database afterwards: no slot holds more than its places.
fn over_capacity(db: &Path) -> anyhow::Result<()> {
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let rows = ledger::Reader::open(db)?
        .appointments_of_days(today - chrono::Days::new(1), today + chrono::Days::new(8))?;
    anyhow::ensure!(
        rows.len() >= 5000,
        "fewer than 5,000 bookings for the join figure"
    );
    let mut per_slot: HashMap<(String, chrono::DateTime<Utc>), u32> = HashMap::new();
    for r in &rows {
        *per_slot.entry((r.service.clone(), r.start)).or_default() += 1;
    }
    let fullest = per_slot.values().copied().max().unwrap_or(0);
    println!(
        "bookings in the database: {} in {} slots, the fullest holds {fullest} (capacity {PER_SLOT})",
        rows.len(),
        per_slot.len()
    );
    anyhow::ensure!(fullest <= PER_SLOT, "a slot is over capacity");
    Ok(())
}
