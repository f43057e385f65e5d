//! `/dat-lich`: the booking page for a citizen's phone — choose the field, a day and a free
//! time, give a phone number, and get the code, its QR image and what to do on the day; look up
//! or cancel a booking with its code and phone. Plain HTML and script embedded in the hub,
//! talking to `/api/appointments` only (`appointments.rs`), with the console's protective
//! headers and content security policy: no external asset, nothing cached.

use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::console::{guarded, own_page};
use super::state::AppState;

const PAGE: &str = include_str!("dat-lich.html");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dat-lich", get(page))
        .route("/dat-lich/qr/{code}", get(qr))
}

/// The page, with the fields that take appointments and the centre's name.
async fn page(State(app): State<AppState>) -> Response {
    let rules = &app.config.rules;
    let services: Vec<_> = rules
        .service_order
        .iter()
        .filter_map(|id| rules.services.get(id))
        .filter_map(|s| {
            let a = s.appointments.as_ref()?;
            Some(serde_json::json!({
                "id": s.id.as_str(),
                "name_vi": s.name_vi,
                "name_en": s.name_en,
                "days_ahead": a.days_ahead,
                "slot_min": a.slot.num_minutes(),
            }))
        })
        .collect();
    let today = app
        .engine
        .clock
        .now()
        .with_timezone(&rules.tz)
        .date_naive()
        .to_string();
    let start = serde_json::json!({
        "centre_vi": app.config.center.name,
        "centre_en": app.config.center.name_en,
        "services": services,
        "today": today,
        "per_phone_per_day": rules.appointment_limits.per_phone_per_day,
    });
    // In a <script> block: `<` escaped so that no configured text can end it.
    let start = start.to_string().replace('<', "\\u003c");
    own_page(StatusCode::OK, PAGE.replacen("/*START*/null", &start, 1))
}

/// `GET /dat-lich/qr/{code}`: a booking code as a QR image, for the kiosk's reader to scan.
/// It encodes the code alone, which says nothing without the centre's hub. Drawing one costs a
/// little: it counts as a look-up of the booking API.
async fn qr(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    Path(code): Path<String>,
) -> Response {
    if !super::appointments::allowed(&app, peer, &headers, false) {
        return (StatusCode::TOO_MANY_REQUESTS, "too many requests").into_response();
    }
    let Some(code) = queue_core::appointments::normalise_code(&code) else {
        return (StatusCode::NOT_FOUND, "not a booking code").into_response();
    };
    let Ok(qr) = qrcode::QrCode::new(code.as_bytes()) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "cannot draw the code").into_response();
    };
    let svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .build();
    let mut response = ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    guarded(response)
}
