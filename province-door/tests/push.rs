//! Web Push from the province's door: a ticket followed there (its QR opened from anywhere) is
//! told on a locked phone — "near" once, "called", "recalled" — by exactly one of two door
//! instances, through a push service of the tests' own that checks the VAPID signature and
//! decrypts each message as a phone would. The tickets are rows as a hub ships them.

mod common;

use std::ffi::OsStr;
use std::time::Duration;

use common::{DoorProcess, shipper};
use hub_engine::{CentreWaits, FieldWaits};
use protocol::{ServiceState, ServiceView};
use testkit::push::PushReceiver;
use testkit::{Postgres, raw};

const WITHIN: Duration = Duration::from_secs(30);

fn field(queue: Vec<u64>) -> FieldWaits {
    FieldWaits {
        view: ServiceView {
            id: "HT".into(),
            name_vi: String::new(),
            name_en: String::new(),
            prefix: "A".into(),
            state: ServiceState::Open,
            open: true,
            waiting: queue.len() as u32,
            overdue: 0,
            eta_min: Some(10),
            issued_today: 5,
            target_wait_min: 30,
            target_service_min: 15,
            icon: None,
            appointments: false,
        },
        queue,
        secs_per_ahead: Some(240.0),
        secs_per_ahead_priority: None,
    }
}

fn push_door(pg: &Postgres, key: &std::path::Path) -> DoorProcess {
    DoorProcess::start_with(
        pg,
        &[
            OsStr::new("--push-key-file"),
            key.as_os_str(),
            OsStr::new("--allow-insecure-push-endpoints"),
        ],
    )
}

/// The province with one centre and its fifth ticket (four ahead), as a hub ships them, and
/// a door's push key made by the binary.
struct Followed {
    pg: Postgres,
    _dir: tempfile::TempDir,
    key: std::path::PathBuf,
    centre: province::ship::Shipper,
    client: tokio_postgres::Client,
    track: &'static str,
}

fn waits(queue: Vec<u64>) -> CentreWaits {
    CentreWaits {
        day: None,
        fields: vec![field(queue)],
    }
}

async fn followed() -> Followed {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("a directory");
    let key = dir.path().join("push.key");
    let made = std::process::Command::new(env!("CARGO_BIN_EXE_province-door"))
        .arg("--new-push-key")
        .arg(&key)
        .output()
        .expect("the door runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let centre = shipper(
        &pg,
        "dong-son",
        "Trung tâm Đông Sơn",
        &[("HT", "Hộ tịch", "Civil status")],
    );
    let mut client = centre.connect().await.expect("the province");
    centre
        .publish_waits(&mut client, &waits(vec![1, 2, 3, 4, 5]))
        .await
        .expect("published");
    let track = "Tr4ckC0deOfFifthTkt5";
    client
        .execute(
            "INSERT INTO tickets (centre, id, day, number, service, status, issued_at, recalls,
                 transfers, overdue_wait, overdue_service, seq, track_hash)
             VALUES ('dong-son', 5, (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, 'A1005', 'HT',
                 'waiting', now(), 0, 0, false, false, 10, $1)",
            &[&province::track_hash(track)],
        )
        .await
        .expect("a ticket");
    Followed {
        pg,
        _dir: dir,
        key,
        centre,
        client,
        track,
    }
}

