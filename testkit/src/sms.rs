//! An SMS gateway of the tests' own on loopback, as a province's contracted one would be: it
//! takes the hub's `POST` (docs/PROTOCOL.md, "SMS and chat gateways"), keeps what came and with
//! which bearer token, and can answer `500` to the first tries to show the hub tries again.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::Notify;

/// One message as the gateway took it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct Inbox {
    sent: Mutex<Vec<Sent>>,
    /// Requests answered `500` so far, and how many more to answer so.
    failed: AtomicUsize,
    to_fail: AtomicUsize,
    arrived: Notify,
}

pub struct SmsGateway {
    pub addr: SocketAddr,
    inbox: Arc<Inbox>,
}

impl SmsGateway {
    /// A gateway that answers `500` to its first `fail_first` requests, then `200`.
    pub async fn start(fail_first: usize) -> SmsGateway {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let inbox = Arc::new(Inbox::default());
        inbox.to_fail.store(fail_first, Ordering::SeqCst);
        let shared = inbox.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let inbox = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let inbox = inbox.clone();
                        async move { Ok::<_, Infallible>(answer(req, &inbox).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        SmsGateway { addr, inbox }
    }

    pub fn url(&self) -> String {
        format!("http://{}/send", self.addr)
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.inbox
            .sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many requests were answered `500`.
    pub fn failed(&self) -> usize {
        self.inbox.failed.load(Ordering::SeqCst)
    }

    /// Waits until `count` messages were taken (or `within` passes), and returns them.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Sent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let arrived = self.inbox.arrived.notified();
            let now = self.sent();
            if now.len() >= count {
                return now;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.sent();
            }
        }
    }
}

async fn answer(req: Request<Incoming>, inbox: &Inbox) -> Response<Full<Bytes>> {
    let status = |s: StatusCode| {
        Response::builder()
            .status(s)
            .body(Full::new(Bytes::new()))
            .unwrap_or_default()
    };
    let fail = inbox
        .to_fail
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if fail {
        inbox.failed.fetch_add(1, Ordering::SeqCst);
        inbox.arrived.notify_waiters();
        return status(StatusCode::INTERNAL_SERVER_ERROR);
    }
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(body) = req
        .into_body()
        .collect()
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b.to_bytes()).ok())
    else {
        return status(StatusCode::BAD_REQUEST);
    };
    inbox
        .sent
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Sent {
            authorization,
            body,
        });
    inbox.arrived.notify_waiters();
    status(StatusCode::OK)
}
