//! `hub report --province`: the figures of `hub report`, for every centre of the province, per
//! centre or per field across centres — computed by PostgreSQL from the `ticket_facts` view (one
//! scan; the totals line from the same `GROUPING SETS`), and printed by the same table and CSV
//! code as a centre's own report.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use tokio_postgres::Client;

use super::{ProvinceError, schema};
use reports::Figures;

/// How the province's lines are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvinceBy {
    /// One line per centre (its id).
    Centre,
    /// One line per field (service id) across all centres.
    Service,
    /// Priority against normal tickets, across all centres.
    Priority,
    /// The province's total only.
    Total,
}

impl FromStr for ProvinceBy {
    type Err = String;
    fn from_str(s: &str) -> Result<ProvinceBy, String> {
        match s {
            "centre" | "center" => Ok(ProvinceBy::Centre),
            "service" => Ok(ProvinceBy::Service),
            "priority" => Ok(ProvinceBy::Priority),
            "total" => Ok(ProvinceBy::Total),
            _ => Err(format!(
                "{s:?}: a province report is by centre, service, priority or total \
                 (by counter or staff: the centre's own `hub report`)"
            )),
        }
    }
}

impl fmt::Display for ProvinceBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProvinceBy::Centre => "centre",
            ProvinceBy::Service => "service",
            ProvinceBy::Priority => "priority",
            ProvinceBy::Total => "total",
        })
    }
}

/// The figures of service days `from..=to`, one line per group sorted by key (byte order, as
/// `hub report`), then the total as the last line (key "Tổng").
pub async fn load(
    client: &Client,
    from: NaiveDate,
    to: NaiveDate,
    by: ProvinceBy,
) -> Result<Vec<(String, Figures)>, ProvinceError> {
    schema::check(client).await?;
    let key = match by {
        ProvinceBy::Centre => "centre",
        ProvinceBy::Service => "service",
        ProvinceBy::Priority => "CASE WHEN priority THEN 'Ưu tiên' ELSE 'Thường' END",
        ProvinceBy::Total => "''",
    };
    let (is_total, sets) = if by == ProvinceBy::Total {
        ("true".to_string(), "()".to_string())
    } else {
        (format!("grouping({key}) = 1"), format!("({key}), ()"))
    };
    let sql = format!(
        "SELECT {is_total} AS total, {key} AS key,
                count(*),
                count(*) FILTER (WHERE status = 'done'),
                count(*) FILTER (WHERE status = 'no_show'),
                count(*) FILTER (WHERE status = 'cancelled'),
                count(*) FILTER (WHERE status = 'expired'),
                count(*) FILTER (WHERE transferred),
                avg(wait_min),
                percentile_disc(0.5) WITHIN GROUP (ORDER BY wait_min),
                percentile_disc(0.9) WITHIN GROUP (ORDER BY wait_min),
                avg(service_min),
                percentile_disc(0.9) WITHIN GROUP (ORDER BY service_min),
                count(*) FILTER (WHERE overdue),
                avg(rating)::double precision,
                count(rating),
                count(rating) FILTER (WHERE rated_by = 'citizen'),
                count(rating) FILTER (WHERE status = 'done')
         FROM ticket_facts
         WHERE day >= $1::text::date AND day <= $2::text::date
         GROUP BY GROUPING SETS ({sets})
         ORDER BY total, ({key}) COLLATE \"C\""
    );
    let rows = client
        .query(&sql, &[&from.to_string(), &to.to_string()])
        .await?;
    // A province's database is outside this program: a column of an unexpected type is an
    // error to report, never a panic.
    let count = |r: &tokio_postgres::Row, i: usize| -> Result<u32, ProvinceError> {
        Ok(u32::try_from(r.try_get::<_, i64>(i)?).unwrap_or(u32::MAX))
    };
    let mut lines = Vec::with_capacity(rows.len());
    for r in &rows {
        let key = line_key(r)?;
        let issued = count(r, 2)?;
        let served = count(r, 3)?;
        let overdue = count(r, 13)?;
        let rated_done = count(r, 17)?;
        lines.push((
            key,
            Figures {
                issued,
                served,
                no_shows: count(r, 4)?,
                cancelled: count(r, 5)?,
                expired: count(r, 6)?,
                transferred: count(r, 7)?,
                wait_avg_min: r.try_get(8)?,
                wait_p50_min: r.try_get(9)?,
                wait_p90_min: r.try_get(10)?,
                service_avg_min: r.try_get(11)?,
                service_p90_min: r.try_get(12)?,
                overdue_share: (issued > 0).then(|| f64::from(overdue) / f64::from(issued)),
                rating_avg: r.try_get(14)?,
                ratings: count(r, 15)?,
                ratings_by_citizen: count(r, 16)?,
                rated_share: (served > 0).then(|| f64::from(rated_done) / f64::from(served)),
                reasons: Default::default(),
            },
        ));
    }
    if lines.is_empty() {
        // No ticket at all in the range: the total line still says so, as `hub report` does.
        lines.push(("Tổng".into(), Figures::default()));
    }
    // The reasons chosen with low ratings, counted per line.
    let (is_total, sets) = if by == ProvinceBy::Total {
        ("true".to_string(), "(reason)".to_string())
    } else {
        (
            format!("grouping({key}) = 1"),
            format!("(({key}), reason), (reason)"),
        )
    };
    let sql = format!(
        "SELECT {is_total} AS total, {key} AS key, reason, count(*)
         FROM ticket_facts, unnest(rating_reasons) AS reason
         WHERE day >= $1::text::date AND day <= $2::text::date
         GROUP BY GROUPING SETS ({sets})"
    );
    for r in client
        .query(&sql, &[&from.to_string(), &to.to_string()])
        .await?
    {
        let key = line_key(&r)?;
        let reason: String = r.try_get(2)?;
        let n = count(&r, 3)?;
        if let Some((_, f)) = lines.iter_mut().find(|(k, _)| *k == key) {
            f.reasons.insert(reason, n);
        }
    }
    Ok(lines)
}

