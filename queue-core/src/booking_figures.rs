//! Figures of appointments for managers, per service day and service: what was booked, checked
//! in, missed and cancelled, and how punctually those who came were called — from the slot's
//! start, or the check-in when it came later, to the ticket's first call (P50, P90, and the
//! share called within the service's target wait). Pure: rows come from the database.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::appointments::BookingStatus;
use crate::figures::percentile;

/// One booking, as much as the figures need.
#[derive(Debug, Clone, PartialEq)]
pub struct BookingRow {
    /// The service day of its slot.
    pub day: NaiveDate,
    pub service: String,
    pub start: DateTime<Utc>,
    pub status: BookingStatus,
    pub by_staff: bool,
    pub checked_in: Option<DateTime<Utc>>,
    /// Its ticket's first call.
    pub called: Option<DateTime<Utc>>,
    /// Its service's target wait, in minutes.
    pub target_min: i64,
}

/// One line of appointment figures.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct BookingFigures {
    /// Bookings for the day, whatever became of them.
    pub booked: u32,
    /// Of those, booked by staff on a citizen's behalf.
    pub by_staff: u32,
    pub checked_in: u32,
    pub missed: u32,
    pub cancelled: u32,
    /// Minutes from the slot's start (or the later check-in) to the first call.
    pub punctuality_p50_min: Option<f64>,
    pub punctuality_p90_min: Option<f64>,
    /// The share of those called that were called within their service's target wait (0–1).
    pub called_within_target: Option<f64>,
}

/// Lines by service day and service (`2026-11-23 TP`), then the total (`Tổng`).
pub fn summarize_bookings(rows: &[BookingRow]) -> Vec<(String, BookingFigures)> {
    let mut groups: BTreeMap<String, Vec<&BookingRow>> = BTreeMap::new();
    for r in rows {
        groups
            .entry(format!("{} {}", r.day, r.service))
            .or_default()
            .push(r);
    }
    let mut lines: Vec<(String, BookingFigures)> = groups
        .into_iter()
        .map(|(key, rows)| (key, figures(&rows)))
        .collect();
    lines.push(("Tổng".into(), figures(&rows.iter().collect::<Vec<_>>())));
    lines
}

fn figures(rows: &[&BookingRow]) -> BookingFigures {
    let mut f = BookingFigures::default();
    let mut waits = Vec::new();
    let mut within = 0u32;
    for r in rows {
        f.booked += 1;
        f.by_staff += u32::from(r.by_staff);
        match r.status {
            BookingStatus::CheckedIn => f.checked_in += 1,
            BookingStatus::Missed => f.missed += 1,
            BookingStatus::Cancelled => f.cancelled += 1,
            BookingStatus::Booked => {}
        }
        if let (Some(called), BookingStatus::CheckedIn) = (r.called, r.status) {
            let from = r.checked_in.map_or(r.start, |c| c.max(r.start));
            let minutes = (called - from).num_seconds().max(0) as f64 / 60.0;
            within += u32::from(minutes <= r.target_min as f64);
            waits.push(minutes);
        }
    }
    if !waits.is_empty() {
        f.called_within_target = Some(f64::from(within) / waits.len() as f64);
    }
    // `percentile` sorts in place: the second finds them sorted.
    f.punctuality_p50_min = percentile(&mut waits, 0.5);
    f.punctuality_p90_min = percentile(&mut waits, 0.9);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hm: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-11-23T{hm}:00+07:00"))
            .expect("time")
            .with_timezone(&Utc)
    }

    fn row(
        status: BookingStatus,
        start: &str,
        checked_in: Option<&str>,
        called: Option<&str>,
    ) -> BookingRow {
        BookingRow {
            day: NaiveDate::from_ymd_opt(2026, 11, 23).expect("day"),
            service: "TP".into(),
            start: at(start),
            status,
            by_staff: false,
            checked_in: checked_in.map(at),
            called: called.map(at),
            target_min: 20,
        }
    }

    #[test]
    fn punctuality_counts_from_the_slot_or_a_later_check_in() {
        let rows = vec![
            // Early, called 5 minutes after its slot began.
            row(
                BookingStatus::CheckedIn,
                "09:00",
                Some("08:40"),
                Some("09:05"),
            ),
            // Late by 10 minutes, called 30 after coming: past the 20-minute target.
            row(
                BookingStatus::CheckedIn,
                "09:00",
                Some("09:10"),
                Some("09:40"),
            ),
            // Checked in, not called yet: no punctuality.
            row(BookingStatus::CheckedIn, "09:15", Some("09:10"), None),
            row(BookingStatus::Missed, "09:30", None, None),
            row(BookingStatus::Cancelled, "10:00", None, None),
            row(BookingStatus::Booked, "10:30", None, None),
        ];
        let lines = summarize_bookings(&rows);
        assert_eq!(lines.len(), 2, "the day's TP, then the total");
        let f = &lines[0].1;
        assert_eq!(lines[0].0, "2026-11-23 TP");
        assert_eq!(
            (f.booked, f.checked_in, f.missed, f.cancelled),
            (6, 3, 1, 1)
        );
        assert_eq!(f.punctuality_p50_min, Some(5.0));
        assert_eq!(f.punctuality_p90_min, Some(30.0));
        assert_eq!(f.called_within_target, Some(0.5));
        assert_eq!(lines[1].1, lines[0].1, "one group: the total is the same");
    }
}
