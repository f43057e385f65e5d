//! Every centre's waits: `GET /` (the page) and `GET /api/waits` (what it shows, as JSON). The
//! figures are each hub's own — people waiting and a new ticket's estimated wait per field, as
//! the kiosk and the lobby board show them (`service_waits`, written by the hub's shipper with
//! every shipment and at least once a minute). A centre whose hub has not said anything for
//! [`STALE_AFTER_MIN`] minutes is shown as silent since then, its figures withheld: a citizen
//! deciding where to go must never read yesterday's queue as today's.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use super::{Door, DoorError};

/// A hub writes at least once a minute; three missed in a row mean its link (or the hub) is down.
pub const STALE_AFTER_MIN: u32 = 3;

const PAGE: &str = include_str!("waits.html");

#[derive(Debug, Serialize)]
pub struct Waits {
    pub stale_after_min: u32,
    pub centres: Vec<CentreWaits>,
}

#[derive(Debug, Serialize)]
pub struct CentreWaits {
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
    /// The centre's IANA time zone, for showing `heard_at` in its local time.
    pub time_zone: String,
    /// Its hub spoke within the last [`STALE_AFTER_MIN`] minutes: the figures are live.
    pub live: bool,
    /// When its hub last spoke (RFC 3339, UTC); `null`: never (a hub older than the door).
    pub heard_at: Option<String>,
    /// Some field takes tickets now; `null` when not live.
    pub open: Option<bool>,
    pub services: Vec<FieldWaits>,
}

#[derive(Debug, Serialize)]
pub struct FieldWaits {
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
    /// `open`, `closed` or `sold_out`; `null` when not live, as are the figures.
    pub state: Option<String>,
    pub waiting: Option<i32>,
    /// A ticket taken now would wait about this long; `null` also when no counter serves it.
    pub eta_min: Option<i32>,
}

/// The page: a shell that reads `/api/waits` and keeps it current.
pub async fn page() -> Response {
    let mut response = Html(PAGE).into_response();
    super::protect(response.headers_mut());
    response
}

/// The figures, read from the database on each request (two instances answer alike).
pub async fn json(State(door): State<Door>) -> Result<Response, DoorError> {
    let waits = read(&door).await?;
    let mut response = Json(waits).into_response();
    // A load balancer or a phone may keep it a few seconds, not more: it is a live figure.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=5"),
    );
    Ok(response)
}

pub async fn read(door: &Door) -> Result<Waits, DoorError> {
    let client = door.client().await?;
    let sql = format!(
        "SELECT c.id, c.name, c.name_en, c.time_zone,
                coalesce(c.heard_at > now() - interval '{STALE_AFTER_MIN} minutes', false) AS live,
                to_char(c.heard_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS heard_at,
                w.service, coalesce(s.name, w.service), coalesce(s.name_en, ''),
                w.state, w.waiting, w.eta_min
         FROM centres c
         LEFT JOIN service_waits w ON w.centre = c.id
         LEFT JOIN services s ON s.centre = w.centre AND s.id = w.service
         ORDER BY c.id, w.position"
    );
    let rows = client.query(&sql, &[]).await?;
    let mut centres: Vec<CentreWaits> = Vec::new();
    for row in rows {
        let id: String = row.try_get(0)?;
        if centres.last().is_none_or(|c| c.id != id) {
            centres.push(CentreWaits {
                id,
                name_vi: row.try_get(1)?,
                name_en: row.try_get(2)?,
                time_zone: row.try_get(3)?,
                live: row.try_get(4)?,
                heard_at: row.try_get(5)?,
                open: None,
                services: Vec::new(),
            });
        }
        let Some(centre) = centres.last_mut() else {
            continue;
        };
        let Some(service) = row.try_get::<_, Option<String>>(6)? else {
            continue;
        };
        let live = centre.live;
        let state: String = row.try_get(9)?;
        centre.services.push(FieldWaits {
            id: service,
            name_vi: row.try_get(7)?,
            name_en: row.try_get(8)?,
            state: live.then_some(state),
            waiting: row.try_get::<_, i32>(10).map(|w| live.then_some(w))?,
            eta_min: row
                .try_get::<_, Option<i32>>(11)
                .map(|e| e.filter(|_| live))?,
        });
    }
    for centre in &mut centres {
        centre.open = centre.live.then(|| {
            centre
                .services
                .iter()
                .any(|s| s.state.as_deref() == Some("open"))
        });
    }
    Ok(Waits {
        stale_after_min: STALE_AFTER_MIN,
        centres,
    })
}
