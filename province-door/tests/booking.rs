//! Booking any centre at the province's door, against a real PostgreSQL and the release's own
//! binary: two instances never hold more of a slot than the province's share, a phone is
//! capped across every centre, a hold lapses unless confirmed, the proof of work is required
//! and good once, each address has its allowance (and a forged `X-Forwarded-For` buys none),
//! and the page books in headless Chromium. The slots are published by the hub's own code
//! (`province::bookings`). `PROVINCE_SCREENSHOTS=/abs/dir` keeps the screens.

mod common;

use std::ffi::OsStr;
use std::net::{IpAddr, Ipv4Addr};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use common::{DoorProcess, new_booking_key, shipper};
use province::bookings::{SlotRow, publish_slots};
use serde_json::{Value, json};
use testkit::{Browser, Postgres, raw};

/// A centre with one field whose slots tomorrow (from the next hour, on the database's clock)
/// give the province `places` each.
async fn centre_with_slots(
    pg: &Postgres,
    id: &str,
    name: &str,
    slots: usize,
    places: i32,
) -> Vec<DateTime<Utc>> {
    let centre = shipper(pg, id, name, &[("HT", "Hộ tịch", "Civil status")]);
    let mut client = centre.connect().await.expect("the province");
    let now = Utc::now();
    let first = now.duration_trunc(TimeDelta::hours(1)).expect("an hour") + TimeDelta::days(1);
    let rows: Vec<SlotRow> = (0..slots)
        .map(|i| {
            let start = first + TimeDelta::minutes(15 * i as i64);
            SlotRow {
                service: "HT".into(),
                start,
                end: start + TimeDelta::minutes(15),
                places,
                check_in_from: start - TimeDelta::minutes(30),
                check_in_until: start + TimeDelta::minutes(15),
            }
        })
        .collect();
    publish_slots(&mut client, id, &rows, now)
        .await
        .expect("published");
    rows.iter().map(|r| r.start).collect()
}

/// A door taking bookings with the key in `key`, proofs of `bits`, and more arguments.
fn door(pg: &Postgres, key: &std::path::Path, bits: u32, extra: &[&str]) -> DoorProcess {
    let bits = bits.to_string();
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("--booking-key-file"),
        key.as_os_str(),
        OsStr::new("--proof-bits"),
        OsStr::new(&bits),
    ];
    args.extend(extra.iter().map(OsStr::new));
    DoorProcess::start_with(pg, &args)
}

/// Client `n`'s address, as the trusted proxy names it.
fn client(n: u32) -> String {
    IpAddr::V4(Ipv4Addr::from(0xcb00_7100 + n)).to_string()
}

fn phone(n: u32) -> String {
    format!("09{n:08}")
}

async fn post(door: &DoorProcess, path: &str, from: &str, body: &Value) -> (u16, Value) {
    let (status, response) =
        raw::request_forwarded_for(door.addr, "POST", path, from, Some(body)).await;
    (status, raw::json_body(&response))
}

async fn get(door: &DoorProcess, path: &str, from: &str) -> (u16, Value) {
    let (status, response) = raw::request_forwarded_for(door.addr, "GET", path, from, None).await;
    (status, raw::json_body(&response))
}

/// A challenge from `door`, solved.
async fn proof(door: &DoorProcess, from: &str) -> (String, String) {
    let (status, c) = get(door, "/api/bookings/challenge", from).await;
    assert_eq!(status, 200, "{c}");
    let challenge = c["challenge"].as_str().expect("a challenge").to_string();
    let bits = c["bits"].as_u64().expect("bits") as u32;
    let nonce = province_door::proof::solve(&challenge, bits);
    (challenge, nonce)
}

async fn hold(
    door: &DoorProcess,
    from: &str,
    centre: &str,
    start: DateTime<Utc>,
    phone: &str,
) -> (u16, Value) {
    let (challenge, nonce) = proof(door, from).await;
    let ask = json!({"centre": centre, "service": "HT", "start": start, "phone": phone,
        "challenge": challenge, "nonce": nonce});
    post(door, "/api/bookings", from, &ask).await
}

