//! Web Push end to end (docs/PROTOCOL.md, "Web Push"): a browser subscribes on the tracking
//! page, and a push service of the tests' own on loopback (`testkit::push`) checks each
//! request's VAPID signature and decrypts it with the browser's key, as a phone would.

use std::time::Duration;

use protocol::{Command, EventKind, Role};
use serde_json::{Value, json};
use testkit::push::PushReceiver;
use testkit::raw::{json_body, request};
use testkit::{Client, issue, start_hub_with, ticket_of};

/// Long enough for any notice on a loaded machine; a notice that never comes fails here.
const ARRIVES: Duration = Duration::from_secs(20);

/// The demo centre with Web Push on; `insecure` lets the hub send to the loopback receiver.
fn config(insecure: bool) -> centre_config::Config {
    let mut config = testkit::real_clock_config();
    config.notify.contact = "mailto:it@hcc.example.vn".into();
    config.notify.web_push = Some(centre_config::WebPush {
        allow_insecure_endpoints: insecure,
    });
    config
}

async fn hub(dir: &tempfile::TempDir, insecure: bool) -> hub::Hub {
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    start_hub_with(config(insecure), &dir.path().join("hub.db"), loopback).await
}

async fn subscribe(addr: std::net::SocketAddr, track: &str, sub: &Value) -> (u16, String) {
    request(addr, "POST", &format!("/t/{track}/push"), None, Some(sub)).await
}

fn code_of(body: &str) -> Value {
    json_body(body)["error"]["code"].clone()
}

#[tokio::test]
async fn a_followed_ticket_is_told_near_once_and_each_call() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = hub(&dir, true).await;
    let phone = PushReceiver::start().await;
    let (status, body) = request(hub.addr, "GET", "/push/key", None, None).await;
    assert_eq!(status, 200, "{body}");
    let key = json_body(&body)["public_key"].as_str().map(str::to_string);
    let key = key.expect("a public key");
    assert_eq!(notices::b64::decode(&key).map(|k| k.len()), Some(65));

    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    for _ in 0..5 {
        kiosk.send(issue("TP")).await.expect("issued");
    }
    let mine = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    let track = mine.track.clone().expect("a tracking code");
    let (mut board, _) = Client::connect(hub.addr, Role::Display, "display-1").await;
    assert_eq!(
        subscribe(hub.addr, &track, &phone.subscription("a"))
            .await
            .0,
        201
    );
    // The same browser again (a reloaded page) takes no second place and gets no second notice.
    assert_eq!(
        subscribe(hub.addr, &track, &phone.subscription("a"))
            .await
            .0,
        201
    );
    let (_, followed) = board.event(EventKind::TicketFollowed).await;
    assert_eq!(followed.ticket.as_ref().map(|t| t.id), Some(mine.id));
    assert!(
        !serde_json::to_string(&followed)
            .expect("json")
            .contains("/push/a"),
        "the endpoint is never shown to other clients"
    );

    let clerk = Client::clerk(hub.addr, 1).await;
    clerk.serve_one().await; // 4 ahead: not yet near (the demo's near_ahead is 3)
    clerk.serve_one().await; // 3 ahead: near
    let near = phone.wait_for(1, ARRIVES).await;
    assert_eq!(near.len(), 1, "one near notice: {near:?}");
    let m = &near[0].message;
    assert_eq!(
        (m["kind"].as_str(), m["ticket"].as_str()),
        (Some("near"), Some(mine.number.as_str()))
    );
    assert_eq!(
        (m["service"].as_str(), m["ahead"].as_u64()),
        (Some("TP"), Some(3))
    );
    assert!(m["counter"].is_null());
    assert_eq!(m["title"], format!("Sắp đến lượt số {}", mine.number));
    assert_eq!(near[0].claims["sub"], "mailto:it@hcc.example.vn");
    let exp = near[0].claims["exp"].as_i64().unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    assert!(
        exp > now && exp <= now + 24 * 3600,
        "exp within 24 h: {exp}"
    );
    assert!(near[0].ttl.is_some_and(|t| (1..=3600).contains(&t)));
    assert_eq!(near[0].urgency.as_deref(), Some("high"));
    let (_, told) = board.event(EventKind::TicketNotified).await;
    assert_eq!(told.notified, Some(protocol::NoticeKind::Near));
    assert_eq!(told.delivered, Some(true));
    assert!(
        told.ticket
            .and_then(|t| t.told)
            .is_some_and(|t| t.near && t.push == 1)
    );

    clerk.serve_one().await;
    clerk.serve_one().await;
    clerk.serve_one().await;
    let called = clerk.send(Command::CallNext {}).await.expect("call");
    assert_eq!(ticket_of(&called).id, mine.id);
    clerk.send(Command::Recall {}).await.expect("recall");
    let all = phone.wait_for(3, ARRIVES).await;
    let kinds: Vec<&str> = all
        .iter()
        .filter_map(|r| r.message["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["near", "called", "recalled"],
        "near once, each call"
    );
    assert_eq!(all[1].message["counter"], 1);
    assert_eq!(
        all[1].message["title"],
        format!("Mời số {} đến Quầy 1", mine.number)
    );
    assert!(phone.refused().is_empty(), "{:?}", phone.refused());

    // The counter sees that the citizen was told.
    let mut heard_called = false;
    while !heard_called {
        let (_, e) = board.event(EventKind::TicketNotified).await;
        heard_called = e.ticket.and_then(|t| t.told).is_some_and(|t| t.called);
    }
    // A ticket that ends takes its subscriptions with it.
    clerk.send(Command::StartServing {}).await.expect("serve");
    clerk
        .send(Command::Finish { rating: None })
        .await
        .expect("finish");
    let (status, body) = subscribe(hub.addr, &track, &phone.subscription("b")).await;
    assert_eq!(
        (status, code_of(&body)),
        (404, json!("not_found")),
        "{body}"
    );

    // The database holds the subscription only sealed.
    drop(hub);
    let bytes = std::fs::read(dir.path().join("hub.db")).expect("the database");
    let wal = std::fs::read(dir.path().join("hub.db-wal")).unwrap_or_default();
    let endpoint = format!("127.0.0.1:{}/push/a", phone.addr.port());
    for file in [&bytes, &wal] {
        assert!(
            !String::from_utf8_lossy(file).contains(&endpoint),
            "the endpoint rests only sealed"
        );
    }
}

