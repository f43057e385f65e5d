//! `hub backup DIR`: a copy of the database that a clerk can carry away on a USB stick.
//!
//! SQLite's online backup API copies a consistent snapshot while the hub keeps writing (WAL lets
//! a reader and the writer work at once). The copy is written next to its final name, switched
//! out of WAL mode so that it is one self-contained file, checked by opening it (`quick_check`
//! and its last event), flushed, and only then renamed into place — a half-written copy never
//! looks like a backup. The newest `keep` copies stay; older `hub-*.db` files in DIR go.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rusqlite::{Connection, OpenFlags};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("no database at {0}")]
    NoDatabase(PathBuf),
    #[error("backup directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("copying {from} to {to}: {source}")]
    Copy {
        from: PathBuf,
        to: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the copy {path} failed its check ({problem}); it was deleted, the database is untouched"
    )]
    Check { path: PathBuf, problem: String },
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A finished, checked copy.
#[derive(Debug, Clone)]
pub struct Made {
    pub path: PathBuf,
    /// The last event in the copy.
    pub last_seq: u64,
    pub last_day: Option<NaiveDate>,
    /// Older copies deleted to keep `keep`.
    pub removed: Vec<PathBuf>,
}

const PREFIX: &str = "hub-";
const SUFFIX: &str = ".db";

/// Copies `db` into `dir` as `hub-YYYYMMDD-HHMMSS.db` and keeps the newest `keep` copies.
pub fn run(db: &Path, dir: &Path, keep: usize) -> Result<Made, BackupError> {
    if !db.is_file() {
        return Err(BackupError::NoDatabase(db.to_path_buf()));
    }
    let dir_err = |source| BackupError::Dir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(dir_err)?;
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let mut name = format!("{PREFIX}{stamp}{SUFFIX}");
    let mut n = 1;
    while dir.join(&name).exists() {
        n += 1;
        name = format!("{PREFIX}{stamp}-{n}{SUFFIX}");
    }
    let path = dir.join(&name);
    let partial = dir.join(format!(".{name}.partial"));
    let outcome = copy_and_check(db, &partial);
    let (last_seq, last_day) = match outcome {
        Ok(found) => found,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(match e {
                BackupError::Check { problem, .. } => BackupError::Check { path, problem },
                other => other,
            });
        }
    };
    std::fs::rename(&partial, &path).map_err(|source| BackupError::Io {
        path: path.clone(),
        source,
    })?;
    // The rename itself must survive a power cut (or the stick being pulled).
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    let removed = rotate(dir, keep.max(1)).map_err(dir_err)?;
    Ok(Made {
        path,
        last_seq,
        last_day,
        removed,
    })
}

fn copy_and_check(db: &Path, to: &Path) -> Result<(u64, Option<NaiveDate>), BackupError> {
    let copy_err = |source| BackupError::Copy {
        from: db.to_path_buf(),
        to: to.to_path_buf(),
        source,
    };
    let source =
        Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(copy_err)?;
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
    Ok((seen.last_seq, seen.last_day))
}

/// What a database file holds, checked.
#[derive(Debug, Clone)]
pub struct Inspected {
    /// Its last event (0: none).
    pub last_seq: u64,
    pub last_day: Option<NaiveDate>,
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
    let (seq, day): (i64, String) = c
        .query_row(
            "SELECT seq, day FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap_or((0, String::new()));
    Ok(Inspected {
        last_seq: seq as u64,
        last_day: day.parse().ok(),
    })
}

/// Deletes all but the newest `keep` copies (their names sort by time).
fn rotate(dir: &Path, keep: usize) -> std::io::Result<Vec<PathBuf>> {
    let mut copies: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    copies.sort();
    let excess = copies.len().saturating_sub(keep);
    let removed: Vec<PathBuf> = copies.drain(..excess).collect();
    for p in &removed {
        std::fs::remove_file(p)?;
    }
    Ok(removed)
}
