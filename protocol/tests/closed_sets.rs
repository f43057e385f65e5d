//! Every command and every event kind, through the wire and back. The lists below are kept
//! complete by the compiler: each `match` names every variant, so a new command or kind does not
//! build until it has an example here.

use std::collections::BTreeSet;

use protocol::*;

fn one_of_each_command() -> Vec<Command> {
    let ticket = || TicketRef::Number("A1001".into());
    vec![
        Command::IssueTicket {
            service: "TP".into(),
            priority: Some("elderly".into()),
            phone: None,
        },
        Command::Login {
            counter: 2,
            staff: "nv01".into(),
            pin: "1234".into(),
        },
        Command::Logout {},
        Command::CallNext {},
        Command::Recall {},
        Command::CallTicket {
            number: "A1001".into(),
        },
        Command::StartServing {},
        Command::Finish { rating: Some(4) },
        Command::NoShow {},
        Command::Transfer {
            service: Some("DD".into()),
            counter: Some(3),
        },
        Command::Pause {},
        Command::Resume {},
        Command::Rate {
            ticket: TicketRef::Id(7),
            rating: 2,
            reasons: vec![],
        },
        Command::DeviceStatus {
            status: DeviceState::PaperOut,
        },
        Command::CancelTicket { ticket: ticket() },
        Command::SetCounterServices {
            counter: 1,
            services: vec!["TP".into(), "DD".into()],
        },
        Command::SetNotice {
            notice: "Nghỉ trưa 11:30–13:30".into(),
        },
        Command::SetServiceOpen {
            service: "GTVT".into(),
            open: false,
        },
        Command::CloseCounter { counter: 4 },
        Command::CheckIn {
            code: "K7PX3MQ2".into(),
            phone: None,
        },
        Command::BookAppointment {
            service: "TP".into(),
            start: chrono::DateTime::parse_from_rfc3339("2026-12-03T07:30:00+07:00").expect("time"),
        },
        Command::CancelAppointment {
            code: "K7PX3MQ2".into(),
        },
    ]
}

/// Does not build when a command is added without an example above.
fn index_of(c: &Command) -> usize {
    match c {
        Command::IssueTicket { .. } => 0,
        Command::Login { .. } => 1,
        Command::Logout {} => 2,
        Command::CallNext {} => 3,
        Command::Recall {} => 4,
        Command::CallTicket { .. } => 5,
        Command::StartServing {} => 6,
        Command::Finish { .. } => 7,
        Command::NoShow {} => 8,
        Command::Transfer { .. } => 9,
        Command::Pause {} => 10,
        Command::Resume {} => 11,
        Command::Rate { .. } => 12,
        Command::DeviceStatus { .. } => 13,
        Command::CancelTicket { .. } => 14,
        Command::SetCounterServices { .. } => 15,
        Command::SetNotice { .. } => 16,
        Command::SetServiceOpen { .. } => 17,
        Command::CloseCounter { .. } => 18,
        Command::CheckIn { .. } => 19,
        Command::BookAppointment { .. } => 20,
        Command::CancelAppointment { .. } => 21,
    }
}

#[test]
fn every_command_round_trips_under_its_one_name() {
    let commands = one_of_each_command();
    let indices: BTreeSet<usize> = commands.iter().map(index_of).collect();
    assert_eq!(indices.len(), commands.len(), "one example each");
    let names: BTreeSet<&str> = commands.iter().map(Command::name).collect();
    let known: BTreeSet<&str> = KNOWN_COMMANDS.iter().copied().collect();
    assert_eq!(names, known, "the derived list names every command once");
    for command in commands {
        // The name strum derives is the tag serde writes.
        let value = serde_json::to_value(&command).expect("serialise");
        assert_eq!(value["cmd"], command.name(), "{command:?}");
        let ClientMessage::Cmd(message) = command.to_message("k:1") else {
            panic!("a command message");
        };
        let text = serde_json::to_string(&message).expect("serialise");
        let back: CommandMessage = serde_json::from_str(&text).expect("read back");
        assert_eq!(Command::from_message(&back), Ok(command));
    }
}

#[test]
fn an_unknown_command_is_told_from_bad_arguments() {
    let message = |cmd: &str, args: serde_json::Value| CommandMessage {
        id: "x".into(),
        cmd: cmd.into(),
        args,
        expires_at: None,
    };
    assert_eq!(
        Command::from_message(&message("call_everyone", serde_json::json!({}))),
        Err(CommandParseError::Unknown("call_everyone".into()))
    );
    assert!(matches!(
        Command::from_message(&message("login", serde_json::json!({"counter": "two"}))),
        Err(CommandParseError::BadArgs(_))
    ));
}

