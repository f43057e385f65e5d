//! Every JSON example of the shared PROTOCOL.md (with its "…" filled in) reads into the wire types,
//! and what the types write reads back the same.

use protocol::*;

fn roundtrip<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
    v: &T,
) {
    let text = serde_json::to_string(v).expect("serialise");
    let back: T = serde_json::from_str(&text).expect("read back");
    assert_eq!(&back, v);
}

#[test]
fn hello() {
    let m: ClientMessage = serde_json::from_str(
        r#"{"type": "hello", "protocol": 1, "role": "kiosk", "device": "kiosk-1", "token": "t0k3n", "resume_from": 41}"#,
    )
    .expect("hello");
    let ClientMessage::Hello(h) = &m else {
        panic!("hello expected")
    };
    assert_eq!(
        (h.protocol, h.role, h.device.as_str(), h.resume_from),
        (1, Role::Kiosk, "kiosk-1", Some(41))
    );
    roundtrip(&m);
    // resume_from is optional.
    let m: ClientMessage = serde_json::from_str(
        r#"{"type":"hello","protocol":1,"role":"display","device":"d","token":"x"}"#,
    )
    .expect("hello");
    assert!(matches!(
        m,
        ClientMessage::Hello(Hello {
            resume_from: None,
            light: false,
            ..
        })
    ));
}

#[test]
fn welcome_with_replay_and_error() {
    let m: ServerMessage =
        serde_json::from_str(r#"{"type": "welcome", "seq": 41, "replay": true}"#).expect("welcome");
    assert!(matches!(
        &m,
        ServerMessage::Welcome(Welcome {
            seq: 41,
            replay: true,
            snapshot: None,
            head: None,
            now: None,
            term: None,
            term_proof: None
        })
    ));
    roundtrip(&m);
    let m: ServerMessage = serde_json::from_str(
        r#"{"type": "error", "code": "unauthorized", "message": "bad token"}"#,
    )
    .expect("error");
    assert!(matches!(
        m,
        ServerMessage::Error(ErrorBody {
            code: ErrorCode::Unauthorized,
            ..
        })
    ));
}

const TICKET: &str = r#"{"id": 1234, "number": "A1005", "service": "TP", "priority": "elderly", "status": "waiting",
 "issued_at": "2026-11-22T08:01:00+07:00", "called_at": null, "counter": null, "overdue": false, "ahead": 6, "eta_min": 14,
 "track": "k3J9xq"}"#;

#[test]
fn ticket() {
    let t: Ticket = serde_json::from_str(TICKET).expect("ticket");
    assert_eq!(t.number, "A1005");
    assert_eq!(t.priority.as_deref(), Some("elderly"));
    assert_eq!(t.status, TicketStatus::Waiting);
    assert_eq!(
        (t.ahead, t.eta_min, t.track.as_deref()),
        (Some(6), Some(14), Some("k3J9xq"))
    );
    assert_eq!(t.issued_at.offset().local_minus_utc(), 7 * 3600);
    roundtrip(&t);
}

