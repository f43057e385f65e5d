//! What every app uses to talk to the hub: a client that reconnects with backoff, resumes from
//! the last `seq` and resends unanswered commands with their ids (`client`), and a `Mirror` of
//! the hub's state applied from snapshots and events (`mirror`).

pub mod client;
pub mod mirror;
pub mod pictograms;
pub mod printer_address;
pub mod tls;

pub use client::{ClientConfig, CommandError, HubClient, SWITCHING_FOR, Update};
pub use mirror::Mirror;
