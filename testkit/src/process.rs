use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Log lines a test may read back (the newest ones, at most this many).
const KEPT_LOG_LINES: usize = 10_000;

/// The hub's log as it arrives, with a signal for each new line.
#[derive(Default)]
struct Log {
    lines: Mutex<VecDeque<String>>,
    arrived: Condvar,
}

impl Log {
    fn keep(&self, line: String) {
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() >= KEPT_LOG_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
        self.arrived.notify_all();
    }
}

/// The hub's arguments to serve the built-in demo centre from `db` (made if missing) on a free
/// loopback port, for tests that set the binary's clock themselves (libfaketime): its service
/// day starts at midnight in Hà Nội, so the time the test chooses decides the day.
pub fn demo_args(db: &Path) -> Vec<std::ffi::OsString> {
    serve_args(std::ffi::OsString::from("demo"), db)
}

/// The same on the system clock: the demo centre from [`crate::real_clock_config_file`]
/// (written beside the database), its service day starting far from now.
pub fn real_clock_args(db: &Path) -> Vec<std::ffi::OsString> {
    let dir = db.parent().unwrap_or(Path::new("."));
    serve_args(crate::real_clock_config_file(dir).into_os_string(), db)
}

fn serve_args(config: std::ffi::OsString, db: &Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec!["--config".into(), config];
    args.extend(["--create-db", "--listen", "127.0.0.1:0"].map(Into::into));
    args.extend(["--db".into(), db.as_os_str().to_owned()]);
    args
}

/// The real `hub` binary, for tests that kill it (durability, soak) or measure it (bench).
pub struct HubProcess {
    pub child: Child,
    pub addr: SocketAddr,
    /// What the hub has logged since it started.
    log: Arc<Log>,
}

impl HubProcess {
    /// Freezes the hub (SIGSTOP, as a stuck disk or a debugger would) and returns once every
    /// one of its threads is stopped: a thread still running when `kill` returns could otherwise
    /// read and act on what the test sends next.
    pub fn freeze(&self) {
        self.signal("-STOP");
        let tasks = format!("/proc/{}/task", self.child.id());
        let deadline = std::time::Instant::now() + crate::WAIT;
        loop {
            let running = std::fs::read_dir(&tasks)
                .expect("the hub's threads in /proc")
                .filter_map(Result::ok)
                .filter_map(|t| std::fs::read_to_string(t.path().join("stat")).ok())
                // The state follows the command's closing parenthesis: `T` or `t` is stopped.
                .filter(|stat| {
                    let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
                    !state.is_some_and(|s| s.starts_with('T') || s.starts_with('t'))
                })
                .count();
            if running == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{running} of the hub's threads still run after SIGSTOP"
            );
            std::thread::yield_now();
        }
    }

    /// Lets a frozen hub run again (SIGCONT).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal}");
    }

    /// Starts `exe` (a test passes `env!("CARGO_BIN_EXE_hub")`) with `args` and returns once it
    /// has printed the address it serves, read from its log. The log keeps being drained so the
    /// hub never blocks on a full pipe.
    pub fn spawn(exe: &Path, args: &[&str]) -> HubProcess {
        let mut command = Command::new(exe);
        command.args(args);
        HubProcess::start(command)
    }

    /// The same for a command that runs the hub (in a wrapper, with a prepared stdin, …).
    pub fn start(mut command: Command) -> HubProcess {
        // At least the line with the address; a caller measuring the hub may want less.
        if !command.get_envs().any(|(name, _)| name == "RUST_LOG") {
            command.env("RUST_LOG", "info");
        }
        let mut child = command
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{command:?} starts: {e}"));
        let stderr = child.stderr.take().expect("the hub's log is piped");
        let mut lines = BufReader::new(stderr).lines();
        let log = Arc::new(Log::default());
        let addr = loop {
            let line = lines
                .next()
                .expect("the hub prints its address before exiting")
                .expect("a readable log");
            // The line that says where it serves (other lines may name other hubs' addresses).
            let serving = line.split_once("hub serving").map_or("", |(_, rest)| rest);
            let addr = serving
                .split("ws://")
                .nth(1)
                .map(|rest| rest.split('/').next().unwrap_or_default().to_string());
            log.keep(line);
            if let Some(addr) = addr {
                break addr.parse().expect("a socket address in the log");
            }
        };
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.keep(line);
            }
        });
        HubProcess { child, addr, log }
    }

    /// The hub's log lines so far.
    pub fn log_lines(&self) -> Vec<String> {
        let lines = self.log.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().cloned().collect()
    }

    /// Waits until the hub logs a line containing `needle` (or has logged one already), at
    /// most `timeout`; returns that line.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut lines = self.log.lines.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(line) = lines.iter().find(|l| l.contains(needle)) {
                return Some(line.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            lines = self
                .log
                .arrived
                .wait_timeout(lines, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The hub's peak resident memory so far (`VmHWM`), in bytes; `None` off Linux.
    pub fn peak_memory(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }

    /// Starts the hub on a free loopback port with the demo centre and `db`.
    pub fn demo(exe: &Path, db: &Path) -> HubProcess {
        let mut command = Command::new(exe);
        command.args(real_clock_args(db));
        HubProcess::start(command)
    }

    /// Kills it as a power cut would (SIGKILL) and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `exe` (the hub binary: a test passes `env!("CARGO_BIN_EXE_hub")`) with `args` to its end.
pub fn hub_cli(exe: &str, args: &[&str]) -> std::process::Output {
    Command::new(exe)
        .args(args)
        .output()
        .expect("the hub binary runs")
}

/// The same for a command that must succeed: its standard output.
pub fn hub_cli_ok(exe: &str, args: &[&str]) -> String {
    let out = hub_cli(exe, args);
    assert!(
        out.status.success(),
        "hub {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}
