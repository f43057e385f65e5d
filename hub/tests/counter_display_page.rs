//! `/quay`, the counter display as a web page, in headless Chromium: opened once from the QR
//! link (the token then leaves the address), it follows a whole visit — called, served, rated
//! with reasons, thanked — while a clerk works the counter. `QUAY_SCREENSHOTS=docs/screenshots`
//! keeps the screens.

use protocol::{Command, EventKind, RatingSource, Role};
use serde_json::json;
use testkit::{
    Browser, Client, StablePort, WAIT, issue, raw, start_hub, start_hub_behind, ticket_of,
};

fn screenshot_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("QUAY_SCREENSHOTS").map(std::path::PathBuf::from)
}

async fn shot(browser: &Browser, name: &str) {
    if let Some(dir) = screenshot_dir() {
        browser.screenshot(&dir.join(format!("{name}.png"))).await;
    }
}

/// Waits until the view `id` is the one shown.
async fn showing(browser: &Browser, id: &str) {
    browser.text_of(&format!("#v-{id}.on")).await;
}

#[tokio::test]
async fn a_whole_visit_on_the_citizens_screen() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let base = format!("http://{}", hub.addr);
    let browser = Browser::start().await;
    let c = &browser.client;
    c.set_window_size(1280, 800)
        .await
        .expect("a 10-inch tablet");

    // Opened from the QR link: the cookie is set and the token leaves the address at once.
    c.goto(&format!("{base}/quay?device=pad-1&token=demo-pad-1"))
        .await
        .expect("open");
    showing(&browser, "idle").await;
    let url = c.current_url().await.expect("url");
    assert_eq!(url.path(), "/quay");
    assert!(url.query().is_none(), "no token in the address: {url}");

    let clerk = Client::clerk(hub.addr, 1).await;
    browser.wait_for_text("idle-staff", "Nguyễn Thị Lan").await;
    // The hub's own Noto Sans, whatever fonts the tablet has.
    let font = c
        .execute(
            "return document.fonts.ready.then(() => document.fonts.check('700 40px \"Noto Sans\"', 'Nguyễn'));",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(font, json!(true), "the page's font is loaded");
    shot(&browser, "quay-idle").await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let (mut board, _) = Client::connect(hub.addr, Role::Display, "display-1").await;
    let ticket = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));

    clerk.send(Command::CallNext {}).await.expect("call");
    browser
        .wait_for_text("calling-number", &ticket.number)
        .await;
    shot(&browser, "quay-calling").await;
    clerk.send(Command::StartServing {}).await.expect("serve");
    browser
        .wait_for_text("serving-number", &ticket.number)
        .await;
    browser.wait_for_text("serving-service", "Tư pháp").await;
    clerk
        .send(Command::Finish { rating: None })
        .await
        .expect("finish");
    showing(&browser, "rate").await;
    browser.wait_for_text("faces", "Rất hài lòng").await;
    shot(&browser, "quay-rating").await;
    // The same tablet turned upright: the faces two by two.
    c.set_window_size(800, 1280).await.expect("portrait");
    browser.wait_for_text("faces", "Không hài lòng").await;
    shot(&browser, "quay-rating-portrait").await;
    c.set_window_size(1280, 800).await.expect("landscape");

    // A low rating asks why; several reasons may be chosen.
    browser.click(".face[data-value='2']").await;
    showing(&browser, "reasons").await;
    browser.click(".reason[data-id='wait']").await;
    browser
        .text_of(".reason[data-id='wait'][aria-pressed='true']")
        .await;
    browser.click(".reason[data-id='slow']").await;
    browser
        .text_of(".reason[data-id='slow'][aria-pressed='true']")
        .await;
    shot(&browser, "quay-reasons").await;
    browser.click("#send-reasons").await;
    showing(&browser, "thanks").await;
    let (_, rated) = tokio::time::timeout(WAIT, board.event(EventKind::TicketRated))
        .await
        .expect("the rating reaches every screen");
    assert_eq!(rated.rating, Some(2));
    assert_eq!(rated.source, Some(RatingSource::Citizen));
    assert_eq!(
        rated.reasons,
        Some(vec!["wait".to_string(), "slow".to_string()])
    );
    assert_eq!(rated.ticket.map(|t| t.number), Some(ticket.number.clone()));

    // A 7-inch tablet, in English; then the "above the counter" view for a TV.
    c.set_window_size(1024, 600).await.expect("a 7-inch tablet");
    browser.click("#lang").await;
    showing(&browser, "idle").await;
    browser.wait_for_text("v-idle", "Welcome").await;
    shot(&browser, "quay-idle-7in-en").await;
    c.goto(&format!("{base}/quay?view=above"))
        .await
        .expect("open");
    let next = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    clerk.send(Command::CallNext {}).await.expect("call");
    browser.wait_for_text("calling-number", &next.number).await;
    shot(&browser, "quay-above").await;
    browser.close().await;
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_wrong_token_or_a_forged_cookie_opens_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (status, body) = raw::get(hub.addr, "/quay?device=pad-1&token=demo-pad-2").await;
    assert_eq!(status, 401);
    assert!(!body.contains("demo-pad"), "the page does not echo a token");
    let hello = json!({"type": "hello", "protocol": 1, "role": "counter_display",
                       "device": "pad-1", "token": ""});
    // No cookie, a forged one, and another pad's cookie presented as pad-1: all refused.
    for cookie in [
        None,
        Some("hang_doi_quay=pad-1.00ff"),
        Some("hang_doi_quay=pad-1.0.00ff"),
        Some("hang_doi_quay=pad-1.0.zz"),
        Some("hang_doi_quay=pad-1.1.00ff"),
    ] {
        let answer = raw::first_answer(hub.addr, &hello, cookie).await;
        assert_eq!(answer["code"], "unauthorized", "{cookie:?}: {answer}");
    }
    let other = sign_in_cookie(hub.addr, "pad-2", "demo-pad-2").await;
    let answer = raw::first_answer(hub.addr, &hello, Some(&other)).await;
    assert_eq!(
        answer["code"], "unauthorized",
        "pad-2's cookie is not pad-1's"
    );
    // The right cookie is a credential for its own device only, and only for its role.
    let own = sign_in_cookie(hub.addr, "pad-1", "demo-pad-1").await;
    let (status, page) = raw::request(hub.addr, "GET", "/quay", Some(&own), None).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#""device":"pad-1""#) && page.contains(r#""rating_timeout_s":30"#),
        "the page starts as pad-1 with the configured prompt: {page}"
    );
    let answer = raw::first_answer(hub.addr, &hello, Some(&own)).await;
    assert_eq!(answer["type"], "welcome", "{answer}");
    let as_counter = json!({"type": "hello", "protocol": 1, "role": "counter",
                            "device": "pad-1", "token": ""});
    let answer = raw::first_answer(hub.addr, &as_counter, Some(&own)).await;
    assert_eq!(answer["code"], "unauthorized");
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn the_hub_serves_the_font_its_pages_use() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    for name in ["NotoSans-Regular.ttf", "NotoSans-Bold.ttf"] {
        let path = format!("/fonts/{name}");
        let (status, head) = raw::request(hub.addr, "HEAD", &path, None, None).await;
        assert_eq!(status, 200, "{head}");
        assert!(head.contains("content-type: font/ttf"), "{head}");
        assert!(head.contains("immutable"), "cached: {head}");
    }
    let (status, _) = raw::request(hub.addr, "HEAD", "/fonts/other.ttf", None, None).await;
    assert_eq!(status, 404);
    let (_, page) = raw::get(hub.addr, "/quay").await;
    assert!(
        page.contains("/fonts/NotoSans-Regular.ttf"),
        "the page uses it"
    );
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn guessing_tokens_is_slowed_down_per_address() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    // A few mistakes are free; then every attempt waits twice as long as the last (from 8
    // wrong guesses on, 8 s), whichever device and token it tries — the right one too.
    let wrong = json!({"device": "pad-1", "token": "guess"});
    for _ in 0..8 {
        let (status, _) = raw::request(hub.addr, "POST", "/quay/sign-in", None, Some(&wrong)).await;
        if status == 429 {
            break;
        }
        assert_eq!(status, 401);
    }
    let right = json!({"device": "pad-1", "token": "demo-pad-1"});
    let (status, answer) =
        raw::request(hub.addr, "POST", "/quay/sign-in", None, Some(&right)).await;
    assert_eq!(status, 429, "{answer}");
    assert!(!answer.contains("set-cookie"), "{answer}");
    assert!(
        answer.contains("thử lại sau"),
        "said in Vietnamese: {answer}"
    );
    let (status, _) = raw::get(hub.addr, "/quay?device=pad-1&token=demo-pad-1").await;
    assert_eq!(status, 429, "the QR link waits too");
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_revoked_tablet_is_refused_also_after_a_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let port = StablePort::open().await;
    let hub = start_hub_behind(&db, &port).await;
    let hello = json!({"type": "hello", "protocol": 1, "role": "counter_display",
                       "device": "pad-1", "token": ""});
    let pad = sign_in_cookie(port.addr, "pad-1", "demo-pad-1").await;
    let neighbour = sign_in_cookie(port.addr, "pad-2", "demo-pad-2").await;
    let mut live = raw::open_with_cookie(port.addr, Some(&pad)).await;
    raw::send(&mut live, &hello).await;
    let welcome = raw::next(&mut live).await.expect("welcome");
    assert_eq!(welcome["type"], "welcome", "{welcome}");

    let revoke = "/console/devices/pad-1/revoke";
    let (status, _) = raw::request(port.addr, "POST", revoke, Some(&pad), None).await;
    assert_eq!(status, 401, "a tablet cannot revoke anything");
    let body = json!({"staff": "ql01", "pin": "1234"});
    let (_, response) =
        raw::request(port.addr, "POST", "/console/sign-in", None, Some(&body)).await;
    let supervisor = raw::cookie_set(&response);
    let (status, _) = raw::request(
        port.addr,
        "POST",
        "/console/devices/kiosk-1/revoke",
        Some(&supervisor),
        None,
    )
    .await;
    assert_eq!(status, 404, "only counter displays are revoked");
    let (status, answer) = raw::request(port.addr, "POST", revoke, Some(&supervisor), None).await;
    assert_eq!(status, 200, "{answer}");

    // Its live connection is closed, and its cookie opens nothing any more.
    while raw::next(&mut live).await.is_some() {}
    let refused = raw::first_answer(port.addr, &hello, Some(&pad)).await;
    assert_eq!(refused["code"], "unauthorized", "{refused}");
    let (_, page) = raw::request(port.addr, "GET", "/quay", Some(&pad), None).await;
    assert!(
        page.contains(r#""device":null"#),
        "the sign-in form: {page}"
    );
    // Another tablet is not affected.
    let hello_2 = json!({"type": "hello", "protocol": 1, "role": "counter_display",
                         "device": "pad-2", "token": ""});
    let answer = raw::first_answer(port.addr, &hello_2, Some(&neighbour)).await;
    assert_eq!(answer["type"], "welcome", "{answer}");

    // A restarted hub remembers the revocation; the tablet can be signed in again with its token.
    port.refuse();
    hub.stop().await.expect("stop");
    let hub = start_hub_behind(&db, &port).await;
    let refused = raw::first_answer(port.addr, &hello, Some(&pad)).await;
    assert_eq!(
        refused["code"], "unauthorized",
        "after a restart: {refused}"
    );
    let again = sign_in_cookie(port.addr, "pad-1", "demo-pad-1").await;
    assert_ne!(again, pad);
    let answer = raw::first_answer(port.addr, &hello, Some(&again)).await;
    assert_eq!(answer["type"], "welcome", "{answer}");
    hub.stop().await.expect("stop");
}

