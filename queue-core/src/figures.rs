//! Figures for managers from ticket rows: issued, served, no-shows, cancelled, expired, waiting
//! and service times (average and 90th percentile), the share overdue, the average rating — in
//! total or by service, counter or staff. Pure: `hub report` feeds it rows from the database,
//! `hub simulate` rows of a simulated day, the admin snapshot's `today` the rows of the state.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use protocol::TicketStatus;

/// One ticket, as much as a report needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub day: NaiveDate,
    pub service: String,
    /// Issued in a priority category.
    pub priority: bool,
    pub counter: Option<u32>,
    pub staff: Option<String>,
    pub status: TicketStatus,
    pub issued: DateTime<Utc>,
    /// The first call: a wait ends there, whatever recalls follow.
    pub called: Option<DateTime<Utc>>,
    pub serving: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub rating: Option<u8>,
    /// Who gave the rating.
    pub rated_by: Option<crate::RatedBy>,
    /// The reasons chosen with a low rating.
    pub reasons: Vec<String>,
    /// How often it was sent to another service or counter.
    pub transfers: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Total,
    Service,
    Counter,
    Staff,
    /// Priority against normal tickets: does the priority rule work, and what does it cost?
    Priority,
}

/// One line of figures (shared with the admin snapshot's `today`).
pub use protocol::DayFigures as Figures;

/// Today's tickets, as the report reads them.
pub fn rows_of_day(state: &crate::State) -> Vec<Row> {
    state
        .tickets()
        .map(|t| Row {
            day: state.day,
            service: t.service.0.clone(),
            priority: t.is_priority(),
            counter: t.counter.map(|c| c.0),
            staff: t.staff.as_ref().map(|s| s.0.clone()),
            status: t.status,
            issued: t.issued_at,
            called: t.first_called_at,
            serving: t.serving_at,
            finished: t.finished_at,
            overdue: t.overdue_wait || t.overdue_service,
            rating: t.rating,
            rated_by: t.rated_by,
            reasons: t.rating_reasons.clone(),
            transfers: t.transfers,
        })
        .collect()
}

/// Today's figures, all services together (the admin snapshot's `today`): rows without the
/// names a total does not group by.
pub fn day_total(state: &crate::State) -> Figures {
    let rows: Vec<Row> = state
        .tickets()
        .map(|t| Row {
            day: state.day,
            service: String::new(),
            priority: t.is_priority(),
            counter: None,
            staff: None,
            status: t.status,
            issued: t.issued_at,
            called: t.first_called_at,
            serving: t.serving_at,
            finished: t.finished_at,
            overdue: t.overdue_wait || t.overdue_service,
            rating: t.rating,
            rated_by: t.rated_by,
            reasons: t.rating_reasons.clone(),
            transfers: t.transfers,
        })
        .collect();
    figures(&rows.iter().collect::<Vec<_>>())
}

/// How today's citizens followed their tickets from afar: tickets by each way (ended ones too),
/// notices that reached a phone and that failed for good.
pub fn following(state: &crate::State) -> protocol::FollowingFigures {
    let mut figures = protocol::FollowingFigures::default();
    for f in state.following.values() {
        figures.push += u32::from(f.by_push);
        figures.sms += u32::from(f.by_sms);
        figures.delivered += f.delivered;
        figures.failed += f.failed;
    }
    figures
}

impl FromStr for By {
    type Err = String;
    fn from_str(s: &str) -> Result<By, String> {
        match s {
            "total" => Ok(By::Total),
            "service" => Ok(By::Service),
            "counter" => Ok(By::Counter),
            "staff" => Ok(By::Staff),
            "priority" => Ok(By::Priority),
            _ => Err(format!(
                "{s:?}: expected total, service, counter, staff or priority"
            )),
        }
    }
}

impl fmt::Display for By {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            By::Total => "total",
            By::Service => "service",
            By::Counter => "counter",
            By::Staff => "staff",
            By::Priority => "priority",
        })
    }
}

/// The figures per group (sorted by key), then the total as the last line (key "Tổng").
pub fn summarize(rows: &[Row], by: By) -> Vec<(String, Figures)> {
    let mut groups: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        let key = match by {
            By::Total => continue,
            By::Service => r.service.clone(),
            By::Counter => r
                .counter
                .map_or_else(|| "—".into(), |c| format!("Quầy {c}")),
            By::Staff => r.staff.clone().unwrap_or_else(|| "—".into()),
            By::Priority => if r.priority { "Ưu tiên" } else { "Thường" }.into(),
        };
        groups.entry(key).or_default().push(r);
    }
    let mut out: Vec<(String, Figures)> = groups
        .into_iter()
        .map(|(k, rows)| (k, figures(&rows)))
        .collect();
    out.push(("Tổng".into(), figures(&rows.iter().collect::<Vec<_>>())));
    out
}

fn minutes(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds().max(0) as f64 / 60_000.0
}

fn figures(rows: &[&Row]) -> Figures {
    let count = |s: TicketStatus| rows.iter().filter(|r| r.status == s).count() as u32;
    let mut waits: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.called.map(|c| minutes(r.issued, c)))
        .collect();
    let mut services: Vec<f64> = rows
        .iter()
        .filter(|r| r.status == TicketStatus::Done)
        .filter_map(|r| Some(minutes(r.serving?, r.finished?)))
        .collect();
    let ratings: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.rating.map(f64::from))
        .collect();
    let issued = rows.len() as u32;
    let served = count(TicketStatus::Done);
    Figures {
        issued,
        served,
        no_shows: count(TicketStatus::NoShow),
        cancelled: count(TicketStatus::Cancelled),
        expired: count(TicketStatus::Expired),
        transferred: rows.iter().filter(|r| r.transfers > 0).count() as u32,
        wait_avg_min: mean(&waits),
        wait_p50_min: percentile(&mut waits, 0.5),
        wait_p90_min: p90(&mut waits),
        service_avg_min: mean(&services),
        service_p90_min: p90(&mut services),
        overdue_share: (issued > 0)
            .then(|| rows.iter().filter(|r| r.overdue).count() as f64 / f64::from(issued)),
        rating_avg: mean(&ratings),
        ratings: ratings.len() as u32,
        ratings_by_citizen: rows
            .iter()
            .filter(|r| r.rating.is_some() && r.rated_by == Some(crate::RatedBy::Citizen))
            .count() as u32,
        rated_share: (served > 0).then(|| {
            let rated = rows
                .iter()
                .filter(|r| r.status == TicketStatus::Done && r.rating.is_some())
                .count();
            rated as f64 / f64::from(served)
        }),
        reasons: rows.iter().flat_map(|r| r.reasons.iter()).fold(
            BTreeMap::new(),
            |mut counts, reason| {
                *counts.entry(reason.clone()).or_insert(0) += 1;
                counts
            },
        ),
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The nearest-rank 90th percentile.
fn p90(v: &mut [f64]) -> Option<f64> {
    percentile(v, 0.9)
}

/// The nearest-rank percentile `p` (0–1).
pub(crate) fn percentile(v: &mut [f64], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = (p * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_by_nearest_rank() {
        assert_eq!(p90(&mut []), None);
        assert_eq!(p90(&mut [5.0]), Some(5.0));
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(p90(&mut v), Some(9.0));
    }
}
