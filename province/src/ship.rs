//! Store-and-forward of a hub's event log to the province's PostgreSQL.
//!
//! The truth of how far a centre got is in the province's database itself (`centres.shipped_seq`),
//! moved in the same transaction as the events it covers. So a batch is either wholly in or not
//! at all, whatever dies midway — the hub, the link, the server — and the next attempt starts
//! from there. `(centre, seq)` is the events' primary key and every insert is `ON CONFLICT DO
//! NOTHING`: a batch sent twice (two shippers of one centre, say) is in once. The row of the
//! centre is locked for the batch, so two shippers of one centre take turns.
//!
//! The hub's own work never waits for any of this: the shipper reads the database through a
//! read-only connection of its own (SQLite's WAL lets the engine write meanwhile), on a blocking
//! thread, in short transactions.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ledger::{EventRow, Reader, Shipment, TicketRow, status_text};
use tokio::sync::watch;
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

use super::{Link, ProvinceError, schema};
use centre_config::Config;
use hub_engine::clock::Clock;

/// How often a caught-up shipper without a hub to wake it (`hub ship --follow`) looks for new
/// events.
pub const POLL: Duration = Duration::from_secs(2);
/// Inside the hub, each commit wakes the shipper, but not more often than this: a busy centre's
/// events go in batches of a second, not a transaction per commit.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// … and a quiet one looks anyway this often (nothing to ship costs one short transaction).
const IDLE_LOOK: Duration = Duration::from_secs(60);
/// The longest wait between attempts while the province cannot be reached.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A batch that takes longer than this counts as a dead link (the connection is dropped, and
/// with it the transaction).
const BATCH_TIMEOUT: Duration = Duration::from_secs(120);
/// While the link stays down, a reminder in the log this often (not one line per attempt).
const DOWN_REMINDER: Duration = Duration::from_secs(600);

/// What the province is told about a centre.
#[derive(Debug, Clone)]
pub struct Centre {
    pub id: String,
    pub name: String,
    pub name_en: String,
    pub time_zone: String,
    /// `HH:MM:SS`, the local time a service day starts.
    pub day_starts_at: String,
    /// (id, Vietnamese name, English name) of each field.
    pub services: Vec<(String, String, String)>,
}

impl Centre {
    /// From a centre's configuration; `None` without `[center] id`.
    pub fn of(config: &Config) -> Option<Centre> {
        Some(Centre {
            id: config.center_id.clone()?,
            name: config.center.name.clone(),
            name_en: config.center.name_en.clone(),
            time_zone: config.center.timezone.clone(),
            day_starts_at: config.rules.day_start.format("%H:%M:%S").to_string(),
            services: config
                .rules
                .services
                .values()
                .map(|s| (s.id.0.clone(), s.name_vi.clone(), s.name_en.clone()))
                .collect(),
        })
    }
}

/// One centre's shipper.
#[derive(Debug, Clone)]
pub struct Shipper {
    pub centre: Centre,
    pub db: PathBuf,
    pub link: Link,
    /// Events per transaction.
    pub batch: usize,
    /// The centre's rules, whose slots with a share for the province it publishes (`None`:
    /// none, as for `hub ship`, which has no engine to learn the bookings made there).
    pub rules: Option<Arc<queue_core::Rules>>,
}

/// How the shipping goes, as `/healthz` reports it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Shipping {
    /// Every event up to this one is in the province (as far as this hub has heard).
    pub shipped: u64,
    /// The last time the province answered.
    pub last_ok: Option<chrono::DateTime<chrono::Utc>>,
    /// Since when the province cannot be reached (or refuses), if it cannot.
    pub down_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Why, if it cannot, in a few words (the details are in the log).
    pub error: Option<String>,
}

/// How far shipping got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Every event up to this one is in the province.
    pub shipped: u64,
    /// Events sent by this run.
    pub sent: u64,
}

impl Shipper {
    /// The shipper a configuration with `[province]` asks for.
    pub fn from_config(config: &Config, db: &Path) -> Option<Shipper> {
        let province = config.province.as_ref()?;
        Some(Shipper {
            centre: Centre::of(config)?,
            db: db.to_path_buf(),
            link: Link::from(province),
            batch: province.batch,
            rules: Some(Arc::new(config.rules.clone())),
        })
    }

