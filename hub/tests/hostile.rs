//! The hub against a device that misbehaves, as someone holding a device token would: refused
//! commands must cost nothing durable, and reconnecting must not refill a device's rate limit.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use testkit::raw::{self, Ws};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

const LOOPBACK: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// A connection with a tiny receive buffer: the hub's writes to it soon stop halfway.
async fn narrow(addr: SocketAddr, role: &str, device: &str) -> Ws {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(2048).expect("receive buffer");
    let stream = socket.connect(addr).await.expect("connect");
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), stream)
        .await
        .expect("handshake");
    let mut ws = ws;
    raw::say(&mut ws, &raw::demo_hello(role, device)).await;
    ws
}

/// Sends `n` commands, then reads their `n` replies; returns how many were refused with `code`.
async fn burst(ws: &mut Ws, prefix: &str, n: usize, cmd: &str, code: &str) -> usize {
    for i in 0..n {
        let m = json!({"type": "cmd", "id": format!("{prefix}:{i}"), "cmd": cmd,
                       "args": {"status": "ok"}});
        raw::send(ws, &m).await;
    }
    let (mut replies, mut refused) = (0, 0);
    while replies < n {
        let m = raw::next(ws).await.expect("a reply for every command");
        if m["type"] == "reply" {
            replies += 1;
            if m["error"]["code"] == code {
                refused += 1;
            }
        }
    }
    refused
}

/// A kiosk connects and gets a ticket at once: what no attack may prevent.
async fn a_kiosk_is_served(addr: SocketAddr) {
    let mut kiosk = raw::device(addr, "kiosk", "kiosk-1").await.0;
    let m = json!({"type": "cmd", "id": "k:1", "cmd": "issue_ticket", "args": {"service": "TP"}});
    raw::send(&mut kiosk, &m).await;
    let reply = reply_to(&mut kiosk, "k:1").await;
    assert_eq!(reply["ok"], true, "{reply}");
}

/// The reply to command `id`, skipping events.
async fn reply_to(ws: &mut Ws, id: &str) -> Value {
    loop {
        let m = raw::next(ws).await.expect("a reply");
        if m["type"] == "reply" && m["id"] == id {
            return m;
        }
    }
}

fn counts(db: &std::path::Path) -> ledger::Counts {
    ledger::Reader::open(db)
        .and_then(|r| r.counts())
        .expect("the database's counts")
}

#[tokio::test]
async fn refused_commands_write_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let hub = testkit::start_hub(&db).await;
    let events_at_start = counts(&db).events;
    let mut board = raw::device(hub.addr, "display", "display-1").await.0;
    // A board may not call: 300 refusals, and 300 unchanged statuses (accepted, no effect).
    let forbidden = burst(&mut board, "d", 300, "call_next", "forbidden").await;
    assert_eq!(forbidden, 300);
    burst(&mut board, "s", 1, "device_status", "-").await;
    burst(&mut board, "t", 300, "device_status", "-").await;
    hub.stop().await.expect("stop");
    assert_eq!(
        counts(&db).replies,
        1,
        "only the one status change is remembered"
    );
    assert_eq!(
        counts(&db).events,
        events_at_start + 1,
        "one device_status event, nothing for the refusals"
    );
}

#[tokio::test]
async fn reconnecting_does_not_refill_a_device_rate_limit() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = testkit::start_hub(&dir.path().join("hub.db")).await;
    // The demo centre allows a burst of 500 messages, then 200 a second.
    let mut first = raw::device(hub.addr, "display", "display-1").await.0;
    // The bucket is emptied after this instant, so it cannot have refilled for longer since.
    let started = Instant::now();
    let limited = burst(&mut first, "a", 500, "device_status", "rate_limited").await;
    assert_eq!(limited, 0, "the burst is allowed");
    drop(first);
    let mut second = raw::device(hub.addr, "display", "display-1").await.0;
    // (Fewer than the 200 refusals in a row after which the hub closes a flooding connection.)
    let limited = burst(&mut second, "b", 150, "device_status", "rate_limited").await;
    // Tokens come back at 200 a second since the bucket was emptied, not all at once.
    let refilled = (started.elapsed().as_secs_f64() * 200.0).ceil() as usize;
    assert!(
        limited + refilled >= 150,
        "{limited} of 150 limited, at most {refilled} tokens refilled"
    );
    hub.stop().await.expect("stop");
}