/// A result row's line: "Tổng" for the total (its first column says so), else its key.
fn line_key(r: &tokio_postgres::Row) -> Result<String, ProvinceError> {
    let total: bool = r.try_get(0)?;
    Ok(if total {
        "Tổng".into()
    } else {
        r.try_get::<_, Option<String>>(1)?
            .unwrap_or_else(|| "—".into())
    })
}

/// The fields' names by id (across centres, one name per id), for the table's heading.
pub async fn service_names(client: &Client) -> Result<Vec<(String, String)>, ProvinceError> {
    names(
        client,
        "SELECT id, min(name) FROM services GROUP BY id ORDER BY id COLLATE \"C\"",
    )
    .await
}

/// The centres' names by id, for the table's heading.
pub async fn centre_names(client: &Client) -> Result<Vec<(String, String)>, ProvinceError> {
    names(
        client,
        "SELECT id, name FROM centres ORDER BY id COLLATE \"C\"",
    )
    .await
}

/// (id, name) pairs a query selects.
async fn names(client: &Client, sql: &str) -> Result<Vec<(String, String)>, ProvinceError> {
    let rows = client.query(sql, &[]).await?;
    Ok(rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()?)
}

/// The bookings of every centre for the service days `from..=to` (`appointment_facts`), each
/// service named `centre/service`: summed by the same code as a centre's own report
/// (`reports::summarize_bookings`), so the two agree to the minute.
pub async fn load_bookings(
    client: &Client,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<reports::BookingRow>, ProvinceError> {
    schema::check(client).await?;
    let rows = client
        .query(
            "SELECT centre, service, day::text,
                    (extract(epoch FROM start) * 1000)::bigint, status, by_staff,
                    (extract(epoch FROM checked_in_at) * 1000)::bigint,
                    (extract(epoch FROM called_at) * 1000)::bigint, target_min
             FROM appointment_facts
             WHERE day >= $1::text::date AND day <= $2::text::date
             ORDER BY start, centre, code",
            &[&from.to_string(), &to.to_string()],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let centre: String = r.try_get(0)?;
        let service: String = r.try_get(1)?;
        let day: String = r.try_get(2)?;
        let status: String = r.try_get(4)?;
        let bad = |what: &str| ProvinceError::Local(format!("a booking of {centre}: {what}"));
        let time =
            |ms: i64| chrono::DateTime::from_timestamp_millis(ms).ok_or_else(|| bad("a time"));
        out.push(reports::BookingRow {
            day: day.parse().map_err(|_| bad("its day"))?,
            service: format!("{centre}/{service}"),
            start: time(r.try_get(3)?)?,
            status: ledger::booking_status_from_text(&status).ok_or_else(|| bad("its status"))?,
            by_staff: r.try_get(5)?,
            checked_in: r.try_get::<_, Option<i64>>(6)?.map(time).transpose()?,
            called: r.try_get::<_, Option<i64>>(7)?.map(time).transpose()?,
            target_min: i64::from(r.try_get::<_, i32>(8)?),
        });
    }
    Ok(out)
}
