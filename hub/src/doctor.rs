//! `hang-doi-hub doctor`: looks at a machine's set-up the way a technician would, and says in
//! plain words what is wrong and how to fix it — the configuration, the database and its
//! folder, the clock, the port, the open-file limit, the disk, the province's database when the
//! centre ships there, and the printer a kiosk on this machine is set up for. It changes nothing.

use hub_client::printer_address::PrinterAddress;
use std::fmt;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use centre_config::Config;
use centre_config::auth::PinVerifier;

/// Where the packages put things (docs/INSTALL.md).
pub const INSTALLED_CONFIG: &str = "/etc/hang-doi/centre.toml";
pub const INSTALLED_DB: &str = "/var/lib/hang-doi/hub.db";
pub const INSTALLED_KIOSK_CONFIG: &str = "/etc/hang-doi/kiosk.toml";

/// Below this, the disk is worth a warning: a busy centre's database grows ~2 GB a year.
const LOW_DISK: u64 = 2 * 1024 * 1024 * 1024;
/// Below this, it must be fixed now: the nightly backup needs room for a copy of the database,
/// and SQLite's write-ahead log for a day's work.
const FULL_DISK: u64 = 512 * 1024 * 1024;
/// The example PIN of the packaged configuration.
const EXAMPLE_PIN: &str = "1234";

/// What to look at.
pub struct Setup {
    pub config: PathBuf,
    pub db: PathBuf,
    pub listen: SocketAddr,
    /// A kiosk's settings on this machine, if any (its printer is tried).
    pub kiosk_config: Option<PathBuf>,
}

/// How a check came out.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Ok,
    /// Works, but worth a look.
    Warn,
    /// Must be fixed.
    Fix,
}

/// Words for the technician, in Vietnamese first, then in English (as docs/INSTALL.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Said {
    pub vi: String,
    pub en: String,
}

fn said(vi: impl Into<String>, en: impl Into<String>) -> Said {
    Said {
        vi: vi.into(),
        en: en.into(),
    }
}

/// One check's finding: what was seen and, unless all is well, what to do.
#[derive(Debug)]
pub struct Finding {
    pub verdict: Verdict,
    pub what: Said,
    pub fix: Option<Said>,
}

impl Finding {
    fn ok(what: Said) -> Finding {
        Finding {
            verdict: Verdict::Ok,
            what,
            fix: None,
        }
    }

    fn warn(what: Said, fix: Said) -> Finding {
        Finding {
            verdict: Verdict::Warn,
            what,
            fix: Some(fix),
        }
    }

    fn fix(what: Said, fix: Said) -> Finding {
        Finding {
            verdict: Verdict::Fix,
            what,
            fix: Some(fix),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = match self.verdict {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "warn",
            Verdict::Fix => "FIX ",
        };
        write!(f, "{mark}  {}\n      {}", self.what.vi, self.what.en)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n      → {}\n        {}", fix.vi, fix.en)?;
        }
        Ok(())
    }
}

/// Every check, in the order a technician would go.
pub fn examine(setup: &Setup) -> Vec<Finding> {
    let mut findings = vec![];
    let config = configuration(&setup.config, &mut findings);
    let sound = database(&setup.db, &mut findings);
    findings.push(clock());
    findings.push(port(setup.listen));
    if let Some(config) = &config {
        findings.push(open_files(config));
    }
    findings.push(disk(&setup.db));
    if let Some(province) = config.as_ref().and_then(|c| c.province.as_ref()) {
        let here = sound.as_ref().map_or(0, |s| s.last_seq);
        findings.push(province_link(province, here));
    }
    if let Some(replication) = config.as_ref().and_then(|c| c.replication.as_ref()) {
        let here = sound.as_ref().map_or(0, |s| s.last_seq);
        findings.push(pair(replication, &setup.db, here));
    }
    if let Some(kiosk) = &setup.kiosk_config {
        findings.push(printer(kiosk));
    }
    findings
}

