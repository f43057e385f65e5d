//! A push service of the tests' own on loopback: it takes what the hub sends, checks the VAPID
//! signature and audience as a real push service does, and decrypts each message with the
//! browser's key — so a test sees exactly what a citizen's phone would show.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use notices::b64;
use p256::SecretKey;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// One message as the phone reads it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The path it was posted to (which subscription).
    pub path: String,
    /// The decrypted JSON (`kind`, `ticket`, `title`…).
    pub message: Value,
    pub ttl: Option<u64>,
    pub urgency: Option<String>,
    /// The VAPID token's claims, its signature checked.
    pub claims: Value,
    pub at: std::time::Instant,
}

/// How the receiver answers, by the path's last part: `gone` → 410, `busy` → 500 on the first
/// try, `hang` → never answers; else 201.
pub struct PushReceiver {
    pub addr: SocketAddr,
    /// The browser's key: the private half decrypts.
    key: SecretKey,
    auth: [u8; 16],
    received: Arc<Mutex<Vec<Received>>>,
    refused: Arc<Mutex<Vec<String>>>,
    arrived: Arc<Notify>,
}

impl PushReceiver {
    pub async fn start() -> PushReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let key = notices::ece::random_secret();
        let auth: [u8; 16] = rand::random();
        let received = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let busy_seen = Arc::new(Mutex::new(std::collections::HashSet::<String>::new()));
        let shared = (
            key.clone(),
            auth,
            received.clone(),
            refused.clone(),
            arrived.clone(),
            busy_seen,
            addr,
        );
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(answer(req, shared).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        PushReceiver {
            addr,
            key,
            auth,
            received,
            refused,
            arrived,
        }
    }

    /// A browser's `PushSubscription.toJSON()` for the endpoint `name` on this receiver.
    pub fn subscription(&self, name: &str) -> Value {
        let public = notices::ece::uncompressed(&self.key.public_key());
        json!({
            "endpoint": format!("http://{}/push/{name}", self.addr),
            "expirationTime": null,
            "keys": {"p256dh": b64::encode(&public), "auth": b64::encode(&self.auth)},
        })
    }

    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Requests that were not a valid push (no signature, undecryptable): why, each.
    pub fn refused(&self) -> Vec<String> {
        self.refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until `count` messages have arrived (or `within` passes), and returns them.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.arrived.notified();
            let now = self.received();
            if now.len() >= count {
                return now;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.received();
            }
        }
    }
}

type Shared = (
    SecretKey,
    [u8; 16],
    Arc<Mutex<Vec<Received>>>,
    Arc<Mutex<Vec<String>>>,
    Arc<Notify>,
    Arc<Mutex<std::collections::HashSet<String>>>,
    SocketAddr,
);

async fn answer(req: Request<Incoming>, shared: Shared) -> Response<Full<Bytes>> {
    let (key, auth, received, refused, arrived, busy_seen, addr) = shared;
    let at = std::time::Instant::now();
    let path = req.uri().path().to_string();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (authorization, ttl, urgency, encoding) = (
        header("authorization"),
        header("ttl").and_then(|t| t.parse().ok()),
        header("urgency"),
        header("content-encoding"),
    );
    let status = |s: u16| {
        Response::builder()
            .status(StatusCode::from_u16(s).unwrap_or(StatusCode::OK))
            .body(Full::new(Bytes::new()))
            .unwrap_or_default()
    };
    if path.ends_with("/hang") {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    if path.ends_with("/gone") {
        return status(410);
    }
    if path.ends_with("/busy")
        && busy_seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.clone())
    {
        return status(500);
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return status(400),
    };
    let refuse = |why: String| {
        refused.lock().unwrap_or_else(|e| e.into_inner()).push(why);
        arrived.notify_waiters();
        status(400)
    };
    let Some(claims) = authorization.as_deref().and_then(notices::vapid::verify) else {
        return refuse(format!("no valid VAPID signature: {authorization:?}"));
    };
    if claims["aud"] != format!("http://{addr}") {
        return refuse(format!("wrong audience {}", claims["aud"]));
    }
    if encoding.as_deref() != Some("aes128gcm") {
        return refuse(format!("content-encoding {encoding:?}"));
    }
    let message = match notices::ece::decrypt(&body, &key, &auth)
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())
    {
        Some(m) => m,
        None => return refuse("undecryptable".into()),
    };
    received
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Received {
            path,
            message,
            ttl,
            urgency,
            claims,
            at,
        });
    arrived.notify_waiters();
    status(201)
}
