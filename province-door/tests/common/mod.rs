//! What the door's tests share: the binary run against the test's PostgreSQL, and a centre's
//! shipper writing what its hub would.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use province::ship::{Centre, Shipper};
use testkit::Postgres;

/// One instance of `hang-doi-province`, killed when dropped.
pub struct DoorProcess {
    child: Child,
    pub addr: SocketAddr,
}

impl DoorProcess {
    pub fn start(pg: &Postgres) -> DoorProcess {
        DoorProcess::start_with(pg, &[])
    }

    /// With more arguments (a booking key, the proof's bits, trusted proxies).
    pub fn start_with(pg: &Postgres, extra: &[&std::ffi::OsStr]) -> DoorProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_province-door"))
            .args(["--database", &pg.database(), "--listen", "127.0.0.1:0"])
            .args(extra)
            .arg("--password-file")
            .arg(pg.password_file())
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the door starts");
        let stderr = child.stderr.take().expect("piped");
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("the door says where it serves before it exits")
                .expect("a readable log");
            if let Some((_, rest)) = line.split_once("serves on http://") {
                let addr = rest.split('/').next().unwrap_or_default();
                break addr.parse().expect("an address");
            }
        };
        std::thread::spawn(move || for _ in lines {});
        DoorProcess { child, addr }
    }
}

impl Drop for DoorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn shipper(pg: &Postgres, id: &str, name: &str, fields: &[(&str, &str, &str)]) -> Shipper {
    let mut link = province::Link::new(pg.database());
    link.password_file = Some(pg.password_file());
    Shipper {
        centre: Centre {
            id: id.into(),
            name: name.into(),
            name_en: String::new(),
            time_zone: "Asia/Ho_Chi_Minh".into(),
            day_starts_at: "00:00:00".into(),
            services: fields
                .iter()
                .map(|(id, vi, en)| (id.to_string(), vi.to_string(), en.to_string()))
                .collect(),
        },
        db: std::path::PathBuf::new(),
        link,
        batch: 1000,
        rules: None,
    }
}

/// `hang-doi-province --new-booking-key` into `dir`: the key file and its public line.
pub fn new_booking_key(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let path = dir.join("booking.key");
    let out = Command::new(env!("CARGO_BIN_EXE_province-door"))
        .arg("--new-booking-key")
        .arg(&path)
        .output()
        .expect("the door runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = String::from_utf8(out.stdout)
        .expect("text")
        .trim()
        .to_string();
    (path, public)
}