#[test]
fn event_frame_and_unknown_kinds() {
    let text = format!(
        r#"{{"type": "event", "seq": 58, "at": "2026-11-22T08:03:11+07:00", "event": {{"kind": "ticket_called", "recall": false, "ticket": {TICKET}, "something_new": 1}}}}"#
    );
    let m: ServerMessage = serde_json::from_str(&text).expect("event");
    let ServerMessage::Event(f) = &m else {
        panic!("event expected")
    };
    assert_eq!(
        (f.seq, f.event.kind, f.event.recall),
        (58, EventKind::TicketCalled, Some(false))
    );
    roundtrip(&m);
    let m: ServerMessage =
        serde_json::from_str(r#"{"type":"event","seq":1,"at":"2026-11-22T08:03:11+07:00","event":{"kind":"from_the_future"}}"#)
            .expect("unknown kind still reads");
    let ServerMessage::Event(f) = m else { panic!() };
    assert_eq!(f.event.kind, EventKind::Unknown);
}

#[test]
fn commands_and_replies() {
    let m: ClientMessage = serde_json::from_str(
        r#"{"type": "cmd", "id": "kiosk-1:7f3a", "cmd": "issue_ticket", "args": {"service": "TP", "priority": "elderly"}}"#,
    )
    .expect("cmd");
    let ClientMessage::Cmd(c) = &m else { panic!() };
    assert_eq!(
        Command::from_message(c),
        Ok(Command::IssueTicket {
            service: "TP".into(),
            priority: Some("elderly".into()),
            phone: None,
        })
    );
    // No args, null args and {} all mean "no arguments".
    for args in ["", r#","args":null"#, r#","args":{}"#] {
        let text = format!(r#"{{"type":"cmd","id":"c:1","cmd":"call_next"{args}}}"#);
        let ClientMessage::Cmd(c) = serde_json::from_str(&text).expect("cmd") else {
            panic!()
        };
        assert_eq!(Command::from_message(&c), Ok(Command::CallNext {}));
    }
    let unknown = CommandMessage {
        id: "x".into(),
        cmd: "fly".into(),
        args: serde_json::json!({}),
        expires_at: None,
    };
    assert!(matches!(
        Command::from_message(&unknown),
        Err(wire::CommandParseError::Unknown(_))
    ));
    let bad = CommandMessage {
        id: "x".into(),
        cmd: "finish".into(),
        args: serde_json::json!({"rating": "great"}),
        expires_at: None,
    };
    assert!(matches!(
        Command::from_message(&bad),
        Err(wire::CommandParseError::BadArgs(_))
    ));
    // Every command writes a message that reads back as itself.
    for cmd in [
        Command::Login {
            counter: 3,
            staff: "nv03".into(),
            pin: "1234".into(),
        },
        Command::Transfer {
            service: Some("GTVT".into()),
            counter: None,
        },
        Command::Rate {
            ticket: TicketRef::Number("A1005".into()),
            rating: 4,
            reasons: vec![],
        },
        Command::Rate {
            ticket: TicketRef::Id(7),
            rating: 1,
            reasons: vec![],
        },
        Command::Finish { rating: None },
        Command::Pause {},
    ] {
        let ClientMessage::Cmd(c) = cmd.to_message("id-1") else {
            panic!()
        };
        assert_eq!(c.cmd, cmd.name());
        assert_eq!(Command::from_message(&c), Ok(cmd));
    }

    let ok: ServerMessage = serde_json::from_str(&format!(
        r#"{{"type": "reply", "id": "kiosk-1:7f3a", "ok": true, "result": {{"ticket": {TICKET}}}}}"#
    ))
    .expect("reply");
    let ServerMessage::Reply(r) = &ok else {
        panic!()
    };
    assert!(r.ok);
    let t: &Ticket = r
        .result
        .as_ref()
        .and_then(|r| r.ticket())
        .expect("a ticket");
    assert_eq!(t.id, 1234);
    // Serialised back exactly as it came: `{"ticket": …}`, `{"counter": …}`, `{}`.
    let again = serde_json::to_value(r).expect("serialise");
    assert_eq!(again["result"]["ticket"]["id"], 1234);
    let nothing: protocol::ReplyResult = serde_json::from_str("{}").expect("nothing");
    assert_eq!(nothing, protocol::ReplyResult::Nothing {});
    assert_eq!(serde_json::to_string(&nothing).expect("serialise"), "{}");
    // A ticket that does not parse is an error, not silently nothing.
    assert!(serde_json::from_str::<protocol::ReplyResult>(r#"{"ticket": 7}"#).is_err());
    let err: ServerMessage = serde_json::from_str(
        r#"{"type": "reply", "id": "kiosk-1:7f3a", "ok": false, "error": {"code": "service_closed", "message": "closed"}}"#,
    )
    .expect("reply");
    let ServerMessage::Reply(r) = err else {
        panic!()
    };
    assert_eq!(r.error.map(|e| e.code), Some(ErrorCode::ServiceClosed));
    // Codes a newer hub may add still read.
    let e: ErrorBody =
        serde_json::from_str(r#"{"code":"printer_on_fire","message":"?"}"#).expect("unknown code");
    assert_eq!(e.code, ErrorCode::Unknown);
}

#[test]
fn every_error_code_of_the_contract_exists() {
    for code in [
        "unauthorized",
        "forbidden",
        "bad_request",
        "unknown_service",
        "service_closed",
        "daily_limit_reached",
        "queue_empty",
        "not_found",
        "invalid_state",
        "rate_limited",
        "internal",
    ] {
        let c: ErrorCode =
            serde_json::from_value(serde_json::Value::String(code.into())).expect("code");
        assert_ne!(c, ErrorCode::Unknown, "{code}");
    }
}

#[test]
fn a_citizen_is_named_by_a_bare_string_a_device_by_an_object() {
    use protocol::Actor;
    let citizen = Actor {
        device: "citizen".into(),
        staff: None,
    };
    assert_eq!(
        serde_json::to_value(&citizen).expect("json"),
        serde_json::json!("citizen")
    );
    let clerk = Actor {
        device: "counter-3".into(),
        staff: Some("nv03".into()),
    };
    let json = serde_json::json!({"device": "counter-3", "staff": "nv03"});
    assert_eq!(serde_json::to_value(&clerk).expect("json"), json);
    for (wire, actor) in [
        (json, &clerk),
        (serde_json::json!("citizen"), &citizen),
        (serde_json::json!({"device": "citizen"}), &citizen),
    ] {
        assert_eq!(&serde_json::from_value::<Actor>(wire).expect("read"), actor);
    }
    assert!(serde_json::from_value::<Actor>(serde_json::json!(7)).is_err());
}