    /// Connects, brings the schema up to date and says who this centre is.
    pub async fn connect(&self) -> Result<Client, ProvinceError> {
        // Named in the start-up message (no session state: a pooler in transaction mode is fine).
        let name = format!("hang-doi-hub {}", self.centre.id);
        let mut client = self.link.connect_as(&name).await?;
        schema::migrate(&mut client).await?;
        self.introduce(&client).await?;
        Ok(client)
    }

    async fn introduce(&self, client: &Client) -> Result<(), ProvinceError> {
        let c = &self.centre;
        client
            .execute(
                "INSERT INTO centres (id, name, name_en, time_zone, day_starts_at)
                 VALUES ($1, $2, $3, $4, $5::text::interval)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_en = excluded.name_en,
                    time_zone = excluded.time_zone, day_starts_at = excluded.day_starts_at",
                &[&c.id, &c.name, &c.name_en, &c.time_zone, &c.day_starts_at],
            )
            .await?;
        let ids: Vec<&str> = c.services.iter().map(|s| s.0.as_str()).collect();
        let names: Vec<&str> = c.services.iter().map(|s| s.1.as_str()).collect();
        let names_en: Vec<&str> = c.services.iter().map(|s| s.2.as_str()).collect();
        client
            .execute(
                "INSERT INTO services (centre, id, name, name_en)
                 SELECT $1, s.id, s.name, s.name_en
                 FROM unnest($2::text[], $3::text[], $4::text[]) AS s(id, name, name_en)
                 ON CONFLICT (centre, id) DO UPDATE SET name = excluded.name,
                    name_en = excluded.name_en",
                &[&c.id, &ids, &names, &names_en],
            )
            .await?;
        Ok(())
    }

    /// What the hub says of its fields now, and that it is there (`heard_at`, on the
    /// database's clock): the province's door shows these, and a centre silent for minutes as
    /// silent. Fields no longer in the configuration are taken away.
    pub async fn publish_waits(
        &self,
        client: &mut Client,
        waits: &hub_engine::CentreWaits,
    ) -> Result<(), ProvinceError> {
        let id = &self.centre.id;
        let fields = &waits.fields;
        let day = waits.day.map(|d| d.to_string());
        let ids: Vec<&str> = fields.iter().map(|f| f.view.id.as_str()).collect();
        let positions: Vec<i32> = (0..fields.len() as i32).collect();
        let states: Vec<&str> = fields.iter().map(|f| state_name(f.view.state)).collect();
        let waiting: Vec<i32> = fields
            .iter()
            .map(|f| i32::try_from(f.view.waiting).unwrap_or(i32::MAX))
            .collect();
        let etas: Vec<Option<i32>> = fields
            .iter()
            .map(|f| f.view.eta_min.map(|e| i32::try_from(e).unwrap_or(i32::MAX)))
            .collect();
        // Arrays of arrays must be rectangular in PostgreSQL: each queue as text, cast there.
        let queues: Vec<String> = fields
            .iter()
            .map(|f| {
                let ids: Vec<String> = f.queue.iter().map(u64::to_string).collect();
                format!("{{{}}}", ids.join(","))
            })
            .collect();
        let secs: Vec<Option<f64>> = fields.iter().map(|f| f.secs_per_ahead).collect();
        let secs_priority: Vec<Option<f64>> =
            fields.iter().map(|f| f.secs_per_ahead_priority).collect();
        let tx = client.transaction().await?;
        tx.execute(
            "DELETE FROM service_waits WHERE centre = $1 AND service <> ALL($2::text[])",
            &[id, &ids],
        )
        .await?;
        tx.execute(
            "INSERT INTO service_waits (centre, service, position, state, waiting, eta_min, as_of,
                queue, secs_per_ahead, secs_per_ahead_priority)
             SELECT $1, f.service, f.position, f.state, f.waiting, f.eta_min, now(),
                f.queue::bigint[], f.secs, f.secs_priority
             FROM unnest($2::text[], $3::int[], $4::text[], $5::int[], $6::int[], $7::text[],
                 $8::float8[], $9::float8[])
                 AS f(service, position, state, waiting, eta_min, queue, secs, secs_priority)
             ON CONFLICT (centre, service) DO UPDATE SET position = excluded.position,
                state = excluded.state, waiting = excluded.waiting, eta_min = excluded.eta_min,
                as_of = excluded.as_of, queue = excluded.queue,
                secs_per_ahead = excluded.secs_per_ahead,
                secs_per_ahead_priority = excluded.secs_per_ahead_priority",
            &[
                id,
                &ids,
                &positions,
                &states,
                &waiting,
                &etas,
                &queues,
                &secs,
                &secs_priority,
            ],
        )
        .await?;
        tx.execute(
            "UPDATE centres SET heard_at = now(), service_day = $2::text::date WHERE id = $1",
            &[id, &day],
        )
        .await?;
        // Heard by whoever LISTENs (a door that pushes, a test) when the transaction commits.
        tx.execute("SELECT pg_notify('hang_doi_waits', $1)", &[id])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The hub's waits to the province's door, unless the same were said within a minute. A
    /// refusal is logged once and stops nothing: a role not yet granted `service_waits` still
    /// ships every event, the log mattering more than the door's figures.
    async fn tell_the_door(
        &self,
        client: &mut Client,
        waits: hub_engine::Waits,
        told: &mut ToldTheDoor,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        if let Some((last, at)) = &told.last
            && Arc::ptr_eq(last, &waits)
            && at.elapsed() < IDLE_LOOK
        {
            return;
        }
        let published = self.publish_waits(client, &waits).await;
        match (&published, told.refused) {
            (Err(e), false) => tracing::warn!(centre = %self.centre.id, error = %e,
                "cannot tell the province's door this centre's waits (GRANT INSERT, UPDATE, DELETE ON service_waits: docs/PROVINCE.md)"),
            (Ok(()), true) => tracing::info!(centre = %self.centre.id,
                "the province's door has this centre's waits again"),
            _ => {}
        }
        told.refused = published.is_err();
        if published.is_ok() && told.slots_for != Some(waits.day) {
            self.tell_the_slots(client, waits.day, told, now).await;
        }
        told.last = published
            .is_ok()
            .then(|| (waits, tokio::time::Instant::now()));
    }

