//! `hub doctor` on a broken set-up names each problem with its fix, and fails; on a sound one it
//! says there is nothing to fix.

use std::path::Path;
use std::process::Command;

fn doctor(config: &Path, db: &Path) -> (bool, String) {
    // A kiosk on this machine that prints into a file (not whatever kiosk is installed here).
    let folder = config.parent().unwrap_or(Path::new("."));
    let kiosk = folder.join("kiosk.toml");
    let tickets = folder.join("tickets.bin");
    std::fs::write(
        &kiosk,
        format!("printer = \"file:{}\"\n", tickets.display()),
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_hub"))
        .args(["doctor", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .arg("--db")
        .arg(db)
        .arg("--kiosk-config")
        .arg(kiosk)
        .output()
        .expect("the hub binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The findings of a report: each starts with its verdict (`ok`, `warn`, `FIX`), says what was
/// seen in Vietnamese then English, and what to do; a blank line between them.
fn findings(report: &str) -> Vec<&str> {
    report
        .split("\n\n")
        .map(str::trim_end)
        .filter(|f| ["ok ", "warn", "FIX"].iter().any(|m| f.starts_with(m)))
        .collect()
}

/// The FIX finding that mentions `what`, with its fix.
fn fix_for<'a>(report: &'a str, what: &str) -> Option<&'a str> {
    findings(report)
        .into_iter()
        .find(|f| f.contains(what))
        .filter(|f| f.starts_with("FIX"))
}

#[test]
fn a_bad_configuration_line_and_a_missing_database_folder_are_named_with_their_fixes() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("centre.toml");
    let demo = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/demo-center.toml"
    ))
    .expect("the demo centre");
    // A technician's slip: a key without its value.
    std::fs::write(&config, demo.replacen("name_en = ", "name_en ", 1)).expect("write");
    let db = dir.path().join("no-such-folder").join("hub.db");
    let (ok, report) = doctor(&config, &db);
    assert!(!ok, "a broken set-up fails:\n{report}");
    let bad_line = fix_for(&report, "cannot be used").expect(&report);
    assert!(
        bad_line.contains("centre.toml:") && bad_line.contains("--check-config"),
        "{bad_line}"
    );
    let folder = fix_for(&report, "does not exist").expect(&report);
    assert!(
        folder.contains("no-such-folder") && folder.contains("install -d"),
        "{folder}"
    );
}

#[test]
fn a_sound_set_up_has_nothing_to_fix_and_the_example_leftovers_are_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let demo = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/demo-center.toml"
    ))
    .expect("the demo centre");
    let db = dir.path().join("hub.db");
    // The example as installed: demo tokens and PIN 1234 are named, with what to do.
    let example = dir.path().join("example.toml");
    std::fs::write(&example, &demo).expect("write");
    let (ok, report) = doctor(&example, &db);
    assert!(!ok);
    assert!(
        fix_for(&report, "example's tokens").is_some_and(|f| f.contains("openssl rand")),
        "{report}"
    );
    assert!(
        fix_for(&report, "example PIN").is_some_and(|f| f.contains("hash-pin")),
        "{report}"
    );
    // The centre's own tokens and PINs: nothing to fix (the database is created at first start).
    let own_pin = centre_config::auth::hash_pin("9876").expect("hash");
    let own: String = demo
        .lines()
        .map(|l| {
            if l.starts_with("pin_hash") {
                format!("pin_hash = \"{own_pin}\"")
            } else {
                l.replace("\"demo-", "\"centre-own-")
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let config = dir.path().join("centre.toml");
    std::fs::write(&config, own).expect("write");
    let (ok, report) = doctor(&config, &db);
    // Nothing of the set-up to fix; the test machine's own disk may be short (that finding is
    // unit-tested in doctor.rs).
    let fixes: Vec<&str> = findings(&report)
        .into_iter()
        .filter(|f| f.starts_with("FIX"))
        .collect();
    assert!(
        fixes
            .iter()
            .all(|f| f.contains("free on the database's disk")),
        "{report}"
    );
    assert_eq!(ok, fixes.is_empty(), "{report}");
    assert!(
        report.contains("no database at") && report.contains("--create-db"),
        "{report}"
    );
}
