//! Logging, set up once and the same way for every binary: the hub, the three apps and the demo
//! launcher. `RUST_LOG` always wins; otherwise each binary says what it wants by default.
//!
//! The demo launcher keeps the hub's log in a file beside its database so that what a newcomer
//! reads in the terminal is the centre's story, not one line per connection.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

/// Where log lines go.
pub enum Output<'a> {
    /// Standard error, for services (the journal collects it) and interactive use.
    Stderr,
    /// Appended to this file (created when missing).
    File(&'a Path),
}

/// The libraries that carry the wire: at their `trace` they write each frame whole, and a
/// frame may hold a citizen's phone number (`issue_ticket`'s `phone`). Held at `info` even
/// when `RUST_LOG` asks for more: the rule that no number is logged outranks a debugging wish.
const WIRE_LIBRARIES: [&str; 6] = [
    "tungstenite=info",
    "tokio_tungstenite=info",
    "hyper=info",
    "hyper_util=info",
    "h2=info",
    "rustls=info",
];

/// Installs the global logger: lines at `default_filter` (e.g. `"info"`, `"warn,hub=info"`)
/// unless `RUST_LOG` says otherwise. Call once, first thing in `main`.
pub fn init(default_filter: &str, output: Output<'_>) -> anyhow::Result<()> {
    let mut filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    for quiet in WIRE_LIBRARIES {
        if let Ok(directive) = quiet.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match output {
        Output::Stderr => builder.with_writer(std::io::stderr).try_init(),
        Output::File(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening the log file {}", path.display()))?;
            builder
                .with_ansi(false)
                .with_writer(Mutex::new(file))
                .try_init()
        }
    };
    result.map_err(|e| anyhow::anyhow!("logging was already set up: {e}"))
}
