//! A standby's engine follows its primary on its own thread: it dials, says how far it holds
//! the log, then reads, applies, commits and acknowledges each batch itself — the primary's
//! every answer waits for that round, and a hand-off to another thread on the way costs more
//! than the disk on a busy two-core PC (docs/PERFORMANCE.md). The few requests that reach a
//! standby (devices' hellos, its health and console, a promotion) are served between reads,
//! within [`POLL`]. After any outage it dials again and follows from the last `seq` on disk.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio::sync::oneshot;

use super::{Engine, MAX_BATCH, Request, Stop};
use crate::pair::link::{Dial, Down, Heard, Link};
use crate::pair::messages::{Batch, FromPrimary, FromStandby};
use crate::pair::{Mode, RETRY};

/// The longest a request waits while the engine reads its primary.
const POLL: Duration = Duration::from_millis(20);
/// A primary silent this long (it pings every 10 s) is taken for gone.
const SILENCE: Duration = Duration::from_secs(30);

impl Engine {
    /// Follows the primary until this hub is promoted (`Ok`) or the engine must stop.
    pub(super) fn follow_primary(
        &mut self,
        dial: &mut dyn Dial,
        requests: &mut mpsc::Receiver<Request>,
    ) -> Result<(), Stop> {
        let Some(pair) = self.pair.clone() else {
            return Ok(());
        };
        while self.mode == Mode::Standby {
            let ended = match dial.dial() {
                Ok(link) => self.follow_link(link, requests)?,
                Err(down) => down,
            };
            pair.update_follow(|f| {
                f.connected = false;
                if f.problem.is_none() || ended.is_refusal {
                    f.problem = Some(ended.reason.clone());
                }
            });
            if self.mode != Mode::Standby {
                break;
            }
            if ended.is_refusal {
                tracing::error!(reason = %ended.reason, "REPLICATION: the primary refuses this standby");
            } else {
                tracing::warn!(reason = %ended.reason, "REPLICATION: not following the primary");
            }
            self.serve_for(if ended.is_refusal { RETRY * 10 } else { RETRY }, requests)?;
        }
        pair.update_follow(|f| f.connected = false);
        Ok(())
    }

    /// One link, from the hello to its end; returns why it ended.
    fn follow_link(
        &mut self,
        mut link: Box<dyn Link>,
        requests: &mut mpsc::Receiver<Request>,
    ) -> Result<Down, Stop> {
        let Some(pair) = self.pair.clone() else {
            return Ok(Down::passing("no pair"));
        };
        let from = self.seq;
        // The event's term lets the primary tell whether the two logs agree there.
        let term = match self.store.term_at(from) {
            Ok(term) => term,
            Err(e) => return Ok(Down::passing(format!("cannot read this hub's log: {e}"))),
        };
        let hello = FromStandby::Follow {
            token: pair.token.clone(),
            seq: from,
            term,
        };
        if let Err(down) = link.send(&hello) {
            return Ok(down);
        }
        let mut heard = Instant::now();
        loop {
            if let Err(stop) = self.serve_waiting(requests) {
                link.close();
                return Err(stop);
            }
            if self.mode != Mode::Standby {
                link.close();
                return Ok(Down::passing("no longer a standby"));
            }
            let message = match link.next(POLL) {
                Err(down) => return Ok(down),
                Ok(Heard::Nothing) if heard.elapsed() > SILENCE => {
                    link.close();
                    return Ok(Down::passing("the primary went silent"));
                }
                Ok(Heard::Nothing) => continue,
                Ok(Heard::Alive) => {
                    heard = Instant::now();
                    continue;
                }
                Ok(Heard::Message(message)) => {
                    heard = Instant::now();
                    message
                }
            };
            match message {
                FromPrimary::Start {
                    term,
                    head,
                    secrets,
                    display_generations,
                } => {
                    tracing::info!(from, head, term, "REPLICATION: following the primary");
                    self.settings(secrets, display_generations);
                    pair.update_follow(|f| {
                        f.connected = true;
                        f.problem = None;
                        f.primary_seq = head;
                    });
                }
                FromPrimary::Settings {
                    display_generations,
                    secrets,
                } => self.settings(secrets, display_generations),
                FromPrimary::Batch(batch) => {
                    if let Err(down) = self.keep_and_acknowledge(link.as_mut(), *batch)? {
                        return Ok(down);
                    }
                }
                FromPrimary::Refused { reason, message } => {
                    return Ok(Down {
                        reason: format!("{reason}: {message}"),
                        is_refusal: true,
                    });
                }
                FromPrimary::Standing { .. } | FromPrimary::Promoted { .. } => {}
            }
        }
    }

    /// A batch of the primary's, applied and committed one service day at a time, then
    /// acknowledged with the last `seq` on disk — before this hub's own connections hear of it,
    /// since the primary's answers wait for the acknowledgement and the standby's screens do not.
    fn keep_and_acknowledge(
        &mut self,
        link: &mut dyn Link,
        batch: Batch,
    ) -> Result<Result<(), Down>, Stop> {
        let parts = batch.by_day();
        let last = parts.len().saturating_sub(1);
        for (i, part) in parts.into_iter().enumerate() {
            let (respond, mut answer) = oneshot::channel();
            let now = self.clock.now();
            let request = Request::Replicated {
                batch: Box::new(part),
                respond,
            };
            let mut acknowledged = Ok(());
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let mut c = self.collect(now, vec![request], None);
                let wrote = self.commit(&mut c)?;
                acknowledged = match answer.try_recv() {
                    Ok(Ok(seq)) if i == last => link.send(&FromStandby::Ack { seq }),
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(cannot_keep(&e)),
                    Err(_) => Err(cannot_keep("no outcome")),
                };
                self.announce(now, c, wrote);
                Ok(())
            }));
            let failed = !matches!(outcome, Ok(Ok(())));
            self.recover(outcome)?;
            if failed {
                let why = match answer.try_recv() {
                    Ok(Err(e)) => e,
                    _ => "the batch was not committed".into(),
                };
                return Ok(Err(cannot_keep(&why)));
            }
            if acknowledged.is_err() {
                return Ok(acknowledged);
            }
        }
        Ok(Ok(()))
    }

    /// Serves every request waiting now, in batches as the engine's own loop does.
    fn serve_waiting(&mut self, requests: &mut mpsc::Receiver<Request>) -> Result<(), Stop> {
        loop {
            let mut batch = Vec::new();
            while batch.len() < MAX_BATCH {
                match requests.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) if batch.is_empty() => return Err(Stop),
                    Err(TryRecvError::Disconnected) => break,
                }
            }
            if batch.is_empty() {
                return Ok(());
            }
            self.process_guarded(batch)?;
        }
    }

    /// Serves requests for `wait` (between two tries at the primary), or until promoted.
    fn serve_for(
        &mut self,
        wait: Duration,
        requests: &mut mpsc::Receiver<Request>,
    ) -> Result<(), Stop> {
        let until = Instant::now() + wait;
        while Instant::now() < until && self.mode == Mode::Standby {
            self.serve_waiting(requests)?;
            std::thread::sleep(POLL.min(until.saturating_duration_since(Instant::now())));
        }
        Ok(())
    }
}

fn cannot_keep(why: &str) -> Down {
    Down::passing(format!("cannot keep the primary's events: {why}"))
}