async fn free(door: &DoorProcess, centre: &str, start: DateTime<Utc>) -> i64 {
    let date = start.with_timezone(&chrono_tz_hcm()).date_naive();
    let (status, slots) = get(
        door,
        &format!("/api/bookings/slots?centre={centre}&service=HT&date={date}"),
        &client(999),
    )
    .await;
    assert_eq!(status, 200, "{slots}");
    slots["slots"]
        .as_array()
        .and_then(|s| {
            s.iter().find(|s| {
                s["start"]
                    .as_str()
                    .and_then(|t| t.parse::<DateTime<Utc>>().ok())
                    == Some(start)
            })
        })
        .and_then(|s| s["free"].as_i64())
        .unwrap_or_else(|| panic!("the slot {start} in {slots}"))
}

fn chrono_tz_hcm() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+7")
}

const DONG_SON: &str = "Trung tâm Phục vụ hành chính công huyện Đông Sơn";
const QUANG_XUONG: &str = "Trung tâm Phục vụ hành chính công huyện Quảng Xương";

#[tokio::test]
async fn two_doors_never_hold_more_of_a_slot_than_the_provinces_share() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("a directory");
    let (key, public) = new_booking_key(dir.path());
    let starts = centre_with_slots(&pg, "dong-son", DONG_SON, 1, 3).await;
    let proxies = ["--trusted-proxies", "127.0.0.1"];
    let doors = [door(&pg, &key, 8, &proxies), door(&pg, &key, 8, &proxies)];
    // Forty people at once, each from an address of their own, over both doors.
    let start = starts[0];
    let asks = (0..40_u32).map(|n| {
        let door = &doors[n as usize % 2];
        async move { hold(door, &client(n), "dong-son", start, &phone(n)).await }
    });
    let answers = futures_util::future::join_all(asks).await;
    let held: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(held.len(), 3, "exactly the share: {answers:?}");
    assert!(
        answers
            .iter()
            .all(|(s, b)| *s == 201 || (*s == 409 && b["error"]["code"] == "slot_full")),
        "everyone else is told the slot is full: {answers:?}"
    );
    assert_eq!(free(&doors[0], "dong-son", starts[0]).await, 0);
    assert_eq!(free(&doors[1], "dong-son", starts[0]).await, 0);
    // Confirmed, each gets a pass the hubs' key line checks.
    let check = province_pass::checking_key(&public).expect("the public line");
    let who = answers
        .iter()
        .position(|(s, _)| *s == 201)
        .expect("one held") as u32;
    let code = held[0]["code"].as_str().expect("a code");
    let mine = json!({"centre": "dong-son", "code": code, "phone": phone(who)});
    let (status, confirmed) = post(&doors[1], "/api/bookings/confirm", &client(who), &mine).await;
    assert_eq!(status, 200, "{confirmed}");
    let pass = confirmed["pass"].as_str().expect("a pass");
    let read = province_pass::Pass::verify(pass, &[check]).expect("signed by the province");
    assert_eq!(
        (read.centre.as_str(), read.code.as_str(), read.start),
        ("dong-son", code, starts[0])
    );
    let (again, twice) = post(&doors[0], "/api/bookings/confirm", &client(who), &mine).await;
    assert_eq!(
        (again, twice["pass"].as_str()),
        (200, Some(pass)),
        "confirming twice gives the same pass"
    );
    let other = json!({"centre": "dong-son", "code": code, "phone": phone(77)});
    let (status, _) = post(&doors[0], "/api/bookings/confirm", &client(who), &other).await;
    assert_eq!(status, 404, "another phone learns nothing of it");
    let (status, image) = raw::get_whole(doors[0].addr, &format!("/dat-lich/qr/{pass}")).await;
    assert_eq!(status, 200);
    assert!(
        image.contains("image/svg+xml") && image.contains("<svg"),
        "{image}"
    );
    let forged = pass.replace(".", ".A");
    let (status, _) = raw::get_whole(doors[0].addr, &format!("/dat-lich/qr/{forged}")).await;
    assert_eq!(status, 404, "the door draws its own passes only");
}