    /// The slots with a share for the province, once a service day (and at each start).
    async fn tell_the_slots(
        &self,
        client: &mut Client,
        day: Option<chrono::NaiveDate>,
        told: &mut ToldTheDoor,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        let Some(rules) = &self.rules else {
            return;
        };
        let rows = crate::bookings::slots_to_publish(rules, now);
        if rows.is_empty() && told.slots_for.is_none() && !told.had_slots {
            told.slots_for = Some(day);
            return;
        }
        match crate::bookings::publish_slots(client, &self.centre.id, &rows, now).await {
            Ok(()) => {
                told.slots_for = Some(day);
                told.had_slots = !rows.is_empty();
            }
            Err(e) => tracing::warn!(centre = %self.centre.id, error = %e,
                "cannot publish the slots the province's door books (GRANT INSERT, UPDATE, DELETE ON province_slots: docs/PROVINCE.md)"),
        }
    }

    /// Ships everything the database holds now, batch by batch.
    pub async fn ship_all(&self, client: &mut Client) -> Result<Progress, ProvinceError> {
        let mut progress = Progress::default();
        loop {
            let batch = tokio::time::timeout(BATCH_TIMEOUT, self.ship_batch(client))
                .await
                .map_err(|_| ProvinceError::Timeout(BATCH_TIMEOUT))??;
            progress.shipped = batch.shipped;
            progress.sent += batch.sent;
            // A batch that was not full found the end of the log.
            if batch.sent < self.batch as u64 {
                return Ok(progress);
            }
        }
    }

