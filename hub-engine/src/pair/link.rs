//! The standby's link to its primary as the standby's engine thread sees it: a socket it reads
//! and writes itself. A batch is read, applied, committed and acknowledged on that one thread,
//! with no hand-off between threads on the way (each costs tens of microseconds on a busy
//! two-core PC, and the primary's every answer waits for this round: docs/PERFORMANCE.md).
//! The socket itself — TCP or TLS, the WebSocket — is the `replication` crate's.

use std::time::Duration;

use super::messages::{FromPrimary, FromStandby};

/// Why a link ended, or could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Down {
    pub reason: String,
    /// The primary refused this standby (a wrong secret, a log that diverged): it is tried
    /// again far less often, and said louder.
    pub is_refusal: bool,
}

impl Down {
    /// The link is down for a reason that may pass (a cable, a restart).
    pub fn passing(reason: impl Into<String>) -> Down {
        Down {
            reason: reason.into(),
            is_refusal: false,
        }
    }
}

/// What one read of the link gave.
#[derive(Debug)]
pub enum Heard {
    /// Nothing within the wait.
    Nothing,
    /// The primary is there (a ping), with nothing to act on.
    Alive,
    Message(FromPrimary),
}

/// An open link to the primary.
pub trait Link: Send {
    /// Reads the next message, waiting at most `wait`.
    fn next(&mut self, wait: Duration) -> Result<Heard, Down>;
    fn send(&mut self, message: &FromStandby) -> Result<(), Down>;
    /// Closes the link politely (the primary logs why it ended).
    fn close(&mut self);
}

/// Opens links to the primary, as often as the standby needs one.
pub trait Dial: Send {
    fn dial(&mut self) -> Result<Box<dyn Link>, Down>;
}
