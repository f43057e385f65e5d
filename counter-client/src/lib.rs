//! The counter client: what a clerk uses all day to call the next citizen.
//!
//! `controller` decides what the screen shows, which actions make sense and what each does (as
//! effects); `remember` keeps the last login on this PC; `app` connects them to the hub and to
//! the Slint window (`ui/`).

slint::include_modules!();

pub mod app;
pub mod controller;
pub mod remember;
