//! The `hub` command line as a tree: serving (the default, so that installed units keep
//! `hub --config … --db …`) and one module per subcommand, dispatched by one `match`.
//!
//! Serving always takes explicit paths (a hub must never guess its database). The read-only
//! subcommands — `report`, `backup`, `doctor`, `ship` — find an installed machine's
//! configuration and database by themselves when none is given.

use clap::{Parser, Subcommand};

mod backup;
mod common;
mod doctor;
mod hash_pin;
mod promote;
mod province_schema;
mod report;
mod serve;
mod ship;
mod simulate;
mod standby;

#[derive(Parser)]
#[command(
    name = "hub",
    version,
    about = "The queue hub of a public administration service centre",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(flatten)]
    serve: serve::Args,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the centre (also what `hub` without a subcommand does).
    Serve(serve::Args),
    /// Print the Argon2 hash of a PIN (read from standard input) for a [[staff]] entry.
    HashPin,
    /// Copy the database to DIR while the hub runs (SQLite's online backup), check the copy by
    /// opening it, and keep the newest KEEP copies. Restore: docs/OPERATIONS.md.
    Backup(backup::Args),
    /// Check this machine's set-up (configuration, database, clock, port, file limit, disk, the
    /// province's database, a kiosk's printer) and say what to fix.
    Doctor(doctor::Args),
    /// Figures for service days FROM..=TO from a hub's database (read-only, also while it runs),
    /// or with --province for every centre of the province from its PostgreSQL.
    Report(report::Args),
    /// Create the province's schema in its PostgreSQL, or bring it up to this hub's version
    /// (as the database's owner; docs/PROVINCE.md).
    ProvinceSchema(province_schema::Args),
    /// Ship this centre's event log to the province's PostgreSQL ([province] in the
    /// configuration) and exit once the province has all of it. The hub does the same by itself
    /// while it serves; this is for a catch-up by hand, or for a database carried on a stick.
    Ship(ship::Args),
    /// Run a day through the queue rules on a virtual clock and print the report and the queue
    /// hour by hour. Deterministic for a seed.
    Simulate(simulate::Args),
    /// Make this machine's database a standby's, following the primary that [replication]
    /// names (a new database, or with --resync an old primary's, kept aside). Stop the hub first.
    Standby(standby::Args),
    /// Make this machine's standby hub the primary, in a new term (docs/OPERATIONS.md, "Two hub
    /// PCs"). Refused while the standby is behind, unless --force.
    Promote(promote::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => serve::run(args),
        Command::HashPin => hash_pin::run(),
        Command::Backup(args) => backup::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Report(args) => report::run(args),
        Command::ProvinceSchema(args) => province_schema::run(args),
        Command::Ship(args) => ship::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Standby(args) => standby::run(args),
        Command::Promote(args) => promote::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn plain_flags_serve_and_subcommands_take_their_own() {
        let serve =
            Cli::try_parse_from(["hub", "--config", "demo", "--db", "x.db"]).expect("serve");
        assert!(serve.command.is_none());
        assert_eq!(serve.serve.db.as_deref(), Some(Path::new("x.db")));
        let report =
            Cli::try_parse_from(["hub", "report", "--from", "2026-11-23", "--by", "staff"])
                .expect("report");
        assert!(matches!(report.command, Some(Command::Report(_))));
        // A misspelt grouping is refused by the parser, with the choices.
        let bad = Cli::try_parse_from(["hub", "report", "--from", "2026-11-23", "--by", "clerk"]);
        assert!(bad.is_err());
        // Serving flags belong to serving.
        assert!(
            Cli::try_parse_from(["hub", "report", "--from", "2026-11-23", "--create-db"]).is_err()
        );
    }
}
