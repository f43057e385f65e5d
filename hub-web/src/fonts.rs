//! `/fonts/…`: Noto Sans, as the apps embed it (`assets/fonts/`, OFL), for the hub's own pages.
//! A cheap tablet's browser may have no font with every Vietnamese diacritic, or one that
//! stacks them badly; the citizen's screen and the booking page look the same everywhere.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::state::AppState;

const REGULAR: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Regular.ttf");
const BOLD: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Bold.ttf");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/fonts/NotoSans-Regular.ttf",
            get(|| async { font(REGULAR) }),
        )
        .route("/fonts/NotoSans-Bold.ttf", get(|| async { font(BOLD) }))
}

/// The file, cached for a year: its name changes if its bytes ever do.
fn font(bytes: &'static [u8]) -> Response {
    let mut response = (StatusCode::OK, bytes).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("font/ttf"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}
