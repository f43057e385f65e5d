//! `hub-bench --province`: the province's figures (docs/PERFORMANCE.md, "The province").
//!
//! - **Ingest**: a centre's database of busy days made through the real engine, copied for
//!   every centre, shipped by the real shipper into a durable PostgreSQL (fsync on) — one centre
//!   alone, then many at once.
//! - **The province report over a year**: 30 centres × a year of service days, each day run
//!   through `hub simulate`'s queue (the real rules on a virtual clock), loaded into the
//!   province's `tickets`; then `hub report --province`'s query timed per centre, per field and
//!   in total, and the BI view for a month.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, NaiveTime, TimeDelta};
use province::figures::{self, ProvinceBy};
use province::ship::{Centre, Shipper};
use province::{Link, schema};
use tokio_postgres::types::ToSql;

pub struct Options {
    /// Centres shipping at once for the "many centres" figure.
    pub centres: usize,
    /// Busy days in each centre's database, and visits a day.
    pub days: u32,
    pub visits: u64,
    /// The simulated province for the report: centres and service days.
    pub year_centres: u32,
    pub year_days: u32,
}

pub async fn run(config: &Path, dir: &Path, o: &Options) -> anyhow::Result<()> {
    let pg = testkit::Postgres::start_durable();
    let link = Link::new(pg.url());
    println!("The province — PostgreSQL on this machine (durable: fsync on)\n");

    // One centre's database, made once and copied: every centre ships the same volume.
    let source = dir.join("centre.db");
    let made = Instant::now();
    {
        let (c, db, days, visits) = (config.to_path_buf(), source.clone(), o.days, o.visits);
        std::thread::spawn(move || super::storage(&c, &db, days, visits))
            .join()
            .map_err(|_| anyhow::anyhow!("the generator panicked"))??;
    }
    let events = last_seq(&source)?;
    println!(
        "{:<44} {:>9} events ({} days × {} visits, made in {:.1} s)",
        "a centre's log",
        events,
        o.days,
        o.visits,
        made.elapsed().as_secs_f64()
    );
    let shipper = |n: usize, batch: usize| -> anyhow::Result<Shipper> {
        let db = dir.join(format!("centre-{n:02}.db"));
        if !db.exists() {
            // SQLite's online backup: the engine's last writes may still be in the WAL.
            ledger::backup::copy(&source, &db)?;
        }
        Ok(Shipper {
            centre: Centre {
                id: format!("bench-{batch}-{n:02}"),
                name: format!("Trung tâm {n}"),
                name_en: format!("Centre {n}"),
                time_zone: "Asia/Ho_Chi_Minh".into(),
                day_starts_at: "00:00:00".into(),
                services: vec![("S00".into(), "Dịch vụ 0".into(), "Service 0".into())],
            },
            db,
            link: link.clone(),
            batch,
            rules: None,
        })
    };

    for batch in [100, 1000, 5000] {
        let label = format!("ingest, one centre, batches of {batch}");
        ship_timed(&shipper(0, batch)?, events, &label).await?;
    }

    // As a real centre ships: its own role, bound to it, under the schema's row-level security.
    {
        let mut bound = shipper(0, centre_config::DEFAULT_SHIP_BATCH)?;
        bound.centre.id = "bench-bound".into();
        let admin = link.connect().await?;
        admin
            .batch_execute(
                "CREATE ROLE bench_centre LOGIN PASSWORD 'bench-centre';
                 GRANT SELECT ON hang_doi_schema TO bench_centre;
                 GRANT SELECT, INSERT, UPDATE ON centres, services, events, tickets TO bench_centre;
                 INSERT INTO centres (id, name, time_zone, login_role)
                    VALUES ('bench-bound', 'Bound', 'Asia/Ho_Chi_Minh', 'bench_centre');",
            )
            .await?;
        bound.link = Link::new(format!(
            "postgresql://bench_centre:bench-centre@127.0.0.1:{}/postgres?sslmode=disable",
            pg.port
        ));
        ship_timed(&bound, events, "ingest, one centre as its bound role (RLS)").await?;
    }

    let batch = centre_config::DEFAULT_SHIP_BATCH;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 1..=o.centres {
        let s = shipper(n, batch)?;
        tasks.push(tokio::spawn(async move {
            let mut client = s.connect().await?;
            s.ship_all(&mut client).await
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??.sent;
    }
    let took = started.elapsed();
    println!(
        "{:<44} {:>9.0} events/s ({} centres, {total} events in {:.1} s)",
        format!("ingest, {} centres at once", o.centres),
        total as f64 / took.as_secs_f64(),
        o.centres,
        took.as_secs_f64()
    );
    let (client, size) = {
        let c = link.connect().await?;
        let size: i64 = c
            .query_one("SELECT pg_total_relation_size('events')", &[])
            .await?
            .get(0);
        (c, size)
    };
    let shipped: i64 = client
        .query_one("SELECT count(*) FROM events", &[])
        .await?
        .get(0);
    println!(
        "{:<44} {:>9.0} B    ({shipped} events, indexes included)",
        "province storage per event",
        size as f64 / shipped.max(1) as f64
    );

    year(&client, o).await?;
    Ok(())
}

/// Ships a whole log of `events` with `shipper` and prints the rate.
async fn ship_timed(shipper: &Shipper, events: u64, label: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut client = shipper.connect().await?;
    let progress = shipper.ship_all(&mut client).await?;
    let took = started.elapsed();
    anyhow::ensure!(
        progress.shipped == events,
        "shipped {progress:?} of {events}"
    );
    println!(
        "{label:<44} {:>9.0} events/s ({:.1} s for {events})",
        events as f64 / took.as_secs_f64(),
        took.as_secs_f64()
    );
    Ok(())
}

fn last_seq(db: &Path) -> anyhow::Result<u64> {
    Ok(ledger::Reader::open(db)?.last_seq()?)
}

/// A simulated year of the province, then the report over it.
async fn year(client: &tokio_postgres::Client, o: &Options) -> anyhow::Result<()> {
    let config = centre_config::Config::demo()?;
    let services: Vec<String> = config.rules.services.keys().map(|s| s.0.clone()).collect();
    let first = NaiveDate::from_ymd_opt(2025, 1, 1).expect("a date");
    let made = Instant::now();
    let mut tickets = 0u64;
    let mut day = first;
    let mut days = Vec::new();
    while days.len() < o.year_days as usize {
        // Service days: Monday to Saturday.
        if day.weekday() != chrono::Weekday::Sun {
            days.push(day);
        }
        day += TimeDelta::days(1);
    }
    for centre in 0..o.year_centres {
        let id = format!("year-{centre:02}");
        client
            .execute(
                "INSERT INTO centres (id, name, time_zone) VALUES ($1, $2, 'Asia/Ho_Chi_Minh')",
                &[&id, &format!("Trung tâm {centre}")],
            )
            .await?;
        // The provincial centre is the busiest; district ones see a third to a half of it.
        let per_hour = if centre == 0 {
            12.0
        } else {
            4.0 + f64::from(centre % 3)
        };
        let mut rows = Vec::new();
        let mut next_id = 0i64;
        for (d, &day) in days.iter().enumerate() {
            let options = simulator::Options {
                day,
                start: NaiveTime::from_hms_opt(7, 30, 0).expect("a time"),
                hours: 8.0,
                arrivals: services
                    .iter()
                    .map(|s| (s.as_str().into(), per_hour))
                    .collect(),
                seed: u64::from(centre) * 10_000 + d as u64,
                priority_share: 0.15,
                no_show_share: 0.05,
                counters: vec![],
                closed: vec![],
            };
            let outcome = simulator::run(&config.rules, &options)?;
            for r in outcome.rows {
                next_id += 1;
                rows.push((next_id, r));
            }
            if rows.len() >= 20_000 {
                tickets += load(client, &id, &rows).await?;
                rows.clear();
            }
        }
        tickets += load(client, &id, &rows).await?;
    }
    client.batch_execute("ANALYZE tickets").await?;
    println!(
        "\n{:<44} {:>9} tickets ({} centres × {} service days, made and loaded in {:.0} s)",
        "a simulated year of the province",
        tickets,
        o.year_centres,
        o.year_days,
        made.elapsed().as_secs_f64()
    );
    let last = *days.last().expect("days");
    for by in [ProvinceBy::Centre, ProvinceBy::Service, ProvinceBy::Total] {
        let (took, lines) = timed(3, || figures::load(client, first, last, by)).await?;
        println!(
            "{:<44} {:>9.0} ms   ({} lines; best of 3)",
            format!("province report, the year, by {by}"),
            took.as_secs_f64() * 1e3,
            lines
        );
    }
    let month_end = first + TimeDelta::days(30);
    let (took, lines) = timed(3, || {
        figures::load(client, first, month_end, ProvinceBy::Centre)
    })
    .await?;
    println!(
        "{:<44} {:>9.0} ms   ({} lines; best of 3)",
        "province report, one month, by centre",
        took.as_secs_f64() * 1e3,
        lines
    );
    schema::check(client).await?;
    let started = Instant::now();
    let rows = client
        .query(
            "SELECT * FROM centre_day_figures WHERE day >= $1::text::date AND day <= $2::text::date",
            &[&first.to_string(), &month_end.to_string()],
        )
        .await?;
    println!(
        "{:<44} {:>9.0} ms   ({} rows: centre × day × field)",
        "BI view centre_day_figures, one month",
        started.elapsed().as_secs_f64() * 1e3,
        rows.len()
    );
    let size: i64 = client
        .query_one("SELECT pg_total_relation_size('tickets')", &[])
        .await?
        .get(0);
    println!(
        "{:<44} {:>9.0} B    per ticket, indexes included",
        "province storage, tickets",
        size as f64 / tickets.max(1) as f64
    );
    Ok(())
}

async fn timed<F, Fut>(times: usize, mut f: F) -> anyhow::Result<(Duration, usize)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<
            Output = Result<Vec<(String, reports::Figures)>, province::ProvinceError>,
        >,
{
    let mut best = Duration::MAX;
    let mut lines = 0;
    for _ in 0..times {
        let started = Instant::now();
        lines = f().await?.len();
        best = best.min(started.elapsed());
    }
    Ok((best, lines))
}

/// Loads simulated tickets as a shipper would have left them.
async fn load(
    client: &tokio_postgres::Client,
    centre: &str,
    rows: &[(i64, reports::Row)],
) -> anyhow::Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339();
    let id: Vec<i64> = rows.iter().map(|(i, _)| *i).collect();
    let day: Vec<String> = rows.iter().map(|(_, r)| r.day.to_string()).collect();
    let service: Vec<&str> = rows.iter().map(|(_, r)| r.service.as_str()).collect();
    let priority: Vec<Option<&str>> = rows
        .iter()
        .map(|(_, r)| r.priority.then_some("elderly"))
        .collect();
    let status: Vec<&str> = rows
        .iter()
        .map(|(_, r)| ledger::status_text(r.status))
        .collect();
    let issued: Vec<String> = rows.iter().map(|(_, r)| time(r.issued)).collect();
    let called: Vec<Option<String>> = rows.iter().map(|(_, r)| r.called.map(time)).collect();
    let serving: Vec<Option<String>> = rows.iter().map(|(_, r)| r.serving.map(time)).collect();
    let finished: Vec<Option<String>> = rows.iter().map(|(_, r)| r.finished.map(time)).collect();
    let counter: Vec<Option<i32>> = rows
        .iter()
        .map(|(_, r)| r.counter.map(|c| c as i32))
        .collect();
    let overdue: Vec<bool> = rows.iter().map(|(_, r)| r.overdue).collect();
    let rating: Vec<Option<i16>> = rows.iter().map(|(_, r)| r.rating.map(i16::from)).collect();
    let transfers: Vec<i32> = rows.iter().map(|(_, r)| r.transfers as i32).collect();
    let params: [&(dyn ToSql + Sync); 15] = [
        &centre, &id, &day, &service, &priority, &status, &issued, &called, &serving, &finished,
        &counter, &overdue, &rating, &transfers, &id,
    ];
    let n = client
        .execute(
            "INSERT INTO tickets (centre, id, day, number, service, priority, status, issued_at,
                first_called_at, called_at, serving_at, finished_at, counter, recalls, transfers,
                overdue_wait, overdue_service, rating, seq)
             SELECT $1, t.id, t.day::date, t.id::text, t.service, t.priority, t.status,
                t.issued::timestamptz, t.called::timestamptz, t.called::timestamptz,
                t.serving::timestamptz, t.finished::timestamptz, t.counter, 0, t.transfers,
                t.overdue, false, t.rating, t.seq
             FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                $8::text[], $9::text[], $10::text[], $11::int4[], $12::bool[], $13::int2[],
                $14::int4[], $15::bigint[])
                AS t(id, day, service, priority, status, issued, called, serving, finished,
                     counter, overdue, rating, transfers, seq)",
            &params,
        )
        .await?;
    Ok(n)
}
