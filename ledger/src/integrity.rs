//! SQLite's own check of a database file.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{LedgerError, is_damage};

/// `PRAGMA quick_check` on a read-only connection of its own, so the engine keeps writing
/// meanwhile: `Ok(None)` when the file is sound, `Ok(Some(what))` when it is damaged.
pub fn check(path: &Path) -> Result<Option<String>, LedgerError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut stmt = conn.prepare("PRAGMA quick_check(20)")?;
    let found: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()
        .or_else(|e| {
            if is_damage(&e) {
                Ok(vec![e.to_string()])
            } else {
                Err(e)
            }
        })?;
    Ok(match found.as_slice() {
        [ok] if ok == "ok" => None,
        _ => Some(found.join("; ")),
    })
}
