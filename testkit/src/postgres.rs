//! A throw-away PostgreSQL server for the province's tests: Debian's `postgresql` binaries
//! (`scripts/ensure-system-packages` installs them), a cluster made with `initdb` in a temporary
//! directory, listening on a free loopback port, with a password (the shippers read it from a
//! file, as in a real centre). PostgreSQL refuses to run as root, so under root it runs as the
//! `postgres` user the package created (`runuser`). Stopped and deleted when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The superuser of the test cluster and its password.
pub const PG_USER: &str = "hang_doi";
const PG_PASSWORD: &str = "test-only-password";
/// The account the server runs as when the tests run as root.
const RUN_AS: &str = "postgres";

pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    durable: bool,
    tls: bool,
}

impl Postgres {
    /// A fresh cluster, started, tuned for tests (no fsync: a crash of the machine is not what
    /// is tested, a crash of the hub or the link is).
    pub fn start() -> Postgres {
        Postgres::start_with(false, None)
    }

    /// The same, durable as a real server (fsync, synchronous commit): for measurements.
    pub fn start_durable() -> Postgres {
        Postgres::start_with(true, None)
    }

    /// The same, accepting TCP connections over TLS only (`hostssl`), with this certificate
    /// chain and key (PEM).
    pub fn start_with_tls(cert_pem: &str, key_pem: &str) -> Postgres {
        Postgres::start_with(false, Some((cert_pem, key_pem)))
    }

    fn start_with(durable: bool, tls: Option<(&str, &str)>) -> Postgres {
        let bin = binaries();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("data directory");
        let password = dir.path().join("password");
        std::fs::write(&password, format!("{PG_PASSWORD}\n")).expect("password file");
        if is_root() {
            make_accessible(dir.path(), &[&data, &password]);
        }
        let status = as_server_user(&bin.join("initdb"))
            .args([
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "-U",
                PG_USER,
            ])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", password.display()))
            .arg("-D")
            .arg(&data)
            .output()
            .expect("initdb runs");
        assert!(
            status.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        if let Some((cert, key)) = tls {
            use std::os::unix::fs::PermissionsExt;
            let (cert_file, key_file) = (data.join("server.crt"), data.join("server.key"));
            std::fs::write(&cert_file, cert).expect("certificate");
            std::fs::write(&key_file, key).expect("key");
            // The server refuses a key others may read.
            std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
                .expect("chmod");
            let hba = data.join("pg_hba.conf");
            let rules = std::fs::read_to_string(&hba).expect("pg_hba.conf");
            let tls_only: String = rules
                .lines()
                .map(|l| match l.strip_prefix("host ") {
                    Some(rest) => format!("hostssl {rest}\n"),
                    None => format!("{l}\n"),
                })
                .collect();
            std::fs::write(&hba, tls_only).expect("pg_hba.conf");
            if is_root() {
                make_accessible(dir.path(), &[&cert_file, &key_file, &hba]);
            }
        }
        let port = free_port();
        let pg = Postgres {
            dir,
            bin,
            port,
            durable,
            tls: tls.is_some(),
        };
        pg.start_again();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A connection string for the hub's configuration (no password: that is in
    /// [`Postgres::password_file`]).
    pub fn database(&self) -> String {
        let ssl = if self.tls { "require" } else { "disable" };
        format!(
            "host=127.0.0.1 port={} user={PG_USER} dbname=postgres sslmode={ssl}",
            self.port
        )
    }

    /// The same with the password, for the test's own connections and `hub report --province`.
    pub fn url(&self) -> String {
        let ssl = if self.tls { "require" } else { "disable" };
        format!(
            "postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{}/postgres?sslmode={ssl}",
            self.port
        )
    }

    /// A file whose first line is the password.
    pub fn password_file(&self) -> PathBuf {
        self.dir.path().join("password")
    }

    /// Starts the server (again, after [`Postgres::stop`]) and returns once it accepts
    /// connections.
    pub fn start_again(&self) {
        let options = if self.durable {
            format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1",
                self.port,
                self.data().display()
            )
        } else {
            format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                self.port,
                self.data().display()
            )
        };
        let options = if self.tls {
            options + " -c ssl=on"
        } else {
            options
        };
        self.pg_ctl(&["-w", "-t", "60", "-o", &options, "start"]);
    }

    /// Stops the server as an administrator would (fast: open transactions are rolled back,
    /// clients disconnected): the link to the province is down until [`Postgres::start_again`].
    pub fn stop(&self) {
        self.pg_ctl(&["-w", "-t", "60", "-m", "fast", "stop"]);
    }

    /// Freezes the server and every backend (SIGSTOP): connections stay open and hang, as over
    /// a link that stalls instead of failing. [`Postgres::thaw`] lets them go on.
    pub fn freeze(&self) {
        self.signal_all("-STOP");
    }

    pub fn thaw(&self) {
        self.signal_all("-CONT");
    }

    fn signal_all(&self, signal: &str) {
        let pid_file = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .expect("the server's postmaster.pid");
        let postmaster = pid_file.lines().next().expect("a pid").trim().to_string();
        let mut pids = children_of(&postmaster);
        // A running server always has its checkpointer, writers and launcher.
        assert!(
            !pids.is_empty(),
            "no processes under the postmaster {postmaster}"
        );
        pids.push(postmaster);
        let status = Command::new("kill")
            .arg(signal)
            .args(&pids)
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {pids:?}");
    }

    fn pg_ctl(&self, args: &[&str]) {
        let log = self.data().join("server.log");
        let out = as_server_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .args(args)
            .output()
            .expect("pg_ctl runs");
        assert!(
            out.status.success(),
            "pg_ctl {args:?} failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_server_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

/// The newest PostgreSQL installed by Debian's packages.
fn binaries() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| {
                    let version = e.file_name().to_str()?.parse().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("initdb").is_file().then_some((version, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .expect("PostgreSQL under /usr/lib/postgresql (scripts/ensure-system-packages installs it)")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command run as the server's user (under root), or as ourselves.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", RUN_AS, "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Lets the server's user into the temporary directory and gives it what it writes.
fn make_accessible(dir: &Path, owned: &[&Path]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let status = Command::new("chown")
        .arg(format!("{RUN_AS}:"))
        .args(owned)
        .status()
        .expect("chown runs");
    assert!(status.success(), "chown to {RUN_AS} failed");
}

/// The processes whose parent is `pid` (from /proc: no procps needed).
fn children_of(pid: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // "pid (comm) state ppid …": the name may hold spaces, so read after its ')'.
            let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?;
            (ppid == pid).then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
