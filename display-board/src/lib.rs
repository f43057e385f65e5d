//! The display board: the lobby's wall screen and its Vietnamese voice.
//!
//! `board` decides what the screen shows; `speech` reads numbers the Vietnamese way; `voice` turns
//! a call's words into sound from clips; `announcer` decides which calls are news and says them one
//! at a time; `app` connects all of it to the hub and to the Slint window (`ui/`).

slint::include_modules!();

pub mod announcer;
pub mod app;
pub mod board;
pub mod speech;
pub mod voice;
