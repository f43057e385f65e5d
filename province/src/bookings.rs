//! Booking any centre at the province's door, the hub's half (docs/PROVINCE.md, "Booking any
//! centre"): the hub publishes its slots with the province's share of their places
//! (`province_slots`), and learns the bookings made there (`province_bookings`) by reading them
//! whenever it can. Neither is needed for a pass to be honoured at the kiosk — the pass is
//! checked offline — but a learned booking is counted in the centre's figures, can be checked
//! in with its code typed, and is cancelled here when cancelled there.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hub_engine::booking::BookingAsk;
use hub_engine::clock::Clock;
use hub_engine::{EngineHandle, Request};
use queue_core::Rules;
use queue_core::appointments::{check_in_window, slots_on};
use tokio::sync::{oneshot, watch};
use tokio_postgres::Client;

use super::{Link, ProvinceError};

/// How often the hub reads the bookings made at the door (a new one is honoured at the kiosk
/// by its pass before then anyway).
pub const LEARN_EVERY: Duration = Duration::from_secs(5);
/// Bookings read at once.
const LEARN_BATCH: i64 = 500;
/// The longest wait between attempts while the province cannot be reached.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// A slot as the province books it.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotRow {
    pub service: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub places: i32,
    pub check_in_from: DateTime<Utc>,
    pub check_in_until: DateTime<Utc>,
}

/// The slots of today and the days ahead with a share for the province, not yet started.
pub fn slots_to_publish(rules: &Rules, now: DateTime<Utc>) -> Vec<SlotRow> {
    let today = now.with_timezone(&rules.tz).date_naive();
    let mut rows = Vec::new();
    for id in &rules.service_order {
        let Some(service) = rules.services.get(id) else {
            continue;
        };
        let Some(a) = service
            .appointments
            .as_ref()
            .filter(|a| a.province_share > 0)
        else {
            continue;
        };
        for ahead in 0..=a.days_ahead {
            let date = today + TimeDelta::days(i64::from(ahead));
            for slot in slots_on(rules, service, date) {
                if slot.start <= now {
                    continue;
                }
                let Some((from, until)) = check_in_window(rules, id, slot.start) else {
                    continue;
                };
                rows.push(SlotRow {
                    service: id.0.clone(),
                    start: slot.start,
                    end: slot.end,
                    places: i32::try_from(a.province_share).unwrap_or(i32::MAX),
                    check_in_from: from,
                    check_in_until: until,
                });
            }
        }
    }
    rows
}

/// Writes `rows` as the centre's slots from now on (those no longer offered are taken away;
/// bookings already made in them stay, and their passes are honoured).
pub async fn publish_slots(
    client: &mut Client,
    centre: &str,
    rows: &[SlotRow],
    now: DateTime<Utc>,
) -> Result<(), ProvinceError> {
    let services: Vec<&str> = rows.iter().map(|r| r.service.as_str()).collect();
    let starts: Vec<DateTime<Utc>> = rows.iter().map(|r| r.start).collect();
    let ends: Vec<DateTime<Utc>> = rows.iter().map(|r| r.end).collect();
    let places: Vec<i32> = rows.iter().map(|r| r.places).collect();
    let froms: Vec<DateTime<Utc>> = rows.iter().map(|r| r.check_in_from).collect();
    let untils: Vec<DateTime<Utc>> = rows.iter().map(|r| r.check_in_until).collect();
    let tx = client.transaction().await?;
    // Past slots go a day after they began: a booking's page still finds its slot meanwhile.
    tx.execute(
        "DELETE FROM province_slots WHERE centre = $1 AND (start < $2::timestamptz - interval '1 day'
            OR (start > $2 AND (service, start) NOT IN
                (SELECT * FROM unnest($3::text[], $4::timestamptz[]))))",
        &[&centre, &now, &services, &starts],
    )
    .await?;
    tx.execute(
        "INSERT INTO province_slots (centre, service, start, end_at, places, check_in_from,
            check_in_until, as_of)
         SELECT $1, s.*, now()
         FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::int[],
            $6::timestamptz[], $7::timestamptz[]) AS s
         ON CONFLICT (centre, service, start) DO UPDATE SET end_at = excluded.end_at,
            places = excluded.places, check_in_from = excluded.check_in_from,
            check_in_until = excluded.check_in_until, as_of = excluded.as_of",
        &[&centre, &services, &starts, &ends, &places, &froms, &untils],
    )
    .await?;
    // Said as a word of the centre's waits: whoever listens (the tests) need not poll.
    tx.execute("SELECT pg_notify('hang_doi_waits', $1)", &[&centre])
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A booking as the door has it.
#[derive(Debug, Clone, PartialEq)]
pub struct DoorBooking {
    pub code: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub cancelled: bool,
    pub version: i64,
}

