//! Figures for managers: per service day range, in total or by service, counter or staff —
//! issued, served, no-shows, cancelled, expired, waiting and service times (average and 90th
//! percentile), the share of tickets that went overdue, the average rating.
//!
//! Days are service days in the centre's time zone (the `day` the hub stamped on each ticket), so
//! a ticket issued at 23:50 and served after midnight counts once, on the day it was issued.
//! The same `summarize` serves `hub report` (rows from the database) and `hub simulate` (rows
//! from a simulated day).

use std::path::Path;

use chrono::NaiveDate;
use ledger::{LedgerError, Reader};
use protocol::TicketStatus;

pub use queue_core::booking_figures::{BookingFigures, BookingRow, summarize_bookings};
pub use queue_core::figures::{By, Figures, Row, rows_of_day, summarize};

/// Reads the tickets of service days `from..=to` (read-only, also while the hub runs).
/// Tickets of days before `today` that never finished count as expired (the hub expires them
/// when the next day starts).
pub fn load(
    db: &Path,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Result<Vec<Row>, LedgerError> {
    let tickets = Reader::open(db)?.tickets_of_days(from, to)?;
    Ok(tickets
        .into_iter()
        .map(|t| {
            let mut status = t.status;
            if t.day < today && status.is_active() {
                status = TicketStatus::Expired;
            }
            Row {
                day: t.day,
                service: t.service,
                priority: t.priority.is_some(),
                counter: t.counter,
                staff: t.staff,
                status,
                issued: t.issued_at,
                called: t.first_called_at.or(t.called_at),
                serving: t.serving_at,
                finished: t.finished_at,
                overdue: t.overdue_wait || t.overdue_service,
                rating: t.rating,
                rated_by: t.rated_by,
                reasons: t.rating_reasons,
                transfers: t.transfers,
            }
        })
        .collect())
}

/// The bookings for the service days `from..=to`.
pub fn load_bookings(
    db: &Path,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<BookingRow>, LedgerError> {
    Ok(Reader::open(db)?
        .appointments_of_days(from, to)?
        .into_iter()
        .map(|a| BookingRow {
            day: a.day,
            service: a.service,
            start: a.start,
            status: a.status,
            by_staff: a.by_staff,
            checked_in: a.checked_in_at,
            called: a.called_at,
            target_min: a.target_min,
        })
        .collect())
}

const BOOKING_HEADERS: [&str; 9] = [
    "ngày · lĩnh vực",
    "đặt lịch",
    "cán bộ đặt",
    "đã đến",
    "lỡ hẹn",
    "hủy",
    "gọi sau P50 (ph)",
    "gọi sau P90 (ph)",
    "gọi đúng hạn",
];

fn booking_cells(key: &str, f: &BookingFigures) -> Vec<String> {
    let num = |x: Option<f64>| x.map_or_else(|| "—".into(), |v| format!("{v:.1}"));
    vec![
        key.to_string(),
        f.booked.to_string(),
        f.by_staff.to_string(),
        f.checked_in.to_string(),
        f.missed.to_string(),
        f.cancelled.to_string(),
        num(f.punctuality_p50_min),
        num(f.punctuality_p90_min),
        f.called_within_target
            .map_or_else(|| "—".into(), |s| format!("{:.0}%", s * 100.0)),
    ]
}

/// The appointments' figures as a table for the terminal.
pub fn booking_table(lines: &[(String, BookingFigures)]) -> String {
    aligned(
        &BOOKING_HEADERS,
        lines.iter().map(|(k, f)| booking_cells(k, f)).collect(),
    )
}

/// The appointments' figures as CSV (minutes, shares 0–1).
pub fn booking_csv(lines: &[(String, BookingFigures)]) -> String {
    let mut out = String::from(
        "day,service,booked,by_staff,checked_in,missed,cancelled,punctuality_p50_min,punctuality_p90_min,called_within_target\n",
    );
    let num = |x: Option<f64>| x.map_or_else(String::new, |v| format!("{v:.2}"));
    for (k, f) in lines {
        let (day, service) = k.split_once(' ').unwrap_or(("", k.as_str()));
        out.push_str(&format!(
            "{day},{service},{},{},{},{},{},{},{},{}\n",
            f.booked,
            f.by_staff,
            f.checked_in,
            f.missed,
            f.cancelled,
            num(f.punctuality_p50_min),
            num(f.punctuality_p90_min),
            f.called_within_target
                .map_or_else(String::new, |s| format!("{s:.3}")),
        ));
    }
    out
}

const HEADERS: [&str; 17] = [
    "nhóm",
    "cấp số",
    "đã phục vụ",
    "vắng mặt",
    "hủy",
    "hết hạn",
    "chờ TB (ph)",
    "chờ P90 (ph)",
    "phục vụ TB (ph)",
    "phục vụ P90 (ph)",
    "quá hạn",
    "đánh giá TB",
    "chuyển",
    "lượt đánh giá",
    "công dân tự đánh giá",
    "tỉ lệ được đánh giá",
    "lý do (đánh giá thấp)",
];

/// The reasons chosen and how often, most chosen first: `wait:3 slow:1`.
fn reasons_text(f: &Figures) -> String {
    let mut counts: Vec<(&String, &u32)> = f.reasons.iter().collect();
    counts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    counts
        .iter()
        .map(|(id, n)| format!("{id}:{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn cells(key: &str, f: &Figures) -> Vec<String> {
    let num = |x: Option<f64>| x.map_or_else(|| "—".into(), |v| format!("{v:.1}"));
    vec![
        key.to_string(),
        f.issued.to_string(),
        f.served.to_string(),
        f.no_shows.to_string(),
        f.cancelled.to_string(),
        f.expired.to_string(),
        num(f.wait_avg_min),
        num(f.wait_p90_min),
        num(f.service_avg_min),
        num(f.service_p90_min),
        f.overdue_share
            .map_or_else(|| "—".into(), |s| format!("{:.0}%", s * 100.0)),
        f.rating_avg
            .map_or_else(|| "—".into(), |v| format!("{v:.2}")),
        f.transferred.to_string(),
        f.ratings.to_string(),
        f.ratings_by_citizen.to_string(),
        f.rated_share
            .map_or_else(|| "—".into(), |s| format!("{:.0}%", s * 100.0)),
        match reasons_text(f) {
            r if r.is_empty() => "—".into(),
            r => r,
        },
    ]
}

/// A table for the terminal, columns aligned by characters (Vietnamese headers included).
pub fn table(lines: &[(String, Figures)]) -> String {
    aligned(&HEADERS, lines.iter().map(|(k, f)| cells(k, f)).collect())
}

/// Rows under their headers, columns aligned by characters, the first to the left.
fn aligned(headers: &[&str], lines: Vec<Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = std::iter::once(headers.iter().map(|h| h.to_string()).collect())
        .chain(lines)
        .collect();
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (n, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = " ".repeat(widths[i] - c.chars().count());
                if i == 0 {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if n == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            out.push('\n');
        }
    }
    out
}

/// CSV with machine-friendly headers and plain numbers (minutes, shares 0–1).
pub fn csv(lines: &[(String, Figures)]) -> String {
    let mut out = String::from(
        "group,issued,served,no_shows,cancelled,expired,wait_avg_min,wait_p90_min,service_avg_min,service_p90_min,overdue_share,rating_avg,transferred,ratings,ratings_by_citizen,rated_share,reasons\n",
    );
    let num = |x: Option<f64>| x.map_or_else(String::new, |v| format!("{v:.2}"));
    for (k, f) in lines {
        let key = if k.contains([',', '"']) {
            format!("\"{}\"", k.replace('"', "\"\""))
        } else {
            k.clone()
        };
        out.push_str(&format!(
            "{key},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            f.issued,
            f.served,
            f.no_shows,
            f.cancelled,
            f.expired,
            num(f.wait_avg_min),
            num(f.wait_p90_min),
            num(f.service_avg_min),
            num(f.service_p90_min),
            f.overdue_share
                .map_or_else(String::new, |s| format!("{s:.3}")),
            num(f.rating_avg),
            f.transferred,
            f.ratings,
            f.ratings_by_citizen,
            f.rated_share
                .map_or_else(String::new, |s| format!("{s:.3}")),
            reasons_text(f),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn at(hm: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-11-23T{hm}:00+07:00"))
            .expect("time")
            .with_timezone(&Utc)
    }

    fn row(
        service: &str,
        status: TicketStatus,
        issued: &str,
        called: Option<&str>,
        done: Option<(&str, &str)>,
    ) -> Row {
        Row {
            day: NaiveDate::from_ymd_opt(2026, 11, 23).expect("day"),
            service: service.into(),
            priority: false,
            counter: Some(1),
            staff: Some("nv01".into()),
            status,
            issued: at(issued),
            called: called.map(at),
            serving: done.map(|d| at(d.0)),
            finished: done.map(|d| at(d.1)),
            overdue: false,
            rating: done.map(|_| 4),
            rated_by: done.map(|_| queue_core::RatedBy::Citizen),
            reasons: vec![],
            transfers: 0,
        }
    }

    #[test]
    fn figures_by_service_and_total() {
        let rows = vec![
            row(
                "TP",
                TicketStatus::Done,
                "08:00",
                Some("08:10"),
                Some(("08:11", "08:21")),
            ),
            row(
                "TP",
                TicketStatus::Done,
                "08:05",
                Some("08:35"),
                Some(("08:36", "08:41")),
            ),
            row("TP", TicketStatus::NoShow, "08:06", Some("08:50"), None),
            row("DD", TicketStatus::Cancelled, "09:00", None, None),
        ];
        let lines = summarize(&rows, By::Service);
        assert_eq!(
            lines.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(),
            ["DD", "TP", "Tổng"]
        );
        let tp = &lines[1].1;
        assert_eq!((tp.issued, tp.served, tp.no_shows), (3, 2, 1));
        // Waits 10, 30, 44 minutes: mean 28, P90 44. Service 10 and 5: mean 7.5, P90 10.
        assert_eq!(tp.wait_avg_min, Some(28.0));
        assert_eq!(tp.wait_p90_min, Some(44.0));
        assert_eq!(tp.service_avg_min, Some(7.5));
        assert_eq!(tp.service_p90_min, Some(10.0));
        assert_eq!(tp.rating_avg, Some(4.0));
        let total = &lines[2].1;
        assert_eq!((total.issued, total.cancelled), (4, 1));
        let text = table(&lines);
        assert!(text.contains("Tổng") && text.contains("28.0"), "{text}");
        let csv = csv(&lines);
        assert!(
            csv.lines()
                .nth(2)
                .is_some_and(|l| l.starts_with("TP,3,2,1,0,0,28.00,44.00,7.50,10.00")),
            "{csv}"
        );
    }
}
