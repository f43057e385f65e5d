//! The demo centre's SMS gateway: it sends nothing, and prints in the terminal what a real one
//! (an SMS brandname or Zalo ZNS account, docs/OPERATIONS.md) would have sent — so that the
//! kiosk's phone screen can be tried. The number is printed masked, as nothing of the
//! project's shows a citizen's number whole.

use std::net::SocketAddr;
use std::path::Path;

use axum::Json;
use axum::http::StatusCode;
use axum::routing::post;

/// Starts the gateway on a free loopback port; the `[notify.sms]` that uses it.
pub async fn start(data: &Path) -> anyhow::Result<centre_config::SmsGateway> {
    let token: u128 = rand::random();
    let token_file = data.join("demo-sms-token");
    std::fs::write(&token_file, format!("{token:032x}\n"))?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route("/sms", post(sent));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the demo's SMS gateway stopped");
        }
    });
    Ok(centre_config::SmsGateway {
        url: format!("http://{addr}/sms"),
        token_file,
    })
}

async fn sent(Json(sms): Json<serde_json::Value>) -> StatusCode {
    let to = sms["to"].as_str().unwrap_or_default();
    let text = sms["text"].as_str().unwrap_or_default();
    println!("  SMS → {}: {text}", masked(to));
    StatusCode::OK
}

/// "0912345678" → "09•• ••• 678".
fn masked(number: &str) -> String {
    let digits: Vec<char> = number.chars().collect();
    if digits.len() < 6 {
        return "•••".into();
    }
    let head: String = digits[..2].iter().collect();
    let tail: String = digits[digits.len() - 3..].iter().collect();
    format!("{head}•• ••• {tail}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_number_is_shown_masked() {
        assert_eq!(super::masked("0912345678"), "09•• ••• 678");
        assert_eq!(super::masked("12"), "•••");
    }
}
