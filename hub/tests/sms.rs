//! SMS notices (docs/PROTOCOL.md, "SMS and chat gateways"): a phone number given at the kiosk
//! is told "near" and "called" through the centre's gateway, a loopback one here, and rests
//! only sealed under the service day's key — which the hub destroys when the day turns.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use protocol::{Command, ErrorCode, EventKind, FollowingFigures, Role};
use testkit::sms::SmsGateway;
use testkit::{Client, ManualClock, demo_config, ticket_of};

const ARRIVES: Duration = Duration::from_secs(30);
const TOKEN: &str = "tok-Zx81-not-a-real-one";
/// As a citizen types it; the gateway gets its national form.
const TYPED: &str = "+84 912 345 678";
const NATIONAL: &str = "0912345678";

fn issue_with_phone(service: &str, phone: &str) -> Command {
    Command::IssueTicket {
        service: service.into(),
        priority: None,
        phone: Some(phone.into()),
    }
}

fn readable(bytes: &[u8], needle: &str) -> bool {
    String::from_utf8_lossy(bytes).contains(needle)
}

#[tokio::test]
async fn without_a_gateway_a_phone_number_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = hub::Hub::start(
        demo_config(),
        &dir.path().join("hub.db"),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("hub");
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let refused = kiosk.send(issue_with_phone("TP", NATIONAL)).await;
    assert_eq!(
        refused.err().and_then(|e| e.code()),
        Some(ErrorCode::BadRequest)
    );
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn near_and_called_by_sms_and_nothing_readable_after_the_day() {
    let dir = tempfile::tempdir().expect("tmp");
    // The hub's own logging, as a technician who asks for everything would have it.
    let log_file = dir.path().join("hub.log");
    logging::init("trace", logging::Output::File(&log_file)).expect("logging");
    // The gateway fails twice: the hub tries again, with backoff.
    let gateway = SmsGateway::start(2).await;
    let clock = Arc::new(ManualClock::at("2026-11-23T10:00:00+07:00"));
    let db = dir.path().join("hub.db");
    let hub = hub_with_sms(dir.path(), &gateway, &clock).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let (mut console, snapshot) = Client::connect(hub.addr, Role::Admin, "admin").await;
    assert_eq!(snapshot.following, Some(Default::default()));

    for malformed in ["12345", "0912 345 67x", "+1 212 555 0100"] {
        let refused = kiosk.send(issue_with_phone("TP", malformed)).await;
        assert_eq!(
            refused.err().and_then(|e| e.code()),
            Some(ErrorCode::BadRequest),
            "{malformed}"
        );
    }
    // Nobody ahead: near at once.
    let mine = ticket_of(
        &kiosk
            .send(issue_with_phone("TP", TYPED))
            .await
            .expect("issued"),
    );
    assert!(
        !serde_json::to_string(&mine)
            .expect("json")
            .contains("912345678"),
        "the reply never shows the number"
    );
    let near = gateway.wait_for(1, ARRIVES).await;
    assert_eq!(near.len(), 1, "near once");
    assert_eq!(gateway.failed(), 2, "two failures, then delivered");
    assert_eq!(
        near[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let body = &near[0].body;
    assert_eq!(
        (body["to"].as_str(), body["kind"].as_str()),
        (Some(NATIONAL), Some("near"))
    );
    assert_eq!(body["ticket"].as_str(), Some(mine.number.as_str()));
    assert!(body["counter"].is_null());
    let text = body["text"].as_str().unwrap_or_default();
    assert!(
        text.contains(&mine.number) && text.contains("Sắp đến lượt"),
        "{text}"
    );

    // Called: told with the counter; a recall is not sent again by SMS.
    let clerk = Client::clerk(hub.addr, 1).await;
    assert_eq!(
        ticket_of(&clerk.send(Command::CallNext {}).await.expect("call")).id,
        mine.id
    );
    clerk.send(Command::Recall {}).await.expect("recall");
    let second = ticket_of(
        &kiosk
            .send(issue_with_phone("TP", "0987 654 321"))
            .await
            .expect("issued"),
    );
    clerk.send(Command::StartServing {}).await.expect("serve");
    clerk
        .send(Command::Finish { rating: None })
        .await
        .expect("finish");
    assert_eq!(
        ticket_of(&clerk.send(Command::CallNext {}).await.expect("call")).id,
        second.id
    );
    let all = gateway.wait_for(4, ARRIVES).await;
    let mut seen: Vec<String> = all
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s.body["to"].as_str().unwrap_or("?"),
                s.body["kind"].as_str().unwrap_or("?")
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            "0912345678 called",
            "0912345678 near",
            "0987654321 called",
            "0987654321 near"
        ]
    );
    let called = all
        .iter()
        .find(|s| s.body["kind"] == "called")
        .map(|s| &s.body);
    assert_eq!(
        called.map(|b| b["counter"].clone()),
        Some(serde_json::json!(1))
    );
    // The console counts them: two tickets by SMS, four notices delivered, none failed.
    assert_eq!(
        figures_after(&mut console, 4).await,
        Some(FollowingFigures {
            push: 0,
            sms: 2,
            delivered: 4,
            failed: 0
        })
    );

    // While the day lasts the number rests sealed, under a key the database holds.
    let day_key = ledger::testing::secret(&db, "day_key")
        .expect("the database")
        .expect("today's key");
    // The next morning: a new key; yesterday's is gone, and the sealed numbers with it.
    clock.advance(TimeDelta::hours(24));
    kiosk
        .send(testkit::issue("TP"))
        .await
        .expect("issued the next day");
    hub.stop().await.expect("stop");

    nothing_readable(dir.path(), &log_file, &day_key);
}

/// The day's following figures an admin is shown after `notices` ends of notices.
async fn figures_after(console: &mut Client, notices: usize) -> Option<FollowingFigures> {
    let mut figures = None;
    for _ in 0..notices {
        figures = console.event(EventKind::TicketNotified).await.1.following;
    }
    figures
}

/// The centre's hub on the kit's clock, sending SMS through `gateway` with the token in a file.
async fn hub_with_sms(
    dir: &std::path::Path,
    gateway: &SmsGateway,
    clock: &Arc<ManualClock>,
) -> hub::Hub {
    let token_file = dir.join("sms-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token file");
    let mut config = demo_config();
    config.notify.sms = Some(centre_config::SmsGateway {
        url: gateway.url(),
        token_file,
    });
    hub::Hub::start_with_clock(
        config,
        &dir.join("hub.db"),
        "127.0.0.1:0".parse().expect("addr"),
        clock.clone(),
    )
    .await
    .expect("hub")
}

/// Neither the database's files nor the log hold a number, the token, or `day_key`.
fn nothing_readable(dir: &std::path::Path, log_file: &std::path::Path, day_key: &str) {
    let secret = day_key.split(':').nth(1).unwrap_or_default().to_string();
    assert!(secret.len() > 20, "a real key: {day_key}");
    let files = ["hub.db", "hub.db-wal", "hub.db-shm"]
        .map(|f| std::fs::read(dir.join(f)).unwrap_or_default());
    let logged = std::fs::read(log_file).expect("the log");
    assert!(!logged.is_empty(), "the hub logged");
    for (name, bytes) in ["hub.db", "hub.db-wal", "hub.db-shm", "the log"]
        .iter()
        .zip(files.iter().chain([&logged]))
    {
        for number in ["912345678", "987654321", "912 345 678"] {
            assert!(!readable(bytes, number), "{name} holds a readable number");
        }
        assert!(
            !readable(bytes, &secret),
            "{name} still holds yesterday's key"
        );
        assert!(!readable(bytes, TOKEN), "{name} holds the gateway's token");
    }
}
