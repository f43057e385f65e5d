//! The tracking page tells a citizen who stepped out: in headless Chromium at a phone's size, the
//! alert is turned on with one tap, the page says "near" when the people ahead fall to the
//! service's `near_ahead`, and on a call and a recall it takes the whole screen («Mời số … đến
//! Quầy …»), vibrates and changes its title. `TRACK_SCREENSHOTS=docs/screenshots` keeps the
//! screens.

use protocol::{Command, Role};
use serde_json::json;
use testkit::{Browser, Client, issue, start_hub, ticket_of};

async fn shot(browser: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("TRACK_SCREENSHOTS") {
        let path = std::path::PathBuf::from(dir).join(format!("{name}.png"));
        browser.screenshot(&path).await;
    }
}

async fn script(browser: &Browser, js: &str) -> serde_json::Value {
    browser.client.execute(js, vec![]).await.expect("script")
}

/// Chromium at a phone's size (390×844), on the tracking page of `track`.
async fn open_on_a_phone(addr: std::net::SocketAddr, track: &str) -> Browser {
    let browser = Browser::start().await;
    let c = &browser.client;
    c.set_window_size(390, 844).await.expect("a phone's size");
    c.goto(&format!("http://{addr}/t/{track}"))
        .await
        .expect("open");
    browser
}

#[tokio::test]
async fn the_tracking_page_alerts_when_near_and_when_called() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    // Four people ahead; the demo centre's `near_ahead` is 3.
    for _ in 0..4 {
        kiosk.send(issue("TP")).await.expect("issued");
    }
    let mine = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    let track = mine.track.clone().expect("a tracking code");

    let browser = open_on_a_phone(hub.addr, &track).await;
    browser.wait_for_text("ahead", "4").await;
    browser.wait_for_text("alerts", "Bật chuông báo").await;
    assert_eq!(
        script(&browser, "return document.querySelector('#near').hidden;").await,
        json!(true),
        "four ahead is not near yet"
    );
    // What the phone's vibrator is asked, recorded (headless Chromium has none).
    script(
        &browser,
        "window.vibrations = []; navigator.vibrate = (p) => { window.vibrations.push(p); return true; }; return null;",
    )
    .await;
    browser.click("#alerts").await;
    browser.wait_for_text("alerts", "Chuông báo đã bật").await;
    shot(&browser, "track-alerts-on").await;

    let clerk = Client::clerk(hub.addr, 1).await;
    clerk.serve_one().await;
    browser.wait_for_text("ahead", "3").await;
    let near = browser.text_of("#near:not([hidden])").await;
    assert!(near.contains("Sắp đến lượt bạn"), "{near}");
    let title = script(&browser, "return document.title;").await;
    assert!(
        title.as_str().is_some_and(|t| t.contains("Sắp đến lượt")),
        "{title}"
    );
    assert_eq!(
        script(&browser, "return window.vibrations.length;").await,
        json!(1),
        "near vibrates once"
    );
    shot(&browser, "track-near").await;
    // Still near with fewer ahead: not told again.
    clerk.serve_one().await;
    browser.wait_for_text("ahead", "2").await;
    assert_eq!(
        script(&browser, "return window.vibrations.length;").await,
        json!(1),
        "near is said once"
    );

    clerk.serve_one().await;
    clerk.serve_one().await;
    let called = clerk.send(Command::CallNext {}).await.expect("call");
    assert_eq!(called.ticket().map(|t| t.id), Some(mine.id));
    browser.text_of("#alert.shown").await;
    browser.wait_for_text("alert-who", &mine.number).await;
    browser.wait_for_text("alert-where", "đến Quầy 1").await;
    browser.wait_for_text("alert-what", "Mời số").await;
    let title = script(&browser, "return document.title;").await;
    assert!(
        title
            .as_str()
            .is_some_and(|t| t.contains(&mine.number) && t.contains("Quầy 1")),
        "{title}"
    );
    assert_eq!(
        script(&browser, "return window.vibrations.length;").await,
        json!(2),
        "the call vibrates"
    );
    shot(&browser, "track-alert-called").await;

    // Dismissed, then recalled: shown again, saying so.
    browser.click("#alert-ok").await;
    assert_eq!(
        script(
            &browser,
            "return document.querySelector('#alert.shown') === null;"
        )
        .await,
        json!(true)
    );
    clerk.send(Command::Recall {}).await.expect("recall");
    browser.text_of("#alert.shown").await;
    browser.wait_for_text("alert-what", "Gọi lại").await;
    assert_eq!(
        script(&browser, "return window.vibrations.length;").await,
        json!(3),
        "each recall vibrates"
    );
    // In English too.
    browser.click("#alert-ok").await;
    browser.click("#lang").await;
    browser.wait_for_text("alerts", "Alert on").await;
    browser.wait_for_text("alert-where", "to counter 1").await;
    browser.close().await;
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_citizen_gives_the_place_up_from_the_page() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let (mut board, _) = Client::connect(hub.addr, Role::Display, "display-1").await;
    let first = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    let mine = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    let track = mine.track.clone().expect("a tracking code");

    let browser = open_on_a_phone(hub.addr, &track).await;
    browser.wait_for_text("ahead", "1").await;
    browser.click("#leave").await;
    browser.wait_for_text("leave-ask", "Trả lại số này?").await;
    shot(&browser, "track-leave-confirm").await;
    // Thinking better of it changes nothing.
    browser.click("#leave-no").await;
    browser.click("#leave").await;
    browser.click("#leave-yes").await;
    browser.wait_for_text("status", "Số đã bị hủy").await;
    let (_, event) = board.event(protocol::EventKind::TicketCancelled).await;
    assert_eq!(event.ticket.as_ref().map(|t| t.id), Some(mine.id));
    assert_eq!(
        event.by.as_ref().map(|b| b.device.as_str()),
        Some("citizen"),
        "recorded as the citizen's own"
    );
    let waiting = event
        .services
        .iter()
        .find(|s| s.id == "TP")
        .map(|s| s.waiting);
    assert_eq!(waiting, Some(1), "the board counts only who still waits");
    browser.close().await;

    // Over HTTP, as the contract says: once only, and never for a called ticket.
    let leave = |track: String| async move {
        let path = format!("/t/{track}/leave");
        let (status, body) = testkit::raw::request(hub.addr, "POST", &path, None, None).await;
        (status, testkit::raw::json_body(&body))
    };
    let (status, body) = leave(track.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("invalid_state")),
        "{body}"
    );
    let (status, body) = leave("NOSUCHCODE".into()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let third = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    let (status, body) = leave(third.track.clone().expect("code")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["status"], "cancelled",
        "the shared contract's form: {body}"
    );
    assert_eq!(
        body["ticket"]["status"], "cancelled",
        "the tracker's form: {body}"
    );
    let clerk = Client::clerk(hub.addr, 1).await;
    clerk.send(Command::CallNext {}).await.expect("call");
    let (status, _) = leave(first.track.clone().expect("code")).await;
    assert_eq!(status, 409, "a called ticket is the clerk's to decide");
    hub.stop().await.expect("stop");
}
