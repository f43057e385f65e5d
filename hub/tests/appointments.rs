//! Appointments against a whole hub on a manual clock: the HTTP API exactly as the shared
//! contract says (slots, booking, limits, look-up, cancellation, quarantine), check-in at the
//! kiosk and its windows, missed bookings announced by the clock, a staff booking, a restart,
//! capacity under a race, and no phone number anywhere in the database.

use std::sync::Arc;

use chrono::TimeDelta;
use protocol::{Command, EventKind, Role};
use serde_json::{Value, json};
use testkit::{Client, ManualClock, raw, start_hub_on};

const PHONE: &str = "0912345678";

/// Monday 2026-11-23 in Hà Nội at `hm`, as the API writes times.
fn monday(hm: &str) -> String {
    format!("2026-11-23T{hm}:00+07:00")
}

/// Each change comes from another loopback address: one address may make thirty at once, and
/// these tests make more (the allowance has a test of its own).
static NEXT_SOURCE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

async fn from_another_address(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    let n = NEXT_SOURCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let local = std::net::IpAddr::from([127, 2, (n / 250) as u8, (n % 250) as u8 + 1]);
    let (status, response) =
        raw::request_from(Some(local), addr, method, path, None, Some(body)).await;
    (status, raw::json_body(&response))
}

async fn book(addr: std::net::SocketAddr, service: &str, start: &str, phone: &str) -> (u16, Value) {
    let body = json!({"service": service, "start": start, "phone": phone});
    from_another_address(addr, "POST", "/api/appointments", &body).await
}

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, Value) {
    let (status, response) = raw::request(addr, "GET", path, None, None).await;
    (status, raw::json_body(&response))
}

async fn cancel(addr: std::net::SocketAddr, code: &str, phone: &str) -> (u16, Value) {
    let body = json!({"phone": phone});
    from_another_address(addr, "DELETE", &format!("/api/appointments/{code}"), &body).await
}

/// The clock set to Monday at `hm` in Hà Nội.
fn set_clock(clock: &ManualClock, hm: &str) {
    let at = chrono::DateTime::parse_from_rfc3339(&monday(hm)).expect("a time");
    clock.set(at.into());
}

fn error_code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn booking_over_http_as_the_shared_contract_says() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::at(&monday("07:00")));
    let hub = start_hub_on(&clock, &dir.path().join("hub.db")).await;
    let addr = hub.addr;
    slots_as_listed(addr, &clock).await;
    let code = refusals_then_a_booking(addr).await;
    limits_per_phone_and_slot(addr).await;
    look_up_and_cancel(addr, &clock, &code).await;
    bad_bodies_harm_nothing(addr).await;
    hub.stop().await.expect("stop");
    // The phone numbers are nowhere in the database, in any form.
    let bytes = std::fs::read(dir.path().join("hub.db")).expect("db");
    let text = String::from_utf8_lossy(&bytes);
    for phone in [PHONE, "912345678", "0901000001", "901000003"] {
        assert!(!text.contains(phone), "{phone} is in the database");
    }
}

async fn slots_as_listed(addr: std::net::SocketAddr, clock: &ManualClock) {
    // Slots: DD takes appointments in office hours, 30 minutes, 3 places.
    let (status, slots) = get(addr, "/api/appointments/slots?service=DD&date=2026-11-23").await;
    assert_eq!(status, 200, "{slots}");
    assert_eq!(slots["service"], "DD");
    assert_eq!(slots["date"], "2026-11-23");
    let list = slots["slots"].as_array().expect("slots");
    assert_eq!(
        list.len(),
        13,
        "07:30–11:00 and 13:30–16:30 by halves: {slots}"
    );
    assert_eq!(list[0]["start"], monday("07:30"));
    assert_eq!(list[0]["end"], monday("08:00"));
    assert_eq!(list[0]["free"], 3);
    let (_, sunday) = get(addr, "/api/appointments/slots?service=DD&date=2026-11-29").await;
    assert_eq!(sunday["slots"], json!([]), "no slots on Sunday");
    let (status, far) = get(addr, "/api/appointments/slots?service=DD&date=2026-12-23").await;
    assert_eq!(
        (status, far["slots"].clone()),
        (200, json!([])),
        "outside the days ahead"
    );
    for (path, want, code) in [
        (
            "/api/appointments/slots?service=XX&date=2026-11-23",
            404,
            "unknown_service",
        ),
        (
            "/api/appointments/slots?service=GTVT&date=2026-11-23",
            404,
            "unknown_service",
        ),
        ("/api/appointments/slots?service=DD", 400, "bad_request"),
        (
            "/api/appointments/slots?service=DD&date=23/11/2026",
            400,
            "bad_request",
        ),
    ] {
        let (status, body) = get(addr, path).await;
        assert_eq!((status, error_code(&body)), (want, code), "{path}: {body}");
    }
    // Only slots that have not started are listed.
    clock.advance(TimeDelta::hours(1));
    let (_, later) = get(addr, "/api/appointments/slots?service=DD&date=2026-11-23").await;
    assert_eq!(later["slots"][0]["start"], monday("08:30"), "{later}");
}

