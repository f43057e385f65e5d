//! The engine's side of a pair of hubs (`crate::pair`): shipping each commit to the
//! standby and waiting for it; on a standby, applying what the primary shipped; promotion and
//! deposition — each recorded before it is acted on.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use protocol::ErrorCode;
use queue_core::{Actor, DeviceId, Event, StaffCode};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{Collected, Engine, Pending};
use crate::frames::error_reply;
use crate::pair::messages::{self, Batch};
use crate::pair::{Mode, Shipped, Standing, Witness};

impl Engine {
    /// The proof of this hub's term for its welcomes (none before the first takeover).
    pub(super) fn term_proof(&self) -> Option<String> {
        let pair = self.pair.as_ref()?;
        (self.term > 0).then(|| pair.term_proof(self.term))
    }

    /// A refusal for a command that reached a hub that does not issue.
    pub(super) fn not_primary(&self, id: &str) -> Option<Utf8Bytes> {
        if self.mode == Mode::Primary {
            return None;
        }
        let message = self
            .pair
            .as_ref()
            .and_then(|p| p.not_primary_message())
            .unwrap_or_else(|| "this hub does not issue".into());
        Some(error_reply(id, ErrorCode::NotPrimary, message))
    }

    /// Primary: the committed batch to the standby, waiting for its acknowledgement while it
    /// is in step.
    pub(super) fn ship(&self, c: &Collected) {
        let Some(pair) = &self.pair else { return };
        let out = &c.pending.out;
        if self.mode != Mode::Primary || out.events.is_empty() {
            return;
        }
        let (Some(first), Some(last)) = (out.events.first(), out.events.last()) else {
            return;
        };
        let (first, last) = (first.0.seq, last.0.seq);
        let batch = Batch {
            head: self.seq,
            sync: pair.acks().sync,
            events: out
                .events
                .iter()
                .map(|(rec, wire)| messages::Event::of(rec, Some(wire)))
                .collect(),
            replies: out.replies.iter().map(messages::Reply::of).collect(),
        };
        let text = messages::text(&messages::FromPrimary::Batch(Box::new(batch)));
        pair.ship_and_wait(Shipped { first, last, text }, self.clock.now());
    }

