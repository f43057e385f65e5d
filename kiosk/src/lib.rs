//! The kiosk: a touchscreen ticket dispenser that prints Vietnamese tickets.
//!
//! `controller` decides the steps and what a tap does (as effects); `screen` is what the screen
//! shows; `cccd` reads a citizen-ID QR code into one decision (60 or over?); `ticket` draws the
//! printed ticket; `printer` builds the ESC/POS job and sends it; `app` connects all of it to the
//! hub and to the Slint window (`ui/`).

slint::include_modules!();

pub mod app;
pub mod cccd;
pub mod controller;
pub mod printer;
pub mod screen;
pub mod spool;
pub mod ticket;
