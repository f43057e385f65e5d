//! The kiosk: a touchscreen ticket dispenser that prints Vietnamese tickets.
//!
//! `controller` decides the screens and what a tap does; `cccd` reads a citizen-ID QR code into
//! one decision (60 or over?); `ticket` draws the printed ticket; `printer` builds the ESC/POS job
//! and sends it; `app` connects all of it to the hub and to the Slint window (`ui/`).

slint::include_modules!();

pub mod app;
pub mod cccd;
pub mod controller;
pub mod printer;
pub mod ticket;
