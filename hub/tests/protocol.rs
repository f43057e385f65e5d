//! The hub driven through the protocol crate's client, as the apps will drive it.

use hub_client::Update;
use protocol::{Command, ErrorCode, EventKind, Role, TicketStatus};
use testkit::*;

#[tokio::test]
async fn a_wrong_token_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let mut c = Client::connect_with_token(hub.addr, Role::Kiosk, "kiosk-1", "not-the-token");
    match c.next_update().await {
        Update::Refused { error } => assert_eq!(error.code, ErrorCode::Unauthorized),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The right device with another role's token is refused too.
    let mut c = Client::connect_with_token(hub.addr, Role::Admin, "kiosk-1", "demo-kiosk-1");
    assert!(matches!(c.next_update().await, Update::Refused { .. }));
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn the_snapshot_describes_the_centre() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    kiosk
        .send(issue_with("TP", Some("elderly")))
        .await
        .expect("issued");
    let (_, snap) = Client::connect(hub.addr, Role::Display, "display-1").await;
    assert_eq!(snap.center.timezone, "Asia/Ho_Chi_Minh");
    assert!(
        snap.center
            .name
            .starts_with("Trung tâm Phục vụ hành chính công")
    );
    assert!(
        snap.services
            .iter()
            .any(|s| s.name_vi == "Tư pháp – Hộ tịch" && s.waiting == 1 && s.open)
    );
    assert_eq!(snap.counters.len(), 8);
    assert_eq!(snap.waiting.len(), 1);
    assert_eq!(snap.waiting[0].priority.as_deref(), Some("elderly"));
    // A display never sees tracking tokens; the kiosk that issued does.
    assert!(snap.waiting[0].track.is_none());
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn tickets_are_numbered_once_and_displays_see_every_one_in_order() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (mut display, _) = Client::connect(hub.addr, Role::Display, "display-1").await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let mut numbers = Vec::new();
    for i in 0..20 {
        let priority = (i % 5 == 0).then_some("pregnant");
        let t = ticket_of(
            &kiosk
                .send(issue_with("TP", priority))
                .await
                .expect("issued"),
        );
        assert_eq!(t.priority.as_deref(), priority);
        assert!(t.track.as_ref().is_some_and(|k| k.len() >= 16));
        numbers.push(t.number);
    }
    let mut sorted = numbers.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 20);
    let mut seqs = Vec::new();
    for _ in 0..20 {
        let (seq, body) = display.event(EventKind::TicketIssued).await;
        assert!(body.ticket.is_some_and(|t| t.track.is_none()));
        seqs.push(seq);
    }
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "contiguous seq: {seqs:?}"
    );
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_repeated_command_id_gets_the_same_reply_and_no_second_effect() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (mut display, _) = Client::connect(hub.addr, Role::Display, "display-1").await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let id = kiosk.hub.new_command_id();
    let a = ticket_of(
        &kiosk
            .hub
            .send_with_id(id.clone(), issue("GTVT"))
            .await
            .expect("first"),
    );
    let b = ticket_of(
        &kiosk
            .hub
            .send_with_id(id.clone(), issue("GTVT"))
            .await
            .expect("again"),
    );
    assert_eq!(a.id, b.id);
    assert_eq!(a.number, b.number);
    let c = ticket_of(&kiosk.send(issue("GTVT")).await.expect("another"));
    assert_ne!(c.number, a.number);
    // The display saw exactly two issues: a's and c's.
    let (s1, e1) = display.event(EventKind::TicketIssued).await;
    let (s2, e2) = display.event(EventKind::TicketIssued).await;
    assert_eq!(s2, s1 + 1);
    assert_eq!(e1.ticket.map(|t| t.id), Some(a.id));
    assert_eq!(e2.ticket.map(|t| t.id), Some(c.id));
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn roles_pins_and_the_calling_order() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let (display, _) = Client::connect(hub.addr, Role::Display, "display-1").await;
    let (counter, _) = Client::connect(hub.addr, Role::Counter, "counter-2").await;

    let forbidden =
        |r: Result<protocol::ReplyResult, hub_client::CommandError>| r.expect_err("refused").code();
    assert_eq!(
        forbidden(kiosk.send(Command::CallNext {}).await),
        Some(ErrorCode::Forbidden)
    );
    assert_eq!(
        forbidden(display.send(issue("TP")).await),
        Some(ErrorCode::Forbidden)
    );
    assert_eq!(
        forbidden(kiosk.send(issue("NOPE")).await),
        Some(ErrorCode::UnknownService)
    );
    let wrong = counter
        .send(Command::Login {
            counter: 2,
            staff: "nv01".into(),
            pin: "0000".into(),
        })
        .await;
    assert_eq!(forbidden(wrong), Some(ErrorCode::Unauthorized));
    let ok = counter
        .send(Command::Login {
            counter: 2,
            staff: "nv01".into(),
            pin: "1234".into(),
        })
        .await
        .expect("login");
    assert_eq!(
        ok.counter().and_then(|c| c.staff_name.as_deref()),
        Some("Nguyễn Thị Lan")
    );

    let pad = Client::pad(hub.addr, 2).await;
    // Counter 2 serves TP only. 3 normal, then 5 priority tickets.
    let mut normals = Vec::new();
    for _ in 0..3 {
        normals.push(ticket_of(&kiosk.send(issue("TP")).await.expect("n")).number);
    }
    let mut priorities = Vec::new();
    for _ in 0..5 {
        priorities.push(
            ticket_of(
                &kiosk
                    .send(issue_with("TP", Some("disabled")))
                    .await
                    .expect("p"),
            )
            .number,
        );
    }
    let mut calls = Vec::new();
    loop {
        match counter.send(Command::CallNext {}).await {
            Ok(r) => {
                calls.push(ticket_of(&r).number);
                counter.finish_rated(&pad, 4, &[]).await;
            }
            Err(e) => {
                assert_eq!(e.code(), Some(ErrorCode::QueueEmpty));
                break;
            }
        }
    }
    let expected = vec![
        priorities[0].clone(),
        priorities[1].clone(),
        priorities[2].clone(),
        normals[0].clone(),
        priorities[3].clone(),
        priorities[4].clone(),
        normals[1].clone(),
        normals[2].clone(),
    ];
    assert_eq!(calls, expected);
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn resume_from_replays_what_was_missed_after_a_hub_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("hub.db");
    let port = StablePort::open().await;
    let hub = start_hub_behind(&db, &port).await;
    let addr = port.addr;
    let (mut display, _) = Client::connect(addr, Role::Display, "display-1").await;
    let (kiosk, _) = Client::connect(addr, Role::Kiosk, "kiosk-1").await;
    let first = ticket_of(&kiosk.send(issue("TP")).await.expect("issued"));
    let (seen, _) = display.event(EventKind::TicketIssued).await;

    port.refuse();
    hub.stop().await.expect("stop");
    assert!(matches!(
        display.next_update().await,
        Update::Offline { .. }
    ));
    let hub = start_hub_behind(&db, &port).await;
    // The kiosk reconnects by itself; its next ticket continues the numbering.
    let second = ticket_of(&kiosk.send(issue("TP")).await.expect("issued after restart"));
    assert!(
        second.number > first.number,
        "{} after {}",
        second.number,
        first.number
    );
    assert!(second.id > first.id);
    // The display resumes from where it was and gets the missed event, not a new snapshot.
    loop {
        match display.next_update().await {
            Update::Resumed { seq, head } => {
                assert_eq!(seq, seen);
                assert!(head >= seq, "head {head} before resume point {seq}");
            }
            Update::Event(f) if f.event.kind == EventKind::TicketIssued => {
                assert_eq!(f.seq, seen + 1);
                assert_eq!(
                    f.event.ticket.map(|t| t.number),
                    Some(second.number.clone())
                );
                break;
            }
            Update::Snapshot { .. } => panic!("expected a replay, not a snapshot"),
            _ => {}
        }
    }
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_clerk_works_a_ticket_through_recall_no_show_and_transfer() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    let (mut board, _) = Client::connect(hub.addr, Role::Display, "display-1").await;
    let (c1, _) = Client::connect(hub.addr, Role::Counter, "counter-1").await;
    c1.send(Command::Login {
        counter: 1,
        staff: "nv01".into(),
        pin: "1234".into(),
    })
    .await
    .expect("login");
    let a = ticket_of(&kiosk.send(issue("TP")).await.expect("a"));
    let b = ticket_of(&kiosk.send(issue("TP")).await.expect("b"));

    let called = ticket_of(&c1.send(Command::CallNext {}).await.expect("call"));
    assert_eq!(
        (called.number.as_str(), called.status, called.counter),
        (a.number.as_str(), TicketStatus::Called, Some(1))
    );
    let (_, ev) = board.event(EventKind::TicketCalled).await;
    assert_eq!(
        (ev.recall, ev.counter.map(|c| c.number)),
        (Some(false), Some(1))
    );
    assert_eq!(
        c1.send(Command::NoShow {})
            .await
            .expect_err("too early")
            .code(),
        Some(ErrorCode::InvalidState)
    );
    c1.send(Command::Recall {}).await.expect("recall");
    let (_, ev) = board.event(EventKind::TicketCalled).await;
    assert_eq!(ev.recall, Some(true));
    c1.send(Command::Recall {}).await.expect("recall");
    let gone = ticket_of(&c1.send(Command::NoShow {}).await.expect("no-show"));
    assert_eq!(gone.status, TicketStatus::NoShow);

    ticket_of(&c1.send(Command::CallNext {}).await.expect("call b"));
    c1.send(Command::StartServing {}).await.expect("start");
    let moved = ticket_of(
        &c1.send(Command::Transfer {
            service: Some("LDTBXH".into()),
            counter: None,
        })
        .await
        .expect("transfer"),
    );
    assert_eq!(
        (moved.number.as_str(), moved.service.as_str(), moved.status),
        (b.number.as_str(), "LDTBXH", TicketStatus::Waiting)
    );
    let (_, ev) = board.event(EventKind::TicketTransferred).await;
    assert_eq!(ev.from_service.as_deref(), Some("TP"));
    assert!(
        ev.services
            .iter()
            .any(|s| s.id == "LDTBXH" && s.waiting == 1)
    );
    // Counter 1 also serves LDTBXH: it gets the ticket back under its new service.
    let again = ticket_of(&c1.send(Command::CallNext {}).await.expect("call again"));
    assert_eq!(again.number, b.number);
    let done = c1
        .finish_rated(&Client::pad(hub.addr, 1).await, 3, &[])
        .await;
    assert_eq!((done.status, done.rating), (TicketStatus::Done, Some(3)));
    let paused = c1.send(Command::Pause {}).await.expect("pause");
    assert_eq!(
        paused.counter().map(|c| c.state),
        Some(protocol::CounterState::Paused)
    );
    assert_eq!(
        c1.send(Command::CallNext {})
            .await
            .expect_err("paused")
            .code(),
        Some(ErrorCode::InvalidState)
    );
    hub.stop().await.expect("stop");
}

#[tokio::test]
async fn a_light_snapshot_leaves_out_the_waiting_list_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start_hub(&dir.path().join("hub.db")).await;
    let (kiosk, _) = Client::connect(hub.addr, Role::Kiosk, "kiosk-1").await;
    for _ in 0..2 {
        kiosk.send(issue("TP")).await.expect("issued");
    }
    let mut config =
        hub_client::ClientConfig::new(url(hub.addr), Role::Display, "display-2", "demo-display-2");
    config.light = true;
    let (_light, mut updates) = hub_client::HubClient::connect(config);
    let snapshot = match tokio::time::timeout(WAIT, updates.recv()).await {
        Ok(Some(Update::Snapshot { snapshot, .. })) => snapshot,
        other => panic!("expected a snapshot, got {other:?}"),
    };
    assert!(snapshot.waiting.is_empty());
    assert!(
        snapshot
            .services
            .iter()
            .any(|s| s.id == "TP" && s.waiting == 2),
        "counts stay"
    );
    // Without asking, a board gets the list, as the shared protocol promises.
    let (_, full) = Client::connect(hub.addr, Role::Display, "display-1").await;
    assert_eq!(full.waiting.len(), 2);
    hub.stop().await.expect("stop");
}
