//! The centre's durable ledger: the hub's SQLite database, and the only code that names one of
//! its tables or columns (`scripts/check-sql` fails CI on SQL for it anywhere else).
//!
//! - [`schema`]: the tables, their migrations by `user_version`, and how a file is opened for
//!   writing (WAL, `synchronous=FULL`, incremental auto-vacuum).
//! - [`Writer`]: the one connection that writes, owned by the hub's engine thread — a group
//!   commit per batch, the retention, what a restart replays.
//! - [`Reader`]: a read-only connection with typed rows, for everything else that looks at a
//!   database — reports, the province's shipper, backups, the doctor — also while a hub
//!   serves it. It never migrates: a file of an older schema is refused until a hub opens it.
//! - [`backup`] (an online copy, checked) and [`integrity`] (`quick_check`).
//!
//! A value the hub does not know (a ticket status, a malformed time) is an error that names its
//! row, never a silent default.

mod error;
mod reader;
mod rows;
pub mod schema;
mod writer;

pub mod backup;
pub mod integrity;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::LedgerError;
pub use reader::{Counts, Reader, Shipment};
pub use rows::{
    AppointmentRow, EventRow, TicketRow, booking_status_from_text, booking_status_text,
    rated_by_from_text, rated_by_text, status_from_text, status_text,
};
pub use writer::{
    Batch, KEEP_FRAMES_DAYS, KEEP_REPLIES_DAYS, Pruned, Recorded, ReplyKey, StoredReply, Writer,
};