    /// One transaction: the events after what the province has, at most `batch` of them, and
    /// the tickets they changed.
    async fn ship_batch(&self, client: &mut Client) -> Result<Progress, ProvinceError> {
        let id = &self.centre.id;
        let tx = client.transaction().await?;
        let shipped: i64 = tx
            .query_one(
                "SELECT shipped_seq FROM centres WHERE id = $1 FOR UPDATE",
                &[id],
            )
            .await?
            .try_get(0)?;
        let db = self.db.clone();
        let limit = self.batch;
        let local = tokio::task::spawn_blocking(move || read_after(&db, shipped as u64, limit))
            .await
            .map_err(|e| ProvinceError::Local(format!("the reading thread failed: {e}")))??;
        let same_event = match (local.after_at, shipped > 0) {
            (Some(at), true) => tx
                .query_opt(
                    "SELECT at = $3::text::timestamptz FROM events WHERE centre = $1 AND seq = $2",
                    &[id, &shipped, &at.to_rfc3339()],
                )
                .await?
                .map(|r| r.try_get::<_, bool>(0))
                .transpose()?,
            _ => None,
        };
        check_same_history(id, shipped as u64, same_event, &local)?;
        let Some(last) = local.events.last().map(|e| e.seq) else {
            tx.commit().await?;
            return Ok(Progress {
                shipped: shipped as u64,
                sent: 0,
            });
        };
        insert_events(&tx, id, &local.events).await?;
        upsert_tickets(&tx, id, &local.tickets).await?;
        keep_track_hashes(&tx, id, &local.tracks).await?;
        upsert_appointments(&tx, id, &local.appointments).await?;
        tx.execute(
            "UPDATE centres SET shipped_seq = $2, shipped_at = now() WHERE id = $1",
            &[id, &(last as i64)],
        )
        .await?;
        // Heard on commit by whoever LISTENs (a dashboard refreshing, a test waiting).
        tx.execute(
            "SELECT pg_notify('hang_doi_shipped', $1)",
            &[&format!("{id} {last}")],
        )
        .await?;
        tx.commit().await?;
        tracing::debug!(
            centre = %id,
            from = shipped + 1,
            to = last,
            tickets = local.tickets.len(),
            "shipped to the province"
        );
        Ok(Progress {
            shipped: last,
            sent: local.events.len() as u64,
        })
    }