/// Returns the booking's code.
async fn refusals_then_a_booking(addr: std::net::SocketAddr) -> String {
    // Booking.
    let (status, refused) = book(addr, "DD", &monday("09:00"), "12345").await;
    assert_eq!((status, error_code(&refused)), (400, "bad_request"));
    let (status, refused) = book(addr, "DD", &monday("09:10"), PHONE).await;
    assert_eq!(
        (status, error_code(&refused)),
        (409, "not_bookable"),
        "not a slot's start"
    );
    let (status, refused) = book(addr, "DD", &monday("07:30"), PHONE).await;
    assert_eq!(
        (status, error_code(&refused)),
        (409, "not_bookable"),
        "started"
    );
    let (status, refused) = book(addr, "GTVT", &monday("09:00"), PHONE).await;
    assert_eq!((status, error_code(&refused)), (404, "unknown_service"));
    let (status, booked) = book(addr, "DD", &monday("09:00"), "091 234 5678").await;
    assert_eq!(status, 201, "{booked}");
    let code = booked["code"].as_str().expect("a code").to_string();
    assert!(
        code.len() <= 10
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'9').contains(&b))
            && !code.contains(['O', 'I', 'L', '0', '1']),
        "{code}"
    );
    assert_eq!(booked["service"], "DD");
    assert_eq!(booked["start"], monday("09:00"));
    assert_eq!(booked["end"], monday("09:30"));
    assert_eq!(booked["check_in_from"], monday("08:30"));
    assert_eq!(booked["check_in_until"], monday("09:15"));
    assert_eq!(booked["status"], "booked");
    code
}

async fn limits_per_phone_and_slot(addr: std::net::SocketAddr) {
    // Two a phone a day, all fields together; the number written another way is the same.
    let (status, _) = book(addr, "TP", &monday("10:00"), "+84 912 345 678").await;
    assert_eq!(status, 201);
    let (status, refused) = book(addr, "DD", &monday("10:00"), PHONE).await;
    assert_eq!((status, error_code(&refused)), (429, "limit_reached"));
    let tuesday = "2026-11-24T09:00:00+07:00";
    let (status, _) = book(addr, "DD", tuesday, PHONE).await;
    assert_eq!(status, 201, "another day");

    // A slot holds its places.
    for phone in ["0901000001", "0901000002"] {
        let (status, _) = book(addr, "DD", &monday("09:00"), phone).await;
        assert_eq!(status, 201);
    }
    let (status, refused) = book(addr, "DD", &monday("09:00"), "0901000003").await;
    assert_eq!((status, error_code(&refused)), (409, "slot_full"));
    let (_, now) = get(addr, "/api/appointments/slots?service=DD&date=2026-11-23").await;
    let nine = now["slots"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["start"] == monday("09:00")).cloned())
        .expect("09:00");
    assert_eq!(nine["free"], 0);
}

