//! The engine's side of following a ticket from afar: a follower's address sealed under the
//! service day's key before it enters the log, the notices due after each commit handed to the
//! sender (`notices`) without waiting, and what became of each one recorded when it reports.
//!
//! Only the primary sends. A standby keeps the followers (they are in the log) and the day's
//! key (its primary ships it), so after a takeover the notices not yet told are sent from there.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDate, Utc};
use notices::{Contact, DayKey, Message, Notice, Notifier, Outcome, Report, VapidKey};
use protocol::{self as p, ErrorCode, FollowChannel, NoticeKind, Role};
use queue_core::decide::citizen::{self, Delivery};
use queue_core::{Actor, Event, TicketId};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::frames::{self, error_reply};
use crate::pair::Mode;
use crate::{Engine, Pending};

/// The id of the tracking page's push subscriptions in the engine's replies.
pub const PUSH: &str = "push";
/// The secrets' names.
const DAY_KEY: &str = "day_key";
const VAPID_KEY: &str = "vapid_key";

pub use notices::SharedVapid;

/// What the engine keeps for the followers besides the state.
pub(crate) struct Following {
    day_key: DayKey,
    notifier: Option<Notifier>,
    /// Notices handed to the sender and not yet reported: "near" is not handed over twice.
    in_flight: HashSet<(TicketId, u8, NoticeKind)>,
    pub(crate) vapid: SharedVapid,
}

impl Following {
    /// From the stored secrets; a primary makes what is missing (and a new day key for a new
    /// day), a standby waits for its primary's.
    pub(crate) fn open(
        store: &ledger::Writer,
        today: NaiveDate,
        primary: bool,
        web_push: bool,
    ) -> Result<Following, ledger::LedgerError> {
        let stored = store
            .secrets()?
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>();
        let day_key = match stored.get(DAY_KEY).map(|s| DayKey::from_secret(s)) {
            Some(Ok(k)) if k.day == today || !primary => k,
            _ => {
                let fresh = DayKey::fresh(today);
                if primary {
                    store.set_secret(DAY_KEY, &fresh.to_secret())?;
                }
                fresh
            }
        };
        let vapid = match stored.get(VAPID_KEY) {
            Some(text) => VapidKey::from_secret(text).ok(),
            None if primary && web_push => {
                let text = VapidKey::fresh_secret();
                store.set_secret(VAPID_KEY, &text)?;
                VapidKey::from_secret(&text).ok()
            }
            None => None,
        };
        Ok(Following {
            day_key,
            notifier: None,
            in_flight: HashSet::new(),
            vapid: Arc::new(RwLock::new(vapid)),
        })
    }

    /// A secret the primary sent (a standby's).
    pub(crate) fn kept_secret(&mut self, key: &str, value: &str) {
        match key {
            DAY_KEY => match DayKey::from_secret(value) {
                Ok(k) => self.day_key = k,
                Err(e) => tracing::error!(error = %e, "REPLICATION: the primary's day key"),
            },
            VAPID_KEY => match VapidKey::from_secret(value) {
                Ok(k) => *self.vapid.write().unwrap_or_else(|e| e.into_inner()) = Some(k),
                Err(e) => tracing::error!(error = %e, "REPLICATION: the primary's VAPID key"),
            },
            _ => {}
        }
    }

    pub(crate) fn attach(&mut self, notifier: Notifier) {
        self.notifier = Some(notifier);
    }
}

/// A follower's address as it is sealed (JSON of the contact).
fn seal(key: &DayKey, contact: &Contact) -> String {
    key.seal(&serde_json::to_string(contact).unwrap_or_default())
}

fn open(key: &DayKey, sealed: &str) -> Option<Contact> {
    let text = key.open(sealed).ok()?;
    serde_json::from_str(&text).ok()
}