/// Runs a check that talks to another machine; without a runtime to run it, a finding that
/// says so (`cannot`: what could not be done, in Vietnamese and English).
fn block_on<F: std::future::Future>(future: F, cannot: (&str, &str)) -> Result<F::Output, Finding> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => Ok(runtime.block_on(future)),
        Err(e) => Err(Finding::warn(
            said(format!("{}: {e}", cannot.0), format!("{}: {e}", cannot.1)),
            said("thử lại", "try again"),
        )),
    }
}

/// The other hub PC: the secret, what each hub is, and how far the standby is behind.
fn pair(replication: &centre_config::Replication, db: &Path, here: u64) -> Finding {
    use hub_engine::pair::{Mode, Pair, Standing};
    let mode = ledger::Reader::open(db)
        .ok()
        .and_then(|r| r.role().ok())
        .map_or(Mode::Primary, |role| Mode::from_stored(role.as_deref()));
    let peer = replication.peer.clone();
    let pair = match Pair::new(replication.clone(), Standing { mode, term: 0 }) {
        Ok(p) => p,
        Err(e) => {
            return Finding::fix(
                said(format!("cặp máy chủ: {e}"), format!("the hub pair: {e}")),
                said(
                    "chép cùng một tệp bí mật (`openssl rand -hex 24`) sang cả hai máy, hub đọc được (docs/INSTALL.md)",
                    "put the same secret file (`openssl rand -hex 24`) on both PCs, readable by the hub (docs/INSTALL.md)",
                ),
            );
        }
    };
    if mode == Mode::Deposed {
        return Finding::fix(
            said(
                "máy chủ này đã được thay thế bởi máy chủ chính mới: nó không cấp số",
                "this hub was replaced by a newer primary: it issues nothing",
            ),
            said(
                "cho nó làm máy dự phòng: `systemctl stop hang-doi-hub; hang-doi-hub standby --resync --config … --db …; systemctl start hang-doi-hub`",
                "make it the standby: `systemctl stop hang-doi-hub; hang-doi-hub standby --resync --config … --db …; systemctl start hang-doi-hub`",
            ),
        );
    }
    let asked = match block_on(
        replication::standby::ask(&pair),
        ("không hỏi được máy chủ kia", "cannot ask the other hub"),
    ) {
        Ok(asked) => asked,
        Err(finding) => return finding,
    };
    match (mode, asked) {
        (_, Err(e)) => Finding::warn(
            said(
                format!("máy chủ kia ({peer}) không trả lời: {e}"),
                format!("the other hub ({peer}) does not answer: {e}"),
            ),
            said(
                "kiểm tra máy kia có điện, có mạng và dịch vụ hang-doi-hub đang chạy; cùng tệp bí mật trên cả hai máy",
                "check that the other PC has power and network and runs hang-doi-hub, with the same secret file",
            ),
        ),
        (Mode::Standby, Ok((Mode::Primary, term, seq))) => {
            let lag = seq.saturating_sub(here);
            let what = said(
                format!(
                    "máy dự phòng theo máy chủ chính {peer} (nhiệm kỳ {term}): chậm {lag} sự kiện"
                ),
                format!(
                    "this standby follows the primary at {peer} (term {term}): {lag} events behind"
                ),
            );
            if lag > 1000 {
                Finding::warn(
                    what,
                    said(
                        "nếu con số không giảm, xem nhật ký: journalctl -u hang-doi-hub",
                        "if it does not shrink, see the log: journalctl -u hang-doi-hub",
                    ),
                )
            } else {
                Finding::ok(what)
            }
        }
        (Mode::Primary, Ok((Mode::Standby, _, seq))) => Finding::ok(said(
            format!("máy dự phòng {peer} theo máy này: có đến sự kiện {seq} (ở đây: {here})"),
            format!(
                "the standby at {peer} follows this hub: it has events up to {seq} (here: {here})"
            ),
        )),
        (_, Ok((theirs, term, _))) => Finding::fix(
            said(
                format!(
                    "máy này là {mode:?}, máy kia ({peer}) là {theirs:?} (nhiệm kỳ {term}): không phải một cặp chính và dự phòng"
                ),
                format!(
                    "this hub is {mode:?} and the other ({peer}) is {theirs:?} (term {term}): not a primary and its standby"
                ),
            ),
            said(
                "làm theo docs/OPERATIONS.md, mục \"Hai máy chủ\"",
                "follow docs/OPERATIONS.md, \"Two hub PCs\"",
            ),
        ),
    }
}

