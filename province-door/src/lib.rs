//! The province's door (docs/PROVINCE.md, "The province's door"): one public web service for
//! every centre of a province, on the province's PostgreSQL — the database the centres' hubs
//! already ship to. It keeps nothing of its own outside that database, so any number of
//! instances serve the same province behind one load balancer, and any of them may be
//! restarted at any time.
//!
//! - `waits.rs` — every centre's fields, the people waiting and a new ticket's estimated wait,
//!   as each hub last said; a centre silent too long shows as silent since then, not as live.
//! - `tracking.rs` — a ticket's page from anywhere, found by its tracking code's hash: the
//!   QR on the ticket opens it when the centre has a province.
//! - `booking.rs` — booking any centre in the province's share of its slots: held after a
//!   proof of work (`proof.rs`), confirmed with a pass the centre's hub checks offline, capped
//!   per phone across the province; per-address allowances behind trusted proxies (`limits.rs`).
//! - `serve.rs` — the accept loop: HTTP/1 with a header timeout (a slow client cannot hold a
//!   connection open for free), shut down gracefully.

pub mod booking;
pub mod limits;
pub mod proof;
pub mod push;
pub mod serve;
pub mod tracking;
pub mod waits;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The largest body a request may have (a hold is about 300 bytes).
const MAX_BODY: usize = 2048;

/// A page's protective headers: revalidated on each visit, and a content security policy that
/// lets it load nothing from anywhere else (no outside asset, no frame around it).
pub(crate) fn protect(h: &mut axum::http::HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// How long a request may wait for a database connection before it is answered 503.
const POOL_WAIT: Duration = Duration::from_secs(5);

/// Why the door cannot serve a request.
#[derive(Debug, thiserror::Error)]
pub enum DoorError {
    #[error("the province's database cannot be reached: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("the province's database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("too many bookings at once; try again")]
    Busy,
}

impl IntoResponse for DoorError {
    fn into_response(self) -> Response {
        tracing::warn!(error = %self, "a request could not be served");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, HeaderValue::from_static("10"))],
            "Tạm thời không đọc được số liệu, xin thử lại sau ít phút · \
             the figures cannot be read just now; try again in a few minutes",
        )
            .into_response()
    }
}

/// What every request shares: the pool of connections to the province's database.
#[derive(Clone)]
pub struct Door {
    pool: deadpool_postgres::Pool,
    /// `None`: this door takes no bookings (it has no signing key).
    booking: Option<booking::Shared>,
    /// `None`: this door sends no Web Push (it has no VAPID key).
    push: Option<push::Shared>,
    /// Each address's allowances (this instance's own count).
    limits: std::sync::Arc<std::sync::Mutex<limits::Limits>>,
    /// Proxies whose `X-Forwarded-For` names the client.
    trusted_proxies: std::sync::Arc<Vec<std::net::IpAddr>>,
}

impl Door {
    /// A door on `link` (the province's address, password file and CA, as a hub's
    /// `[province]` gives them), with at most `connections` to the database.
    pub fn new(link: &province::Link, connections: usize) -> Result<Door, province::ProvinceError> {
        let (config, tls) = link.config("hang-doi-province")?;
        let manager = deadpool_postgres::Manager::from_config(
            config,
            tls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(connections)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(POOL_WAIT))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| province::ProvinceError::Local(e.to_string()))?;
        Ok(Door {
            pool,
            booking: None,
            push: None,
            limits: Default::default(),
            trusted_proxies: Default::default(),
        })
    }

    /// The same door, taking the client's address from these proxies' `X-Forwarded-For`.
    pub fn trusting(mut self, proxies: Vec<std::net::IpAddr>) -> Door {
        self.trusted_proxies = std::sync::Arc::new(proxies);
        self
    }

    /// The same door, sending Web Push for the tickets followed on it.
    pub fn with_push(mut self, settings: push::Settings) -> Door {
        self.push = Some(std::sync::Arc::new(settings));
        self
    }

    /// Whether the client behind `peer` may make one more request of this kind now.
    pub(crate) fn allowed(
        &self,
        peer: std::net::SocketAddr,
        headers: &axum::http::HeaderMap,
        hold: bool,
    ) -> bool {
        let client = limits::client_address(&self.trusted_proxies, peer, headers);
        self.limits.lock().unwrap_or_else(|e| e.into_inner()).take(
            client,
            hold,
            std::time::Instant::now(),
        )
    }

    /// The same door, taking bookings under `key`.
    pub fn with_booking(
        mut self,
        key: province_pass::PassKey,
        settings: booking::Settings,
    ) -> Door {
        self.booking = Some(std::sync::Arc::new(booking::Booking::new(key, settings)));
        self
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, DoorError> {
        Ok(self.pool.get().await?)
    }
}

/// Every route of the door.
pub fn router(door: Door) -> Router {
    Router::new()
        .route("/", get(waits::page))
        .route("/api/waits", get(waits::json))
        .route("/t/{track}", get(tracking::page))
        .route("/api/t/{track}", get(tracking::json))
        .route("/dat-lich", get(booking::page))
        .route("/dat-lich/qr/{pass}", get(booking::qr))
        .route("/api/bookings", axum::routing::post(booking::hold))
        .route("/api/bookings/options", get(booking::options))
        .route("/api/bookings/slots", get(booking::slots))
        .route("/api/bookings/challenge", get(booking::challenge))
        .route(
            "/api/bookings/confirm",
            axum::routing::post(booking::confirm),
        )
        .route("/api/bookings/cancel", axum::routing::post(booking::cancel))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .route("/push/key", get(push::key))
        .route(
            "/t/{track}/push",
            axum::routing::post(push::subscribe).delete(push::unsubscribe),
        )
        .route("/t/{track}/push-sw.js", get(push::worker))
        .route("/healthz", get(healthz))
        .with_state(door)
}

/// 200 while the database answers: what a load balancer asks before sending anyone here.
async fn healthz(axum::extract::State(door): axum::extract::State<Door>) -> Response {
    let answered = async {
        let client = door.client().await?;
        client.query_one("SELECT 1", &[]).await?;
        Ok::<_, DoorError>(())
    };
    match tokio::time::timeout(POOL_WAIT, answered).await {
        Ok(Ok(())) => (StatusCode::OK, "ok").into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "the database is slow").into_response(),
    }
}
