//! Ways to hurt a database on purpose, for the hub's storage and health tests (feature
//! `testing`, a dev-dependency only).

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use rusqlite::Connection;

/// A second connection holding the database's write lock until dropped: the writer's commits
/// fail with SQLITE_BUSY meanwhile.
pub struct WriteLock(#[allow(dead_code)] Connection);

pub fn hold_write_lock(path: &Path) -> rusqlite::Result<WriteLock> {
    let conn = Connection::open(path)?;
    conn.execute_batch("BEGIN EXCLUSIVE")?;
    Ok(WriteLock(conn))
}

/// A secret of the centre as the database holds it now (read by a second connection): a test
/// that shows a secret is gone once replaced needs its old value.
pub fn secret(path: &Path, key: &str) -> Result<Option<String>, crate::LedgerError> {
    let conn = Connection::open(path)?;
    let found = crate::writer::secrets(&conn)?;
    Ok(found.into_iter().find(|(k, _)| k == key).map(|(_, v)| v))
}

/// Overwrites the first page of the tickets table in the file itself (after checkpointing the
/// WAL into it), as a failing disk would.
pub fn damage_the_tickets_table(path: &Path) -> std::io::Result<()> {
    let (root, page_size): (i64, i64) = {
        let conn = Connection::open(path).map_err(std::io::Error::other)?;
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .map_err(std::io::Error::other)?;
        let root = conn
            .query_row(
                "SELECT rootpage FROM sqlite_schema WHERE name = 'tickets'",
                [],
                |r| r.get(0),
            )
            .map_err(std::io::Error::other)?;
        let size = conn
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .map_err(std::io::Error::other)?;
        (root, size)
    };
    let page_size = page_size as u64;
    let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
    file.seek(SeekFrom::Start((root as u64 - 1) * page_size))?;
    file.write_all(&vec![0xA5; page_size as usize])?;
    file.sync_all()
}
