//! Which web pages may talk to the hub: the hub's own (the tracking page, the console), the
//! public address phones use, and origins the configuration allows.

use axum::http::{HeaderMap, header};

use super::state::AppState;

/// Whether a browser page from `origin` may open a WebSocket to this hub: the hub's own pages
/// (the tracking page: same host and port as the request), or an origin the configuration
/// allows. Native clients send no `Origin` and are not concerned; a page elsewhere (say, on a
/// staff PC's browser) must not reach the hub with the PC's network position.
pub fn origin_allowed(app: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim_end_matches('/').to_ascii_lowercase();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    let own = origin
        .split_once("://")
        .is_some_and(|(_, authority)| Some(authority) == host.as_deref());
    // Where citizens' phones reach the hub (behind a proxy, the host differs from ours).
    let public = app.config.center.public_url.as_deref().is_some_and(|url| {
        let url = url.to_ascii_lowercase();
        let authority_end = url.find("://").map_or(url.len(), |i| {
            url[i + 3..].find('/').map_or(url.len(), |j| i + 3 + j)
        });
        url[..authority_end] == origin
    });
    own || public || app.config.allowed_origins.contains(&origin)
}
