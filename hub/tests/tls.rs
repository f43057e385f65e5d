//! The hub with TLS, and clients that trust it by the centre's CA or by a pinned certificate —
//! and refuse a hub that shows another certificate.

use std::sync::Arc;
use std::time::Duration;

use hub_client::{ClientConfig, HubClient, Update, tls};
use protocol::Role;

struct Certificates {
    dir: tempfile::TempDir,
    /// The hub's certificate, DER.
    leaf: Vec<u8>,
}

/// A CA, and a certificate it signed for `localhost` and 127.0.0.1, as PEM files.
fn certificates() -> Certificates {
    let dir = tempfile::tempdir().expect("tmp");
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let leaf_key = rcgen::KeyPair::generate().expect("key");
    let leaf_params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("params");
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca, &ca_key)
        .expect("certificate");
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write");
    std::fs::write(dir.path().join("hub.pem"), leaf.pem()).expect("write");
    std::fs::write(dir.path().join("hub.key"), leaf_key.serialize_pem()).expect("write");
    Certificates {
        leaf: leaf.der().to_vec(),
        dir,
    }
}

async fn tls_hub(certs: &Certificates) -> hub::Hub {
    let tls = hub::tls::server_config(
        &certs.dir.path().join("hub.pem"),
        &certs.dir.path().join("hub.key"),
    )
    .expect("the hub's TLS set-up");
    hub::Hub::start_with(
        testkit::real_clock_config(),
        &certs.dir.path().join("hub.db"),
        "127.0.0.1:0".parse().expect("addr"),
        hub::Options {
            tls: Some(tls),
            ..hub::Options::new(Arc::new(hub::clock::SystemClock::new()))
        },
    )
    .await
    .expect("hub")
}

/// Whether a board connecting with `trust` gets the hub's state.
async fn board_gets_state(url: String, trust: Option<Arc<rustls::ClientConfig>>) -> bool {
    let mut config = ClientConfig::new(url, Role::Display, "display-1", "demo-display-1");
    config.tls = trust;
    config.backoff_min = Duration::from_millis(50);
    let (_client, mut updates) = HubClient::connect(config);
    tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(u) = updates.recv().await {
            if matches!(u, Update::Snapshot { .. }) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false)
}

#[tokio::test]
async fn devices_reach_a_tls_hub_by_its_ca_or_its_pinned_certificate() {
    let certs = certificates();
    let hub = tls_hub(&certs).await;
    let url = format!("wss://localhost:{}/ws", hub.addr.port());
    let ca = tls::trusting_ca(&certs.dir.path().join("ca.pem")).expect("CA file");
    assert!(
        board_gets_state(url.clone(), Some(ca)).await,
        "trusting the CA"
    );
    let pin = tls::pinned(&tls::fingerprint(&certs.leaf)).expect("pin");
    let by_ip = format!("wss://127.0.0.1:{}/ws", hub.addr.port());
    assert!(board_gets_state(by_ip, Some(pin)).await, "trusting the pin");
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_device_refuses_a_hub_it_does_not_trust() {
    let certs = certificates();
    let hub = tls_hub(&certs).await;
    let url = format!("wss://localhost:{}/ws", hub.addr.port());
    let wrong = tls::pinned(&"00".repeat(32)).expect("pin");
    assert!(
        !board_gets_state(url.clone(), Some(wrong)).await,
        "a wrong pin"
    );
    let other = certificates();
    let other_ca = tls::trusting_ca(&other.dir.path().join("ca.pem")).expect("CA file");
    assert!(
        !board_gets_state(url.clone(), Some(other_ca)).await,
        "another CA"
    );
    assert!(
        !board_gets_state(url, None).await,
        "wss:// without any trust"
    );
    // Plain WebSocket to a TLS hub gets nowhere either.
    let plain = format!("ws://127.0.0.1:{}/ws", hub.addr.port());
    assert!(!board_gets_state(plain, None).await);
    hub.stop().await.expect("stop");
}

#[test]
fn bad_certificate_files_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let missing = hub::tls::server_config(&dir.path().join("no.pem"), &dir.path().join("no.key"));
    assert!(missing.expect_err("missing").to_string().contains("no.pem"));
    std::fs::write(dir.path().join("empty.pem"), "").expect("write");
    let empty = tls::trusting_ca(&dir.path().join("empty.pem"));
    assert!(
        empty
            .expect_err("empty")
            .to_string()
            .contains("no certificate")
    );
}
