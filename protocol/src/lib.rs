//! The hub's wire contract (`docs/PROTOCOL.md`) as Rust types, and the reconnecting client that
//! the kiosk, the counter client and the display board share.

pub mod client;
pub mod mirror;
pub mod wire;

pub use client::{ClientConfig, CommandError, HubClient, Update};
pub use mirror::Mirror;
pub use wire::*;