fn configuration(path: &Path, findings: &mut Vec<Finding>) -> Option<Config> {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            let path = path.display();
            findings.push(Finding::fix(
                said(
                    format!("không dùng được tệp cấu hình {path}: {e}"),
                    format!("the configuration {path} cannot be used: {e}"),
                ),
                said(
                    format!(
                        "sửa {path} ở chỗ thông báo chỉ ra (docs/INSTALL.md giải thích từng mục), \
                         rồi kiểm tra bằng `hang-doi-hub --config {path} --check-config`"
                    ),
                    format!(
                        "edit {path} where the message says (docs/INSTALL.md explains each part), \
                         then check it with `hang-doi-hub --config {path} --check-config`"
                    ),
                ),
            ));
            return None;
        }
    };
    let (services, counters, devices, staff) = (
        config.rules.services.len(),
        config.rules.counters.len(),
        config.devices.len(),
        config.staff.len(),
    );
    let (path, name) = (path.display(), &config.center.name);
    findings.push(Finding::ok(said(
        format!(
            "cấu hình {path}: {name} ({services} lĩnh vực, {counters} quầy, {devices} thiết bị, \
             {staff} cán bộ)"
        ),
        format!(
            "configuration {path}: {name} ({services} services, {counters} counters, {devices} \
             devices, {staff} staff)"
        ),
    )));
    let demo: Vec<&str> = config
        .devices
        .iter()
        .filter(|(_, d)| d.token.starts_with("demo-"))
        .map(|(id, _)| id.as_str())
        .collect();
    if !demo.is_empty() {
        let demo = demo.join(", ");
        findings.push(Finding::fix(
            said(
                format!("thiết bị vẫn dùng mã của bản mẫu: {demo}"),
                format!("devices still have the example's tokens: {demo}"),
            ),
            said(
                "cho mỗi thiết bị một mã riêng (`openssl rand -hex 16`) trong cấu hình, và đúng mã \
                 đó trong tệp mã của thiết bị; đến lúc đó hub chỉ phục vụ chính máy này (127.0.0.1)",
                "give each its own token (`openssl rand -hex 16`) in the configuration and the \
                 same in that device's token file; until then the hub serves only this machine \
                 (127.0.0.1)",
            ),
        ));
    }
    let mut verifier = PinVerifier;
    let example_pins: Vec<&str> = config
        .staff
        .keys()
        .filter(|code| verifier.matches(&config, code, EXAMPLE_PIN))
        .map(String::as_str)
        .collect();
    if !example_pins.is_empty() {
        let staff = example_pins.join(", ");
        findings.push(Finding::fix(
            said(
                format!("cán bộ còn dùng PIN mẫu {EXAMPLE_PIN}: {staff}"),
                format!("staff with the example PIN {EXAMPLE_PIN}: {staff}"),
            ),
            said(
                "mỗi người tự chọn PIN, dán kết quả của `hang-doi-hub hash-pin` vào pin_hash",
                "have each choose a PIN and paste what `hang-doi-hub hash-pin` prints as their \
                 pin_hash",
            ),
        ));
    }
    match &config.center.public_url {
        Some(url) if url.contains("127.0.0.1") || url.contains("localhost") => {
            findings.push(Finding::warn(
                said(
                    format!(
                        "[center] public_url là {url}: điện thoại của người dân không tới được"
                    ),
                    format!("[center] public_url is {url}: citizens' phones cannot reach it"),
                ),
                said(
                    "đặt địa chỉ mà điện thoại trong Wi-Fi sảnh tới được hub (ví dụ \
                     http://192.168.1.10:7878), hoặc bỏ đi để in phiếu không có mã QR",
                    "set it to the address phones on the lobby's Wi-Fi reach the hub at \
                     (e.g. http://192.168.1.10:7878), or remove it to print tickets without a QR \
                     code",
                ),
            ));
        }
        _ => {}
    }
    Some(config)
}

