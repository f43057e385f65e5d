//! Which calls are announced, and the queue that says them one after another.
//!
//! `CallWatcher` reads the hub's updates: every live `ticket_called` event that passes the board's
//! filter is news — a recall too, since the citizen did not come the first time. What a board
//! receives while catching up after a reconnection (events up to the `head` of a replay) is not
//! news when it is older than `STILL_NEWS`: those calls were made while it was away and are only
//! shown. A call made during the few seconds of a reconnection is still said.
//!
//! `Announcer` owns a thread that renders each announcement and hands it to a `Speaker`, waiting
//! for it to finish before the next: two calls never talk over each other.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use hub_client::Update;
use protocol::EventKind;

use crate::board::Filter;
use crate::speech;
use crate::voice::{Sound, Voice};

/// One call to say aloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub label: String,
    pub counter: u32,
    pub recall: bool,
}

impl Announcement {
    pub fn sentence(&self) -> Result<String, speech::SpeechError> {
        speech::call_sentence(&self.label, self.counter)
    }
}

/// A call missed while reconnecting is still said if it is at most this old: the citizen may
/// not have looked at the screen yet. Older ones are only shown.
pub const STILL_NEWS: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// Decides which updates are news.
#[derive(Debug, Default)]
pub struct CallWatcher {
    /// Events up to this seq are catch-up.
    catch_up_until: u64,
    /// The board's clock minus the hub's, measured at the last snapshot.
    skew: chrono::TimeDelta,
}

impl CallWatcher {
    /// `now` is the board's clock.
    pub fn on_update(
        &mut self,
        update: &Update,
        filter: &Filter,
        now: DateTime<Utc>,
    ) -> Option<Announcement> {
        match update {
            Update::Snapshot { seq, snapshot } => {
                self.catch_up_until = *seq;
                self.skew = now - snapshot.center.now.with_timezone(&Utc);
                None
            }
            Update::Resumed { head, .. } => {
                self.catch_up_until = *head;
                None
            }
            Update::Offline { .. } | Update::Refused { .. } => None,
            Update::Event(frame) => {
                if frame.event.kind != EventKind::TicketCalled {
                    return None;
                }
                if frame.seq <= self.catch_up_until {
                    let age = now - self.skew - frame.at.with_timezone(&Utc);
                    if age > STILL_NEWS {
                        return None;
                    }
                }
                let ticket = frame.event.ticket.as_ref()?;
                let counter = ticket.counter?;
                if !filter.shows(counter, &ticket.service) {
                    return None;
                }
                Some(Announcement {
                    label: ticket.number.clone(),
                    counter,
                    recall: frame.event.recall.unwrap_or(false),
                })
            }
        }
    }
}

/// Where the sound goes. `play` returns when the sound has been played.
pub trait Speaker: Send {
    fn play(&mut self, sound: &Sound) -> Result<(), String>;
}

/// Plays through ALSA's `aplay` (Debian's alsa-utils), found at run time: the board builds
/// without any sound library, and a box without a sound device or without `aplay` stays silent.
pub struct AplaySpeaker;

