//! An online copy of a database, and what a copy (or any database file) holds, checked.
//!
//! SQLite's online backup API copies a consistent snapshot while the hub keeps writing (WAL lets
//! a reader and the writer work at once). The copy is switched out of WAL mode, so that it is
//! one self-contained file, then checked by opening it (`quick_check` and its last event) and
//! flushed. Naming, renaming into place and rotation are the caller's (`hub backup`).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rusqlite::{Connection, OpenFlags};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("copying {from} to {to}: {source}")]
    Copy {
        from: PathBuf,
        to: PathBuf,
        source: rusqlite::Error,
    },
    #[error("the copy {path} failed its check ({problem})")]
    Check { path: PathBuf, problem: String },
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a database file holds, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    /// Its last event (0: none).
    pub last_seq: u64,
    pub last_day: Option<NaiveDate>,
}

/// Copies the database `from` to the new file `to` (one consistent snapshot), checks the copy
/// and flushes it to disk.
pub fn copy(from: &Path, to: &Path) -> Result<Inspected, BackupError> {
    let copy_err = |source| BackupError::Copy {
        from: from.to_path_buf(),
        to: to.to_path_buf(),
        source,
    };
    let source =
        Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(copy_err)?;
    {
        let mut target = Connection::open(to).map_err(copy_err)?;
        {
            let backup = rusqlite::backup::Backup::new(&source, &mut target).map_err(copy_err)?;
            // All pages in one step: one consistent snapshot, whatever the hub writes meanwhile
            // (a writer in WAL mode does not block this reader). Busy only while the hub
            // checkpoints: try again a little later.
            let mut tries = 0;
            loop {
                match backup.step(-1).map_err(copy_err)? {
                    rusqlite::backup::StepResult::Done => break,
                    _ if tries < 100 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    _ => {
                        return Err(copy_err(rusqlite::Error::SqliteFailure(
                            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                            Some("the database stayed busy for five seconds".into()),
                        )));
                    }
                }
            }
        }
        // One self-contained file: no -wal or -shm beside it.
        target
            .pragma_update(None, "journal_mode", "DELETE")
            .map_err(copy_err)?;
    }
    let seen = inspect(to).map_err(|problem| BackupError::Check {
        path: to.to_path_buf(),
        problem,
    })?;
    std::fs::File::open(to)
        .and_then(|f| f.sync_all())
        .map_err(|source| BackupError::Io {
            path: to.to_path_buf(),
            source,
        })?;
    Ok(seen)
}

/// Opens a database read-only (also while the hub runs), runs SQLite's `quick_check` and finds
/// its last event; the problem in words when it is not sound.
pub fn inspect(db: &Path) -> Result<Inspected, String> {
    let c = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| e.to_string())?;
    let ok: String = c
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if ok != "ok" {
        return Err(ok);
    }
    let last: Option<(i64, String)> = c
        .query_row(
            "SELECT seq, day FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            other => Err(other.to_string()),
        })?;
    let (seq, day) = last.unwrap_or((0, String::new()));
    Ok(Inspected {
        last_seq: seq as u64,
        last_day: day.parse().ok(),
    })
}
