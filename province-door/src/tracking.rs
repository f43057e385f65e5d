//! A ticket followed from anywhere: `GET /t/{track}` (the page the ticket's QR opens when the
//! centre has a province) and `GET /api/t/{track}` (what it shows). The province holds only
//! the SHA-256 of each tracking code (`tickets.track_hash`, shipped by the hub): the door
//! hashes the code in the address and looks that up, so the database alone cannot open
//! anyone's page. The place in the queue is the hub's own (`service_waits.queue`, the waiting
//! tickets in call order, rewritten with every shipment), the estimate the kiosk's.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use super::waits::STALE_AFTER_MIN;
use super::{Door, DoorError};

const PAGE: &str = include_str!("tracking.html");

/// What a ticket's page shows.
#[derive(Debug, Serialize)]
pub struct Followed {
    pub centre_vi: String,
    pub centre_en: String,
    pub time_zone: String,
    pub number: String,
    pub service_vi: String,
    pub service_en: String,
    /// `waiting`, `called`, `serving`, `done`, `no_show`, `transferred`, `cancelled`, or `expired` (a
    /// ticket of a past service day that never finished).
    pub status: String,
    pub counter: Option<i32>,
    /// The centre's hub spoke within the last few minutes: `ahead` and `eta_min` are current.
    pub live: bool,
    pub heard_at: Option<String>,
    /// Waiting tickets to be called first; `null` unless waiting and live.
    pub ahead: Option<i32>,
    /// Minutes until the call, as the kiosk estimates; `null` also when no counter serves it.
    pub eta_min: Option<i32>,
}

/// A tracking code as hubs make them (letters and digits); anything else is not looked up.
pub(crate) fn plausible(track: &str) -> bool {
    (8..=64).contains(&track.len()) && track.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub async fn page(Path(track): Path<String>) -> Response {
    if !plausible(&track) {
        return not_found();
    }
    let mut response = Html(PAGE).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The code is in the address: no other site learns it from a link's referrer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'",
        ),
    );
    response
}

pub async fn json(
    State(door): State<Door>,
    Path(track): Path<String>,
) -> Result<Response, DoorError> {
    if !plausible(&track) {
        return Ok(not_found());
    }
    let Some(followed) = read(&door, &track).await? else {
        return Ok(not_found());
    };
    let mut response = Json(followed).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "Không tìm thấy vé này (mã sai, hoặc trung tâm chưa gửi lên tỉnh) · \
         no such ticket (a wrong code, or the centre has not sent it to the province yet)",
    )
        .into_response()
}

pub async fn read(door: &Door, track: &str) -> Result<Option<Followed>, DoorError> {
    let client = door.client().await?;
    let hash = province::track_hash(track);
    let sql = format!(
        "SELECT c.name, c.name_en, c.time_zone, t.number, coalesce(s.name, t.service),
                coalesce(s.name_en, ''),
                CASE WHEN t.status IN ('waiting', 'called', 'serving')
                          AND t.day < coalesce(c.service_day,
                              ((now() AT TIME ZONE c.time_zone) - c.day_starts_at)::date)
                     THEN 'expired' ELSE t.status END,
                t.counter,
                coalesce(c.heard_at > now() - interval '{STALE_AFTER_MIN} minutes', false),
                to_char(c.heard_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                array_position(w.queue, t.id) - 1,
                CASE WHEN t.priority IS NULL THEN w.secs_per_ahead ELSE w.secs_per_ahead_priority END
         FROM tickets t
         JOIN centres c ON c.id = t.centre
         LEFT JOIN services s ON s.centre = t.centre AND s.id = t.service
         LEFT JOIN service_waits w ON w.centre = t.centre AND w.service = t.service
         WHERE t.track_hash = $1"
    );
    let Some(row) = client.query_opt(&sql, &[&hash]).await? else {
        return Ok(None);
    };
    let status: String = row.try_get(6)?;
    let live: bool = row.try_get(8)?;
    let ahead: Option<i32> = row
        .try_get::<_, Option<i32>>(10)?
        .filter(|_| live && status == "waiting");
    let secs: Option<f64> = row.try_get(11)?;
    let eta_min = match (ahead, secs) {
        (Some(a), Some(s)) => Some(
            i32::try_from(queue_core::estimate::minutes_for(a.unsigned_abs(), s))
                .unwrap_or(i32::MAX),
        ),
        _ => None,
    };
    Ok(Some(Followed {
        centre_vi: row.try_get(0)?,
        centre_en: row.try_get(1)?,
        time_zone: row.try_get(2)?,
        number: row.try_get(3)?,
        service_vi: row.try_get(4)?,
        service_en: row.try_get(5)?,
        status,
        counter: row.try_get(7)?,
        live,
        heard_at: row.try_get(9)?,
        ahead,
        eta_min,
    }))
}