/// The database's folder and file; what the file holds when it is sound.
fn database(db: &Path, findings: &mut Vec<Finding>) -> Option<ledger::backup::Inspected> {
    let folder = db
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !folder.is_dir() {
        let folder = folder.display();
        findings.push(Finding::fix(
            said(
                format!("chưa có thư mục cơ sở dữ liệu {folder}"),
                format!("the database's folder {folder} does not exist"),
            ),
            said(
                format!(
                    "tạo cho người dùng của hub: `install -d -o hang-doi -g hang-doi -m 750 \
                     {folder}` (gói cài đặt tạo sẵn /var/lib/hang-doi)"
                ),
                format!(
                    "create it for the hub's user: `install -d -o hang-doi -g hang-doi -m 750 \
                     {folder}` (the package makes /var/lib/hang-doi)"
                ),
            ),
        ));
        return None;
    }
    let probe = folder.join(format!(".hang-doi-doctor-{}", std::process::id()));
    let writable = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    if !writable {
        let folder = folder.display();
        findings.push(Finding::fix(
            said(
                format!("không ghi được vào thư mục cơ sở dữ liệu {folder}"),
                format!("the database's folder {folder} is not writable"),
            ),
            said(
                format!(
                    "giao cho người dùng của hub: `chown hang-doi:hang-doi {folder}` (và xem ổ đĩa \
                     có bị gắn chỉ-đọc không)"
                ),
                format!(
                    "give it to the hub's user: `chown hang-doi:hang-doi {folder}` (and check the \
                     disk is not mounted read-only)"
                ),
            ),
        ));
    }
    if !db.exists() {
        let db = db.display();
        findings.push(Finding::warn(
            said(
                format!("chưa có cơ sở dữ liệu tại {db}"),
                format!("no database at {db} yet"),
            ),
            said(
                "chỉ trong lần chạy đầu tiên của trung tâm: thêm --create-db (HUB_OPTIONS trong \
                 /etc/default/hang-doi-hub) rồi bỏ đi; nếu không, khôi phục bản sao lưu gần nhất \
                 vào đây",
                "on this centre's very first start only, add --create-db (HUB_OPTIONS in \
                 /etc/default/hang-doi-hub), then remove it; otherwise restore the last backup \
                 here",
            ),
        ));
        return None;
    }
    match ledger::backup::inspect(db) {
        Ok(seen) => {
            let (db, events) = (db.display(), seen.last_seq);
            let day = seen.last_day.map_or("-".to_string(), |d| d.to_string());
            findings.push(Finding::ok(said(
                format!(
                    "cơ sở dữ liệu {db}: nguyên vẹn, {events} sự kiện, ngày làm việc cuối {day}"
                ),
                format!("database {db}: sound, {events} events, last service day {day}"),
            )));
            Some(seen)
        }
        Err(e) => {
            let db = db.display();
            findings.push(Finding::fix(
                said(
                    format!("cơ sở dữ liệu {db} bị hỏng hoặc không đọc được: {e}"),
                    format!("the database {db} is damaged or unreadable: {e}"),
                ),
                said(
                    "dừng hub và khôi phục bản sao lưu gần nhất (docs/OPERATIONS.md, \"Restore\")",
                    "stop the hub and restore the last backup (docs/OPERATIONS.md, \"Restore\")",
                ),
            ));
            None
        }
    }
}