fn hub_binary(db: &std::path::Path) -> testkit::HubProcess {
    testkit::HubProcess::demo(std::path::Path::new(env!("CARGO_BIN_EXE_hub")), db)
}

/// One login from a fresh connection of `device`; the reply's error code, or "ok".
async fn login(addr: SocketAddr, device: &str, staff: &str, pin: &str, counter: u32) -> String {
    let mut ws = raw::device(addr, "counter", device).await.0;
    let m = json!({"type": "cmd", "id": format!("{device}:login"), "cmd": "login",
                   "args": {"counter": counter, "staff": staff, "pin": pin}});
    raw::send(&mut ws, &m).await;
    loop {
        let r = raw::next(&mut ws).await.expect("a reply");
        if r["type"] == "reply" {
            return if r["ok"] == true {
                "ok".into()
            } else {
                r["error"]["code"].as_str().unwrap_or_default().to_string()
            };
        }
    }
}

#[tokio::test]
async fn guessing_pins_over_reconnections_is_slowed_and_the_clerk_still_logs_in() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = hub_binary(&dir.path().join("hub.db"));
    // A stolen counter token: five guesses, each on a new connection, then it must wait.
    for guess in ["0000", "1111", "2222", "3333", "4444"] {
        assert_eq!(
            login(hub.addr, "counter-5", "nv01", guess, 5).await,
            "unauthorized"
        );
    }
    for guess in ["5555", "1234"] {
        assert_eq!(
            login(hub.addr, "counter-5", "nv01", guess, 5).await,
            "rate_limited",
            "no PIN is checked while the device waits, not even the right one"
        );
    }
    // The clerk at their own counter is not locked out by someone else's guessing.
    assert_eq!(login(hub.addr, "counter-1", "nv01", "1234", 1).await, "ok");
    hub.kill();
}

#[tokio::test]
async fn a_login_storm_keeps_the_hub_small() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = hub_binary(&dir.path().join("hub.db"));
    // Every counter token at once, each pipelining 40 wrong PINs.
    let mut storm = Vec::new();
    for n in 1..=8u32 {
        let addr = hub.addr;
        storm.push(tokio::spawn(async move {
            let device = format!("counter-{n}");
            let mut ws = raw::device(addr, "counter", &device).await.0;
            for i in 0..40 {
                let m = json!({"type": "cmd", "id": format!("{device}:{i}"), "cmd": "login",
                               "args": {"counter": n, "staff": format!("nv0{n}"), "pin": format!("{i:04}")}});
                raw::send(&mut ws, &m).await;
            }
            let mut codes = Vec::new();
            while codes.len() < 40 {
                let r = raw::next(&mut ws).await.expect("a reply for every login");
                if r["type"] == "reply" {
                    codes.push(r["error"]["code"].as_str().unwrap_or("ok").to_string());
                }
            }
            codes
        }));
    }
    for s in storm {
        let codes = s.await.expect("a client");
        let wrong = codes.iter().filter(|c| *c == "unauthorized").count();
        assert_eq!(wrong, 5, "the free guesses, then waiting: {codes:?}");
        assert!(
            codes
                .iter()
                .all(|c| c == "unauthorized" || c == "rate_limited")
        );
    }
    let peak = hub.peak_memory().expect("Linux /proc");
    // Two Argon2 checks at a time, each in a working memory of about 19 MiB kept by its thread,
    // on top of the hub's own 20 MB; without the bound, 320 checks at once took 5 GB.
    assert!(peak < 120 << 20, "peak memory {} MB", peak >> 20);
    hub.kill();
}

#[tokio::test]
async fn a_forged_device_name_cannot_write_a_log_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = hub_binary(&dir.path().join("hub.db"));
    let forged = "kiosk-9\n2026-11-23T08:00:00.000000Z  INFO hub: FORGED admin logged in";
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", hub.addr))
        .await
        .expect("connect");
    let hello = json!({"type": "hello", "protocol": 1, "role": "kiosk", "device": forged,
                       "token": "wrong"});
    raw::send(&mut ws, &hello).await;
    let refused = raw::next(&mut ws).await.expect("refused");
    assert_eq!(refused["code"], "unauthorized");
    // The refusal is logged once the hub has answered; wait for that line, then look.
    let refusal = hub
        .wait_for_log("refused: bad device", Duration::from_secs(10))
        .expect("the refusal is logged");
    let lines = hub.log_lines();
    assert!(refusal.contains("kiosk-9\\n2026"), "{refusal}");
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("2026-11-23T08:00:00.000000Z")),
        "a forged line appeared: {lines:?}"
    );
    hub.kill();
}