async fn look_up_and_cancel(addr: std::net::SocketAddr, clock: &ManualClock, code: &str) {
    // Look-up, by the code in any case.
    let (status, seen) = get(addr, &format!("/api/appointments/{}", code.to_lowercase())).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(
        (seen["code"].as_str(), seen["status"].as_str()),
        (Some(code), Some("booked"))
    );
    assert_eq!(seen["ticket"], Value::Null);
    let (status, unknown) = get(addr, "/api/appointments/AAAAAAAA").await;
    assert_eq!((status, error_code(&unknown)), (404, "not_found"));

    // Cancelling: a wrong phone is an unknown code; the place stays closed for a while.
    let (status, refused) = cancel(addr, code, "0901000001").await;
    assert_eq!((status, error_code(&refused)), (404, "not_found"));
    let (status, cancelled) = cancel(addr, code, PHONE).await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    let (_, seen) = get(addr, &format!("/api/appointments/{code}")).await;
    assert_eq!(seen["status"], "cancelled");
    let (status, refused) = book(addr, "DD", &monday("09:00"), "0901000003").await;
    assert_eq!(
        (status, error_code(&refused)),
        (409, "slot_full"),
        "quarantined"
    );
    clock.advance(TimeDelta::minutes(10));
    let (status, _) = book(addr, "DD", &monday("09:00"), "0901000003").await;
    assert_eq!(status, 201, "free again after the quarantine");
}

async fn bad_bodies_harm_nothing(addr: std::net::SocketAddr) {
    // Malformed bodies, and oversized ones, harm nothing.
    let (status, response) = raw::request(
        addr,
        "POST",
        "/api/appointments",
        None,
        Some(&json!({"service": "DD", "start": "tomorrow", "phone": PHONE})),
    )
    .await;
    assert_eq!(status, 400, "{response}");
    let huge = json!({"service": "DD", "start": monday("09:30"), "phone": "0".repeat(5000)});
    let (status, _) = raw::request(addr, "POST", "/api/appointments", None, Some(&huge)).await;
    assert_eq!(status, 413, "bodies are bounded");
}