    /// The hub's shipping task: ships, waits for more, and through any outage keeps trying
    /// with a growing pause, until the hub stops. Says how it goes in `report`. `commits`, the
    /// engine's health (which changes with every commit), wakes it when there is something new;
    /// without it, it looks every [`POLL`].
    pub async fn run(
        self,
        clock: Arc<dyn Clock>,
        mut shutdown: watch::Receiver<bool>,
        report: watch::Sender<Shipping>,
        mut commits: Option<watch::Receiver<hub_engine::Health>>,
        waits: Option<watch::Receiver<hub_engine::Waits>>,
    ) {
        let mut client: Option<Client> = None;
        let mut backoff = Duration::from_secs(1);
        let mut down_since: Option<(tokio::time::Instant, tokio::time::Instant)> = None;
        let mut told = ToldTheDoor::default();
        loop {
            if *shutdown.borrow() {
                return;
            }
            // What commits from now on will wake the next round.
            if let Some(c) = &mut commits {
                c.borrow_and_update();
            }
            let attempt = async {
                let mut c = match client.take() {
                    Some(c) if !c.is_closed() => c,
                    _ => self.connect().await?,
                };
                let progress = self.ship_all(&mut c).await;
                if progress.is_ok()
                    && let Some(w) = &waits
                {
                    let waits_now = w.borrow().clone();
                    self.tell_the_door(&mut c, waits_now, &mut told, clock.now())
                        .await;
                }
                client = Some(c);
                progress
            };
            let outcome = tokio::select! {
                outcome = attempt => outcome,
                _ = shutdown.wait_for(|s| *s) => return,
            };
            let pause = match outcome {
                Ok(progress) => {
                    report.send_modify(|r| {
                        r.shipped = progress.shipped;
                        r.last_ok = Some(clock.now());
                        r.down_since = None;
                        r.error = None;
                    });
                    if let Some((since, _)) = down_since.take() {
                        tracing::info!(
                            centre = %self.centre.id,
                            down_s = since.elapsed().as_secs(),
                            shipped = progress.shipped,
                            "the province is reachable again; shipping caught up"
                        );
                    } else if progress.sent >= self.batch as u64 {
                        // A backlog caught up (at start, or after a burst); the routine trickle
                        // of a working day is logged at debug level only.
                        tracing::info!(
                            centre = %self.centre.id,
                            sent = progress.sent,
                            shipped = progress.shipped,
                            "events shipped to the province"
                        );
                    } else if progress.sent > 0 {
                        tracing::debug!(
                            centre = %self.centre.id,
                            sent = progress.sent,
                            shipped = progress.shipped,
                            "events shipped to the province"
                        );
                    }
                    backoff = Duration::from_secs(1);
                    if commits.is_some() {
                        MIN_INTERVAL
                    } else {
                        POLL
                    }
                }
                Err(e) => {
                    client = None;
                    report.send_modify(|r| {
                        r.down_since.get_or_insert_with(|| clock.now());
                        r.error = Some(format!("{}: see the hub's log", e.kind()));
                    });
                    let now = tokio::time::Instant::now();
                    match &mut down_since {
                        None => {
                            tracing::warn!(centre = %self.centre.id, error = %e,
                                "cannot ship to the province; the events wait here and will follow");
                            down_since = Some((now, now));
                        }
                        Some((since, reminded)) if reminded.elapsed() >= DOWN_REMINDER => {
                            tracing::warn!(centre = %self.centre.id, error = %e,
                                down_s = since.elapsed().as_secs(),
                                "still cannot ship to the province");
                            *reminded = now;
                        }
                        Some(_) => {}
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
            if down_since.is_none()
                && let Some(c) = &mut commits
            {
                tokio::select! {
                    _ = c.changed() => {}
                    _ = tokio::time::sleep(IDLE_LOOK) => {}
                    _ = shutdown.wait_for(|s| *s) => return,
                }
            }
        }
    }
}

/// What the shipper last told the province's door.
#[derive(Default)]
struct ToldTheDoor {
    /// The waits last written, and when.
    last: Option<(hub_engine::Waits, tokio::time::Instant)>,
    /// The last try was refused (said once in the log, until it works again).
    refused: bool,
    /// The service day whose slots were published.
    slots_for: Option<Option<chrono::NaiveDate>>,
    /// Some were (so none now means taking them away).
    had_slots: bool,
}

fn state_name(state: protocol::ServiceState) -> &'static str {
    match state {
        protocol::ServiceState::Open => "open",
        protocol::ServiceState::Closed => "closed",
        protocol::ServiceState::SoldOut => "sold_out",
    }
}

/// A province that has events this centre's log does not — or has another event at the same
/// `seq` — means the centre's database was replaced (an older backup restored): shipping on
/// would mix two histories under one centre, so it stops and says so.
fn check_same_history(
    centre: &str,
    shipped: u64,
    same_event: Option<bool>,
    local: &Shipment,
) -> Result<(), ProvinceError> {
    if shipped == 0 {
        return Ok(());
    }
    if local.last_seq < shipped {
        return Err(ProvinceError::Diverged(format!(
            "the province has centre {centre}'s events up to {shipped}, but this database's log ends at {}: \
             was an older backup restored? Shipping stops until the province's copy is reconciled (docs/PROVINCE.md)",
            local.last_seq
        )));
    }
    if same_event == Some(true) {
        return Ok(());
    }
    Err(ProvinceError::Diverged(format!(
        "event {shipped} of centre {centre} differs between the province and this database: \
         was an older backup restored? Shipping stops until the province's copy is reconciled (docs/PROVINCE.md)"
    )))
}

/// Reads, from one snapshot of the database, the events after `after` and the tickets and
/// bookings they changed, without the tracking codes (a key to a citizen's page stays in the
/// centre) nor the keyed hashes of phone numbers.
fn read_after(db: &Path, after: u64, limit: usize) -> Result<Shipment, ProvinceError> {
    let fail = |e: ledger::LedgerError| ProvinceError::Local(format!("{}: {e}", db.display()));
    let mut shipment = Reader::open(db)
        .and_then(|mut r| r.shipment(after, limit))
        .map_err(fail)?;
    for event in &mut shipment.events {
        event.body = for_the_province(&event.body);
    }
    Ok(shipment)
}

/// An event body as the province gets it: without a ticket's tracking code, and a booking's
/// holder only as `"phone"` or `"staff"` (the hash of a number stays in the centre, with the
/// key that made it), a follower's sealed address (phone number or push endpoint) not at all.
fn for_the_province(body: &str) -> String {
    if !body.contains("\"track\"") && !body.contains("\"holder\"") && !body.contains("\"sealed\"") {
        return body.to_string();
    }
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut map)) => {
            let mut changed = map.remove("track").is_some();
            changed |= map.remove("sealed").is_some();
            if let Some(holder) = map.get_mut("holder")
                && holder.get("phone").is_some()
            {
                *holder = serde_json::Value::String("phone".into());
                changed = true;
            }
            if changed {
                serde_json::Value::Object(map).to_string()
            } else {
                body.to_string()
            }
        }
        _ => body.to_string(),
    }
}