#[tokio::test]
async fn a_phone_is_capped_across_the_province_and_a_lapsed_hold_frees_its_place() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("a directory");
    let (key, _) = new_booking_key(dir.path());
    let dong_son = centre_with_slots(&pg, "dong-son", DONG_SON, 3, 1).await;
    let quang_xuong = centre_with_slots(&pg, "quang-xuong", QUANG_XUONG, 3, 1).await;
    let proxies = ["--trusted-proxies", "127.0.0.1"];
    let doors = [door(&pg, &key, 8, &proxies), door(&pg, &key, 8, &proxies)];
    let me = phone(1);
    let (status, first) = hold(&doors[0], &client(1), "dong-son", dong_son[0], &me).await;
    assert_eq!(status, 201, "{first}");
    let (status, second) = hold(&doors[1], &client(2), "quang-xuong", quang_xuong[0], &me).await;
    assert_eq!(status, 201, "{second}");
    let (status, third) = hold(
        &doors[0],
        &client(3),
        "dong-son",
        dong_son[1],
        " +84 9000-00001 ",
    )
    .await;
    assert_eq!(
        (status, third["error"]["code"].as_str()),
        (429, Some("limit_reached")),
        "{third}"
    );
    assert!(
        third["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("mọi trung tâm")),
        "{third}"
    );
    // The first hold lapses (the database's clock moved past it): not confirmable, its place
    // and the phone's allowance free again.
    let (client_db, connection) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .expect("the database");
    tokio::spawn(connection);
    let code = first["code"].as_str().expect("a code");
    client_db
        .execute(
            "UPDATE province_bookings SET held_until = now() - interval '1 second' WHERE code = $1",
            &[&code],
        )
        .await
        .expect("lapsed");
    let mine = json!({"centre": "dong-son", "code": code, "phone": me});
    let (status, lapsed) = post(&doors[1], "/api/bookings/confirm", &client(1), &mine).await;
    assert_eq!(
        (status, lapsed["error"]["code"].as_str()),
        (410, Some("expired")),
        "{lapsed}"
    );
    assert_eq!(free(&doors[0], "dong-son", dong_son[0]).await, 1);
    let (status, again) = hold(&doors[1], &client(4), "dong-son", dong_son[0], &me).await;
    assert_eq!(status, 201, "{again}");
    // Cancelled, a confirmed place stays taken through the quarantine.
    let code = again["code"].as_str().expect("a code");
    let mine = json!({"centre": "dong-son", "code": code, "phone": me});
    assert_eq!(
        post(&doors[0], "/api/bookings/confirm", &client(4), &mine)
            .await
            .0,
        200
    );
    let (status, cancelled) = post(&doors[0], "/api/bookings/cancel", &client(4), &mine).await;
    assert_eq!(
        (status, cancelled["state"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    assert_eq!(
        post(&doors[1], "/api/bookings/cancel", &client(4), &mine)
            .await
            .0,
        200,
        "twice, alike"
    );
    assert_eq!(
        free(&doors[1], "dong-son", dong_son[0]).await,
        0,
        "the quarantine holds the place"
    );
    let version: i64 = client_db
        .query_one(
            "SELECT max(version) FROM province_bookings WHERE centre = 'dong-son'",
            &[],
        )
        .await
        .expect("versions")
        .get(0);
    let learned = province::bookings::changed_since(&client_db, "dong-son", 0)
        .await
        .expect("read");
    assert_eq!(
        learned
            .iter()
            .map(|b| (b.code.as_str(), b.cancelled))
            .collect::<Vec<_>>(),
        vec![(code, true)],
        "a hub reads what was confirmed or cancelled, never a hold"
    );
    assert_eq!(learned[0].version, version);
}

#[tokio::test]
async fn past_its_day_a_bookings_phone_hash_is_emptied() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("a directory");
    let (key, _) = new_booking_key(dir.path());
    let starts = centre_with_slots(&pg, "dong-son", DONG_SON, 1, 1).await;
    let door = door(&pg, &key, 8, &["--trusted-proxies", "127.0.0.1"]);
    let (status, held) = hold(&door, &client(1), "dong-son", starts[0], &phone(1)).await;
    assert_eq!(status, 201, "{held}");
    let (client_db, connection) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .expect("the database");
    tokio::spawn(connection);
    let count = || async {
        client_db
            .query_one(
                "SELECT count(*) FROM province_bookings WHERE phone_hash IS NOT NULL",
                &[],
            )
            .await
            .expect("count")
            .get::<_, i64>(0)
    };
    let link = {
        let mut l = province::Link::new(pg.database());
        l.password_file = Some(pg.password_file());
        l
    };
    let sweeper = province_door::Door::new(&link, 2).expect("a door");
    province_door::booking::sweep(&sweeper)
        .await
        .expect("swept");
    assert_eq!(count().await, 1, "its day is not over");
    // Past its day, no phone's hash is left.
    client_db
        .execute("UPDATE province_bookings SET day = day - 3", &[])
        .await
        .expect("aged");
    province_door::booking::sweep(&sweeper)
        .await
        .expect("swept");
    assert_eq!(count().await, 0);
}

#[tokio::test]
async fn the_proof_of_work_is_required_good_once_and_never_forged() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("a directory");
    let (key, _) = new_booking_key(dir.path());
    let starts = centre_with_slots(&pg, "dong-son", DONG_SON, 2, 5).await;
    let door = door(&pg, &key, 12, &["--trusted-proxies", "127.0.0.1"]);
    let (challenge, nonce) = proof(&door, &client(1)).await;
    let wrong = (0_u64..)
        .map(|n| n.to_string())
        .find(|n| province_door::proof::leading_zero_bits(&challenge, n) < 12)
        .expect("most fail");
    let ask = |nonce: &str, challenge: &str, n: u32| {
        json!({"centre": "dong-son", "service": "HT", "start": starts[0], "phone": phone(n),
            "challenge": challenge, "nonce": nonce})
    };
    let (status, refused) = post(
        &door,
        "/api/bookings",
        &client(1),
        &ask(&wrong, &challenge, 1),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("proof_refused")),
        "{refused}"
    );
    let (status, held) = post(
        &door,
        "/api/bookings",
        &client(1),
        &ask(&nonce, &challenge, 1),
    )
    .await;
    assert_eq!(status, 201, "{held}");
    let (status, reused) = post(
        &door,
        "/api/bookings",
        &client(2),
        &ask(&nonce, &challenge, 2),
    )
    .await;
    assert_eq!(
        (status, reused["error"]["code"].as_str()),
        (403, Some("proof_refused")),
        "good once: {reused}"
    );
    let forged = format!("{}.{}", unix_now(), "00".repeat(40));
    let (status, _) = post(&door, "/api/bookings", &client(3), &ask("0", &forged, 3)).await;
    assert_eq!(status, 403, "a challenge no door made");
    // Another province's door (another key) made it: refused as well.
    let other_dir = tempfile::tempdir().expect("a directory");
    let (other_key, _) = new_booking_key(other_dir.path());
    let other = self::door(&pg, &other_key, 12, &["--trusted-proxies", "127.0.0.1"]);
    let (challenge, nonce) = proof(&other, &client(4)).await;
    let (status, _) = post(
        &door,
        "/api/bookings",
        &client(4),
        &ask(&nonce, &challenge, 4),
    )
    .await;
    assert_eq!(status, 403);
}