fn kind_index(k: EventKind) -> usize {
    match k {
        EventKind::TicketIssued => 0,
        EventKind::TicketCalled => 1,
        EventKind::TicketServing => 2,
        EventKind::TicketFinished => 3,
        EventKind::TicketNoShow => 4,
        EventKind::TicketTransferred => 5,
        EventKind::TicketOverdue => 6,
        EventKind::TicketCancelled => 7,
        EventKind::TicketRated => 8,
        EventKind::CounterChanged => 9,
        EventKind::ServiceChanged => 10,
        EventKind::DayStarted => 11,
        EventKind::DeviceStatus => 12,
        EventKind::NoticeChanged => 13,
        EventKind::AppointmentBooked => 14,
        EventKind::AppointmentCancelled => 15,
        EventKind::AppointmentCheckedIn => 16,
        EventKind::AppointmentMissed => 17,
        EventKind::TicketQueued => 18,
        EventKind::TermStarted => 19,
        EventKind::TicketFollowed => 20,
        EventKind::TicketUnfollowed => 21,
        EventKind::TicketNotified => 22,
        EventKind::Unknown => 23,
    }
}

const KINDS: [EventKind; 23] = [
    EventKind::TicketIssued,
    EventKind::TicketCalled,
    EventKind::TicketServing,
    EventKind::TicketFinished,
    EventKind::TicketNoShow,
    EventKind::TicketTransferred,
    EventKind::TicketOverdue,
    EventKind::TicketCancelled,
    EventKind::TicketRated,
    EventKind::CounterChanged,
    EventKind::ServiceChanged,
    EventKind::DayStarted,
    EventKind::DeviceStatus,
    EventKind::NoticeChanged,
    EventKind::AppointmentBooked,
    EventKind::AppointmentCancelled,
    EventKind::AppointmentCheckedIn,
    EventKind::AppointmentMissed,
    EventKind::TicketQueued,
    EventKind::TermStarted,
    EventKind::TicketFollowed,
    EventKind::TicketUnfollowed,
    EventKind::TicketNotified,
];

fn body(kind: EventKind) -> EventBody {
    EventBody {
        kind,
        ticket: None,
        counter: None,
        services: vec![],
        recall: None,
        phase: None,
        change: None,
        from_counter: None,
        from_service: None,
        device: None,
        status: None,
        notice: None,
        rating: None,
        reasons: None,
        source: None,
        term: None,
        channel: None,
        notified: None,
        delivered: None,
        following: None,
        appointment: None,
        snapshot: None,
        by: None,
    }
}

#[test]
fn a_rating_says_who_gave_it_and_a_newer_source_reads_as_unknown() {
    let mut rated = body(EventKind::TicketRated);
    rated.rating = Some(2);
    rated.reasons = Some(vec!["wait".into()]);
    rated.source = Some(protocol::RatingSource::Citizen);
    let text = serde_json::to_string(&rated).expect("json");
    assert!(
        text.contains(r#""rating":2,"reasons":["wait"],"source":"citizen""#),
        "{text}"
    );
    assert_eq!(
        serde_json::from_str::<EventBody>(&text).expect("back"),
        rated
    );
    let newer = text.replace("citizen", "kiosk_survey");
    let read: EventBody = serde_json::from_str(&newer).expect("a newer source");
    assert_eq!(read.source, Some(protocol::RatingSource::Unknown));
    let role: protocol::Role = serde_json::from_str(r#""counter_display""#).expect("role");
    assert_eq!(role.as_str(), "counter_display");
}

#[test]
fn every_event_kind_round_trips_and_a_newer_one_reads_as_unknown() {
    let indices: BTreeSet<usize> = KINDS.iter().map(|k| kind_index(*k)).collect();
    assert_eq!(indices, (0..KINDS.len()).collect(), "every known kind once");
    for kind in KINDS {
        let frame = EventFrame {
            seq: 9,
            at: serde_json::from_value(serde_json::json!("2026-11-23T09:00:00+07:00"))
                .expect("a time"),
            event: EventBody {
                phase: (kind == EventKind::TicketOverdue).then_some(OverduePhase::Serving),
                change: (kind == EventKind::CounterChanged).then_some(CounterChange::Paused),
                status: (kind == EventKind::DeviceStatus)
                    .then(|| DeviceState::Other("printer_error".into())),
                ..body(kind)
            },
        };
        let text = serde_json::to_string(&frame).expect("serialise");
        let back: EventFrame = serde_json::from_str(&text).expect("read back");
        assert_eq!(back, frame);
    }
    let newer: EventBody =
        serde_json::from_str(r#"{"kind": "ticket_teleported", "phase": "flying", "change": "x"}"#)
            .expect("read");
    assert_eq!(
        (newer.kind, newer.phase, newer.change),
        (
            EventKind::Unknown,
            Some(OverduePhase::Unknown),
            Some(CounterChange::Unknown)
        )
    );
}

#[test]
fn the_closed_sets_are_written_as_the_wire_always_wrote_them() {
    fn words<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_string(v).expect("serialise")
    }
    assert_eq!(words(&OverduePhase::Waiting), r#""waiting""#);
    assert_eq!(words(&CounterChange::Services), r#""services""#);
    assert_eq!(words(&DeviceState::PrinterOffline), r#""printer_offline""#);
    assert_eq!(words(&DeviceState::from("paper_out")), r#""paper_out""#);
    assert_eq!(DeviceState::from("ok"), DeviceState::Ok);
    assert_eq!(
        DeviceState::from("fan_noisy"),
        DeviceState::Other("fan_noisy".into())
    );
}