async fn insert_events(
    tx: &tokio_postgres::Transaction<'_>,
    centre: &str,
    events: &[EventRow],
) -> Result<(), ProvinceError> {
    let seq: Vec<i64> = events.iter().map(|e| e.seq as i64).collect();
    let at: Vec<String> = events.iter().map(|e| e.at.to_rfc3339()).collect();
    let day: Vec<String> = events.iter().map(|e| e.day.to_string()).collect();
    let kind: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let device: Vec<&str> = events.iter().map(|e| e.device.as_str()).collect();
    let staff: Vec<Option<&str>> = events.iter().map(|e| e.staff.as_deref()).collect();
    let body: Vec<&str> = events.iter().map(|e| e.body.as_str()).collect();
    let params: [&(dyn ToSql + Sync); 8] =
        [&centre, &seq, &at, &day, &kind, &device, &staff, &body];
    tx.execute(
        "INSERT INTO events (centre, seq, at, day, kind, device, staff, body)
         SELECT $1, e.seq, e.at::timestamptz, e.day::date, e.kind, e.device, e.staff, e.body::jsonb
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
            AS e(seq, at, day, kind, device, staff, body)
         ON CONFLICT (centre, seq) DO NOTHING",
        &params,
    )
    .await?;
    Ok(())
}

/// The tickets' tracking codes, as their SHA-256 only (`track_hash`): what a phone's address
/// carries is hashed by the door and looked up; the code itself never leaves the centre.
async fn keep_track_hashes(
    tx: &tokio_postgres::Transaction<'_>,
    centre: &str,
    tracks: &[(u64, String)],
) -> Result<(), ProvinceError> {
    if tracks.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = tracks.iter().map(|(id, _)| *id as i64).collect();
    let hashes: Vec<String> = tracks.iter().map(|(_, t)| super::track_hash(t)).collect();
    tx.execute(
        "UPDATE tickets SET track_hash = h.hash
         FROM unnest($2::bigint[], $3::text[]) AS h(id, hash)
         WHERE tickets.centre = $1 AND tickets.id = h.id
           AND tickets.track_hash IS DISTINCT FROM h.hash",
        &[&centre, &ids, &hashes],
    )
    .await?;
    Ok(())
}