impl Engine {
    /// A phone follows a ticket by push (`POST /t/{track}/push`): the same browser again
    /// replaces its own subscription rather than taking a second place.
    pub(crate) fn follow(
        &mut self,
        now: DateTime<Utc>,
        track: &str,
        contact: Contact,
        pending: &mut Pending,
    ) -> Utf8Bytes {
        let Some(ticket) = self.state.ticket_by_track(track).map(|t| t.id) else {
            return error_reply(PUSH, ErrorCode::NotFound, "no ticket with this code today");
        };
        let channel = match contact {
            Contact::Push(_) => FollowChannel::Push,
            Contact::Sms(_) => FollowChannel::Sms,
        };
        let same_endpoint = |c: &Contact| match (c, &contact) {
            (Contact::Push(a), Contact::Push(b)) => a.endpoint == b.endpoint,
            _ => false,
        };
        let replaces = self.state.following.get(&ticket).and_then(|f| {
            f.followers
                .iter()
                .find(|x| {
                    open(&self.following.day_key, &x.sealed).is_some_and(|c| same_endpoint(&c))
                })
                .map(|x| x.id)
        });
        let sealed = seal(&self.following.day_key, &contact);
        let decision = match citizen::follow(&self.state, ticket, channel, sealed, replaces) {
            Ok(d) => d,
            Err(r) => return error_reply(PUSH, r.code, r.message),
        };
        let citizen = citizen_actor();
        for e in decision.events {
            self.apply(now, &citizen, None, e, pending);
        }
        ok_reply()
    }

