//! One POST to a checked address, bounded in every way a stranger's server could abuse: a
//! time for the whole exchange, a body read of at most a few kilobytes, no redirect followed
//! (a `3xx` is an answer like any other).

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;

use crate::endpoint::Target;

/// The whole exchange, from connecting to the answer's last byte.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of an answer's body read (then dropped): push services answer with a few.
const MAX_ANSWER: usize = 8 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("no answer within {}s", EXCHANGE_TIMEOUT.as_secs())]
    Timeout,
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("TLS: {0}")]
    Tls(std::io::Error),
    #[error("HTTP: {0}")]
    Http(String),
}

/// Connections to the public push services and gateways: Mozilla's roots, built in.
#[derive(Clone)]
pub struct Client {
    tls: tokio_rustls::TlsConnector,
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl Client {
    pub fn new() -> Client {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        Client::with_roots(roots)
    }

    /// A client trusting these roots only (a test's own certificate authority).
    pub fn with_roots(roots: rustls::RootCertStore) -> Client {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth());
        let config = match config {
            Ok(c) => c,
            // The ring provider supports its own defaults; this is not reached.
            Err(_) => rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        };
        Client {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
        }
    }

    /// POSTs `body` with `headers` to the target; the answer's status.
    pub async fn post(
        &self,
        target: &Target,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<StatusCode, PostError> {
        tokio::time::timeout(EXCHANGE_TIMEOUT, self.exchange(target, headers, body))
            .await
            .map_err(|_| PostError::Timeout)?
    }

    async fn exchange(
        &self,
        target: &Target,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<StatusCode, PostError> {
        let tcp = TcpStream::connect(target.addr)
            .await
            .map_err(PostError::Connect)?;
        let _ = tcp.set_nodelay(true);
        if target.https {
            let name = ServerName::try_from(target.host.clone())
                .map_err(|e| PostError::Http(e.to_string()))?;
            let tls = self.tls.connect(name, tcp).await.map_err(PostError::Tls)?;
            send(TokioIo::new(tls), target, headers, body).await
        } else {
            send(TokioIo::new(tcp), target, headers, body).await
        }
    }
}

async fn send<T>(
    io: T,
    target: &Target,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<StatusCode, PostError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| PostError::Http(e.to_string()))?;
    let driving = tokio::spawn(connection);
    let host = if (target.https && target.port == 443) || (!target.https && target.port == 80) {
        target.host.clone()
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let mut request = Request::post(target.path.as_str())
        .header(hyper::header::HOST, host)
        .header(hyper::header::CONTENT_LENGTH, body.len());
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| PostError::Http(e.to_string()))?;
    let answer = sender
        .send_request(request)
        .await
        .map_err(|e| PostError::Http(e.to_string()));
    let result = match answer {
        Ok(answer) => {
            let status = answer.status();
            // Read a little so the server is not cut off mid-answer; what it says is not used.
            let _ = Limited::new(answer.into_body(), MAX_ANSWER).collect().await;
            Ok(status)
        }
        Err(e) => Err(e),
    };
    driving.abort();
    result
}