#[tokio::test]
async fn what_a_stranger_sends_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = hub(&dir, false).await;
    let phone = PushReceiver::start().await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let mine = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    let track = mine.track.clone().expect("a tracking code");
    let keys = phone.subscription("x")["keys"].clone();
    let with = |endpoint: &str| json!({"endpoint": endpoint, "keys": keys});
    for refused in [
        "http://push.example.net/x",
        "https://127.0.0.1/x",
        "https://localhost/x",
        "https://10.0.0.8/x",
        "https://169.254.169.254/latest",
        "https://[::1]/x",
        "https://[fd12::1]/x",
        "https://224.0.0.251/x",
    ] {
        let (status, body) = subscribe(hub.addr, &track, &with(refused)).await;
        assert_eq!(
            (status, code_of(&body)),
            (403, json!("endpoint_refused")),
            "{refused}: {body}"
        );
    }
    let mut short = phone.subscription("x");
    short["keys"]["auth"] = json!("AAAA");
    let mut off_curve = phone.subscription("x");
    off_curve["keys"]["p256dh"] = json!(notices::b64::encode(&[4u8; 65]));
    for bad in [
        short,
        off_curve,
        json!({"endpoint": "https://push.example.net/x"}),
        json!([1, 2]),
    ] {
        let (status, body) = subscribe(hub.addr, &track, &bad).await;
        assert_eq!(
            (status, code_of(&body)),
            (400, json!("bad_request")),
            "{bad}: {body}"
        );
    }
    // A public address (never reached: the code is unknown) so only the code decides.
    let public = with("https://93.184.216.34/push/x");
    let (status, _) = subscribe(hub.addr, "NoSuchCode123", &public).await;
    assert_eq!(status, 404, "no ticket without its code");
    let (status, _) = request(hub.addr, "DELETE", "/t/NoSuchCode123/push", None, None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn two_phones_per_ticket_and_turning_push_off() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = hub(&dir, true).await;
    let phone = PushReceiver::start().await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let mine = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    let track = mine.track.clone().expect("a tracking code");
    assert_eq!(
        subscribe(hub.addr, &track, &phone.subscription("a"))
            .await
            .0,
        201
    );
    assert_eq!(
        subscribe(hub.addr, &track, &phone.subscription("b"))
            .await
            .0,
        201
    );
    let (status, body) = subscribe(hub.addr, &track, &phone.subscription("c")).await;
    assert_eq!(
        (status, code_of(&body)),
        (429, json!("limit_reached")),
        "{body}"
    );
    let (status, _) = request(hub.addr, "DELETE", &format!("/t/{track}/push"), None, None).await;
    assert_eq!(status, 204);
    assert_eq!(
        subscribe(hub.addr, &track, &phone.subscription("c"))
            .await
            .0,
        201
    );
    // Nobody ahead: each subscription is told "near" at once; the call goes only to the one
    // left after the DELETE.
    let clerk = Client::clerk(hub.addr, 1).await;
    let called = clerk.send(Command::CallNext {}).await.expect("call");
    assert_eq!(ticket_of(&called).id, mine.id);
    let got = phone.wait_for(4, ARRIVES).await;
    let mut seen: Vec<(String, String)> = got
        .iter()
        .map(|r| {
            let name = r.path.rsplit('/').next().unwrap_or_default().to_string();
            (
                name,
                r.message["kind"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    seen.sort();
    let want = [("a", "near"), ("b", "near"), ("c", "called"), ("c", "near")];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn a_gone_busy_or_hanging_endpoint_holds_up_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = hub(&dir, true).await;
    let phone = PushReceiver::start().await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let (mut board, _) = Client::connect(hub.addr, Role::Display, "display-1").await;
    let mut tracks = vec![];
    for name in ["hang", "gone", "busy"] {
        let t = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
        let track = t.track.clone().expect("code");
        assert_eq!(
            subscribe(hub.addr, &track, &phone.subscription(name))
                .await
                .0,
            201
        );
        tracks.push(t);
    }
    // All three are near at once (≤ 3 ahead). The hanging one never answers; the gone one is
    // dropped; the busy one is retried and arrives.
    let got = phone.wait_for(1, ARRIVES).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].path.ends_with("/push/busy"));
    let (_, gone) = board.event(EventKind::TicketUnfollowed).await;
    assert_eq!(gone.ticket.as_ref().map(|t| t.id), Some(tracks[1].id));
    // Meanwhile the queue goes on: a call is answered while a push still hangs.
    let clerk = Client::clerk(hub.addr, 1).await;
    let called = clerk.send(Command::CallNext {}).await.expect("call");
    assert_eq!(ticket_of(&called).id, tracks[0].id);
}

/// The tracking page's own opt-in in a real headless Chromium: the tap that turns the alert on
/// asks permission, registers the hub's worker for the ticket and posts the browser's
/// subscription, which the hub then pushes to. Headless Chromium reaches no push service, so
/// the browser's `subscribe` hands over the loopback receiver's subscription instead; the rest
/// (secure context on loopback, the worker, the key the page passes, the POST) is the browser's.
#[tokio::test]
async fn the_tracking_page_subscribes_on_the_tap_that_turns_the_alert_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = hub(&dir, true).await;
    let phone = PushReceiver::start().await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let mine = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    let track = mine.track.clone().expect("a tracking code");

    let browser = testkit::Browser::start().await;
    let c = &browser.client;
    c.set_window_size(390, 844).await.expect("a phone's size");
    c.goto(&format!("http://{}/t/{track}", hub.addr))
        .await
        .expect("open");
    browser.wait_for_text("alerts", "Bật chuông báo").await;
    let stub = format!(
        "window.asked = null;
         Notification.requestPermission = async () => 'granted';
         PushManager.prototype.subscribe = async function (options) {{
           window.asked = {{ visible: options.userVisibleOnly,
                            key: Array.from(new Uint8Array(options.applicationServerKey)) }};
           const sub = {};
           return {{ toJSON: () => sub }};
         }};
         return window.isSecureContext;",
        phone.subscription("page")
    );
    assert_eq!(
        c.execute(&stub, vec![]).await.expect("stubbed"),
        json!(true),
        "a page on loopback is a secure context"
    );
    browser.click("#alerts").await;
    browser
        .wait_for_text("alerts", "Điện thoại cũng sẽ nhận thông báo")
        .await;

    // The page passed the centre's key, asked for visible notices only, and registered the
    // hub's worker for this ticket alone.
    let asked = c
        .execute("return window.asked;", vec![])
        .await
        .expect("asked");
    let (_, body) = request(hub.addr, "GET", "/push/key", None, None).await;
    let key = json_body(&body)["public_key"]
        .as_str()
        .and_then(notices::b64::decode)
        .expect("the centre's key");
    assert_eq!(asked["visible"], json!(true));
    assert_eq!(asked["key"], json!(key));
    let scope = c
        .execute_async(
            "const done = arguments[0];
             navigator.serviceWorker.getRegistrations()
               .then((rs) => done(rs.map((r) => [r.scope, !!r.active])));",
            vec![],
        )
        .await
        .expect("registrations");
    assert_eq!(
        scope,
        json!([[format!("http://{}/t/{track}/", hub.addr), true]]),
        "the worker is the ticket's own, and running"
    );

    // Nobody ahead: the hub pushes "near" to what the page subscribed, at once.
    let near = phone.wait_for(1, ARRIVES).await;
    assert_eq!(near.len(), 1, "refused: {:?}", phone.refused());
    assert_eq!(near[0].message["kind"], "near");
    assert_eq!(near[0].message["ticket"], mine.number.as_str());
    browser.close().await;
    hub.stop().await.expect("stop");
}
