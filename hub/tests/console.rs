//! The supervisor's console in a real headless Chromium: signing in, the live floor, steering
//! it — and what a device token or a phone cannot do with it.

use fantoccini::Locator;
use protocol::{Command, Role};
use testkit::{Browser, Client, issue, raw, start_hub, ticket_of};

/// Where the README's screenshots come from (`CONSOLE_SCREENSHOTS=docs/screenshots`).
fn screenshot_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("CONSOLE_SCREENSHOTS").map(std::path::PathBuf::from)
}

async fn sign_in(browser: &Browser, base: &str, staff: &str, pin: &str) {
    let c = &browser.client;
    c.goto(&format!("{base}/console")).await.expect("open");
    browser.type_into("#staff", staff).await;
    browser.type_into("#pin", pin).await;
    browser.click("#signin-form button[type=submit]").await;
}

#[tokio::test]
async fn a_supervisor_signs_in_sees_alerts_live_and_moves_a_clerk() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let base = format!("http://{}", hub.addr);
    let browser = Browser::start().await;

    // A clerk's code, and a wrong PIN, are refused alike.
    sign_in(&browser, &base, "nv01", "1234").await;
    browser.wait_for_text("signin-error", "Sai mã").await;
    if let Some(d) = screenshot_dir() {
        browser.screenshot(&d.join("console-signin.png")).await;
    }
    sign_in(&browser, &base, "ql01", "9999").await;
    browser.wait_for_text("signin-error", "Sai mã").await;
    sign_in(&browser, &base, "ql01", "1234").await;
    browser.wait_for_text("who", "Trần Văn Quản").await;

    // A clerk opens counter 1 with justice (TP) only.
    let clerk = Client::clerk(hub.addr, 1).await;
    browser.wait_for_text("counters", "Nguyễn Thị Lan").await;

    // A kiosk runs out of paper: the alert appears without reloading.
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    kiosk
        .send(Command::DeviceStatus {
            status: "paper_out".into(),
        })
        .await
        .expect("status");
    let alert = browser.wait_for_text("alerts", "hết giấy").await;
    assert!(alert.contains("Máy lấy số 1"), "{alert}");
    assert!(alert.contains("kiosk-1"), "{alert}");

    // Land (DD) is busy: the supervisor gives counter 1 land first, then justice.
    let c = &browser.client;
    browser.click("button[data-edit='1']").await;
    browser
        .click("#services-choice li[data-id='DD'] input")
        .await;
    // Move DD above TP (it is listed after the counter's own services).
    while c
        .find(Locator::Css("#services-choice li:first-child"))
        .await
        .expect("first")
        .attr("data-id")
        .await
        .expect("id")
        .as_deref()
        != Some("DD")
    {
        browser
            .click("#services-choice li[data-id='DD'] button[data-move='up']")
            .await;
    }
    if let Some(d) = screenshot_dir() {
        browser.screenshot(&d.join("console-services.png")).await;
    }
    browser.click("#services-save").await;
    browser.wait_for_text("counters", "DD, TP").await;
    // In the audit trail with the supervisor's code.
    let audit = ledger::Reader::open(&dir.path().join("hub.db"))
        .and_then(|db| db.events_after(0, usize::MAX))
        .expect("the event log")
        .into_iter()
        .rfind(|e| e.kind == "counter_changed")
        .map(|e| (e.device, e.staff))
        .expect("the last counter change");
    assert_eq!(
        audit,
        ("console-ql01".to_string(), Some("ql01".to_string()))
    );

    // The next call follows the new order: land before the older justice ticket.
    kiosk.send(issue("TP")).await.expect("TP");
    let land = ticket_of(&kiosk.send(issue("DD")).await.expect("DD"));
    let called = ticket_of(&clerk.send(Command::CallNext {}).await.expect("call"));
    assert_eq!(called.number, land.number);
    browser.wait_for_text("counters", &land.number).await;

    // A notice for the lobby: every board's mirror has it at once.
    let mut board =
        Client::connect_with_token(hub.addr, Role::Display, "display-1", "demo-display-1");
    let mut mirror = hub_client::Mirror::default();
    let notice = "Chiều nay trung tâm nghỉ từ 16:00";
    browser.type_into("#notice", notice).await;
    browser.click("#notice-form button").await;
    loop {
        mirror.apply(&board.next_update().await);
        if mirror.center.as_ref().is_some_and(|c| c.notice == notice) {
            break;
        }
    }
    if let Some(d) = screenshot_dir() {
        browser.screenshot(&d.join("console-floor.png")).await;
    }
    browser.close().await;
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_device_away_longer_than_the_grace_is_an_alert_and_clears_when_it_is_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut config = testkit::real_clock_config();
    config.limits.offline_alert = std::time::Duration::from_millis(300);
    let hub = testkit::start_hub_with(
        config,
        &dir.path().join("hub.db"),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await;
    let browser = Browser::start().await;
    sign_in(&browser, &format!("http://{}", hub.addr), "ql01", "1234").await;
    // Devices never connected since the start are away too; the board that was never there:
    browser
        .wait_for_text("alerts", "Màn hình 2 (display-2): mất kết nối")
        .await;
    let board = Client::connect(hub.addr, Role::Display, "display-2").await;
    let c = &browser.client;
    c.wait()
        .at_most(testkit::BROWSER_WAIT)
        .for_element(Locator::XPath(
            "//*[@id='alerts'][not(contains(., 'display-2'))]",
        ))
        .await
        .expect("the alert clears when the board connects");
    drop(board);
    browser
        .wait_for_text("alerts", "Màn hình 2 (display-2): mất kết nối")
        .await;
    browser.close().await;
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_lost_tablet_is_revoked_from_the_devices_list() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (status, whole) = raw::get_whole(hub.addr, "/quay?device=pad-2&token=demo-pad-2").await;
    assert_eq!(status, 303, "{whole}");
    let cookie = raw::cookie_set(&whole);
    let hello = serde_json::json!({"type": "hello", "protocol": 1, "role": "counter_display",
                                   "device": "pad-2", "token": ""});
    let answer = raw::first_answer(hub.addr, &hello, Some(&cookie)).await;
    assert_eq!(answer["type"], "welcome", "{answer}");
    let browser = Browser::start().await;
    sign_in(&browser, &format!("http://{}", hub.addr), "ql01", "1234").await;
    browser.wait_for_text("who", "ql01").await;
    browser.click("button[data-revoke='pad-2']").await;
    browser
        .client
        .accept_alert()
        .await
        .expect("the supervisor confirms");
    browser.wait_for_text("toast", "Đã thu hồi").await;
    let answer = raw::first_answer(hub.addr, &hello, Some(&cookie)).await;
    assert_eq!(answer["code"], "unauthorized", "{answer}");
    browser.close().await;
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn figures_with_charts_and_a_csv_excel_reads_in_vietnamese() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    for priority in [None, Some("elderly"), None] {
        kiosk
            .send(Command::IssueTicket {
                service: "TP".into(),
                priority: priority.map(str::to_string),
                phone: None,
            })
            .await
            .expect("issued");
    }
    let clerk = Client::clerk(hub.addr, 1).await;
    clerk.send(Command::CallNext {}).await.expect("call");
    clerk.send(Command::StartServing {}).await.expect("serve");
    clerk
        .finish_rated(&Client::pad(hub.addr, 1).await, 4, &[])
        .await;

    let browser = Browser::start().await;
    sign_in(&browser, &format!("http://{}", hub.addr), "ql01", "1234").await;
    let table = browser.wait_for_text("figures", "Tư pháp").await;
    assert!(table.contains("Tư pháp – Hộ tịch 3 1"), "{table}");
    // One rating, given by the citizen on the counter's screen: every finished ticket rated.
    assert!(table.contains("1 (1) 100%"), "{table}");
    let c = &browser.client;
    // Both charts are drawn (SVG images that loaded).
    let loaded = c
        .execute_async(
            "const done = arguments[0];
             const imgs = [document.getElementById('chart-hourly'), document.getElementById('chart-waits')];
             const check = () => imgs.every(i => i.complete && i.naturalWidth > 0) ? done(true) : setTimeout(check, 50);
             check();",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(loaded, serde_json::json!(true));
    // The CSV as the browser downloads it: UTF-8 with a byte-order mark, Vietnamese intact.
    let csv = c
        .execute_async(
            "const done = arguments[0];
             fetch(document.getElementById('csv').href).then(r => r.arrayBuffer())
               .then(b => done(Array.from(new Uint8Array(b))));",
            vec![],
        )
        .await
        .expect("download");
    let bytes: Vec<u8> = serde_json::from_value(csv).expect("bytes");
    assert_eq!(
        &bytes[..3],
        &[0xEF, 0xBB, 0xBF],
        "a byte-order mark for Excel"
    );
    let text = String::from_utf8(bytes[3..].to_vec()).expect("UTF-8");
    assert!(text.lines().any(|l| l.starts_with("TP,3,1,")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("Tổng,3,1,")), "{text}");
    // Priority against normal.
    browser.click("#by option[value='priority']").await;
    browser.click("#figures-form button[type=submit]").await;
    let by_class = browser.wait_for_text("figures", "Ưu tiên").await;
    assert!(
        by_class.contains("Thường 2") && by_class.contains("Ưu tiên 1"),
        "{by_class}"
    );
    if let Some(d) = screenshot_dir() {
        c.execute(
            "document.getElementById('figures-section').scrollIntoView()",
            vec![],
        )
        .await
        .expect("scroll");
        browser.screenshot(&d.join("console-figures.png")).await;
    }
    browser.close().await;
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn issue_on_behalf_cancel_close_a_service_and_read_it_in_english() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let browser = Browser::start().await;
    sign_in(&browser, &format!("http://{}", hub.addr), "ql01", "1234").await;
    browser.wait_for_text("who", "ql01").await;
    let c = &browser.client;
    // An elderly citizen who cannot use the kiosk: a priority ticket for justice.
    browser.click("#issue-service option[value='TP']").await;
    browser
        .click("#issue-priority option[value='elderly']")
        .await;
    browser.click("#issue-form button[type=submit]").await;
    browser.wait_for_text("toast", "Đã cấp số").await;
    let (_, snapshot) = Client::connect(hub.addr, Role::Counter, "counter-1").await;
    let ticket = snapshot.waiting.first().expect("one waiting").clone();
    assert_eq!(ticket.priority.as_deref(), Some("elderly"));
    // …who changed their mind.
    browser.type_into("#cancel-number", &ticket.number).await;
    browser.click("#cancel-form button[type=submit]").await;
    browser.wait_for_text("toast", "Đã hủy").await;
    // Land closes for the day.
    browser.click("button[data-open='DD']").await;
    c.wait()
        .at_most(testkit::BROWSER_WAIT)
        .for_element(Locator::XPath(
            "//tr[@data-service='DD']//span[contains(@class, 'closed')]",
        ))
        .await
        .expect("DD shown closed");
    let (_, after) = Client::connect(hub.addr, Role::Counter, "counter-2").await;
    assert!(after.waiting.is_empty(), "the cancelled ticket is gone");
    let dd = after.services.iter().find(|s| s.id == "DD").expect("DD");
    assert!(!dd.open, "closed for everyone");
    // English for a visiting delegation.
    browser.click("header button[data-action='lang']").await;
    browser.wait_for_text("alerts", "No alerts").await;
    browser.close().await;
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_supervisor_books_a_return_appointment_and_reads_the_figures() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let browser = Browser::start().await;
    sign_in(&browser, &format!("http://{}", hub.addr), "ql01", "1234").await;
    browser.wait_for_text("who", "ql01").await;
    let c = &browser.client;
    // Tomorrow, in the centre's calendar: the demo books Justice round the clock.
    let tomorrow = (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        + chrono::TimeDelta::days(1))
    .date_naive()
    .to_string();
    browser.click("#book-service option[value='TP']").await;
    c.execute(
        "const d = document.getElementById('book-day'); d.value = arguments[0]; \
         d.dispatchEvent(new Event('change'));",
        vec![serde_json::json!(tomorrow)],
    )
    .await
    .expect("choose the day");
    browser.wait_for_text("book-slot", "còn 2").await;
    browser.click("#book-form button[type=submit]").await;
    let said = browser.wait_for_text("toast", "Đã đặt lịch").await;
    let code = said
        .split("mã ")
        .nth(1)
        .and_then(|rest| rest.get(..8))
        .expect("the toast names the code")
        .to_string();
    let (status, seen) = raw::get(hub.addr, &format!("/api/appointments/{code}")).await;
    assert_eq!(status, 200, "{seen}");
    assert!(seen.contains(r#""status":"booked""#), "{seen}");
    // The figures around that day (the test hub's service day starts twelve hours from now, so
    // the slot's service day may be the day before its date): one booking, by staff.
    let day = |d: i64| {
        (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
            + chrono::TimeDelta::days(d))
        .date_naive()
        .to_string()
    };
    for (id, d) in [("from", day(0)), ("to", day(2))] {
        c.execute(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![serde_json::json!(id), serde_json::json!(d)],
        )
        .await
        .expect("range");
    }
    // The booking's toast may still be up over the button: it lets the click through.
    browser.click("#figures-form button[type=submit]").await;
    let line = browser.wait_for_text("booking-figures", "Tổng").await;
    assert!(line.contains("Tư pháp"), "{line}");
    let total = c
        .find(Locator::XPath(
            "//table[@id='booking-figures']//tbody/tr[last()]",
        ))
        .await
        .expect("the total")
        .text()
        .await
        .expect("text");
    assert!(
        total.starts_with("Tổng 1 1 0 0 0"),
        "booked 1, by staff 1: {total}"
    );
    // Cancelled from the console too.
    browser
        .type_into("#unbook-code", &code.to_lowercase())
        .await;
    browser.click("#unbook-form button[type=submit]").await;
    browser.wait_for_text("toast", "Đã hủy lịch hẹn").await;
    let (_, seen) = raw::get(hub.addr, &format!("/api/appointments/{code}")).await;
    assert!(seen.contains(r#""status":"cancelled""#), "{seen}");
    browser.close().await;
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn only_a_signed_in_supervisor_reaches_the_console_actions() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let console = |token: &str| {
        serde_json::json!({"type": "hello", "protocol": 1, "role": "admin", "device": "console",
                           "token": token})
    };
    // No session: refused, whatever the token says.
    let refused = raw::first_answer(hub.addr, &console("demo-counter-1"), None).await;
    assert_eq!(refused["code"], "unauthorized", "{refused}");
    let forged = raw::first_answer(hub.addr, &console(""), Some("hang_doi_console=00ff")).await;
    assert_eq!(forged["code"], "unauthorized", "{forged}");
    // A counter's token does not make an admin, nor does a tracking code.
    let counter = serde_json::json!({"type": "hello", "protocol": 1, "role": "admin",
                                     "device": "counter-1", "token": "demo-counter-1"});
    assert_eq!(
        raw::first_answer(hub.addr, &counter, None).await["code"],
        "unauthorized"
    );

    // Signed in over plain HTTP (as a script would): the cookie opens the console's session.
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let issued = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    let track = issued.track.expect("the kiosk gets the tracking code");
    let tracker = serde_json::json!({"type": "hello", "protocol": 1, "role": "tracker",
                                     "device": "phone", "token": track});
    let seen = raw::first_answer(hub.addr, &tracker, None).await;
    assert_eq!(
        seen["type"], "ticket",
        "a tracker sees its ticket only: {seen}"
    );

    let cookie = sign_in_over_http(hub.addr, "ql01", "1234").await;
    let welcome = raw::first_answer(hub.addr, &console(""), Some(&cookie)).await;
    assert_eq!(welcome["type"], "welcome");
    assert!(
        welcome["snapshot"]["today"].is_object(),
        "the floor with today's figures: {welcome}"
    );
    hub.stop().await.expect("stop");
}

/// `POST /console/sign-in` by hand; returns the `Cookie` header value to send back.
async fn sign_in_over_http(addr: std::net::SocketAddr, staff: &str, pin: &str) -> String {
    let body = serde_json::json!({"staff": staff, "pin": pin});
    let (status, response) =
        raw::request(addr, "POST", "/console/sign-in", None, Some(&body)).await;
    assert_eq!(status, 200, "{response}");
    raw::cookie_set(&response)
}

#[tokio::test]
async fn the_console_counts_citizens_following_from_afar_and_notices_that_failed() {
    let dir = tempfile::tempdir().expect("tmp");
    // A gateway that never takes a message: the notice fails for good after its retries.
    let gateway = testkit::sms::SmsGateway::start(usize::MAX).await;
    let token_file = dir.path().join("sms-token");
    std::fs::write(&token_file, "tok").expect("token file");
    let mut config = testkit::real_clock_config();
    config.notify.sms = Some(centre_config::SmsGateway {
        url: gateway.url(),
        token_file,
    });
    let hub = testkit::start_hub_with(
        config,
        &dir.path().join("hub.db"),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await;
    let browser = Browser::start().await;
    sign_in(&browser, &format!("http://{}", hub.addr), "ql01", "1234").await;
    browser.wait_for_text("who", "Trần Văn Quản").await;

    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    kiosk
        .send(Command::IssueTicket {
            service: "TP".into(),
            priority: None,
            phone: Some("0912345678".into()),
        })
        .await
        .expect("issued with a phone");
    browser.wait_for_text("following", "1 số qua SMS").await;
    // Nobody ahead: "near" is due at once, and the gateway refuses it three times.
    browser
        .wait_for_text("alerts", "không gửi được tới điện thoại")
        .await;
    let alert = browser.text_of("[data-alert='notices']").await;
    assert!(alert.starts_with("1 thông báo"), "{alert}");
    let line = browser.wait_for_text("following", "1 không gửi được").await;
    assert!(line.contains("0 thông báo đã đến"), "{line}");
    assert_eq!(
        gateway.failed(),
        4,
        "tried again three times, then given up"
    );
    // Today's figures follow the floor without a reload.
    browser.wait_for_text("today", "Cấp 1 ").await;
    if let Some(d) = screenshot_dir() {
        browser
            .client
            .execute(
                "document.getElementById('following').scrollIntoView({block: 'center'})",
                vec![],
            )
            .await
            .expect("scrolled");
        browser.screenshot(&d.join("console-notices.png")).await;
    }
    browser.close().await;
    hub.stop().await.expect("stop");
}