#[tokio::test]
async fn a_door_keeps_two_followers_a_ticket_and_refuses_the_rest() {
    let f = followed().await;
    let track = f.track;
    let doors = [push_door(&f.pg, &f.key)];
    let phones = PushReceiver::start().await;
    let path = format!("/t/{track}/push");
    for name in ["phone", "relative"] {
        let (status, body) = raw::request(
            doors[0].addr,
            "POST",
            &path,
            None,
            Some(&phones.subscription(name)),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, _) = raw::request(
        doors[0].addr,
        "POST",
        &path,
        None,
        Some(&phones.subscription("third")),
    )
    .await;
    assert_eq!(status, 429, "two followers a ticket");
    let (status, _) = raw::request(
        doors[0].addr,
        "POST",
        "/t/NoSuchTicketCode000/push",
        None,
        Some(&phones.subscription("x")),
    )
    .await;
    assert_eq!(status, 404);
    let bad = serde_json::json!({"endpoint": "http://127.0.0.1:1/x", "keys": {"p256dh": "AAAA", "auth": "AAAA"}});
    assert_eq!(
        raw::request(doors[0].addr, "POST", &path, None, Some(&bad))
            .await
            .0,
        400
    );
    let (status, worker) = raw::get_whole(doors[0].addr, &format!("/t/{track}/push-sw.js")).await;
    assert_eq!(status, 200);
    assert!(
        worker.contains("text/javascript") && worker.contains("showNotification"),
        "{worker}"
    );
    let (status, _) = raw::request(doors[0].addr, "DELETE", &path, None, None).await;
    assert_eq!(status, 204);
    let left: i64 = f
        .client
        .query_one("SELECT count(*) FROM door_push", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(left, 0, "unfollowed");
}

#[tokio::test]
async fn a_ticket_followed_at_the_door_is_told_near_called_and_recalled_once_each() {
    let Followed {
        pg,
        _dir,
        key,
        centre,
        mut client,
        track,
    } = followed().await;
    let doors = [push_door(&pg, &key), push_door(&pg, &key)];
    let phones = PushReceiver::start().await;
    let path = format!("/t/{track}/push");
    let (k0, key0) = raw::get(doors[0].addr, "/push/key").await;
    let (k1, key1) = raw::get(doors[1].addr, "/push/key").await;
    assert_eq!((k0, k1), (200, 200));
    assert_eq!(key0, key1, "one key for the province, on every instance");
    for (door, name) in [(&doors[0], "phone"), (&doors[1], "relative")] {
        let (status, body) = raw::request(
            door.addr,
            "POST",
            &path,
            None,
            Some(&phones.subscription(name)),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    // Four ahead: nothing yet. Two ahead: "near", to each follower once.
    centre
        .publish_waits(&mut client, &waits(vec![3, 4, 5]))
        .await
        .expect("published");
    let near = phones.wait_for(2, WITHIN).await;
    assert_eq!(near.len(), 2, "{near:?}");
    for m in &near {
        assert_eq!(m.message["kind"], "near");
        assert_eq!(m.message["ahead"], 2);
        assert_eq!(m.message["title"], "Sắp đến lượt số A1005");
        assert_eq!(m.claims["sub"], "mailto:hanhchinhcong@example.gov.vn");
    }
    // Called to counter 2, then recalled.
    client
        .execute(
            "UPDATE tickets SET status = 'called', called_at = now(), first_called_at = now(),
                counter = 2 WHERE centre = 'dong-son' AND id = 5",
            &[],
        )
        .await
        .expect("called");
    let called = phones.wait_for(4, WITHIN).await;
    assert_eq!(called.len(), 4, "{called:?}");
    for m in &called[2..] {
        assert_eq!(m.message["kind"], "called");
        assert_eq!(m.message["counter"], 2);
        assert_eq!(m.message["title"], "Mời số A1005 đến Quầy 2");
    }
    client
        .execute(
            "UPDATE tickets SET recalls = 1, called_at = now() WHERE centre = 'dong-son' AND id = 5",
            &[],
        )
        .await
        .expect("recalled");
    let all = phones.wait_for(6, WITHIN).await;
    assert_eq!(all.len(), 6, "{all:?}");
    assert!(
        all[4..].iter().all(|m| m.message["kind"] == "recalled"),
        "{all:?}"
    );
    let kinds: Vec<_> = all
        .iter()
        .map(|m| m.message["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "near").count(),
        2,
        "near went once each: {kinds:?}"
    );
    assert!(phones.refused().is_empty(), "{:?}", phones.refused());
    // Finished: its followers are forgotten.
    client
        .execute(
            "UPDATE tickets SET status = 'done' WHERE centre = 'dong-son' AND id = 5",
            &[],
        )
        .await
        .expect("done");
    let mut link = province::Link::new(pg.database());
    link.password_file = Some(pg.password_file());
    let door = province_door::Door::new(&link, 2).expect("a door");
    province_door::push::forget_ended(&door)
        .await
        .expect("forgotten");
    let left: i64 = client
        .query_one("SELECT count(*) FROM door_push", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(left, 0, "nothing about the citizen outlives the ticket");
}

#[tokio::test]
async fn the_tracking_page_offers_push_where_the_door_sends_it() {
    let f = followed().await;
    let door = push_door(&f.pg, &f.key);
    let (status, head) = raw::get_whole(door.addr, &format!("/t/{}", f.track)).await;
    assert_eq!(status, 200);
    assert!(
        head.contains("worker-src 'self'"),
        "the worker may be registered: {head}"
    );
    let browser = testkit::Browser::start().await;
    let c = &browser.client;
    c.set_window_size(390, 844).await.expect("a phone");
    // Loopback is a secure context, as the province's HTTPS is.
    c.goto(&format!("http://{}/t/{}", door.addr, f.track))
        .await
        .expect("open");
    browser
        .wait_for_text("notify", "Báo cho tôi khi sắp đến lượt")
        .await;
    if let Some(dir) = std::env::var_os("PROVINCE_SCREENSHOTS") {
        browser
            .screenshot(&std::path::PathBuf::from(dir).join("province-ticket-push-phone.png"))
            .await;
    }
    browser.click("#lang").await;
    browser
        .wait_for_text("notify", "Tell me when my turn is near")
        .await;
    browser.close().await;
}
