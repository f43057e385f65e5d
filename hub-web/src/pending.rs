//! WebSocket connections that have not said hello yet. They are bounded, but a full pool never
//! refuses a newcomer: the oldest waiting socket is closed instead. A real device says hello
//! within milliseconds of connecting, so the oldest is, in practice, one that never will — and
//! nobody can keep a kiosk out by opening sockets and saying nothing.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// A socket's place among those waiting for their hello; it leaves when dropped.
pub struct Waiting {
    sockets: Arc<Mutex<PendingSockets>>,
    id: u64,
    /// Turns true when a newcomer needed this place.
    pub evicted: watch::Receiver<bool>,
}

pub struct PendingSockets {
    capacity: usize,
    next_id: u64,
    /// Oldest first.
    waiting: VecDeque<(u64, watch::Sender<bool>)>,
}

impl PendingSockets {
    pub fn new(capacity: usize) -> PendingSockets {
        PendingSockets {
            capacity: capacity.max(1),
            next_id: 0,
            waiting: VecDeque::new(),
        }
    }

    /// A place for a new socket, closing the oldest waiting one if the pool is full.
    pub fn admit(sockets: &Arc<Mutex<PendingSockets>>) -> Waiting {
        let mut pool = sockets.lock().unwrap_or_else(|e| e.into_inner());
        while pool.waiting.len() >= pool.capacity {
            if let Some((_, evict)) = pool.waiting.pop_front() {
                let _ = evict.send(true);
            }
        }
        pool.next_id += 1;
        let id = pool.next_id;
        let (evict, evicted) = watch::channel(false);
        pool.waiting.push_back((id, evict));
        Waiting {
            sockets: sockets.clone(),
            id,
            evicted,
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut pool = self.sockets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = pool.waiting.iter().position(|(id, _)| *id == self.id) {
            pool.waiting.remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_pool_closes_its_oldest_socket_for_a_newcomer() {
        let pool = Arc::new(Mutex::new(PendingSockets::new(2)));
        let first = PendingSockets::admit(&pool);
        let second = PendingSockets::admit(&pool);
        let third = PendingSockets::admit(&pool);
        assert!(*first.evicted.borrow(), "the oldest made room");
        assert!(!*second.evicted.borrow() && !*third.evicted.borrow());
        drop(second);
        let fourth = PendingSockets::admit(&pool);
        assert!(
            !*third.evicted.borrow() && !*fourth.evicted.borrow(),
            "a place was free"
        );
    }
}