fn clock() -> Finding {
    let synced = std::process::Command::new("timedatectl")
        .args(["show", "--property=NTPSynchronized", "--value"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "yes");
    let now = chrono::Local::now().format("%Y-%m-%d %H:%M %:z");
    match synced {
        Some(true) => Finding::ok(said(
            format!("đồng hồ đã đồng bộ ({now})"),
            format!("the clock is synchronised ({now})"),
        )),
        Some(false) => Finding::fix(
            said(
                format!("đồng hồ chưa đồng bộ ({now}): số thứ tự và ngày làm việc theo nó"),
                format!(
                    "the clock is not synchronised ({now}): numbers and service days follow it"
                ),
            ),
            said(
                "`apt install systemd-timesyncd` (hoặc chrony), `timedatectl set-ntp true`, và để \
                 máy tới được máy chủ thời gian (hoặc của bộ định tuyến)",
                "`apt install systemd-timesyncd` (or chrony), `timedatectl set-ntp true`, and let \
                 the PC reach a time server (or the router's)",
            ),
        ),
        None => Finding::warn(
            said(
                format!("không biết đồng hồ đã đồng bộ chưa ({now})"),
                format!("cannot tell whether the clock is synchronised ({now})"),
            ),
            said(
                "xem bằng `timedatectl`; cài systemd-timesyncd hoặc chrony",
                "check with `timedatectl`; install systemd-timesyncd or chrony",
            ),
        ),
    }
}

fn port(listen: SocketAddr) -> Finding {
    match TcpListener::bind(listen) {
        Ok(_) => Finding::ok(said(
            format!("{listen} còn trống cho hub"),
            format!("{listen} is free for the hub"),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            if answers_healthz(listen) {
                Finding::ok(said(
                    format!("đã có hub phục vụ tại {listen}"),
                    format!("a hub already serves on {listen}"),
                ))
            } else {
                let port = listen.port();
                Finding::fix(
                    said(
                        format!("một chương trình khác đang giữ {listen}"),
                        format!("another program holds {listen}"),
                    ),
                    said(
                        format!(
                            "tìm bằng `ss -ltnp 'sport = :{port}'` rồi dừng nó, hoặc cho hub cổng \
                             khác (HUB_LISTEN trong /etc/default/hang-doi-hub)"
                        ),
                        format!(
                            "find it with `ss -ltnp 'sport = :{port}'` and stop it, or give the \
                             hub another port (HUB_LISTEN in /etc/default/hang-doi-hub)"
                        ),
                    ),
                )
            }
        }
        Err(e) => Finding::fix(
            said(
                format!("hub không nghe được trên {listen}: {e}"),
                format!("the hub cannot listen on {listen}: {e}"),
            ),
            said(
                "dùng một địa chỉ của máy này (0.0.0.0 cho tất cả) và cổng trên 1023",
                "use an address of this machine (0.0.0.0 for all) and a port above 1023",
            ),
        ),
    }
}

/// Whether a hub answers `/healthz` there.
fn answers_healthz(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let addr = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.take(4096).read_to_string(&mut answer);
    answer.contains("\"service_day\"")
}

fn open_files(config: &Config) -> Finding {
    let wanted = u64::from(config.limits.max_connections) + config.devices.len() as u64 + 64;
    match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok((_, hard)) if hard >= wanted => {
            let max = config.limits.max_connections;
            Finding::ok(said(
                format!("giới hạn tệp mở {hard} đủ cho [limits] max_connections = {max}"),
                format!("open-file limit {hard} fits [limits] max_connections = {max}"),
            ))
        }
        Ok((_, hard)) => {
            let max = config.limits.max_connections;
            Finding::warn(
                said(
                    format!(
                        "giới hạn tệp mở {hard} thấp hơn mức [limits] max_connections = {max} cần \
                         ({wanted})"
                    ),
                    format!(
                        "open-file limit {hard} is below what [limits] max_connections = {max} \
                         needs ({wanted})"
                    ),
                ),
                said(
                    "dịch vụ đã đặt LimitNOFILE=32768; khi chạy tay, tăng `ulimit -n`, hoặc giảm \
                     max_connections",
                    "the service unit sets LimitNOFILE=32768; run by hand, raise `ulimit -n`, or \
                     lower max_connections",
                ),
            )
        }
        Err(e) => Finding::warn(
            said(
                format!("không đọc được giới hạn tệp mở: {e}"),
                format!("cannot read the open-file limit: {e}"),
            ),
            said("xem `ulimit -n`", "check `ulimit -n`"),
        ),
    }
}

fn disk(db: &Path) -> Finding {
    let folder = db.parent().filter(|p| p.is_dir()).unwrap_or(Path::new("/"));
    disk_space(folder, free_bytes(folder))
}

fn disk_space(folder: &Path, free: Option<u64>) -> Finding {
    let folder = folder.display();
    let gb = |free: u64| free as f64 / 1e9;
    let what = |free: u64| {
        let gb = gb(free);
        said(
            format!("ổ đĩa của cơ sở dữ liệu chỉ còn {gb:.1} GB ({folder})"),
            format!("only {gb:.1} GB free on the database's disk ({folder})"),
        )
    };
    let fix = said(
        "giải phóng chỗ (nhật ký cũ: `journalctl --vacuum-size=200M`), hoặc chuyển cơ sở dữ liệu \
         sang ổ lớn hơn: của một trung tâm đông người tăng khoảng 2 GB mỗi năm",
        "free some space (old logs: `journalctl --vacuum-size=200M`), or move the database to a \
         bigger disk: a busy centre's grows about 2 GB a year",
    );
    match free {
        Some(free) if free < FULL_DISK => Finding::fix(what(free), fix),
        Some(free) if free < LOW_DISK => Finding::warn(what(free), fix),
        Some(free) => {
            let gb = gb(free);
            Finding::ok(said(
                format!("ổ đĩa của cơ sở dữ liệu còn {gb:.1} GB"),
                format!("{gb:.1} GB free on the database's disk"),
            ))
        }
        None => Finding::warn(
            said(
                "không biết ổ đĩa còn trống bao nhiêu",
                "cannot tell the free disk space",
            ),
            said("xem bằng `df -h`", "check with `df -h`"),
        ),
    }
}

#[cfg(target_os = "linux")]
fn free_bytes(folder: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(folder).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(not(target_os = "linux"))]
fn free_bytes(_: &Path) -> Option<u64> {
    None
}

/// The province's database: reachable with the password file, and how far it has this centre
/// next to `here`, this database's last event.
fn province_link(province: &centre_config::Province, here: u64) -> Finding {
    if let Some(file) = &province.password_file
        && let Err(e) = std::fs::read_to_string(file)
    {
        let file = file.display();
        return Finding::fix(
            said(
                format!("không đọc được tệp mật khẩu của tỉnh {file}: {e}"),
                format!("cannot read the province's password file {file}: {e}"),
            ),
            said(
                format!(
                    "ghi mật khẩu ở dòng đầu, hub đọc được: \
                     `install -m 640 -o root -g hang-doi /dev/stdin {file}`"
                ),
                format!(
                    "write the password on its first line, readable by the hub: \
                     `install -m 640 -o root -g hang-doi /dev/stdin {file}`"
                ),
            ),
        );
    }
    let link = province::Link::from(province);
    let id = province.centre_id.clone();
    let asked = async move {
        let client = link.connect().await?;
        province::schema::version(&client).await?;
        let row = client
            .query_opt("SELECT shipped_seq FROM centres WHERE id = $1", &[&id])
            .await
            .ok()
            .flatten();
        Ok::<_, province::ProvinceError>(row.and_then(|r| r.try_get::<_, i64>(0).ok()).unwrap_or(0))
    };
    let asked = match block_on(
        asked,
        ("không thử được kết nối lên tỉnh", "cannot try the province"),
    ) {
        Ok(asked) => asked,
        Err(finding) => return finding,
    };
    let plain_text_possible = may_run_without_tls(&province.database);
    match asked {
        Ok(shipped) if plain_text_possible => Finding::warn(
            said(
                format!(
                    "cơ sở dữ liệu của tỉnh trả lời (có sự kiện của trung tâm đến số {shipped}; \
                     ở đây: {here}), nhưng đường truyền có thể không mã hoá TLS"
                ),
                format!(
                    "the province's database answers (it has this centre's events up to \
                     {shipped}; this database: {here}), but the link may run without TLS"
                ),
            ),
            said(
                "thêm sslmode=require vào [province] database, để không ai trên đường truyền đọc \
                 hay sửa được những gì gửi đi",
                "add sslmode=require to [province] database, so that nobody on the way can read \
                 or change what is shipped",
            ),
        ),
        Ok(shipped) => Finding::ok(said(
            format!(
                "cơ sở dữ liệu của tỉnh trả lời; đã có sự kiện của trung tâm đến số {shipped} \
                 (ở đây: {here})"
            ),
            format!(
                "the province's database answers; it has this centre's events up to {shipped} \
                 (this database: {here})"
            ),
        )),
        Err(e) => Finding::warn(
            said(
                format!("không tới được tỉnh — {e}"),
                format!("the province cannot be reached — {e}"),
            ),
            said(
                "kiểm tra [province] database (máy chủ, người dùng, sslmode) và mật khẩu với tỉnh; \
                 trong lúc chờ, hub giữ mọi sự kiện và gửi sau (docs/PROVINCE.md)",
                "check [province] database (host, user, sslmode) and the password with the \
                 province; meanwhile the hub keeps every event and ships it later \
                 (docs/PROVINCE.md)",
            ),
        ),
    }
}

/// A link to a server beyond this machine that does not insist on TLS.
fn may_run_without_tls(database: &str) -> bool {
    use tokio_postgres::config::{Host, SslMode};
    database.parse::<tokio_postgres::Config>().is_ok_and(|c| {
        c.get_ssl_mode() != SslMode::Require
            && c.get_hosts().iter().any(|h| match h {
                Host::Tcp(name) => {
                    name != "localhost"
                        && !name
                            .parse::<std::net::IpAddr>()
                            .is_ok_and(|ip| ip.is_loopback())
                }
                #[cfg(unix)]
                Host::Unix(_) => false,
            })
    })
}

/// The printer named in a kiosk's settings (`printer = "…"`), tried the way the kiosk reaches it.
fn printer(kiosk_config: &Path) -> Finding {
    let text = match std::fs::read_to_string(kiosk_config) {
        Ok(t) => t,
        Err(e) => {
            let file = kiosk_config.display();
            return Finding::fix(
                said(
                    format!("không đọc được thiết lập của ki-ốt {file}: {e}"),
                    format!("cannot read the kiosk's settings {file}: {e}"),
                ),
                said(
                    "cài lại hang-doi-kiosk hoặc khôi phục tệp",
                    "reinstall hang-doi-kiosk or restore the file",
                ),
            );
        }
    };
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let file = kiosk_config.display();
            return Finding::fix(
                said(
                    format!("thiết lập của ki-ốt {file} không hợp lệ: {e}"),
                    format!("the kiosk's settings {file} are not valid: {e}"),
                ),
                said(
                    "sửa dòng mà thông báo chỉ ra",
                    "correct the line the message names",
                ),
            );
        }
    };
    let Some(spec) = table.get("printer").and_then(|p| p.as_str()) else {
        let file = kiosk_config.display();
        return Finding::warn(
            said(
                "ki-ốt chưa có máy in: phiếu chỉ hiện trên màn hình",
                "the kiosk has no printer: tickets are shown on screen only",
            ),
            said(
                format!("thêm `printer = \"/dev/usb/lp0\"` (hoặc tcp:ĐỊA_CHỈ) vào {file}"),
                format!("add `printer = \"/dev/usb/lp0\"` (or tcp:ADDRESS) to {file}"),
            ),
        );
    };
    let address = match PrinterAddress::parse(spec) {
        Ok(a) => a,
        Err(e) => {
            let file = kiosk_config.display();
            return Finding::fix(
                said(
                    format!("địa chỉ máy in của ki-ốt không hợp lệ: {spec:?}"),
                    format!("the kiosk's {e}"),
                ),
                said(
                    format!(
                        "sửa `printer` trong {file}: tcp:ĐỊA_CHỈ[:CỔNG], /dev/usb/lpN hoặc file:ĐƯỜNG_DẪN"
                    ),
                    format!("correct `printer` in {file}"),
                ),
            );
        }
    };
    let device = match address {
        PrinterAddress::Tcp { host, port } => return tcp_printer(&host, port),
        PrinterAddress::File(file) => return file_printer(&file),
        PrinterAddress::Device(device) => device,
    };
    let path = device.as_path();
    let device = device.display();
    let openable = std::fs::OpenOptions::new().append(true).open(path).is_ok();
    if openable {
        Finding::ok(said(
            format!("ghi được vào máy in {device} của ki-ốt"),
            format!("the kiosk's printer {device} can be written to"),
        ))
    } else if path.exists() {
        Finding::fix(
            said(
                format!("có máy in {device} nhưng ki-ốt không ghi được"),
                format!("the kiosk's printer {device} exists but cannot be written to"),
            ),
            said(
                "người dùng của ki-ốt phải trong nhóm `lp` (gói cài đặt đã làm): \
                 `adduser hang-doi-kiosk lp`",
                "the kiosk's user must be in the `lp` group (the package does it): \
                 `adduser hang-doi-kiosk lp`",
            ),
        )
    } else {
        Finding::fix(
            said(
                format!("không có máy in tại {device}"),
                format!("no printer at {device}"),
            ),
            said(
                "cắm cáp USB của máy in và bật máy (`ls /dev/usb/` hiện lp0), hoặc sửa `printer` \
                 trong thiết lập của ki-ốt",
                "plug the printer's USB cable in and switch it on (`ls /dev/usb/` shows lp0), or \
                 correct `printer` in the kiosk's settings",
            ),
        )
    }
}

