//! A client's copy of the hub's state, kept up to date from the snapshot and the events.
//!
//! Every app draws from a `Mirror`. Applying an update needs no hub logic: each event carries the
//! ticket, counter and service figures it changed.

use crate::client::Update;
use protocol::{
    CallView, CategoryView, CenterView, CounterView, EventFrame, EventKind, ServiceView, Snapshot,
    Ticket, TicketStatus,
};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mirror {
    /// Last event applied.
    pub seq: u64,
    /// False until the first snapshot, and while the link is down.
    pub online: bool,
    /// The link is down, but only just, and another hub is known: most likely the standby
    /// taking over. Apps say «Đang chuyển máy chủ…» and let presses wait.
    pub switching: bool,
    /// Set when the hub refused this device (bad token or role).
    pub refused: Option<String>,
    pub center: Option<CenterView>,
    pub categories: Vec<CategoryView>,
    pub services: Vec<ServiceView>,
    pub counters: Vec<CounterView>,
    /// Waiting tickets: priority first, then by issue time (the hub's order within a service).
    pub waiting: Vec<Ticket>,
    /// Newest first.
    pub recent_calls: Vec<CallView>,
    /// What each device last reported (`ok`, `paper_out`, `printer_offline` …).
    pub devices: std::collections::BTreeMap<String, protocol::DeviceState>,
}

/// How many recent calls a mirror keeps.
const RECENT_CALLS: usize = 12;

impl Mirror {
    /// Applies one update from the client. Returns the event frame if it was an event.
    pub fn apply<'a>(&mut self, update: &'a Update) -> Option<&'a EventFrame> {
        match update {
            Update::Snapshot { seq, snapshot } => {
                self.load(snapshot);
                self.seq = *seq;
                self.online = true;
                self.switching = false;
                self.refused = None;
                None
            }
            Update::Resumed { seq, .. } => {
                self.seq = *seq;
                self.online = true;
                self.switching = false;
                self.refused = None;
                None
            }
            Update::Offline { switching, .. } => {
                self.online = false;
                self.switching = *switching;
                None
            }
            Update::Refused { error } => {
                self.online = false;
                self.switching = false;
                self.refused = Some(error.message.clone());
                None
            }
            Update::Event(frame) => {
                self.apply_event(frame);
                Some(frame)
            }
        }
    }

    fn load(&mut self, s: &Snapshot) {
        self.center = Some(s.center.clone());
        self.categories = s.categories.clone();
        self.services = s.services.clone();
        self.counters = s.counters.clone();
        self.waiting = s.waiting.clone();
        sort_waiting(&mut self.waiting);
        self.recent_calls = s.recent_calls.clone();
        self.devices = s
            .devices
            .iter()
            .map(|d| (d.device.clone(), d.status.clone()))
            .collect();
    }

    pub fn apply_event(&mut self, frame: &EventFrame) {
        self.seq = frame.seq;
        let e = &frame.event;
        if e.kind == EventKind::DayStarted {
            if let Some(s) = &e.snapshot {
                self.load(s);
            }
            return;
        }
        if let Some(t) = &e.ticket {
            self.waiting.retain(|w| w.id != t.id);
            if t.status == TicketStatus::Waiting {
                self.waiting.push(t.clone());
                sort_waiting(&mut self.waiting);
            }
            if e.kind == EventKind::TicketCalled
                && let Some(counter) = t.counter
            {
                self.recent_calls.insert(
                    0,
                    CallView {
                        ticket: t.id,
                        number: t.number.clone(),
                        service: t.service.clone(),
                        counter,
                        at: frame.at,
                        recall: e.recall.unwrap_or(false),
                    },
                );
                self.recent_calls.truncate(RECENT_CALLS);
            }
        }
        // A counter shows the ticket it holds as the ticket is now (called → serving → done),
        // also when the event carries only the ticket.
        if let Some(t) = &e.ticket {
            for c in &mut self.counters {
                let holds = c.current.as_ref().is_some_and(|x| x.id == t.id);
                let at_this = t.counter == Some(c.number)
                    && matches!(t.status, TicketStatus::Called | TicketStatus::Serving);
                if at_this {
                    c.current = Some(t.clone());
                } else if holds {
                    c.current = None;
                }
            }
        }
        if e.kind == EventKind::DeviceStatus
            && let (Some(device), Some(status)) = (&e.device, &e.status)
        {
            self.devices.insert(device.clone(), status.clone());
        }
        if e.kind == EventKind::NoticeChanged
            && let (Some(center), Some(notice)) = (&mut self.center, &e.notice)
        {
            center.notice = notice.clone();
        }
        if let Some(c) = &e.counter {
            match self.counters.iter_mut().find(|x| x.number == c.number) {
                Some(x) => *x = c.clone(),
                None => self.counters.push(c.clone()),
            }
        }
        for s in &e.services {
            match self.services.iter_mut().find(|x| x.id == s.id) {
                Some(x) => *x = s.clone(),
                None => self.services.push(s.clone()),
            }
        }
    }

    pub fn service(&self, id: &str) -> Option<&ServiceView> {
        self.services.iter().find(|s| s.id == id)
    }

    pub fn counter(&self, number: u32) -> Option<&CounterView> {
        self.counters.iter().find(|c| c.number == number)
    }

    /// The counter a device holds open.
    pub fn counter_of_device(&self, device: &str) -> Option<&CounterView> {
        self.counters
            .iter()
            .find(|c| c.device.as_deref() == Some(device))
    }

    /// The name of a service in Vietnamese (or its id when unknown).
    pub fn service_name(&self, id: &str) -> String {
        self.service(id)
            .map_or_else(|| id.to_string(), |s| s.name_vi.clone())
    }
}

fn sort_waiting(w: &mut [Ticket]) {
    w.sort_by(|a, b| {
        (a.priority.is_none(), a.issued_at, a.id).cmp(&(b.priority.is_none(), b.issued_at, b.id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::ServerMessage;

    fn event(seq: u64, kind: &str, status: &str) -> Update {
        let text = format!(
            r#"{{"type": "event", "seq": {seq}, "at": "2026-11-23T09:00:00+07:00",
                "event": {{"kind": "{kind}", "ticket": {{"id": 7, "number": "A1007",
                  "service": "TP", "status": "{status}", "counter": 1,
                  "issued_at": "2026-11-23T08:50:00+07:00"}}}}}}"#
        );
        match serde_json::from_str::<ServerMessage>(&text) {
            Ok(ServerMessage::Event(f)) => Update::Event(f),
            other => panic!("not an event: {other:?}"),
        }
    }

    /// Events that carry only the ticket still move the counter's current ticket along.
    #[test]
    fn a_counter_follows_its_ticket() {
        let mut m = Mirror::default();
        let counter: CounterView = serde_json::from_value(serde_json::json!({
            "number": 1, "name": "Quầy 1", "state": "open", "services": ["TP"],
            "served_today": 0, "no_shows_today": 0
        }))
        .expect("counter");
        m.counters.push(counter);
        m.apply(&event(1, "ticket_called", "called"));
        assert_eq!(
            m.counter(1)
                .and_then(|c| c.current.as_ref())
                .map(|t| t.status),
            Some(TicketStatus::Called)
        );
        m.apply(&event(2, "ticket_serving", "serving"));
        assert_eq!(
            m.counter(1)
                .and_then(|c| c.current.as_ref())
                .map(|t| t.status),
            Some(TicketStatus::Serving)
        );
        m.apply(&event(3, "ticket_finished", "done"));
        assert!(m.counter(1).is_some_and(|c| c.current.is_none()));
    }
}
