//! The counter client: what a clerk uses all day to call the next citizen.
//!
//! `controller` decides what the screen shows and which actions make sense; `app` connects it to
//! the hub and to the Slint window (`ui/`).

slint::include_modules!();

pub mod app;
pub mod controller;