/// A network printer: does its raw port answer?
fn tcp_printer(host: &str, port: u16) -> Finding {
    let reached = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(3)).is_ok());
    if reached {
        Finding::ok(said(
            format!("máy in của ki-ốt trả lời tại {host}:{port}"),
            format!("the kiosk's printer answers at {host}:{port}"),
        ))
    } else {
        Finding::fix(
            said(
                format!("máy in của ki-ốt tại {host}:{port} không trả lời"),
                format!("the kiosk's printer at {host}:{port} does not answer"),
            ),
            said(
                "xem máy đã bật, cáp, và địa chỉ (in trang tự kiểm tra: có ghi IP); rồi \
                 `hang-doi-kiosk print-test --printer tcp:ĐỊA_CHỈ`",
                "check it is on, its cable, and its address (print its self-test page: it \
                 shows the IP); then `hang-doi-kiosk print-test --printer tcp:ADDRESS`",
            ),
        )
    }
}

/// Tickets written to a file (a test set-up): its folder must take them.
fn file_printer(file: &Path) -> Finding {
    let folder = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if folder.is_dir() {
        Finding::ok(said(
            format!("ki-ốt in vào tệp {}", file.display()),
            format!("the kiosk prints into {}", file.display()),
        ))
    } else {
        Finding::fix(
            said(
                format!(
                    "ki-ốt in vào tệp {}, nhưng thư mục của nó không có",
                    file.display()
                ),
                format!(
                    "the kiosk prints into {}, whose folder does not exist",
                    file.display()
                ),
            ),
            said(
                "tạo thư mục, hoặc cho ki-ốt một máy in thật",
                "create the folder, or give the kiosk a real printer",
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_says_what_and_how_to_fix_it() {
        let f = Finding::fix(
            said("ổ đĩa đầy", "the disk is full"),
            said("giải phóng chỗ", "free some space"),
        );
        assert_eq!(
            f.to_string(),
            "FIX   ổ đĩa đầy\n      the disk is full\n      → giải phóng chỗ\n        free some space"
        );
        assert_eq!(
            Finding::ok(said("tốt", "fine")).to_string(),
            "ok    tốt\n      fine"
        );
    }

    #[test]
    fn a_link_to_another_machine_must_insist_on_tls() {
        assert!(may_run_without_tls("host=db.province dbname=h user=a"));
        assert!(may_run_without_tls(
            "postgresql://a@10.0.0.5/h?sslmode=prefer"
        ));
        assert!(!may_run_without_tls(
            "host=db.province user=a sslmode=require"
        ));
        assert!(!may_run_without_tls(
            "host=127.0.0.1 user=a sslmode=disable"
        ));
        assert!(!may_run_without_tls("postgresql://a@localhost/h"));
    }

    #[test]
    fn a_shrinking_disk_is_a_warning_before_it_must_be_fixed() {
        let verdict = |gb: f64| disk_space(Path::new("/var"), Some((gb * 1e9) as u64)).verdict;
        assert_eq!(verdict(40.0), Verdict::Ok);
        assert_eq!(verdict(1.8), Verdict::Warn);
        assert_eq!(verdict(0.3), Verdict::Fix);
        assert_eq!(disk_space(Path::new("/var"), None).verdict, Verdict::Warn);
    }
}