    /// Primary: a counter display's revocation to the standby (not waited for: it is not a
    /// number anyone holds).
    pub(super) fn ship_settings(&self) {
        let Some(pair) = &self.pair else { return };
        if self.mode != Mode::Primary {
            return;
        }
        let display_generations = super::generations_by_name(&self.display_generations);
        let secrets = match self.store.secrets() {
            Ok(s) => s.into_iter().collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the secrets to send the standby");
                Default::default()
            }
        };
        let text = messages::text(&messages::FromPrimary::Settings {
            display_generations,
            secrets,
        });
        let _ = pair.live.send(std::sync::Arc::new(Shipped {
            first: 0,
            last: 0,
            text,
        }));
    }

    /// Standby: the primary's events applied as they were there (its times, devices and wire
    /// frames), and its replies remembered. The rows follow from the state, as on the primary.
    pub(super) fn replicated(
        &mut self,
        batch: Batch,
        pending: &mut Pending,
    ) -> Result<u64, String> {
        if self.mode != Mode::Standby {
            return Err(format!("this hub is not a standby ({:?})", self.mode));
        }
        for event in batch.events {
            if event.seq <= self.seq {
                continue;
            }
            if event.seq != self.seq + 1 {
                return Err(format!(
                    "event {} does not follow {} (a gap in what the primary sent)",
                    event.seq, self.seq
                ));
            }
            let rec = event.recorded()?;
            if let Event::TermStarted { term } = rec.event {
                self.term = self.term.max(term);
            }
            let day = rec.day;
            self.apply_at(
                rec.at, rec.device, rec.staff, rec.event, event.wire, pending,
            );
            if day != self.state.day {
                tracing::error!(seq = self.seq, primary = %day, standby = %self.state.day,
                    "REPLICATION: this standby's service day differs from the primary's");
            }
        }
        for reply in batch.replies {
            let stored = reply.stored();
            if stored.day == self.state.day {
                self.replies
                    .remember(stored.key.clone(), Utf8Bytes::from(stored.text.clone()));
            }
            pending.out.replies.push(stored);
        }
        if let Some(pair) = &self.pair {
            let now = self.clock.now();
            pair.update_follow(|f| {
                f.primary_seq = batch.head;
                f.in_sync = batch.sync;
                f.last_heard = Some(now);
            });
            pair.set_standing(Standing {
                mode: self.mode,
                term: self.term,
            });
            // The old primary came back and sent what the witness had seen: nothing is lost.
            if pair
                .contradicted()
                .is_some_and(|(w, _)| w.term <= self.term && w.seq <= self.seq)
            {
                tracing::warn!(
                    seq = self.seq,
                    "WITNESS answered: this standby now holds what the device had seen"
                );
                pair.set_contradicted(None);
            }
        }
        Ok(self.seq)
    }

    /// Standby: the primary's secrets and counter display generations, kept as its own.
    pub(super) fn settings(
        &mut self,
        secrets: HashMap<String, String>,
        display_generations: HashMap<String, u64>,
    ) {
        if self.mode != Mode::Standby {
            return;
        }
        for (key, value) in &secrets {
            if let Err(e) = self.store.set_secret(key, value) {
                tracing::error!(error = %e, key, "REPLICATION: cannot keep the primary's secret");
                continue;
            }
            if key == "phone_key" {
                *self.phone_key.write().unwrap_or_else(|e| e.into_inner()) =
                    super::phone_key(value);
            }
            self.following.kept_secret(key, value);
        }
        let mut generations = self
            .display_generations
            .write()
            .unwrap_or_else(|e| e.into_inner());
        for (device, generation) in display_generations {
            if let Err(e) = self.store.set_display_generation(&device, generation) {
                tracing::error!(error = %e, %device, "REPLICATION: cannot keep a display's generation");
                continue;
            }
            generations.insert(DeviceId(device), generation);
        }
    }

    /// Standby → primary, in a new term. Refused while the standby is behind its primary as
    /// far as it knows (the primary's last word was a later `seq`, or it was not waiting for
    /// this standby), unless `force`: a ticket the old primary issued would be issued again.
    pub(super) fn promote(
        &mut self,
        now: DateTime<Utc>,
        force: bool,
        hub: &Actor,
        pending: &mut Pending,
    ) -> Result<u64, String> {
        match self.mode {
            Mode::Primary => {
                return Err(format!(
                    "this hub is already the primary (term {})",
                    self.term
                ));
            }
            Mode::Deposed => {
                return Err(
                    "this hub was replaced by a newer primary: re-join it as the standby (hub standby --resync), do not promote it"
                        .into(),
                );
            }
            Mode::Standby => {}
        }
        // A device that has seen more than this hub holds outweighs what the primary said.
        let against_witness = self.pair.as_ref().and_then(|p| p.contradicted());
        if let Some((witness, held)) = &against_witness {
            if !force {
                return Err(format!(
                    "CẢNH BÁO · WARNING: {}. Tickets issued since would be issued again under the same numbers. \
                     Bring the old primary back instead if you can; promote with --force only if its disk is lost",
                    witness.words(*held)
                ));
            }
            tracing::error!(device = %witness.device, seq = witness.seq, held,
                "PROMOTED AGAINST A WITNESS (--force): numbers a device has seen may be given again");
            if let Some(pair) = &self.pair {
                pair.set_contradicted(None);
            }
        }
        // What the primary last said of itself (a standby always has its pair).
        let heard = self.pair.as_ref().map(|p| p.follow()).unwrap_or_default();
        let behind = heard.primary_seq.saturating_sub(self.seq);
        let stale = behind > 0 || !heard.in_sync;
        if stale {
            let why = if behind > 0 {
                format!(
                    "the primary last said it was at event {}, this standby has {} ({behind} missing)",
                    heard.primary_seq, self.seq
                )
            } else {
                format!(
                    "the primary was serving without this standby when it was last heard (this standby has event {}; the primary may have issued more)",
                    self.seq
                )
            };
            if !force {
                return Err(format!(
                    "CẢNH BÁO · WARNING: this standby is behind: {why}. Tickets issued since would be issued again under the same numbers. \
                     Bring the old primary back instead if you can; promote with --force only if its disk is lost"
                ));
            }
            tracing::error!(%why, "PROMOTED WHILE BEHIND (--force): numbers issued by the old primary since may be given again");
        }
        // The day's replies as they are on disk: a catch-up across days sent some before the
        // day they belong to had started here.
        match self.store.replies(self.state.day) {
            Ok(replies) => {
                self.replies = crate::replies::Replies::load(crate::replies::CAPACITY, replies)
            }
            Err(e) => return Err(format!("cannot read the day's replies: {e}")),
        }
        if let Err(e) = self.store.set_role(Mode::Primary.stored()) {
            return Err(format!("cannot record the promotion: {e}"));
        }
        self.mode = Mode::Primary;
        self.term += 1;
        let term = self.term;
        if against_witness.is_some() {
            self.loss_accepted = Some(term);
        }
        self.apply(
            now,
            hub,
            None::<StaffCode>,
            Event::TermStarted { term },
            pending,
        );
        if let Some(pair) = &self.pair {
            pair.set_standing(Standing {
                mode: self.mode,
                term,
            });
        }
        tracing::warn!(
            term,
            seq = self.seq,
            "PROMOTED: this hub is the primary now"
        );
        Ok(term)
    }

    /// A device says how far it has seen the log (its hello: the highest term it was told and
    /// the last event it applied). Whether this hub may serve it.
    ///
    /// A standby keeps the word of a device that has seen more than it holds: `hub promote`
    /// then refuses without `--force`. A primary of a newer term that meets a device which saw
    /// events of the old term it does not hold — it was promoted while cut off, and the old
    /// primary went on alone — stops issuing at once: it is a standby again, and only `hub
    /// promote --force` makes it go on.
    pub(super) fn witnessed(&mut self, witness: Witness) -> bool {
        let Some(pair) = self.pair.clone() else {
            return true;
        };
        match self.mode {
            Mode::Deposed => false,
            Mode::Standby => {
                let more = witness.term > self.term
                    || (witness.term == self.term && witness.seq > self.seq);
                let known = pair.contradicted().map_or(0, |(w, _)| w.seq);
                if more && witness.seq > known {
                    tracing::error!(device = %witness.device, term = witness.term, seq = witness.seq, held = self.seq,
                        "WITNESS: a device has seen more than this standby holds: it must not be promoted without --force");
                    pair.set_contradicted(Some((witness, self.seq)));
                }
                false
            }
            Mode::Primary => {
                if witness.term >= self.term {
                    return true;
                }
                if self.loss_accepted == Some(self.term) {
                    tracing::warn!(device = %witness.device, seq = witness.seq,
                        "WITNESS of the old primary after a promotion forced past it: serving on");
                    return true;
                }
                let held = self.last_of_term(witness.term);
                if witness.seq <= held {
                    return true;
                }
                if let Err(e) = self.store.set_role(Mode::Standby.stored()) {
                    tracing::error!(error = %e, "cannot record that this hub stopped issuing");
                }
                self.mode = Mode::Standby;
                tracing::error!(device = %witness.device, term = witness.term, seq = witness.seq, held,
                    "SPLIT: a device has seen events of the old primary that this hub does not hold: it stops issuing now. \
                     Bring the old primary back (and re-join this hub: hub standby --resync), or hub promote --force to go on without them");
                pair.set_contradicted(Some((witness, held)));
                pair.set_standing(Standing {
                    mode: self.mode,
                    term: self.term,
                });
                false
            }
        }
    }

    /// The last event of `term` (and those before) this hub holds: the event before the first
    /// of a later term, or the head of its log.
    fn last_of_term(&self, term: u64) -> u64 {
        let later = |seq: u64| self.store.term_at(seq).map_or(true, |t| t > term);
        if !later(self.seq) {
            return self.seq;
        }
        // `term_at` grows with `seq`: the first event of a later term, by halves.
        let (mut lo, mut hi) = (0u64, self.seq);
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            if later(mid) { hi = mid } else { lo = mid }
        }
        lo
    }

    /// A hub of a higher term serves: this primary stops issuing, for good (recorded), until it
    /// is re-joined as the standby.
    pub(super) fn depose(&mut self, term: u64, by: &str) {
        if self.mode != Mode::Primary || term <= self.term {
            return;
        }
        if let Err(e) = self.store.set_role(Mode::Deposed.stored()) {
            tracing::error!(error = %e, "cannot record that this hub was replaced");
        }
        self.mode = Mode::Deposed;
        if let Some(pair) = &self.pair {
            pair.set_standing(Standing {
                mode: self.mode,
                term: self.term,
            });
        }
        tracing::error!(
            own_term = self.term,
            newer_term = term,
            learnt_from = by,
            "REPLACED: a hub of a newer term is the primary: this one issues nothing (re-join it: hub standby --resync)"
        );
    }
}