#[tokio::test]
async fn a_counter_device_bound_to_its_desk_opens_no_other() {
    let toml = include_str!("../../assets/demo-center.toml").replace(
        "token = \"demo-counter-5\"\n",
        "token = \"demo-counter-5\"\ncounters = [5]\n",
    );
    let config = centre_config::Config::parse(&toml, "bound.toml").expect("config");
    let dir = tempfile::tempdir().expect("tmp");
    let hub = testkit::start_hub_with(config, &dir.path().join("hub.db"), LOOPBACK).await;
    assert_eq!(
        login(hub.addr, "counter-5", "nv01", "1234", 1).await,
        "forbidden"
    );
    assert_eq!(login(hub.addr, "counter-5", "nv05", "1234", 5).await, "ok");
    hub.stop().await.expect("stop");
}

#[test]
fn a_device_bound_to_an_unknown_counter_is_a_configuration_error() {
    let toml = include_str!("../../assets/demo-center.toml").replace(
        "token = \"demo-counter-5\"\n",
        "token = \"demo-counter-5\"\ncounters = [42]\n",
    );
    let e = centre_config::Config::parse(&toml, "bound.toml").expect_err("refused");
    assert!(e.to_string().contains("counter 42"), "{e}");
}

/// The HTTP status of a WebSocket handshake sent with `origin`.
async fn handshake_with_origin(addr: SocketAddr, origin: Option<&str>) -> u16 {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/ws")
        .into_client_request()
        .expect("request");
    if let Some(o) = origin {
        request
            .headers_mut()
            .insert("Origin", o.parse().expect("header"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("handshake: {e}"),
    }
}

#[tokio::test]
async fn a_page_from_another_origin_cannot_open_a_websocket() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = testkit::start_hub(&dir.path().join("hub.db")).await;
    let own = format!("http://{}", hub.addr);
    assert_eq!(
        handshake_with_origin(hub.addr, Some("http://evil.example")).await,
        403
    );
    assert_eq!(handshake_with_origin(hub.addr, Some("null")).await, 403);
    assert_eq!(
        handshake_with_origin(hub.addr, Some(&own)).await,
        101,
        "the tracking page"
    );
    assert_eq!(
        handshake_with_origin(hub.addr, None).await,
        101,
        "a native client"
    );
    hub.stop().await.expect("stop");
}

/// A centre with no practical limits, so one kiosk can make many events quickly.
async fn unlimited_centre(dir: &tempfile::TempDir) -> hub::Hub {
    let mut config = testkit::real_clock_config();
    config.limits.burst = 1_000_000;
    config.limits.per_second = 1_000_000;
    for s in config.rules.services.values_mut() {
        s.daily_limit = None;
        s.last_number = 99_999;
    }
    testkit::start_hub_with(config, &dir.path().join("hub.db"), LOOPBACK).await
}

#[tokio::test]
async fn readers_that_never_read_are_cut_off_and_the_centre_goes_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = unlimited_centre(&dir).await;
    // Three boards that say hello and then never read again.
    let mut stalled = Vec::new();
    for n in 1..=2 {
        stalled.push(
            raw::device(hub.addr, "display", &format!("display-{n}"))
                .await
                .0,
        );
    }
    stalled.push(raw::device(hub.addr, "admin", "admin").await.0);
    // A busy morning: 12,000 tickets, every one an event for every board.
    let mut kiosk = raw::device(hub.addr, "kiosk", "kiosk-1").await.0;
    let total = 12_000;
    for chunk in 0..(total / 1_000) {
        for i in 0..1_000 {
            let m = json!({"type": "cmd", "id": format!("k:{chunk}:{i}"), "cmd": "issue_ticket",
                           "args": {"service": "TP"}});
            raw::send(&mut kiosk, &m).await;
        }
        let mut replies = 0;
        while replies < 1_000 {
            let r = raw::next(&mut kiosk).await.expect("the kiosk is served");
            replies += usize::from(r["type"] == "reply");
        }
    }
    // The stalled boards were closed rather than buffered for: reading now finds the end of
    // the connection before all 12,000 events.
    for mut ws in stalled {
        let mut events = 0;
        let ended = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(m) = ws.next().await {
                match m {
                    Ok(Message::Text(t)) if t.as_str().contains("\"type\":\"event\"") => {
                        events += 1
                    }
                    Ok(Message::Close(_)) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "the connection ended");
        assert!(
            events < total,
            "closed after {events} events, not buffered for"
        );
    }
    // And the centre goes on: a new board is served at once.
    let mut fresh = raw::device(hub.addr, "display", "display-1").await.0;
    drop(fresh.close(None).await);
    hub.stop().await.expect("stop");
}

/// Live events are written as the shared bytes of their frames, beside answers written by the
/// WebSocket library (`server/socket.rs`): a client that reads late — its socket full, the hub's
/// writes cut short inside frames — still gets every frame whole, in order, each answer once.
#[tokio::test]
async fn a_late_reader_gets_every_frame_whole_in_order_and_every_answer_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = unlimited_centre(&dir).await;
    let mut board = narrow(hub.addr, "display", "display-1").await;
    let mut kiosk = narrow(hub.addr, "kiosk", "kiosk-1").await;
    // Many commands, none of their answers read yet: the kiosk's answers (through the library)
    // and events (raw) pile up together behind a full socket, and so do the board's events.
    let commands = 600;
    for i in 0..commands {
        let m = json!({"type": "cmd", "id": format!("late:{i}"), "cmd": "issue_ticket",
                       "args": {"service": "TP"}});
        raw::send(&mut kiosk, &m).await;
    }
    // Everything arrives, whole and in order.
    let mut answered = std::collections::HashSet::new();
    let mut kiosk_seqs = vec![];
    while answered.len() < commands || kiosk_seqs.len() < commands {
        let m = raw::next(&mut kiosk).await.expect("the kiosk is served");
        match m["type"].as_str() {
            Some("reply") => {
                assert_eq!(m["ok"], true, "{m}");
                let id = m["id"].as_str().expect("id").to_string();
                assert!(answered.insert(id), "one answer per command");
            }
            Some("event") => kiosk_seqs.push(m["seq"].as_u64().expect("seq")),
            _ => {}
        }
    }
    let mut board_seqs = vec![];
    while board_seqs.len() < commands {
        let m = raw::next(&mut board).await.expect("the board is served");
        if m["type"] == "event" {
            board_seqs.push(m["seq"].as_u64().expect("seq"));
        }
    }
    for seqs in [&kiosk_seqs, &board_seqs] {
        assert!(
            seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "events in order, none missing"
        );
    }
    assert_eq!(kiosk_seqs, board_seqs);
    hub.stop().await.expect("stop");
}

