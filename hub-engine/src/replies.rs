//! The idempotency memory: the answer to each command that changed something today, by device
//! and command id, so a retried command gets its first answer and no second effect. Bounded:
//! past `capacity` the oldest answers are forgotten (a client retries within seconds, not hours).
//! Refusals and commands that changed nothing are not kept: retrying them has no effect anyway.

use std::collections::{HashMap, VecDeque};

use tokio_tungstenite::tungstenite::Utf8Bytes;

use ledger::ReplyKey;

/// Answers remembered at most (about 100 bytes of key and up to a few KB of reply each).
pub const CAPACITY: usize = 100_000;

pub struct Replies {
    by_key: HashMap<ReplyKey, Utf8Bytes>,
    /// Keys in the order they were remembered, to forget the oldest first.
    order: VecDeque<ReplyKey>,
    capacity: usize,
}

impl Replies {
    pub fn new(capacity: usize) -> Replies {
        Replies {
            by_key: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Today's stored answers, as the store returns them.
    pub fn load(capacity: usize, stored: impl IntoIterator<Item = (ReplyKey, String)>) -> Replies {
        let mut replies = Replies::new(capacity);
        for (key, text) in stored {
            replies.remember(key, Utf8Bytes::from(text));
        }
        replies
    }

    pub fn get(&self, key: &ReplyKey) -> Option<&Utf8Bytes> {
        self.by_key.get(key)
    }

    pub fn remember(&mut self, key: ReplyKey, reply: Utf8Bytes) {
        if self.by_key.insert(key.clone(), reply).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.by_key.remove(&oldest);
            }
        }
    }

    pub fn clear(&mut self) {
        self.by_key.clear();
        self.order.clear();
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> ReplyKey {
        ReplyKey {
            device: "kiosk-1".into(),
            id: format!("k:{n}").into(),
        }
    }

    #[test]
    fn the_oldest_answers_are_forgotten_past_the_capacity() {
        let mut r = Replies::new(3);
        for n in 0..5 {
            r.remember(key(n), Utf8Bytes::from(format!("reply {n}")));
        }
        assert_eq!(r.len(), 3);
        assert!(r.get(&key(0)).is_none() && r.get(&key(1)).is_none());
        assert_eq!(r.get(&key(4)).map(|b| b.as_str()), Some("reply 4"));
        r.remember(key(4), Utf8Bytes::from("again"));
        assert_eq!(r.len(), 3, "a key remembered twice counts once");
        r.clear();
        assert!(r.is_empty());
    }
}
