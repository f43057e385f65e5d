//! The province's door against a real PostgreSQL: two instances of the binary on one database
//! answer alike (they keep nothing of their own), a silent centre's figures are withheld, a
//! database away is a clear 503, and the page in headless Chromium on a phone and a desktop.
//! The centres' rows are written by the hub's own shipper code (`province::ship`).
//! `PROVINCE_SCREENSHOTS=/abs/dir` keeps the screens.

mod common;

use common::{DoorProcess, shipper};
use hub_engine::{CentreWaits, FieldWaits};
use protocol::{ServiceState, ServiceView};
use province::ship::Shipper;
use testkit::{Browser, Postgres, raw};

fn field(id: &str, state: ServiceState, waiting: u32, eta_min: Option<u32>) -> FieldWaits {
    let view = ServiceView {
        id: id.into(),
        name_vi: String::new(),
        name_en: String::new(),
        prefix: "A".into(),
        state,
        open: state == ServiceState::Open,
        waiting,
        overdue: 0,
        eta_min,
        issued_today: waiting,
        target_wait_min: 30,
        target_service_min: 15,
        icon: None,
        appointments: false,
    };
    FieldWaits {
        view,
        queue: vec![],
        secs_per_ahead: None,
        secs_per_ahead_priority: None,
    }
}

async fn waits(door: &DoorProcess) -> serde_json::Value {
    let (status, response) = raw::get_whole(door.addr, "/api/waits").await;
    assert_eq!(status, 200, "{response}");
    raw::json_body(&response)
}

fn centre<'a>(waits: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    waits["centres"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("centre {id} in {waits}"))
}

const DONG_SON: &str = "Trung tâm Phục vụ hành chính công huyện Đông Sơn";
const QUANG_XUONG: &str = "Trung tâm Phục vụ hành chính công huyện Quảng Xương";

/// Two centres as their hubs would say: Đông Sơn live, Quảng Xương silent for ten minutes.
async fn two_centres(pg: &Postgres) -> (Shipper, tokio_postgres::Client) {
    let dong_son = shipper(
        pg,
        "dong-son",
        DONG_SON,
        &[("HT", "Hộ tịch", "Civil status"), ("DD", "Đất đai", "Land")],
    );
    let mut client = dong_son.connect().await.expect("the province");
    dong_son
        .publish_waits(
            &mut client,
            &waits_of(vec![
                field("HT", ServiceState::Open, 5, Some(12)),
                field("DD", ServiceState::Closed, 0, None),
            ]),
        )
        .await
        .expect("published");
    let quang_xuong = shipper(
        pg,
        "quang-xuong",
        QUANG_XUONG,
        &[("HT", "Hộ tịch", "Civil status")],
    );
    let mut other = quang_xuong.connect().await.expect("the province");
    quang_xuong
        .publish_waits(
            &mut other,
            &waits_of(vec![field("HT", ServiceState::Open, 40, Some(90))]),
        )
        .await
        .expect("published");
    other
        .execute(
            "UPDATE centres SET heard_at = now() - interval '10 minutes' WHERE id = 'quang-xuong'",
            &[],
        )
        .await
        .expect("silenced");
    (dong_son, client)
}

