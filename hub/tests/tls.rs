//! The hub with TLS, and clients that trust it by the centre's CA or by a pinned certificate —
//! and refuse a hub that shows another certificate.

use std::path::Path;
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
    tls_hub_with(
        certs,
        testkit::real_clock_config(),
        &certs.dir.path().join("hub.db"),
    )
    .await
}

/// A hub with `config` and `db` serving with the certificate of `certs`.
async fn tls_hub_with(certs: &Certificates, config: centre_config::Config, db: &Path) -> hub::Hub {
    let tls = hub::tls::server_config(
        &certs.dir.path().join("hub.pem"),
        &certs.dir.path().join("hub.key"),
    )
    .expect("the hub's TLS set-up");
    hub::Hub::start_with(
        config,
        db,
        "127.0.0.1:0".parse().expect("addr"),
        hub::Options {
            tls: Some(tls),
            ..hub::Options::new(Arc::new(hub_engine::clock::SystemClock::new()))
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

/// A primary and its standby over `wss://`, each trusting the centre's CA, or a pin.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_standby_follows_its_primary_over_tls_and_refuses_an_untrusted_one() {
    let certs = certificates();
    let dir = certs.dir.path();
    let secret = dir.join("pair.secret");
    std::fs::write(&secret, "tls-pair-secret-0123456789\n").expect("secret");
    let (port_a, port_b) = (
        testkit::StablePort::open().await,
        testkit::StablePort::open().await,
    );
    let replicating = |peer: &testkit::StablePort, ca: Option<std::path::PathBuf>, pin| {
        let mut config = testkit::real_clock_config();
        config.replication = Some(centre_config::Replication {
            peer: format!("wss://127.0.0.1:{}", peer.addr.port()),
            token_file: secret.clone(),
            sync_timeout: Duration::from_secs(2),
            ca_file: ca,
            pin,
            live_buffer: centre_config::DEFAULT_LIVE_BUFFER,
        });
        config
    };
    let standby_db = |name: &str| {
        let db = dir.join(name);
        ledger::Writer::open(&db)
            .expect("db")
            .set_role(Some("standby"))
            .expect("a standby's");
        db
    };
    let primary = tls_hub_with(
        &certs,
        replicating(&port_b, Some(dir.join("ca.pem")), None),
        &dir.join("a.db"),
    )
    .await;
    port_a.forward_to(primary.addr);

    // A standby that trusts another CA does not follow.
    let other = certificates();
    let doubting = tls_hub_with(
        &certs,
        replicating(&port_a, Some(other.dir.path().join("ca.pem")), None),
        &standby_db("doubting.db"),
    )
    .await;
    // A standby that pins the primary's certificate does.
    let pin = tls::fingerprint(&certs.leaf);
    let standby = tls_hub_with(
        &certs,
        replicating(&port_a, None, Some(pin)),
        &standby_db("b.db"),
    )
    .await;
    port_b.forward_to(standby.addr);

    let mut health = primary.health();
    let head = health.borrow().seq;
    let last = |db: &str| {
        ledger::Reader::open(&dir.join(db))
            .and_then(|r| r.last_seq())
            .unwrap_or(0)
    };
    let deadline = tokio::time::Instant::now() + testkit::WAIT;
    while last("b.db") < head {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the standby never followed over TLS"
        );
        let _ = tokio::time::timeout(Duration::from_millis(50), health.changed()).await;
    }
    let events = |db: &str| {
        ledger::Reader::open(&dir.join(db))
            .expect("readable")
            .events_after(0, 1000)
            .expect("events")
            .into_iter()
            .map(|e| (e.seq, e.body))
            .collect::<Vec<_>>()
    };
    assert_eq!(events("a.db"), events("b.db"));
    assert_eq!(
        last("doubting.db"),
        0,
        "a standby followed a primary it does not trust"
    );
    for hub in [primary, doubting, standby] {
        hub.stop().await.expect("stop");
    }
}
