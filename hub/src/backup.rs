//! `hub backup DIR`: a copy of the database that a clerk can carry away on a USB stick.
//!
//! The copy (`ledger::backup::copy`: one consistent snapshot while the hub keeps writing, one
//! self-contained file, checked and flushed) is written next to its final name and only then
//! renamed into place — a half-written copy never looks like a backup. The newest `keep` copies
//! stay; older `hub-*.db` files in DIR go.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use ledger::backup::Inspected;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("no database at {0}")]
    NoDatabase(PathBuf),
    #[error("backup directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Copy(ledger::backup::BackupError),
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
    let Inspected { last_seq, last_day } = match ledger::backup::copy(db, &partial) {
        Ok(found) => found,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(match e {
                ledger::backup::BackupError::Check { problem, .. } => {
                    BackupError::Check { path, problem }
                }
                other => BackupError::Copy(other),
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