#[tokio::test]
async fn two_doors_show_the_same_live_waits_and_withhold_a_silent_centres() {
    let pg = Postgres::start();
    let (dong_son, mut client) = two_centres(&pg).await;
    let (one, two) = (DoorProcess::start(&pg), DoorProcess::start(&pg));
    let seen = waits(&one).await;
    assert_eq!(seen, waits(&two).await, "two instances, one answer");
    let live = centre(&seen, "dong-son");
    assert_eq!(live["name_vi"], DONG_SON);
    assert_eq!(live["live"], true);
    assert_eq!(live["open"], true);
    let fields = live["services"].as_array().expect("fields");
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[0]["id"], "HT", "in the kiosk's order");
    assert_eq!(fields[0]["name_vi"], "Hộ tịch");
    assert_eq!(fields[0]["waiting"], 5);
    assert_eq!(fields[0]["eta_min"], 12);
    assert_eq!(fields[1]["state"], "closed");
    // Silent for longer than the allowance: said since when, and no figure at all.
    let silent = centre(&seen, "quang-xuong");
    assert_eq!(silent["live"], false);
    assert!(
        silent["heard_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert!(silent["open"].is_null());
    let field = &silent["services"][0];
    assert_eq!(field["name_vi"], "Hộ tịch");
    assert!(field["waiting"].is_null() && field["eta_min"].is_null() && field["state"].is_null());
    // The hub speaks again, a field gone from its configuration: the other door shows it at once.
    dong_son
        .publish_waits(&mut client, &waits_of(vec![field_now(6)]))
        .await
        .expect("published");
    let after = waits(&two).await;
    let fields = centre(&after, "dong-son")["services"].clone();
    assert_eq!(fields.as_array().map(Vec::len), Some(1));
    assert_eq!(fields[0]["waiting"], 6);
}

fn waits_of(fields: Vec<FieldWaits>) -> CentreWaits {
    CentreWaits { day: None, fields }
}

fn field_now(waiting: u32) -> FieldWaits {
    field("HT", ServiceState::Open, waiting, Some(14))
}

#[tokio::test]
async fn a_database_away_is_a_clear_refusal_and_its_return_is_served() {
    let pg = Postgres::start();
    let _ = two_centres(&pg).await;
    let door = DoorProcess::start(&pg);
    assert_eq!(raw::get_whole(door.addr, "/healthz").await.0, 200);
    pg.stop();
    let (status, response) = raw::get_whole(door.addr, "/api/waits").await;
    assert_eq!(status, 503, "{response}");
    assert!(response.contains("thử lại") && response.contains("try again"));
    assert!(response.to_ascii_lowercase().contains("retry-after: 10"));
    assert_eq!(raw::get_whole(door.addr, "/healthz").await.0, 503);
    assert_eq!(raw::get_whole(door.addr, "/no-such-page").await.0, 404);
    pg.start_again();
    // The pool drops the connections the restart closed and opens new ones: served again at
    // the first request, unrestarted.
    assert_eq!(centre(&waits(&door).await, "dong-son")["live"], true);
}

async fn shot(browser: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("PROVINCE_SCREENSHOTS") {
        browser
            .screenshot(&std::path::PathBuf::from(dir).join(format!("{name}.png")))
            .await;
    }
}

#[tokio::test]
async fn the_waits_page_on_a_phone_and_a_desktop_in_both_languages() {
    let pg = Postgres::start();
    let _ = two_centres(&pg).await;
    let door = DoorProcess::start(&pg);
    let (status, head) = raw::get_whole(door.addr, "/").await;
    assert_eq!(status, 200);
    assert!(
        head.contains("content-security-policy: default-src 'none'"),
        "nothing from elsewhere: {head}"
    );
    let browser = Browser::start().await;
    let c = &browser.client;
    c.set_window_size(390, 844).await.expect("a phone");
    c.goto(&format!("http://{}/", door.addr))
        .await
        .expect("open");
    let cards = browser.wait_for_text("centres", "Hộ tịch").await;
    assert!(cards.contains(DONG_SON), "{cards}");
    assert!(cards.contains("người đang chờ"), "{cards}");
    assert!(cards.contains("chờ khoảng 12 phút"), "{cards}");
    assert!(cards.contains("Không có số liệu trực tiếp"), "{cards}");
    assert!(
        cards.contains("chưa gửi tin từ") && cards.contains(" ngày "),
        "{cards}"
    );
    assert!(
        cards.find(DONG_SON) < cards.find(QUANG_XUONG),
        "Đ comes before Q in Vietnamese: {cards}"
    );
    assert_eq!(
        (
            cards.matches("người đang chờ").count(),
            cards.contains("khoảng 90")
        ),
        (1, false),
        "only the live centre's open field has figures: {cards}"
    );
    shot(&browser, "province-waits-phone").await;
    // Only the centres a citizen looks for.
    browser.type_into("#filter", "quảng").await;
    let found = browser.text_of("#centres").await;
    assert!(
        found.contains(QUANG_XUONG) && !found.contains(DONG_SON),
        "{found}"
    );
    browser.type_into("#filter", "").await;
    browser.click("#lang").await;
    let english = browser.wait_for_text("centres", "A ticket now").await;
    assert!(english.contains("Civil status") && english.contains("No live figures"));
    assert_eq!(
        browser.text_of("#lang").await,
        "Tiếng Việt",
        "the way back to Vietnamese"
    );
    c.set_window_size(1366, 768).await.expect("a desktop");
    browser.click("#lang").await;
    browser.wait_for_text("centres", "người đang chờ").await;
    shot(&browser, "province-waits-desktop").await;
    browser.close().await;
}

#[tokio::test]
async fn a_ticket_followed_from_anywhere_on_a_phone() {
    let pg = Postgres::start();
    let (dong_son, mut client) = two_centres(&pg).await;
    // Three waiting in Hộ tịch, ours third in call order, 4 minutes a ticket ahead.
    let mut ht = field("HT", ServiceState::Open, 3, Some(12));
    ht.queue = vec![1, 2, 3];
    ht.secs_per_ahead = Some(240.0);
    dong_son
        .publish_waits(&mut client, &waits_of(vec![ht]))
        .await
        .expect("published");
    let track = "Tr4ckC0deOfThirdTkt1";
    client
        .execute(
            "INSERT INTO tickets (centre, id, day, number, service, status, issued_at, recalls,
                 transfers, overdue_wait, overdue_service, seq, track_hash)
             VALUES ('dong-son', 3, (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, 'A1003', 'HT',
                 'waiting', now(), 0, 0, false, false, 10, $1)",
            &[&province::track_hash(track)],
        )
        .await
        .expect("a ticket");
    let door = DoorProcess::start(&pg);
    let (status, head) = raw::get_whole(door.addr, &format!("/t/{track}")).await;
    assert_eq!(status, 200);
    assert!(head.contains("referrer-policy: no-referrer"), "{head}");
    let (status, body) = raw::get_whole(door.addr, &format!("/api/t/{track}")).await;
    assert_eq!(status, 200, "{body}");
    let seen = raw::json_body(&body);
    assert_eq!(
        (seen["ahead"].as_i64(), seen["eta_min"].as_i64()),
        (Some(2), Some(8))
    );
    let browser = Browser::start().await;
    let c = &browser.client;
    c.set_window_size(390, 844).await.expect("a phone");
    c.goto(&format!("http://{}/t/{track}", door.addr))
        .await
        .expect("open");
    let detail = browser
        .wait_for_text("detail", "Còn 2 người trước bạn")
        .await;
    assert!(detail.contains("khoảng 8 phút"), "{detail}");
    assert_eq!(browser.text_of("#number").await, "A1003");
    shot(&browser, "province-ticket-phone").await;
    c.set_window_size(1366, 768).await.expect("a desktop");
    shot(&browser, "province-ticket-desktop").await;
    browser.click("#lang").await;
    browser.wait_for_text("detail", "2 ahead of you").await;
    // The centre falls silent: the page no longer claims to know the place.
    client
        .execute(
            "UPDATE centres SET heard_at = now() - interval '10 minutes' WHERE id = 'dong-son'",
            &[],
        )
        .await
        .expect("silenced");
    browser
        .wait_for_text("detail", "your turn is not known just now")
        .await;
    // A code no centre gave: said plainly.
    c.goto(&format!("http://{}/t/NoSuchTicketCode000", door.addr))
        .await
        .expect("open");
    browser.wait_for_text("status", "No such ticket").await;
    browser.close().await;
}
