//! The console's figures for any range of service days: a table (JSON) by service, counter,
//! staff or priority class; two charts (SVG); and the same table as CSV for Excel. Read from the
//! database on a connection of its own, read-only, off the engine (`reports::load`).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Timelike};
use serde::Deserialize;

use super::guard::{guarded, refuse, signed_in};
use crate::charts::{self, ServiceWaits};
use crate::state::AppState;
use reports::{By, Row};

/// The longest range one request may read (a year of a busy centre is about 2 million rows).
const MAX_DAYS: i64 = 366;

#[derive(Deserialize)]
pub struct Range {
    from: NaiveDate,
    to: Option<NaiveDate>,
    #[serde(default)]
    by: Option<String>,
    /// `en` for English chart labels.
    #[serde(default)]
    lang: Option<String>,
}

/// The days of a range a signed-in supervisor may read, or the response that refuses it (an
/// axum response, as handlers return it).
#[allow(clippy::result_large_err)]
fn checked(
    app: &AppState,
    headers: &HeaderMap,
    range: &Range,
) -> Result<(NaiveDate, NaiveDate), Response> {
    if signed_in(app, headers).is_none() {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "not signed in",
        ));
    }
    let to = range.to.unwrap_or(range.from);
    if to < range.from || (to - range.from).num_days() >= MAX_DAYS {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "a range of 1 to 366 days, from ≤ to",
        ));
    }
    Ok((range.from, to))
}

/// Reads the database off the engine and the async threads.
async fn off_the_engine<T: Send + 'static>(
    read: impl FnOnce() -> Result<T, ledger::LedgerError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(read).await {
        Ok(Ok(rows)) => Ok(rows),
        Ok(Err(e)) => Err(refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        )),
        Err(_) => Err(refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the report could not be made",
        )),
    }
}

/// The rows of the range, or the response that refuses the request.
async fn rows(app: &AppState, headers: &HeaderMap, range: &Range) -> Result<Vec<Row>, Response> {
    let (from, to) = checked(app, headers, range)?;
    let db = app.db.clone();
    let today = app.config.rules.service_day(app.engine.clock.now());
    off_the_engine(move || reports::load(&db, from, to, today)).await
}

/// `GET /console/appointments?from=…&to=…`: the appointments' figures by day and service.
pub async fn appointments(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(range): Query<Range>,
) -> Result<Response, Response> {
    let (from, to) = checked(&app, &headers, &range)?;
    let db = app.db.clone();
    let rows = off_the_engine(move || reports::load_bookings(&db, from, to)).await?;
    let lines: Vec<_> = reports::summarize_bookings(&rows)
        .into_iter()
        .map(|(key, figures)| serde_json::json!({"key": key, "figures": figures}))
        .collect();
    Ok(guarded(
        Json(serde_json::json!({"lines": lines})).into_response(),
    ))
}

fn grouping(range: &Range) -> By {
    range
        .by
        .as_deref()
        .and_then(|b| b.parse().ok())
        .unwrap_or(By::Service)
}

/// `GET /console/figures?from=…&to=…&by=service|counter|staff|priority|total`
pub async fn table(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(range): Query<Range>,
) -> Result<Response, Response> {
    let rows = rows(&app, &headers, &range).await?;
    let lines: Vec<_> = reports::summarize(&rows, grouping(&range))
        .into_iter()
        .map(|(key, figures)| {
            let name = app
                .config
                .rules
                .services
                .get(&queue_core::ServiceId(key.clone()))
                .map(|s| s.name_vi.clone());
            serde_json::json!({"key": key, "name": name, "figures": figures})
        })
        .collect();
    Ok(guarded(
        Json(serde_json::json!({"lines": lines})).into_response(),
    ))
}

/// `GET /console/figures.csv?…`: the table as CSV, UTF-8 with a byte-order mark so that Excel
/// shows the Vietnamese names right.
pub async fn csv(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(range): Query<Range>,
) -> Result<Response, Response> {
    let rows = rows(&app, &headers, &range).await?;
    let by = grouping(&range);
    let body = format!("\u{feff}{}", reports::csv(&reports::summarize(&rows, by)));
    let to = range.to.unwrap_or(range.from);
    let name = format!("bao-cao-{}-{to}-{by}.csv", range.from);
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(guarded(response))
}

fn svg(body: String) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml; charset=utf-8"),
    );
    guarded(response)
}

/// `GET /console/charts/hourly.svg?…`: tickets issued and served per local hour.
pub async fn hourly(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(range): Query<Range>,
) -> Result<Response, Response> {
    let rows = rows(&app, &headers, &range).await?;
    let tz = app.config.rules.tz;
    let hour = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).hour() as usize;
    let (mut issued, mut served) = ([0u32; 24], [0u32; 24]);
    for r in &rows {
        issued[hour(r.issued)] += 1;
        if r.status == protocol::TicketStatus::Done
            && let Some(f) = r.finished
        {
            served[hour(f)] += 1;
        }
    }
    let en = range.lang.as_deref() == Some("en");
    let names = if en {
        ("Issued", "Served")
    } else {
        ("Cấp số", "Đã phục vụ")
    };
    Ok(svg(charts::hourly(&issued, &served, names)))
}

/// `GET /console/charts/waits.svg?…`: each service's median and P90 wait against its target.
pub async fn waits(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(range): Query<Range>,
) -> Result<Response, Response> {
    let rows = rows(&app, &headers, &range).await?;
    let lines = reports::summarize(&rows, By::Service);
    let services: Vec<ServiceWaits> = app
        .config
        .rules
        .service_order
        .iter()
        .filter_map(|id| {
            let rule = app.config.rules.services.get(id)?;
            let figures = lines.iter().find(|(k, _)| *k == id.0).map(|(_, f)| f);
            Some(ServiceWaits {
                name: id.0.clone(),
                p50: figures.and_then(|f| f.wait_p50_min),
                p90: figures.and_then(|f| f.wait_p90_min),
                target: rule.target_wait.num_minutes() as f64,
            })
        })
        .collect();
    Ok(svg(charts::waits(&services, ("P50", "P90"))))
}
