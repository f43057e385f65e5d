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
//! - `serve.rs` — the accept loop: HTTP/1 with a header timeout (a slow client cannot hold a
//!   connection open for free), shut down gracefully.

pub mod serve;
pub mod tracking;
pub mod waits;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// How long a request may wait for a database connection before it is answered 503.
const POOL_WAIT: Duration = Duration::from_secs(5);

/// Why the door cannot serve a request.
#[derive(Debug, thiserror::Error)]
pub enum DoorError {
    #[error("the province's database cannot be reached: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("the province's database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
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
        Ok(Door { pool })
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