fn unix_now() -> i64 {
    Utc::now().timestamp()
}

#[tokio::test]
async fn an_address_has_its_allowance_and_a_forged_forwarded_for_buys_none() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("a directory");
    let (key, _) = new_booking_key(dir.path());
    let starts = centre_with_slots(&pg, "dong-son", DONG_SON, 1, 50).await;
    // No trusted proxy: the header is anyone's to write, so it is ignored.
    let door = door(&pg, &key, 0, &[]);
    let body = json!({"centre": "dong-son", "service": "HT", "start": starts[0], "phone": "x",
        "challenge": "x", "nonce": "0"});
    let scalper: IpAddr = "127.0.0.9".parse().expect("loopback");
    let mut statuses = Vec::new();
    for n in 0..8 {
        let (status, _) = raw::request_from_forwarded_for(
            Some(scalper),
            door.addr,
            "POST",
            "/api/bookings",
            &client(n),
            Some(&body),
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(
        statuses[..5],
        [400; 5],
        "the burst is served (and this body refused): {statuses:?}"
    );
    assert!(
        statuses[5..].iter().all(|s| *s == 429),
        "then the address waits, whatever it forwards: {statuses:?}"
    );
    let neighbour: IpAddr = "127.0.0.10".parse().expect("loopback");
    let (status, _) = raw::request_from(
        Some(neighbour),
        door.addr,
        "POST",
        "/api/bookings",
        None,
        Some(&body),
    )
    .await;
    assert_eq!(status, 400, "another address has its own allowance");
}

async fn shot(browser: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("PROVINCE_SCREENSHOTS") {
        browser
            .screenshot(&std::path::PathBuf::from(dir).join(format!("{name}.png")))
            .await;
    }
}

#[tokio::test]
async fn a_citizen_books_on_a_phone_with_the_full_proof_of_work() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("a directory");
    let (key, public) = new_booking_key(dir.path());
    centre_with_slots(&pg, "dong-son", DONG_SON, 8, 2).await;
    centre_with_slots(&pg, "quang-xuong", QUANG_XUONG, 4, 1).await;
    // The default difficulty: what a real phone pays.
    let door = DoorProcess::start_with(&pg, &[OsStr::new("--booking-key-file"), key.as_os_str()]);
    let browser = Browser::start().await;
    let c = &browser.client;
    c.set_window_size(390, 844).await.expect("a phone");
    c.goto(&format!("http://{}/dat-lich", door.addr))
        .await
        .expect("open");
    browser.wait_for_text("service", "Hộ tịch").await;
    browser.click("#dates button").await;
    browser.wait_for_text("slots", "còn 2 chỗ").await;
    browser.click("#slots button").await;
    browser.type_into("#phone", "0912 345 678").await;
    shot(&browser, "province-booking-phone").await;
    browser.click("#hold").await;
    browser
        .wait_for_text("countdown", "Chỗ được giữ thêm")
        .await;
    shot(&browser, "province-booking-held-phone").await;
    browser.click("#confirm").await;
    let code = browser.wait_for_text("code", "-").await;
    let what = browser.text_of("#done-what").await;
    assert!(
        what.contains("Hộ tịch") && what.contains("Nhận số"),
        "{what}"
    );
    shot(&browser, "province-booking-done-phone").await;
    // The QR drawn is the pass, checked by the hubs' key.
    let src = c
        .find(fantoccini::Locator::Css("#qr"))
        .await
        .expect("the QR")
        .attr("src")
        .await
        .expect("its address")
        .expect("set");
    let pass = src.rsplit('/').next().expect("the pass");
    let pass =
        province_pass::Pass::verify(pass, &[province_pass::checking_key(&public).expect("key")])
            .expect("signed");
    assert_eq!(pass.code, code.replace('-', ""));
    c.set_window_size(1366, 768).await.expect("a desktop");
    browser.click("#lang").await;
    browser.wait_for_text("h-done", "Your booking").await;
    shot(&browser, "province-booking-done-desktop").await;
    browser.close().await;
}
