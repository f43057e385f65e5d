//! Under systemd (`Type=notify`, `WatchdogSec=`): the real binary says READY once it serves,
//! pings the watchdog while its engine answers, and says STOPPING on SIGTERM — over the
//! `NOTIFY_SOCKET` datagram socket, played here by the test.

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

/// The next notification that contains `what`, or `None` after the socket's read timeout.
fn next_with(socket: &UnixDatagram, what: &str) -> Option<String> {
    let mut buf = [0u8; 1024];
    loop {
        let n = socket.recv(&mut buf).ok()?;
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if text.contains(what) {
            return Some(text);
        }
    }
}

#[test]
fn the_hub_says_ready_pings_the_watchdog_and_says_when_it_stops() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let db = dir.path().join("hub.db");
    // systemd names the process the watchdog is for: here the shell's pid, which `exec` keeps.
    let mut command = Command::new("sh");
    command
        .args(["-c", "export WATCHDOG_PID=$$; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_hub"))
        .args(testkit::real_clock_args(&db))
        .env("NOTIFY_SOCKET", &path)
        // A ping every 0.1 s.
        .env("WATCHDOG_USEC", "200000");
    let hub = testkit::HubProcess::start(command);
    let ready = next_with(&socket, "READY=1").expect("READY once it serves");
    assert!(
        ready.contains(&format!("serving on {}", hub.addr)),
        "{ready}"
    );
    for _ in 0..3 {
        assert!(next_with(&socket, "WATCHDOG=1").is_some(), "watchdog pings");
    }
    let stopped = Command::new("kill")
        .args(["-TERM", &hub.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(stopped.success());
    assert!(
        next_with(&socket, "STOPPING=1").is_some(),
        "STOPPING on SIGTERM"
    );
    hub.kill();
}
