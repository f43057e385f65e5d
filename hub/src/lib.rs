//! The hub: the only truth of a centre. See `docs/ARCHITECTURE.md` for the map.

pub mod auth;
pub mod config;
pub mod core;