async fn upsert_tickets(
    tx: &tokio_postgres::Transaction<'_>,
    centre: &str,
    tickets: &[TicketRow],
) -> Result<(), ProvinceError> {
    if tickets.is_empty() {
        return Ok(());
    }
    fn col<'a, T: 'a>(t: &'a [TicketRow], f: impl Fn(&'a TicketRow) -> T) -> Vec<T> {
        t.iter().map(f).collect()
    }
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339());
    let id = col(tickets, |t| t.id as i64);
    let day = col(tickets, |t| t.day.to_string());
    let number = col(tickets, |t| t.number.as_str());
    let service = col(tickets, |t| t.service.as_str());
    let priority = col(tickets, |t| t.priority.as_deref());
    let status = col(tickets, |t| status_text(t.status));
    let issued_at = col(tickets, |t| t.issued_at.to_rfc3339());
    let first_called_at = col(tickets, |t| time(t.first_called_at));
    let called_at = col(tickets, |t| time(t.called_at));
    let serving_at = col(tickets, |t| time(t.serving_at));
    let finished_at = col(tickets, |t| time(t.finished_at));
    let counter = col(tickets, |t| t.counter.map(|c| c as i32));
    let staff = col(tickets, |t| t.staff.as_deref());
    let recalls = col(tickets, |t| t.recalls as i32);
    let transfers = col(tickets, |t| t.transfers as i32);
    let overdue_wait = col(tickets, |t| t.overdue_wait);
    let overdue_service = col(tickets, |t| t.overdue_service);
    let rating = col(tickets, |t| t.rating.map(i16::from));
    let seq = col(tickets, |t| t.seq as i64);
    let rated_by = col(tickets, |t| t.rated_by.map(ledger::rated_by_text));
    // Reason ids are configured words without commas: one text per ticket, split in SQL.
    let reasons = col(tickets, |t| t.rating_reasons.join(","));
    let params: [&(dyn ToSql + Sync); 22] = [
        &centre,
        &id,
        &day,
        &number,
        &service,
        &priority,
        &status,
        &issued_at,
        &first_called_at,
        &called_at,
        &serving_at,
        &finished_at,
        &counter,
        &staff,
        &recalls,
        &transfers,
        &overdue_wait,
        &overdue_service,
        &rating,
        &seq,
        &rated_by,
        &reasons,
    ];
    tx.execute(
        "INSERT INTO tickets (centre, id, day, number, service, priority, status, issued_at,
            first_called_at, called_at, serving_at, finished_at, counter, staff, recalls, transfers,
            overdue_wait, overdue_service, rating, seq, rated_by, rating_reasons)
         SELECT $1, t.id, t.day::date, t.number, t.service, t.priority, t.status,
            t.issued_at::timestamptz, t.first_called_at::timestamptz, t.called_at::timestamptz,
            t.serving_at::timestamptz, t.finished_at::timestamptz, t.counter, t.staff, t.recalls,
            t.transfers, t.overdue_wait, t.overdue_service, t.rating, t.seq, t.rated_by,
            coalesce(string_to_array(nullif(t.reasons, ''), ','), '{}')
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::int4[], $14::text[],
            $15::int4[], $16::int4[], $17::bool[], $18::bool[], $19::int2[], $20::bigint[], $21::text[],
            $22::text[])
            AS t(id, day, number, service, priority, status, issued_at, first_called_at, called_at,
                 serving_at, finished_at, counter, staff, recalls, transfers, overdue_wait,
                 overdue_service, rating, seq, rated_by, reasons)
         ON CONFLICT (centre, id) DO UPDATE SET day = excluded.day, number = excluded.number,
            service = excluded.service, priority = excluded.priority, status = excluded.status,
            issued_at = excluded.issued_at, first_called_at = excluded.first_called_at,
            called_at = excluded.called_at, serving_at = excluded.serving_at,
            finished_at = excluded.finished_at, counter = excluded.counter, staff = excluded.staff,
            recalls = excluded.recalls, transfers = excluded.transfers,
            overdue_wait = excluded.overdue_wait, overdue_service = excluded.overdue_service,
            rating = excluded.rating, seq = excluded.seq, rated_by = excluded.rated_by,
            rating_reasons = excluded.rating_reasons
         WHERE tickets.seq <= excluded.seq",
        &params,
    )
    .await?;
    Ok(())
}

