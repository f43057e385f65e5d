//! `/dat-lich`, the booking page, in headless Chromium at a phone's size (390×844): a citizen
//! books a time, sees the code and its QR image, looks the booking up and cancels it; a full
//! slot is shown as full. `BOOKING_SCREENSHOTS=/abs/dir` keeps the screens.

use std::sync::Arc;

use serde_json::json;
use testkit::{Browser, ManualClock, raw, start_hub_on};

async fn shot(browser: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("BOOKING_SCREENSHOTS") {
        let path = std::path::PathBuf::from(dir).join(format!("{name}.png"));
        browser.screenshot(&path).await;
    }
}

#[tokio::test]
async fn a_citizen_books_looks_up_and_cancels_on_a_phone() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::at("2026-11-23T07:00:00+07:00"));
    let hub = start_hub_on(&clock, &dir.path().join("hub.db")).await;
    // Someone else has already filled 08:00 of the Land field (three places).
    for phone in ["0901000001", "0901000002", "0901000003"] {
        let body = json!({"service": "DD", "start": "2026-11-23T08:00:00+07:00", "phone": phone});
        let (status, _) =
            raw::request(hub.addr, "POST", "/api/appointments", None, Some(&body)).await;
        assert_eq!(status, 201);
    }
    let (status, head) = raw::get_whole(hub.addr, "/dat-lich").await;
    assert_eq!(status, 200);
    assert!(
        head.contains("content-security-policy: default-src 'none'"),
        "no asset from elsewhere: {head}"
    );
    let browser = Browser::start().await;
    let c = &browser.client;
    c.set_window_size(390, 844).await.expect("a phone");
    c.goto(&format!("http://{}/dat-lich", hub.addr))
        .await
        .expect("open");
    browser.wait_for_text("services", "Đất đai").await;
    shot(&browser, "dat-lich-start").await;

    browser.click("[data-service='DD']").await;
    browser.click("[data-day='2026-11-23']").await;
    browser.wait_for_text("times", "08:30").await;
    let full = browser
        .text_of("[data-slot='2026-11-23T08:00:00+07:00']")
        .await;
    assert!(full.contains("hết chỗ"), "a full slot says so: {full}");
    let disabled = c
        .find(fantoccini::Locator::Css(
            "[data-slot='2026-11-23T08:00:00+07:00']",
        ))
        .await
        .expect("slot")
        .attr("disabled")
        .await
        .expect("attr");
    assert!(disabled.is_some(), "and cannot be chosen");
    browser
        .click("[data-slot='2026-11-23T09:00:00+07:00']")
        .await;
    // A wrong number first: the page says what is wrong, in Vietnamese.
    browser.type_into("#phone", "12345").await;
    browser.click("#book").await;
    browser
        .wait_for_text("book-error", "Số điện thoại chưa đúng")
        .await;
    browser.type_into("#phone", "0912 345 678").await;
    shot(&browser, "dat-lich-choose").await;
    browser.click("#book").await;
    browser.wait_for_text("done-when", "09:00–09:30").await;
    let shown = browser.text_of("#done-code").await;
    assert_eq!(
        (shown.len(), shown.find('-')),
        (9, Some(4)),
        "in two halves: {shown}"
    );
    let code = shown.replace('-', "");
    let arrive = browser.text_of("#done-arrive").await;
    assert!(
        arrive.contains("08:30") && arrive.contains("09:15"),
        "{arrive}"
    );
    let qr_loaded = c
        .execute(
            "const i = document.getElementById('done-qr'); return i.complete && i.naturalWidth > 0;",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(qr_loaded, json!(true), "the QR image is drawn");
    shot(&browser, "dat-lich-booked").await;
    browser.click("#lang").await;
    browser
        .wait_for_text("done-arrive", "Come to the centre")
        .await;
    shot(&browser, "dat-lich-booked-en").await;
    browser.click("#lang").await;

    // Look it up with the code, then cancel it with the phone.
    browser.click("#tab-find").await;
    browser.type_into("#find-code", &code.to_lowercase()).await;
    browser.click("#find").await;
    browser.wait_for_text("found-status", "Đã đặt").await;
    browser.type_into("#cancel-phone", "0999999999").await;
    browser.click("#cancel").await;
    c.accept_alert().await.expect("confirm");
    browser.wait_for_text("find-error", "Không tìm thấy").await;
    browser.type_into("#cancel-phone", "0912345678").await;
    browser.click("#cancel").await;
    c.accept_alert().await.expect("confirm");
    browser.wait_for_text("found-status", "Đã hủy").await;
    shot(&browser, "dat-lich-cancelled").await;
    browser.close().await;

    let (_, seen) = raw::get(hub.addr, &format!("/api/appointments/{code}")).await;
    assert!(seen.contains(r#""status":"cancelled""#), "{seen}");
    hub.stop().await.expect("stop");
}
