use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{0}: no such database")]
    NoDatabase(PathBuf),
    #[error("database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error(
        "database {path} was written by a newer hub (schema {found}, this hub knows up to {known}); refusing to touch it"
    )]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error(
        "database {path} has schema {found}, older than this hub's {known}: start the hub on it once (it upgrades the file), then try again"
    )]
    Older {
        path: String,
        found: i64,
        known: i64,
    },
    #[error(
        "database {path} is damaged ({source}). It has been left as it is for inspection; start the hub with another --db and report it"
    )]
    Damaged {
        path: String,
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the database's {what} cannot be read")]
    BadSetting { what: String },
    #[error("event {seq} in the database cannot be read: {reason}")]
    BadEvent { seq: u64, reason: String },
    #[error("booking {code} in the database cannot be read: {column} is {value:?}")]
    BadAppointment {
        code: String,
        column: &'static str,
        value: String,
    },
    #[error("ticket {id} in the database cannot be read: {column} is {value:?} ({reason})")]
    BadTicket {
        id: u64,
        column: &'static str,
        value: String,
        reason: String,
    },
}

pub(crate) fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

/// An error opening `path`: damage is told apart from the rest.
pub(crate) fn opening(path: &std::path::Path) -> impl Fn(rusqlite::Error) -> LedgerError + '_ {
    move |source| {
        let path = path.display().to_string();
        if is_damage(&source) {
            LedgerError::Damaged { path, source }
        } else {
            LedgerError::Open { path, source }
        }
    }
}