async fn upsert_appointments(
    tx: &tokio_postgres::Transaction<'_>,
    centre: &str,
    rows: &[ledger::AppointmentRow],
) -> Result<(), ProvinceError> {
    if rows.is_empty() {
        return Ok(());
    }
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339());
    let code: Vec<&str> = rows.iter().map(|a| a.code.as_str()).collect();
    let service: Vec<&str> = rows.iter().map(|a| a.service.as_str()).collect();
    let day: Vec<String> = rows.iter().map(|a| a.day.to_string()).collect();
    let start: Vec<String> = rows.iter().map(|a| a.start.to_rfc3339()).collect();
    let status: Vec<&str> = rows
        .iter()
        .map(|a| ledger::booking_status_text(a.status))
        .collect();
    let booked_at: Vec<String> = rows.iter().map(|a| a.booked_at.to_rfc3339()).collect();
    let by_staff: Vec<bool> = rows.iter().map(|a| a.by_staff).collect();
    let checked_in_at: Vec<Option<String>> = rows.iter().map(|a| time(a.checked_in_at)).collect();
    let cancelled_at: Vec<Option<String>> = rows.iter().map(|a| time(a.cancelled_at)).collect();
    let ticket: Vec<Option<i64>> = rows.iter().map(|a| a.ticket.map(|t| t as i64)).collect();
    let target: Vec<i32> = rows.iter().map(|a| a.target_min as i32).collect();
    let seq: Vec<i64> = rows.iter().map(|a| a.seq as i64).collect();
    let params: [&(dyn ToSql + Sync); 13] = [
        &centre,
        &code,
        &service,
        &day,
        &start,
        &status,
        &booked_at,
        &by_staff,
        &checked_in_at,
        &cancelled_at,
        &ticket,
        &target,
        &seq,
    ];
    tx.execute(
        "INSERT INTO appointments (centre, code, service, day, start, status, booked_at, by_staff,
            checked_in_at, cancelled_at, ticket, target_min, seq)
         SELECT $1, a.code, a.service, a.day::date, a.start::timestamptz, a.status,
            a.booked_at::timestamptz, a.by_staff, a.checked_in_at::timestamptz,
            a.cancelled_at::timestamptz, a.ticket, a.target, a.seq
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::bool[], $9::text[], $10::text[], $11::bigint[], $12::int4[], $13::bigint[])
            AS a(code, service, day, start, status, booked_at, by_staff, checked_in_at,
                 cancelled_at, ticket, target, seq)
         ON CONFLICT (centre, code) DO UPDATE SET status = excluded.status,
            checked_in_at = excluded.checked_in_at, cancelled_at = excluded.cancelled_at,
            ticket = excluded.ticket, target_min = excluded.target_min, seq = excluded.seq
         WHERE appointments.seq <= excluded.seq",
        &params,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tracking_code_stays_in_the_centre() {
        let body = r#"{"kind":"ticket_issued","ticket":7,"track":"k3y","service":"TP"}"#;
        let shipped: serde_json::Value =
            serde_json::from_str(&for_the_province(body)).expect("json");
        assert_eq!(shipped.get("track"), None);
        assert_eq!(shipped["ticket"], 7);
        let other = r#"{"kind":"called","ticket":7}"#;
        assert_eq!(for_the_province(other), other);
        let booked = r#"{"kind":"appointment_booked","code":"KE4PX9MT","holder":{"phone":"9f2c"}}"#;
        let shipped = for_the_province(booked);
        assert!(!shipped.contains("9f2c"), "{shipped}");
        assert!(shipped.contains(r#""holder":"phone""#), "{shipped}");
        let by_staff = r#"{"kind":"appointment_booked","code":"KE4PX9MT","holder":"staff"}"#;
        assert_eq!(for_the_province(by_staff), by_staff);
        let followed =
            r#"{"kind":"ticket_followed","ticket":7,"follower":1,"channel":"sms","sealed":"q8Zx"}"#;
        let shipped = for_the_province(followed);
        assert!(!shipped.contains("q8Zx"), "{shipped}");
        assert!(shipped.contains(r#""channel":"sms""#), "{shipped}");
    }

    fn log_up_to(last_seq: u64) -> Shipment {
        Shipment {
            last_seq,
            ..Shipment::default()
        }
    }

    #[test]
    fn a_restored_older_database_stops_the_shipping() {
        assert!(check_same_history("a", 0, None, &log_up_to(0)).is_ok());
        assert!(check_same_history("a", 10, Some(true), &log_up_to(12)).is_ok());
        // The province has more than the log: an older backup was restored.
        let e = check_same_history("a", 10, Some(true), &log_up_to(8)).expect_err("behind");
        assert!(e.to_string().contains("older backup"), "{e}");
        // The log grew again past the province, but event 10 is another one.
        let e = check_same_history("a", 10, Some(false), &log_up_to(30)).expect_err("other");
        assert!(e.to_string().contains("differs"), "{e}");
    }
}
