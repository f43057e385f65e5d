//! The hub's wire contract (`docs/PROTOCOL.md`) as Rust types: plain data with serde, nothing
//! that connects, spawns or reads a clock. The reconnecting client is in `hub-client`.

pub mod booking_code;
pub mod phone;
pub mod wire;

pub use wire::*;