/// The confirmed or cancelled bookings of `centre` changed after `version`, oldest change
/// first, whose slots are not long past.
pub async fn changed_since(
    client: &Client,
    centre: &str,
    version: i64,
) -> Result<Vec<DoorBooking>, ProvinceError> {
    let rows = client
        .query(
            "SELECT code, service, start, state = 'cancelled', version FROM province_bookings
             WHERE centre = $1 AND version > $2 AND state <> 'held'
                AND start > now() - interval '1 day'
             ORDER BY version LIMIT $3",
            &[&centre, &version, &LEARN_BATCH],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(DoorBooking {
                code: r.try_get(0)?,
                service: r.try_get(1)?,
                start: r.try_get(2)?,
                cancelled: r.try_get(3)?,
                version: r.try_get(4)?,
            })
        })
        .collect()
}

/// The hub's task that learns the bookings made at the door, every [`LEARN_EVERY`] while the
/// province answers, until the hub stops. Starts over from the oldest booking not long past at
/// each start: the engine keeps what it already knows unchanged.
pub async fn learn(
    link: Link,
    centre: String,
    engine: EngineHandle,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut client: Option<Client> = None;
    let mut seen = 0_i64;
    let mut backoff = Duration::from_secs(1);
    let mut down = false;
    loop {
        let round = async {
            let c = match client.take() {
                Some(c) if !c.is_closed() => c,
                _ => link.connect_as(&format!("hang-doi-hub {centre}")).await?,
            };
            let changed = changed_since(&c, &centre, seen).await;
            client = Some(c);
            let changed = changed?;
            let more = changed.len() as i64 == LEARN_BATCH;
            for b in changed {
                tell_the_engine(&engine, &centre, &b).await;
                seen = seen.max(b.version);
            }
            Ok::<_, ProvinceError>(more)
        };
        let outcome = tokio::select! {
            o = round => o,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        let pause = match outcome {
            Ok(more) => {
                if down {
                    tracing::info!(%centre, "the bookings made at the province's door are read again");
                    down = false;
                }
                backoff = Duration::from_secs(1);
                if more { Duration::ZERO } else { LEARN_EVERY }
            }
            Err(e) => {
                client = None;
                if !down {
                    tracing::warn!(%centre, error = %e, at = %clock.now(),
                        "cannot read the bookings made at the province's door; their passes are honoured at the kiosk meanwhile");
                    down = true;
                }
                let pause = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                pause
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

async fn tell_the_engine(engine: &EngineHandle, centre: &str, b: &DoorBooking) {
    let (respond, answer) = oneshot::channel();
    let ask = BookingAsk::Learn {
        code: b.code.clone(),
        service: b.service.clone(),
        start: b.start,
        cancelled: b.cancelled,
    };
    if engine
        .requests
        .send(Request::Booking { ask, respond })
        .await
        .is_err()
    {
        return;
    }
    if let Ok(reply) = answer.await
        && let Ok(reply) = serde_json::from_str::<protocol::Reply>(reply.as_str())
        && let Some(error) = reply.error
    {
        // A code another booking of this centre holds (one chance in 10^10), or a field no
        // longer taking appointments: the pass still says what the kiosk does.
        tracing::warn!(%centre, error = %error.message,
            "a booking made at the province's door cannot be kept here");
    }
}