/// A TCP connection from another address of this machine, as a phone in the lobby would be.
async fn from_the_lobby(addr: SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.2:0".parse().expect("addr"))
        .expect("bind a second loopback address");
    socket.connect(addr).await.expect("connect")
}

#[tokio::test]
async fn half_sent_requests_from_the_lobby_neither_stay_nor_lock_out_a_kiosk() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().expect("tmp");
    let hub = hub_binary(&dir.path().join("hub.db"));
    // A phone opens many connections and sends half a request on each.
    let mut phone = Vec::new();
    for _ in 0..40 {
        let mut tcp = from_the_lobby(hub.addr).await;
        let _ = tcp
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Slow: ")
            .await;
        phone.push(tcp);
    }
    // The kiosk is still served at once.
    a_kiosk_is_served(hub.addr).await;
    // And the half-sent requests do not stay: each is closed within the header timeout (5 s) —
    // those over the address's 32 places at once.
    let started = Instant::now();
    for tcp in &mut phone {
        let mut buf = [0u8; 1024];
        let end = tokio::time::timeout(Duration::from_secs(15), async {
            loop {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(end.is_ok(), "a half-sent request is still open after 15 s");
    }
    assert!(started.elapsed() < Duration::from_secs(15));
    hub.kill();
}

/// A connection from `local` (another loopback address of this machine), with `GET /healthz`
/// sent whole; its status, or `None` when the hub closed it unanswered.
async fn healthz_from(local: &str, addr: SocketAddr) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind(local.parse().expect("addr")).expect("bind");
    let mut tcp = socket.connect(addr).await.ok()?;
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await.ok()?;
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

#[tokio::test]
async fn a_trusted_proxy_is_not_held_to_one_phones_connections() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().expect("tmp");
    let mut config = testkit::real_clock_config();
    let proxy: std::net::IpAddr = "127.0.0.3".parse().expect("ip");
    config.trusted_proxies = vec![proxy];
    let hub = testkit::start_hub_with(
        config,
        &dir.path().join("hub.db"),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await;
    // A phone and the proxy each hold 40 slow connections (a proxy carries many phones).
    let mut held = Vec::new();
    for local in ["127.0.0.2:0", "127.0.0.3:0"] {
        for _ in 0..40 {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket.bind(local.parse().expect("addr")).expect("bind");
            let mut tcp = socket.connect(hub.addr).await.expect("connect");
            let _ = tcp.write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ").await;
            held.push(tcp);
        }
    }
    assert_eq!(
        healthz_from("127.0.0.2:0", hub.addr).await,
        None,
        "a phone over its 32 is refused"
    );
    assert_eq!(
        healthz_from("127.0.0.3:0", hub.addr).await,
        Some(200),
        "the proxy is served: its phones are held to their own allowances"
    );
    drop(held);
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn one_printed_code_takes_three_phones_not_the_hub() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = testkit::start_hub(&dir.path().join("hub.db")).await;
    let mut kiosk = raw::device(hub.addr, "kiosk", "kiosk-1").await.0;
    let m = json!({"type": "cmd", "id": "k:1", "cmd": "issue_ticket", "args": {"service": "TP"}});
    raw::send(&mut kiosk, &m).await;
    let reply = reply_to(&mut kiosk, "k:1").await;
    let code = reply["result"]["ticket"]["track"]
        .as_str()
        .expect("the kiosk gets the tracking code")
        .to_string();
    let follow = |code: String| async move {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", hub.addr))
            .await
            .expect("connect");
        let hello = json!({"type": "hello", "protocol": 1, "role": "tracker", "device": "phone",
                           "token": code});
        raw::send(&mut ws, &hello).await;
        let first = raw::next(&mut ws).await.expect("an answer");
        (ws, first)
    };
    let mut phones = Vec::new();
    for _ in 0..3 {
        let (ws, first) = follow(code.clone()).await;
        assert_eq!(first["type"], "ticket", "{first}");
        phones.push(ws);
    }
    let (_, fourth) = follow(code.clone()).await;
    assert_eq!(fourth["code"], "rate_limited", "{fourth}");
    // Devices are not in the phones' pool: a board still connects.
    let _board = raw::device(hub.addr, "display", "display-1").await.0;
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_newer_connection_of_a_device_replaces_the_older() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = testkit::start_hub(&dir.path().join("hub.db")).await;
    let mut old = raw::device(hub.addr, "display", "display-1").await.0;
    let _new = raw::device(hub.addr, "display", "display-1").await.0;
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(m) = old.next().await {
            if let Ok(Message::Close(Some(frame))) = m {
                return u16::from(frame.code);
            }
        }
        0
    })
    .await
    .expect("the older connection is closed");
    assert_eq!(closed, 4001);
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_flipping_status_is_coalesced_and_the_last_word_wins() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = testkit::start_hub(&dir.path().join("hub.db")).await;
    let mut admin = raw::device(hub.addr, "admin", "admin").await.0;
    let mut kiosk = raw::device(hub.addr, "kiosk", "kiosk-1").await.0;
    // 50 changes in a burst, ending with "ok": every one is answered at once…
    for i in 0..50 {
        let status = if i % 2 == 0 { "paper_out" } else { "ok" };
        let m = json!({"type": "cmd", "id": format!("s:{i}"), "cmd": "device_status",
                       "args": {"status": status}});
        raw::send(&mut kiosk, &m).await;
        let r = reply_to(&mut kiosk, &format!("s:{i}")).await;
        assert_eq!(r["ok"], true, "{r}");
    }
    // …but the boards hear of two: the first, and the last one when its turn comes.
    let mut heard = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(4), async {
        while let Some(m) = raw::next(&mut admin).await {
            if m["event"]["kind"] == "device_status" {
                heard.push(
                    m["event"]["status"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
    })
    .await;
    assert_eq!(heard, ["paper_out", "ok"]);
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn sockets_that_never_say_hello_do_not_keep_a_kiosk_out() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = testkit::start_hub(&dir.path().join("hub.db")).await;
    // More silent WebSockets than the pool of sockets waiting for their hello (1,024).
    let mut silent = Vec::new();
    for _ in 0..1_100 {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", hub.addr))
            .await
            .expect("upgrade");
        silent.push(ws);
    }
    // A kiosk arriving now is served at once: the oldest silent socket made room.
    a_kiosk_is_served(hub.addr).await;
    drop(silent);
    hub.stop().await.expect("stop");
}