#[tokio::test]
async fn check_in_at_the_kiosk_within_the_window_gives_one_ticket() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::at(&monday("07:00")));
    let hub = start_hub_on(&clock, &dir.path().join("hub.db")).await;
    let addr = hub.addr;
    let (_, booked) = book(addr, "TP", &monday("09:00"), PHONE).await;
    let code = booked["code"].as_str().expect("code").to_string();
    let (_, late_one) = book(addr, "TP", &monday("09:15"), "0901000001").await;
    let late_code = late_one["code"].as_str().expect("code").to_string();
    let (kiosk, _) = Client::connect(addr, Role::Kiosk, "kiosk-1").await;
    let (other_kiosk, _) = Client::connect(addr, Role::Kiosk, "kiosk-2").await;
    let (mut board, _) = Client::connect(addr, Role::Display, "display-1").await;
    let check_in = |code: &str| Command::CheckIn {
        code: code.into(),
        phone: None,
    };

    let early = kiosk.send(check_in(&code)).await.expect_err("too early");
    let early = early.to_string();
    assert!(
        early.contains("appointment_early") && early.contains("08:30"),
        "{early}"
    );
    let unknown = kiosk
        .send(check_in("AAAA-AAAA"))
        .await
        .expect_err("unknown");
    assert!(unknown.to_string().contains("not_found"), "{unknown}");

    set_clock(&clock, "08:40");
    let ticket = kiosk.send(check_in(&code)).await.expect("checked in");
    let ticket = ticket.ticket().cloned().expect("a ticket");
    assert_eq!(ticket.service, "TP");
    let appointment = ticket
        .appointment
        .clone()
        .expect("the ticket names its booking");
    assert_eq!(appointment.code, code);
    assert_eq!(appointment.start.to_rfc3339(), monday("09:00"));
    // Its tracking page works as any ticket's, and names the appointment.
    let track = ticket
        .track
        .clone()
        .expect("the kiosk gets the tracking code");
    let (status, page) = raw::get(addr, &format!("/t/{track}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!(r#""appointment":{{"code":"{code}""#)),
        "{page}"
    );
    let (_, event) = board.event(EventKind::AppointmentCheckedIn).await;
    assert_eq!(
        event.appointment.as_ref().map(|a| a.status),
        Some(protocol::AppointmentStatus::CheckedIn)
    );
    // Again, from another kiosk, in small letters: the same ticket.
    let again = other_kiosk
        .send(check_in(&code.to_lowercase()))
        .await
        .expect("again");
    assert_eq!(again.ticket().map(|t| t.id), Some(ticket.id));
    let (_, seen) = get(addr, &format!("/api/appointments/{code}")).await;
    assert_eq!(
        (seen["status"].as_str(), seen["ticket"].as_str()),
        (Some("checked_in"), Some(ticket.number.as_str()))
    );
    let (status, refused) = cancel(addr, &code, PHONE).await;
    assert_eq!((status, error_code(&refused)), (409, "invalid_state"));

    // The early one joins its queue when its slot starts.
    set_clock(&clock, "09:00");
    let (_, queued) = board.event(EventKind::TicketQueued).await;
    assert_eq!(queued.ticket.map(|t| t.id), Some(ticket.id));

    // Not checked in by the end of its window: missed, announced by the clock.
    set_clock(&clock, "09:30");
    let (_, missed) = board.event(EventKind::AppointmentMissed).await;
    assert_eq!(
        missed.appointment.as_ref().map(|a| a.code.as_str()),
        Some(late_code.as_str())
    );
    let late = kiosk.send(check_in(&late_code)).await.expect_err("late");
    assert!(late.to_string().contains("appointment_late"), "{late}");
    let (_, seen) = get(addr, &format!("/api/appointments/{late_code}")).await;
    assert_eq!(seen["status"], "missed");

    // Called 12 minutes after its slot began: the figures say so.
    let clerk = Client::clerk(addr, 1).await;
    set_clock(&clock, "09:12");
    let called = clerk.send(Command::CallNext {}).await.expect("call");
    assert_eq!(
        called.ticket().map(|t| t.id),
        Some(ticket.id),
        "the appointment first"
    );
    hub.stop().await.expect("stop");
    let db = dir.path().join("hub.db");
    let db = db.to_str().expect("path");
    let args = [
        "report",
        "--config",
        "demo",
        "--db",
        db,
        "--from",
        "2026-11-23",
        "--appointments",
    ];
    let csv = testkit::hub_cli_ok(
        env!("CARGO_BIN_EXE_hub"),
        &[&args[..], &["--format", "csv"]].concat(),
    );
    assert!(
        csv.lines()
            .any(|l| l == "2026-11-23,TP,2,0,1,1,0,12.00,12.00,1.000"),
        "booked 2, checked in 1, missed 1; called after 12 minutes, within the target:\n{csv}"
    );
    let table = testkit::hub_cli_ok(env!("CARGO_BIN_EXE_hub"), &args);
    assert!(
        table.contains("lỡ hẹn") && table.contains("Tổng"),
        "{table}"
    );
}

#[tokio::test]
async fn staff_book_on_behalf_and_a_restart_keeps_the_book() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let clock = Arc::new(ManualClock::at(&monday("16:00")));
    let hub = start_hub_on(&clock, &db).await;
    let (admin, _) = Client::connect(hub.addr, Role::Admin, "admin").await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let tomorrow = chrono::DateTime::parse_from_rfc3339("2026-11-24T08:00:00+07:00").expect("t");
    let booked = admin
        .send(Command::BookAppointment {
            service: "TP".into(),
            start: tomorrow,
        })
        .await
        .expect("booked by staff");
    let protocol::ReplyResult::Appointment { appointment } = booked else {
        panic!("an appointment: {booked:?}")
    };
    assert_eq!(appointment.status, protocol::AppointmentStatus::Booked);
    let refused = kiosk
        .send(Command::BookAppointment {
            service: "TP".into(),
            start: tomorrow,
        })
        .await
        .expect_err("a kiosk does not book");
    assert!(refused.to_string().contains("forbidden"));
    let spare = admin
        .send(Command::BookAppointment {
            service: "TP".into(),
            start: tomorrow + TimeDelta::minutes(15),
        })
        .await
        .expect("booked");
    let protocol::ReplyResult::Appointment { appointment: spare } = spare else {
        panic!("an appointment")
    };
    let cancelled = admin
        .send(Command::CancelAppointment {
            code: spare.code.clone(),
        })
        .await
        .expect("cancelled");
    assert!(matches!(
        cancelled,
        protocol::ReplyResult::Appointment { appointment } if appointment.status == protocol::AppointmentStatus::Cancelled
    ));
    drop((admin, kiosk));
    hub.stop().await.expect("stop");

    // The next morning, on a restarted hub: the booking made yesterday is there.
    clock.set(tomorrow.with_timezone(&chrono::Utc) - TimeDelta::minutes(10));
    let hub = start_hub_on(&clock, &db).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let ticket = kiosk
        .send(Command::CheckIn {
            code: appointment.code.clone(),
            phone: None,
        })
        .await
        .expect("checked in");
    assert_eq!(ticket.ticket().map(|t| t.number.as_str()), Some("A1001"));
    let (_, seen) = get(hub.addr, &format!("/api/appointments/{}", spare.code)).await;
    assert_eq!(seen["status"], "cancelled");
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_hundred_bookers_racing_for_one_slot_never_overfill_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::at(&monday("07:00")));
    let hub = start_hub_on(&clock, &dir.path().join("hub.db")).await;
    let addr = hub.addr;
    // Each booker comes from its own address, as a hundred phones would.
    let racers = (0..100u32).map(|i| {
        tokio::spawn(async move {
            book(addr, "DD", &monday("09:00"), &format!("09{i:08}"))
                .await
                .0
        })
    });
    let mut statuses = Vec::new();
    for r in racers {
        statuses.push(r.await.expect("racer"));
    }
    let booked = statuses.iter().filter(|s| **s == 201).count();
    let full = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((booked, full), (3, 97), "{statuses:?}");
    let (_, slots) = get(addr, "/api/appointments/slots?service=DD&date=2026-11-23").await;
    let nine = slots["slots"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["start"] == monday("09:00")).cloned())
        .expect("09:00");
    assert_eq!(nine["free"], 0);
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn one_address_gets_thirty_changes_then_waits() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::at(&monday("07:00")));
    let hub = start_hub_on(&clock, &dir.path().join("hub.db")).await;
    let mut statuses = Vec::new();
    // Each says it comes through a proxy for another client: a hub that trusts no proxy
    // ignores that.
    for i in 0..31 {
        let start = format!("2026-11-23T{:02}:{:02}:00+07:00", 8 + i / 4, (i % 4) * 15);
        let body = json!({"service": "TP", "start": start, "phone": format!("09{i:08}")});
        let client = format!("203.0.113.{}", i + 1);
        let (status, response) =
            raw::request_forwarded_for(hub.addr, "POST", "/api/appointments", &client, Some(&body))
                .await;
        statuses.push((status, error_code(&raw::json_body(&response)).to_string()));
    }
    let limited: Vec<_> = statuses.iter().filter(|(s, _)| *s == 429).collect();
    assert_eq!(limited.len(), 1, "{statuses:?}");
    assert_eq!(limited[0].1, "rate_limited");
    assert_eq!(statuses.last().map(|(s, _)| *s), Some(429));
    // Looking up is not a change: it has its own, larger allowance.
    let (status, _) = get(
        hub.addr,
        "/api/appointments/slots?service=TP&date=2026-11-23",
    )
    .await;
    assert_eq!(status, 200);
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_allowance() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::at(&monday("07:00")));
    let mut config = testkit::demo_config();
    config.trusted_proxies = vec!["127.0.0.1".parse().expect("address")];
    let hub = hub::Hub::start_with_clock(
        config,
        &dir.path().join("hub.db"),
        "127.0.0.1:0".parse().expect("addr"),
        clock.clone(),
    )
    .await
    .expect("the hub starts");
    // Slots of tomorrow, a quarter of an hour apart (the demo books Justice round the clock).
    let booking = |i: u32| {
        let start = format!("2026-11-24T{:02}:{:02}:00+07:00", i / 4, (i % 4) * 15);
        json!({"service": "TP", "start": start, "phone": format!("09{i:08}")})
    };
    // Forty citizens through the centre's TLS proxy: each has its own allowance.
    for i in 0..40 {
        let client = format!("203.0.113.{}", i + 1);
        let (status, response) = raw::request_forwarded_for(
            hub.addr,
            "POST",
            "/api/appointments",
            &client,
            Some(&booking(i)),
        )
        .await;
        assert_eq!(status, 201, "{response}");
    }
    // One of them, over and over: held back after thirty.
    let mut statuses = vec![];
    for i in 40..71 {
        let (status, _) = raw::request_forwarded_for(
            hub.addr,
            "POST",
            "/api/appointments",
            "198.51.100.7",
            Some(&booking(i)),
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        1,
        "{statuses:?}"
    );
    hub.stop().await.expect("stop");
}
