use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The real `hub` binary, for tests that kill it (durability, soak) or measure it (bench).
pub struct HubProcess {
    pub child: Child,
    pub addr: SocketAddr,
}

impl HubProcess {
    /// Starts `exe` (a test passes `env!("CARGO_BIN_EXE_hub")`) with `args` and returns once it
    /// has printed the address it serves, read from its log. The log keeps being drained so the
    /// hub never blocks on a full pipe.
    pub fn spawn(exe: &Path, args: &[&str]) -> HubProcess {
        let mut child = Command::new(exe)
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", exe.display()));
        let stderr = child.stderr.take().expect("the hub's log is piped");
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("the hub prints its address before exiting")
                .expect("a readable log");
            if let Some(rest) = line.split("ws://").nth(1) {
                let addr = rest.split('/').next().unwrap_or_default();
                break addr.parse().expect("a socket address in the log");
            }
        };
        std::thread::spawn(move || for _ in lines {});
        HubProcess { child, addr }
    }

    /// Starts the hub on a free loopback port with the demo centre and `db`.
    pub fn demo(exe: &Path, db: &Path) -> HubProcess {
        let db = db.to_str().expect("a UTF-8 database path");
        HubProcess::spawn(exe, &["--db", db, "--listen", "127.0.0.1:0"])
    }

    /// Kills it as a power cut would (SIGKILL) and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
