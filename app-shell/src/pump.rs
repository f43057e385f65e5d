use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The one channel on which everything reaches an app's UI thread.
pub struct Inbox<M> {
    tx: mpsc::Sender<M>,
    rx: mpsc::Receiver<M>,
}

impl<M> Inbox<M> {
    pub fn new() -> Inbox<M> {
        let (tx, rx) = mpsc::channel();
        Inbox { tx, rx }
    }

    /// A sender for another thread or task.
    pub fn sender(&self) -> mpsc::Sender<M> {
        self.tx.clone()
    }

    /// What has arrived, without waiting.
    pub fn try_next(&self) -> Option<M> {
        self.rx.try_recv().ok()
    }

    /// The next message, waiting up to `timeout`.
    pub fn next_within(&self, timeout: Duration) -> Option<M> {
        self.rx.recv_timeout(timeout).ok()
    }
}

impl<M> Default for Inbox<M> {
    fn default() -> Inbox<M> {
        Inbox::new()
    }
}

/// An app that applies its inbox on the UI thread: a timer calls [`Pump::pump`]; tests and
/// headless snapshots use [`Pump::pump_until`] to see every state in between.
pub trait Pump {
    type Message;

    fn inbox(&self) -> &Inbox<Self::Message>;
    /// Applies one message to the app's state.
    fn handle(&mut self, message: Self::Message);
    /// Runs what time alone changes (idle clocks) and copies the state into the window.
    fn refresh(&mut self);

    /// Applies everything that has arrived, then refreshes. Returns whether anything did.
    fn pump(&mut self) -> bool {
        let mut any = false;
        while let Some(m) = self.inbox().try_next() {
            self.handle(m);
            any = true;
        }
        self.refresh();
        any
    }

    /// Waits up to `timeout` for one message and applies just that one. Returns whether one came.
    fn pump_wait(&mut self, timeout: Duration) -> bool {
        match self.inbox().next_within(timeout) {
            Some(m) => {
                self.handle(m);
                self.refresh();
                true
            }
            None => false,
        }
    }

    /// Pumps until `done` holds, or gives up after `timeout`. Returns whether it held.
    fn pump_until(&mut self, timeout: Duration, mut done: impl FnMut(&Self) -> bool) -> bool
    where
        Self: Sized,
    {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.pump_wait(left);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Counter {
        inbox: Inbox<u32>,
        total: u32,
        refreshed: u32,
    }

    impl Pump for Counter {
        type Message = u32;
        fn inbox(&self) -> &Inbox<u32> {
            &self.inbox
        }
        fn handle(&mut self, m: u32) {
            self.total += m;
        }
        fn refresh(&mut self) {
            self.refreshed += 1;
        }
    }

    #[test]
    fn pumping_applies_in_order_and_stops_when_done() {
        let mut c = Counter::default();
        let tx = c.inbox.sender();
        for n in [1, 2, 3, 4] {
            tx.send(n).expect("send");
        }
        assert!(c.pump_until(Duration::from_secs(5), |c| c.total >= 3));
        assert_eq!(c.total, 3, "stopped after the message that made it true");
        assert!(c.pump());
        assert_eq!(c.total, 10);
        assert!(!c.pump());
        assert!(!c.pump_until(Duration::from_millis(20), |c| c.total > 10));
    }
}