impl Speaker for AplaySpeaker {
    fn play(&mut self, sound: &Sound) -> Result<(), String> {
        use std::io::Write;
        let mut child = std::process::Command::new("aplay")
            .args(["-q", "-t", "wav", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run aplay: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A closed pipe means aplay gave up; its status below says why.
            let _ = stdin.write_all(&sound.wav_bytes());
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("aplay: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            // ALSA explains at length; its last line says what failed.
            let why = String::from_utf8_lossy(&out.stderr);
            let last = why
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("failed");
            Err(format!("no sound device? {}", last.trim()))
        }
    }
}

/// Says nothing (`--mute`, tests).
pub struct SilentSpeaker;

impl Speaker for SilentSpeaker {
    fn play(&mut self, _: &Sound) -> Result<(), String> {
        Ok(())
    }
}

/// A call that waited longer than this in the queue is no longer said: the screen shows it.
const STALE: Duration = Duration::from_secs(90);

/// What the announcer did with one announcement (for tests and logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Said(Announcement),
    /// Could not be played (no sound device); the board carries on silently.
    Silent(Announcement),
    Skipped(Announcement),
}

/// The queue of announcements and the thread that says them.
pub struct Announcer {
    tx: mpsc::Sender<(Announcement, Instant)>,
}

impl Announcer {
    /// Starts the thread. Each finished announcement is reported on `done` when given.
    pub fn start(
        mut voice: Voice,
        mut speaker: Box<dyn Speaker>,
        done: Option<mpsc::Sender<Outcome>>,
    ) -> Announcer {
        let (tx, rx) = mpsc::channel::<(Announcement, Instant)>();
        std::thread::Builder::new()
            .name("announcer".into())
            .spawn(move || {
                let mut warned = false;
                for (a, queued) in rx {
                    let outcome = if queued.elapsed() > STALE {
                        tracing::info!(number = %a.label, counter = a.counter, "too old to announce");
                        Outcome::Skipped(a)
                    } else {
                        match say(&mut voice, speaker.as_mut(), &a) {
                            Ok(()) => Outcome::Said(a),
                            Err(e) => {
                                if !warned {
                                    tracing::warn!("announcements are silent: {e}");
                                    warned = true;
                                }
                                Outcome::Silent(a)
                            }
                        }
                    };
                    if let Some(done) = &done {
                        let _ = done.send(outcome);
                    }
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| tracing::warn!("no announcer thread, the board is silent: {e}"));
        Announcer { tx }
    }

    pub fn announce(&self, a: Announcement) {
        tracing::info!(number = %a.label, counter = a.counter, recall = a.recall, "announce");
        let _ = self.tx.send((a, Instant::now()));
    }
}

fn say(voice: &mut Voice, speaker: &mut dyn Speaker, a: &Announcement) -> Result<(), String> {
    let clips = speech::call_clips(&a.label, a.counter).map_err(|e| e.to_string())?;
    let sound = voice.render(&clips).map_err(|e| e.to_string())?;
    speaker.play(&sound)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    use protocol::ServerMessage;

    use super::*;

    /// The board's clock in the tests: a minute after the calls below.
    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T08:01:00+07:00")
            .expect("time")
            .with_timezone(&Utc)
    }

    fn call(seq: u64, number: &str, counter: u32, recall: bool) -> Update {
        call_at(seq, number, counter, recall, "08:00:00")
    }

    fn call_at(seq: u64, number: &str, counter: u32, recall: bool, hms: &str) -> Update {
        let text = format!(
            r#"{{"type": "event", "seq": {seq}, "at": "2026-11-23T{hms}+07:00",
                "event": {{"kind": "ticket_called", "recall": {recall},
                  "ticket": {{"id": {seq}, "number": "{number}", "service": "TP",
                    "status": "called", "issued_at": "2026-11-23T07:50:00+07:00",
                    "counter": {counter}}}}}}}"#
        );
        match serde_json::from_str::<ServerMessage>(&text) {
            Ok(ServerMessage::Event(frame)) => Update::Event(frame),
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn live_calls_and_recalls_are_news_catch_up_is_not() {
        let mut w = CallWatcher::default();
        let all = Filter::default();
        assert_eq!(
            w.on_update(&call(5, "A1001", 1, false), &all, now())
                .map(|a| a.label),
            Some("A1001".into())
        );
        let recall = w
            .on_update(&call(6, "A1001", 1, true), &all, now())
            .expect("recall");
        assert!(recall.recall);
        w.on_update(
            &Update::Offline {
                reason: "x".into(),
                switching: false,
            },
            &all,
            now(),
        );
        // Back after a break: 7 and 8 happened meanwhile, 9 is live.
        assert_eq!(
            w.on_update(&Update::Resumed { seq: 6, head: 8 }, &all, now()),
            None
        );
        assert_eq!(w.on_update(&call(7, "A1002", 2, false), &all, now()), None);
        assert_eq!(w.on_update(&call(8, "A1003", 3, false), &all, now()), None);
        // …but one made seconds ago, during the reconnection, is still said.
        assert_eq!(
            w.on_update(&Update::Resumed { seq: 8, head: 10 }, &all, now()),
            None
        );
        assert!(
            w.on_update(&call_at(9, "A1010", 3, false, "08:00:45"), &all, now())
                .is_some()
        );
        assert!(
            w.on_update(&call_at(10, "A1011", 3, false, "08:00:10"), &all, now())
                .is_none()
        );
        assert!(
            w.on_update(&call(11, "A1004", 3, false), &all, now())
                .is_some()
        );
        // A filtered board says only its own counters' calls.
        let only_two = Filter::parse(Some("2"), None).expect("filter");
        assert_eq!(
            w.on_update(&call(12, "A1005", 3, false), &only_two, now()),
            None
        );
        assert!(
            w.on_update(&call(13, "A1006", 2, false), &only_two, now())
                .is_some()
        );
    }

    /// Plays by holding a flag; a second sound starting while the first plays is an overlap.
    struct Checking {
        playing: Arc<AtomicBool>,
        overlaps: Arc<Mutex<u32>>,
        seconds: Arc<Mutex<Vec<f64>>>,
    }

    impl Speaker for Checking {
        fn play(&mut self, sound: &Sound) -> Result<(), String> {
            if self.playing.swap(true, Ordering::SeqCst) {
                *self.overlaps.lock().map_err(|e| e.to_string())? += 1;
            }
            self.seconds
                .lock()
                .map_err(|e| e.to_string())?
                .push(sound.seconds());
            // Let the caller queue more while this one "plays".
            std::thread::yield_now();
            self.playing.store(false, Ordering::SeqCst);
            Ok(())
        }
    }

    #[test]
    fn announcements_are_said_in_order_one_at_a_time() {
        let overlaps = Arc::new(Mutex::new(0));
        let seconds = Arc::new(Mutex::new(vec![]));
        let speaker = Checking {
            playing: Arc::new(AtomicBool::new(false)),
            overlaps: overlaps.clone(),
            seconds: seconds.clone(),
        };
        let (done_tx, done) = mpsc::channel();
        let announcer = Announcer::start(
            Voice::new(None).expect("voice"),
            Box::new(speaker),
            Some(done_tx),
        );
        let calls: Vec<Announcement> = (0..6)
            .map(|i| Announcement {
                label: format!("A10{i:02}"),
                counter: i + 1,
                recall: i == 3,
            })
            .collect();
        for a in &calls {
            announcer.announce(a.clone());
        }
        let said: Vec<Outcome> = (0..calls.len())
            .map(|_| done.recv_timeout(Duration::from_secs(30)).expect("said"))
            .collect();
        assert_eq!(
            said,
            calls.into_iter().map(Outcome::Said).collect::<Vec<_>>()
        );
        assert_eq!(*overlaps.lock().expect("lock"), 0);
        assert!(seconds.lock().expect("lock").iter().all(|s| *s > 2.0));
    }

    struct NoDevice;
    impl Speaker for NoDevice {
        fn play(&mut self, _: &Sound) -> Result<(), String> {
            Err("no sound card".into())
        }
    }

    #[test]
    fn without_a_sound_device_the_board_carries_on() {
        let (done_tx, done) = mpsc::channel();
        let announcer = Announcer::start(
            Voice::new(None).expect("voice"),
            Box::new(NoDevice),
            Some(done_tx),
        );
        for i in 0..2 {
            announcer.announce(Announcement {
                label: format!("B{i}"),
                counter: 1,
                recall: false,
            });
        }
        for _ in 0..2 {
            assert!(matches!(
                done.recv_timeout(Duration::from_secs(30)),
                Ok(Outcome::Silent(_))
            ));
        }
    }
}