    /// The SMS follower a kiosk's `issue_ticket` or `check_in` asks for with its `phone`, sealed
    /// before the command goes any further: `Ok(None)` without one.
    pub(crate) fn sms_follower(
        &self,
        command: &p::Command,
    ) -> Result<Option<String>, &'static str> {
        let typed = match command {
            p::Command::IssueTicket { phone, .. } | p::Command::CheckIn { phone, .. } => phone,
            _ => &None,
        };
        let Some(typed) = typed else {
            return Ok(None);
        };
        if self.config.notify.sms.is_none() {
            return Err("this centre sends no SMS: leave the phone number out");
        }
        let Some(phone) = p::phone::national(typed) else {
            return Err("not a Vietnamese phone number (10 digits starting with 0)");
        };
        Ok(Some(seal(&self.following.day_key, &Contact::Sms(phone))))
    }

    /// The ticket a kiosk just issued follows its citizen's phone, in the same commit.
    pub(crate) fn follow_by_sms(
        &mut self,
        now: DateTime<Utc>,
        actor: &Actor,
        ticket: TicketId,
        sealed: String,
        pending: &mut Pending,
    ) {
        match citizen::follow(&self.state, ticket, FollowChannel::Sms, sealed, None) {
            Ok(decision) => {
                for e in decision.events {
                    self.apply(now, actor, None, e, pending);
                }
            }
            Err(r) => {
                tracing::warn!(ticket = ticket.0, code = ?r.code, "an SMS follower was refused")
            }
        }
    }

    /// The citizen turns push off (`DELETE /t/{track}/push`).
    pub(crate) fn unfollow(
        &mut self,
        now: DateTime<Utc>,
        track: &str,
        pending: &mut Pending,
    ) -> Utf8Bytes {
        let Some(ticket) = self.state.ticket_by_track(track).map(|t| t.id) else {
            return error_reply(PUSH, ErrorCode::NotFound, "no ticket with this code today");
        };
        let decision = match citizen::unfollow(&self.state, ticket, FollowChannel::Push) {
            Ok(d) => d,
            Err(r) => return error_reply(PUSH, r.code, r.message),
        };
        let citizen = citizen_actor();
        for e in decision.events {
            self.apply(now, &citizen, None, e, pending);
        }
        ok_reply()
    }

    /// The sender reports how a notice ended: the log keeps it (a gone subscription leaves).
    pub(crate) fn notified(&mut self, now: DateTime<Utc>, report: Report, pending: &mut Pending) {
        let ticket = TicketId(report.ticket);
        self.following
            .in_flight
            .remove(&(ticket, report.follower, report.kind));
        if self.mode != Mode::Primary {
            return;
        }
        let delivery = match report.outcome {
            Outcome::Delivered => Delivery::Delivered,
            Outcome::Failed => Delivery::Failed,
            Outcome::Gone => Delivery::Gone,
        };
        let events = citizen::notified(&self.state, ticket, report.follower, report.kind, delivery);
        let hub = Actor {
            device: "hub".into(),
            role: Role::Admin,
        };
        for e in events {
            self.apply(now, &hub, None, e, pending);
        }
    }

    /// After a commit: "called" and "recalled" for each call in it, "near" for each follower
    /// whose ticket has come near and was not yet told. Handed over, never waited for.
    pub(crate) fn send_notices(&mut self, events: &[(ledger::Recorded, String)]) {
        if self.mode != Mode::Primary || self.following.notifier.is_none() || events.is_empty() {
            return;
        }
        let mut due: Vec<(TicketId, u8, NoticeKind)> = Vec::new();
        for (rec, _) in events {
            if let Event::TicketCalled { ticket, recall, .. } = &rec.event
                && let Some(f) = self.state.following.get(ticket)
            {
                let kind = if *recall {
                    NoticeKind::Recalled
                } else {
                    NoticeKind::Called
                };
                // An SMS costs the centre money: "near" and "called", not each recall.
                let told = f
                    .followers
                    .iter()
                    .filter(|x| kind != NoticeKind::Recalled || x.channel == FollowChannel::Push);
                due.extend(told.map(|x| (*ticket, x.id, kind)));
            }
        }
        let notify = &self.config.notify;
        let near = citizen::due_near(&self.state, |s| notify.near_ahead(s));
        due.extend(near.into_iter().map(|(t, f)| (t, f, NoticeKind::Near)));
        for (ticket, follower, kind) in due {
            if kind == NoticeKind::Near
                && self.following.in_flight.contains(&(ticket, follower, kind))
            {
                continue;
            }
            if let Some(notice) = self.notice(ticket, follower, kind) {
                self.following.in_flight.insert((ticket, follower, kind));
                if let Some(n) = &self.following.notifier
                    && !n.send(notice)
                {
                    tracing::warn!("the notices' queue is full: a notice was dropped");
                }
            }
        }
    }

    /// One notice, with the follower's address opened and the words ready.
    fn notice(&self, ticket: TicketId, follower: u8, kind: NoticeKind) -> Option<Notice> {
        let t = self.state.ticket(ticket)?;
        let f = self.state.following.get(&ticket)?;
        let x = f.followers.iter().find(|x| x.id == follower)?;
        let Some(to) = open(&self.following.day_key, &x.sealed) else {
            tracing::warn!(
                ticket = ticket.0,
                "a follower's address is sealed under another day's key"
            );
            return None;
        };
        let service_vi = self
            .config
            .rules
            .services
            .get(&t.service)
            .map_or(t.service.0.as_str(), |s| s.name_vi.as_str());
        let ahead = queue_core::estimate::ahead_of(&self.state, ticket);
        let message = Message::new(
            kind,
            &t.label,
            &t.service.0,
            service_vi,
            ahead,
            t.counter.map(|c| c.0),
        );
        Some(Notice {
            ticket: ticket.0,
            follower,
            to,
            message,
        })
    }

    /// A new service day: a new key, the old one destroyed here and on the standby.
    pub(crate) fn new_day_key(&mut self) {
        if self.mode != Mode::Primary {
            return;
        }
        let fresh = DayKey::fresh(self.state.day);
        if let Err(e) = self.store.set_secret(DAY_KEY, &fresh.to_secret()) {
            tracing::error!(error = %e, "cannot replace the day's key: yesterday's followers stay sealed under it");
            return;
        }
        self.following.day_key = fresh;
        self.following.in_flight.clear();
        self.ship_settings();
    }
}

fn citizen_actor() -> Actor {
    Actor {
        device: citizen::CITIZEN.into(),
        role: Role::Tracker,
    }
}

fn ok_reply() -> Utf8Bytes {
    frames::reply(p::Reply {
        id: PUSH.to_string(),
        ok: true,
        result: None,
        error: None,
        now: None,
    })
}
