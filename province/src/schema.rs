//! The central schema: the SQL files in `province/sql/`, applied in order, each in the same
//! transaction as its line in `hang_doi_schema`. Several centres' shippers may start at once:
//! an advisory lock lets one of them migrate while the others wait.

use tokio_postgres::{Client, GenericClient};

use super::ProvinceError;

/// The versions, in order; a released file is never edited (the next one changes things).
pub const MIGRATIONS: &[&str] = &[
    include_str!("../sql/001-events-and-tickets.sql"),
    include_str!("../sql/002-who-rated.sql"),
    include_str!("../sql/003-appointments.sql"),
    include_str!("../sql/004-waits.sql"),
    include_str!("../sql/005-bookings.sql"),
];

/// The advisory lock the migration holds ("hangdoi" in ASCII).
const MIGRATION_LOCK: i64 = 0x68_61_6e_67_64_6f_69;

/// The version the database is at (0: no schema).
pub async fn version(client: &impl GenericClient) -> Result<i32, ProvinceError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('hang_doi_schema') IS NOT NULL", &[])
        .await?
        .try_get(0)?;
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_one("SELECT coalesce(max(version), 0) FROM hang_doi_schema", &[])
        .await?;
    Ok(row.try_get(0)?)
}

/// Brings the schema up to this hub's version; refuses a newer one.
pub async fn migrate(client: &mut Client) -> Result<i32, ProvinceError> {
    let known = MIGRATIONS.len() as i32;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let found = version(&tx).await?;
    if found > known {
        return Err(ProvinceError::SchemaTooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as i32 + 1;
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO hang_doi_schema (version) VALUES ($1)",
            &[&version],
        )
        .await?;
        tracing::info!(version, "the province's schema is now at version {version}");
    }
    tx.commit().await?;
    Ok(known)
}

/// For readers (the report): the schema must be there and not newer than this hub knows.
pub async fn check(client: &Client) -> Result<(), ProvinceError> {
    let known = MIGRATIONS.len() as i32;
    match version(client).await? {
        0 => Err(ProvinceError::NoSchema),
        found if found > known => Err(ProvinceError::SchemaTooNew { found, known }),
        _ => Ok(()),
    }
}
