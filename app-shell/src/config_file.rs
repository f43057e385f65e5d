//! An app's flags from a file: `--config /etc/hang-doi/kiosk.toml` reads a TOML table whose keys
//! are the app's long flags (`hub`, `device`, `token_file`, `printer`, `paper`, …) and puts them
//! on the command line before the flags typed there — so an installed kiosk starts from its file
//! and a technician can still try one flag by hand. One set of names for both, checked by the
//! same parser: a misspelt key is refused like a misspelt flag.

use std::ffi::OsString;
use std::path::Path;

use anyhow::Context;

/// The flag naming the file.
const CONFIG_FLAG: &str = "--config";

/// The app's command line parsed, with the flags of its `--config` file (if any) in front; the
/// file is not read when the first argument is one of `subcommands` (tools take their own flags).
/// `--help` and `--version` print and exit as usual; a mistake that may be in the file says so.
pub fn parse_args<C: clap::Parser>(subcommands: &[&str]) -> anyhow::Result<C> {
    let given: Vec<OsString> = std::env::args_os().collect();
    let file = config_path(&given);
    let args = expand(given, subcommands)?;
    C::try_parse_from(args).map_err(|e| {
        use clap::error::ErrorKind;
        match (e.kind(), &file) {
            (ErrorKind::DisplayHelp | ErrorKind::DisplayVersion, _) | (_, None) => e.exit(),
            (_, Some(file)) => anyhow::anyhow!(
                "{}(the keys of {} are read as flags: a key there may be misspelt or not this \
                 app's)",
                e.render(),
                file.display()
            ),
        }
    })
}

fn expand(args: Vec<OsString>, subcommands: &[&str]) -> anyhow::Result<Vec<OsString>> {
    if args
        .get(1)
        .and_then(|a| a.to_str())
        .is_some_and(|a| subcommands.contains(&a))
    {
        return Ok(args);
    }
    let Some(path) = config_path(&args) else {
        return Ok(args);
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the configuration file {}", path.display()))?;
    let from_file = flags(&text).with_context(|| format!("in {}", path.display()))?;
    let mut out = Vec::with_capacity(args.len() + from_file.len());
    let mut rest = args.into_iter();
    out.extend(rest.next());
    out.extend(from_file.into_iter().map(OsString::from));
    out.extend(rest);
    Ok(out)
}

/// The value of `--config FILE` or `--config=FILE`.
fn config_path(args: &[OsString]) -> Option<std::path::PathBuf> {
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let arg = arg.to_str()?;
        if arg == CONFIG_FLAG {
            return iter.next().map(|p| Path::new(p).to_path_buf());
        }
        if let Some(p) = arg.strip_prefix("--config=") {
            return Some(Path::new(p).to_path_buf());
        }
    }
    None
}

/// The file's keys as flags: `key = "text"` or a number → `--key value`; `key = true` →
/// `--key` (false: nothing); `key = [1, 2]` → `--key 1,2`.
fn flags(text: &str) -> anyhow::Result<Vec<String>> {
    let table: toml::Table = text.parse().context("not a valid TOML file")?;
    let mut out = vec![];
    for (key, value) in table {
        anyhow::ensure!(
            key != "config",
            "a configuration file cannot name another one"
        );
        let flag = format!("--{}", key.replace('_', "-"));
        let scalar = |v: &toml::Value| -> anyhow::Result<String> {
            Ok(match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Float(x) => x.to_string(),
                other => anyhow::bail!("{key}: a text or a number is expected, not {other}"),
            })
        };
        match &value {
            toml::Value::Boolean(true) => out.push(flag),
            toml::Value::Boolean(false) => {}
            toml::Value::Array(items) => {
                let items: Vec<String> = items.iter().map(scalar).collect::<Result<_, _>>()?;
                out.push(flag);
                out.push(items.join(","));
            }
            other => {
                out.push(flag);
                out.push(scalar(other)?);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_file_comes_first_and_the_command_line_after_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("kiosk.toml");
        std::fs::write(
            &file,
            "hub = \"ws://10.0.0.2:7878/ws\"\ntoken_file = \"/etc/hang-doi/kiosk.token\"\n\
             paper = 58\ntext_only = true\nenglish = false\ncounters = [1, 2, 5]\n",
        )
        .expect("write");
        let given = args(&[
            "kiosk",
            "--config",
            file.to_str().expect("utf-8"),
            "--paper",
            "80",
        ]);
        let got = expand(given, &["print-test"]).expect("expanded");
        let got: Vec<&str> = got.iter().filter_map(|a| a.to_str()).collect();
        assert_eq!(
            got[..10],
            [
                "kiosk",
                "--counters",
                "1,2,5",
                "--hub",
                "ws://10.0.0.2:7878/ws",
                "--paper",
                "58",
                "--text-only",
                "--token-file",
                "/etc/hang-doi/kiosk.token"
            ]
        );
        assert_eq!(
            got[10..],
            ["--config", file.to_str().expect("utf-8"), "--paper", "80"]
        );
    }

    #[test]
    fn tools_and_plain_command_lines_are_left_alone() {
        let plain = args(&["kiosk", "--hub", "ws://h/ws"]);
        assert_eq!(expand(plain.clone(), &[]).expect("ok"), plain);
        let tool = args(&["kiosk", "print-test", "--config", "/nonexistent"]);
        assert_eq!(expand(tool.clone(), &["print-test"]).expect("ok"), tool);
    }

    #[test]
    fn a_bad_file_is_a_clear_error_naming_it() {
        let missing = expand(args(&["board", "--config=/nonexistent.toml"]), &[]);
        let e = format!("{:#}", missing.expect_err("missing file"));
        assert!(e.contains("/nonexistent.toml"), "{e}");
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("board.toml");
        std::fs::write(&file, "voice = { folder = \"x\" }\n").expect("write");
        let e = expand(
            args(&["board", "--config", file.to_str().expect("utf-8")]),
            &[],
        );
        let e = format!("{:#}", e.expect_err("a table is not a flag"));
        assert!(e.contains("board.toml") && e.contains("voice"), "{e}");
        std::fs::write(&file, "hub = \n").expect("write");
        let e = expand(
            args(&["board", "--config", file.to_str().expect("utf-8")]),
            &[],
        );
        assert!(format!("{:#}", e.expect_err("bad TOML")).contains("not a valid TOML"));
    }
}
