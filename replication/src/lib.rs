//! The link between a centre's two hub PCs (docs/OPERATIONS.md, "Two hub PCs"): the primary's
//! side of `/replicate` (`primary`: a standby's secret and log checked, catch-up from the
//! database, then each commit) and the standby's (`standby`: following the primary from the last
//! `seq` on disk, asking the peer what it is, `hub promote`'s request).
//!
//! Both talk to their engine through what the engine owns: its `Request`s and the
//! [`hub_engine::pair::Pair`], where the primary's engine ships each commit and waits for the
//! acknowledgement. Nothing here mutates the state or writes the database.

pub mod primary;
pub mod standby;