/// Opens `/quay` with a device's link and returns the cookie the hub set (`name=value`).
async fn sign_in_cookie(addr: std::net::SocketAddr, device: &str, token: &str) -> String {
    let (status, whole) =
        raw::get_whole(addr, &format!("/quay?device={device}&token={token}")).await;
    assert_eq!(status, 303, "{whole}");
    assert!(
        whole.contains("location: /quay\r\n"),
        "sent on without the token: {whole}"
    );
    raw::cookie_set(&whole)
}

#[tokio::test]
async fn a_supervisor_gets_a_counter_screens_qr_and_nobody_else() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let qr = "/console/devices/pad-3/quay-qr.svg?scheme=http";
    let (status, _) = raw::get(hub.addr, qr).await;
    assert_eq!(status, 401, "not signed in");
    let body = json!({"staff": "ql01", "pin": "1234"});
    let (status, response) =
        raw::request(hub.addr, "POST", "/console/sign-in", None, Some(&body)).await;
    assert_eq!(status, 200, "{response}");
    let supervisor = raw::cookie_set(&response);
    let (status, svg) = raw::request(hub.addr, "GET", qr, Some(&supervisor), None).await;
    assert_eq!(status, 200, "{svg}");
    assert!(
        svg.contains("image/svg+xml") && svg.contains("<svg"),
        "{svg}"
    );
    assert!(
        svg.contains("no-store"),
        "a code with a token is never cached"
    );
    let kiosk = "/console/devices/kiosk-1/quay-qr.svg";
    let (status, _) = raw::request(hub.addr, "GET", kiosk, Some(&supervisor), None).await;
    assert_eq!(status, 404, "only counter displays have one");
    // A counter screen's own cookie is not a supervisor's.
    let pad = sign_in_cookie(hub.addr, "pad-3", "demo-pad-3").await;
    let (status, _) = raw::request(hub.addr, "GET", qr, Some(&pad), None).await;
    assert_eq!(status, 401);
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn the_screen_says_it_is_offline_and_comes_back_by_itself() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let port = StablePort::open().await;
    let hub = start_hub_behind(&db, &port).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&format!(
        "http://{}/quay?device=pad-1&token=demo-pad-1",
        port.addr
    ))
    .await
    .expect("open");
    showing(&browser, "idle").await;
    port.refuse();
    hub.stop().await.expect("stop");
    browser
        .wait_for_text("offline", "Mất kết nối với hệ thống")
        .await;
    browser.text_of("body.offline #offline").await;
    // The hub is back (a restart, the same database): the tablet needs nobody — its cookie is
    // still good, and it follows the counter again.
    let hub = start_hub_behind(&db, &port).await;
    let (kiosk, _) = Client::connect(port.addr, Role::Kiosk, "kiosk-1").await;
    let clerk = Client::clerk(port.addr, 1).await;
    let ticket = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    clerk.send(Command::CallNext {}).await.expect("call");
    browser
        .wait_for_text("calling-number", &ticket.number)
        .await;
    let still_offline = c
        .find_all(fantoccini::Locator::Css("body.offline"))
        .await
        .expect("query");
    assert!(still_offline.is_empty(), "the offline banner is gone");
    browser.close().await;
    hub.stop().await.expect("stop");
}
