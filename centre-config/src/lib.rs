//! The centre's configuration: one TOML file, read and checked at start.
//!
//! A bad file is refused with the file, the line and the reason. Texts are normalised to NFC so
//! Vietnamese names compare and print the same whatever editor wrote them.

pub mod auth;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{NaiveTime, TimeDelta};
use chrono_tz::Tz;
use protocol::Role;
use serde::Deserialize;
use toml::Spanned;
use unicode_normalization::UnicodeNormalization;

use queue_core::rules::{REQUIRED_CATEGORIES, parse_minute};
pub use queue_core::views::CenterInfo;
use queue_core::{
    Category, CategoryId, CounterNo, CounterRule, Hours, Rules, ServiceId, ServiceRule, StaffCode,
};

/// The demo centre, built into the binary so `hub` runs from anywhere.
pub const DEMO_CONFIG: &str = include_str!("../../assets/demo-center.toml");
pub const DEMO_CONFIG_NAME: &str = "assets/demo-center.toml";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}{}: {reason}", .line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub rules: Rules,
    pub center: CenterInfo,
    pub devices: BTreeMap<String, Device>,
    pub staff: BTreeMap<String, Staff>,
    pub limits: Limits,
    /// Web origins besides the hub's own pages that may open a WebSocket (`https://host:port`).
    pub allowed_origins: Vec<String>,
    /// Reverse proxies in front of the hub (`[limits] trusted_proxies`): a request from one of
    /// them is counted against the client it names in `X-Forwarded-For`, not against the proxy.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The centre's id across the province (`[center] id`): its key in the province's database.
    pub center_id: Option<String>,
    /// Where the event log is shipped (`[province]`); nothing leaves the centre without it.
    pub province: Option<Province>,
    /// How long a counter display's rating prompt waits for the citizen before it goes back to
    /// the counter (`[rules] rating_prompt_s`, 5 to 300 seconds).
    pub rating_prompt_s: u32,
    /// The other hub of a pair (`[replication]`): the primary's standby, or the standby's
    /// primary (docs/OPERATIONS.md, "Two hub PCs").
    pub replication: Option<Replication>,
    /// When a citizen following a ticket is told the turn is near (`[notify]`).
    pub notify: Notify,
}

/// `[notify]`: when a ticket's people ahead are few enough for its citizen to be told the turn
/// is near.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// "Near" at this many people ahead or fewer, unless the service sets its own.
    pub near_ahead: u32,
    /// A service's own `near_ahead`.
    pub near_ahead_by_service: BTreeMap<ServiceId, u32>,
    /// The VAPID subject (RFC 8292 `sub`): whom a push service writes to about this centre.
    pub contact: String,
    /// `[notify.web_push]`: Web Push on (the tracking page offers it over HTTPS).
    pub web_push: Option<WebPush>,
    /// `[notify.sms]`: the SMS or chat gateway the province contracts.
    pub sms: Option<SmsGateway>,
}

/// `[notify.web_push]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebPush {
    /// A test bench's only: `http` and loopback endpoints allowed.
    #[serde(default)]
    pub allow_insecure_endpoints: bool,
}

/// `[notify.sms]`: where the `near` and `called` notices of a ticket with a phone number go.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsGateway {
    pub url: String,
    /// Holds the bearer token (read at start, never logged).
    pub token_file: std::path::PathBuf,
}

/// `[notify] contact` when the file says nothing.
pub const DEFAULT_CONTACT: &str = "mailto:admin@localhost";

/// `[notify] near_ahead` when the file says nothing.
pub const DEFAULT_NEAR_AHEAD: u32 = 3;

impl Notify {
    /// The people ahead at or below which a ticket of `service` is near its turn.
    pub fn near_ahead(&self, service: &ServiceId) -> u32 {
        self.near_ahead_by_service
            .get(service)
            .copied()
            .unwrap_or(self.near_ahead)
    }
}

/// `[replication]`: this hub and the other hub PC of the centre.
#[derive(Debug, Clone, PartialEq)]
pub struct Replication {
    /// The other hub's address, `ws://HOST:PORT` or `wss://HOST:PORT`.
    pub peer: String,
    /// A file whose first line is the pair's shared secret (the same file on both PCs).
    pub token_file: std::path::PathBuf,
    /// How long a primary waits for its standby to confirm a batch before it goes on alone.
    pub sync_timeout: std::time::Duration,
    /// For a `wss://` peer: the centre's CA (PEM), or the peer's certificate pin (SHA-256 hex).
    pub ca_file: Option<std::path::PathBuf>,
    pub pin: Option<String>,
    /// Commits the primary keeps for a standby's link that is slow to send them; beyond, the
    /// link reads what it missed from the database instead (`live_buffer`, 1024).
    pub live_buffer: usize,
}

/// `[replication] live_buffer` when not given: a few seconds of the busiest burst.
pub const DEFAULT_LIVE_BUFFER: usize = 1024;

/// `[replication] sync_timeout_ms` when not given: longer than any fsync of a healthy disk,
/// short enough that a kiosk's press is still answered while the citizen stands there.
pub const DEFAULT_SYNC_TIMEOUT_MS: u64 = 2000;

/// The province's PostgreSQL, as `[province]` names it (docs/PROVINCE.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Province {
    /// The centre's id (`[center] id`).
    pub centre_id: String,
    /// A libpq connection string or `postgresql://` URL, without the password.
    pub database: String,
    /// A file whose first line is the password (kept out of the configuration, which many read).
    pub password_file: Option<std::path::PathBuf>,
    /// The province's CA certificate (PEM) when its server's certificate is not signed by one
    /// the system trusts.
    pub ca_file: Option<std::path::PathBuf>,
    /// Events per transaction.
    pub batch: usize,
    /// The province's door as phones reach it from anywhere (HTTPS): a ticket's QR opens
    /// `{public_url}/t/{track}` there rather than on the centre's own network.
    pub public_url: Option<String>,
    /// The province's public keys whose passes this centre honours (`booking_keys`: more than
    /// one while the province changes its key).
    pub booking_keys: Vec<province_pass::PassCheck>,
}

/// Events per transaction when `[province] batch` is not given: large enough that a day of a
/// busy centre (~5,000 events) catches up in a few round trips, small enough to be a short
/// transaction.
pub const DEFAULT_SHIP_BATCH: usize = 1000;

#[derive(Debug, Clone)]
pub struct Device {
    pub role: Role,
    pub token: String,
    /// The counters a counter device may open (empty: any). Binds a counter PC to its desk, so
    /// its token cannot open another clerk's counter.
    pub counters: Vec<u32>,
    /// The counter a counter display faces the citizen at.
    pub counter: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Staff {
    pub name: String,
    /// Argon2 PHC string; the PIN itself is never stored.
    pub pin_hash: String,
    pub role: StaffRole,
}

/// What a member of staff may do besides serving at a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Serves citizens at a counter.
    #[default]
    Clerk,
    /// The centre's leadership (*lãnh đạo trung tâm*, *tổ trưởng*): may also sign in to the
    /// supervisor's console and steer the floor.
    Supervisor,
}

/// Protection of the hub against floods, per connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Messages a connection may send at once before being slowed down.
    pub burst: u32,
    /// Messages per second a connection may sustain.
    pub per_second: u32,
    /// Connections the hub accepts at once.
    pub max_connections: u32,
    /// A configured device away this long is an alert on the console.
    pub offline_alert: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            burst: 500,
            per_second: 200,
            max_connections: 4096,
            offline_alert: std::time::Duration::from_secs(60),
        }
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: None,
            reason: format!("cannot read: {e}"),
        })?;
        Config::parse(&text, &file)
    }

    pub fn demo() -> Result<Config, ConfigError> {
        Config::parse(DEMO_CONFIG, DEMO_CONFIG_NAME)
    }

    /// True when any device still uses a `demo-…` token: fine on a laptop, dangerous on a LAN.
    pub fn uses_demo_tokens(&self) -> bool {
        self.devices.values().any(|d| d.token.starts_with("demo-"))
    }

    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let err = |span: Option<std::ops::Range<usize>>, reason: String| ConfigError {
            file: file.to_string(),
            line: span.map(|s| line_of(text, s.start)),
            reason,
        };
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| err(e.span(), e.message().to_string()))?;
        build(raw, &err)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// The device name the console says hello with (its session cookie is its credential), so no
/// configured device may have it.
pub const CONSOLE_DEVICE: &str = "console";

/// Vietnamese text in one form (NFC): what some input methods type decomposed is stored, shown
/// and compared composed.
pub fn nfc(s: &str) -> String {
    s.trim().nfc().collect()
}

// ------------------------------------------------------------------ the file as written

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    center: RawCenter,
    #[serde(default)]
    rules: RawRules,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default, rename = "priority")]
    priorities: Vec<Spanned<RawCategory>>,
    #[serde(rename = "service")]
    services: Vec<Spanned<RawService>>,
    #[serde(rename = "counter")]
    counters: Vec<Spanned<RawCounter>>,
    #[serde(default, rename = "device")]
    devices: Vec<Spanned<RawDevice>>,
    #[serde(default)]
    staff: Vec<Spanned<RawStaff>>,
    #[serde(default)]
    province: Option<Spanned<RawProvince>>,
    #[serde(default, rename = "rating_reason")]
    rating_reasons: Vec<Spanned<RawRatingReason>>,
    #[serde(default, rename = "rating_level")]
    rating_levels: Vec<Spanned<RawRatingLevel>>,
    #[serde(default)]
    appointments: Option<Spanned<RawAppointmentLimits>>,
    #[serde(default)]
    replication: Option<Spanned<RawReplication>>,
    #[serde(default)]
    notify: Option<RawNotify>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotify {
    #[serde(default)]
    near_ahead: Option<u32>,
    #[serde(default)]
    contact: Option<String>,
    #[serde(default)]
    web_push: Option<WebPush>,
    #[serde(default)]
    sms: Option<SmsGateway>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReplication {
    peer: String,
    token_file: std::path::PathBuf,
    #[serde(default)]
    sync_timeout_ms: Option<u64>,
    #[serde(default)]
    ca_file: Option<std::path::PathBuf>,
    #[serde(default)]
    pin: Option<String>,
    #[serde(default)]
    live_buffer: Option<usize>,
}

/// `[appointments]`: the centre's limits on bookings.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAppointmentLimits {
    #[serde(default = "two")]
    per_phone_per_day: u32,
    #[serde(default = "ten_minutes")]
    quarantine_min: u32,
}

/// `[service.appointments]`, after a `[[service]]`: its slots.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAppointments {
    slot_min: u32,
    per_slot: u32,
    days_ahead: u32,
    #[serde(default, deserialize_with = "de_opt_appointment_hours")]
    hours: Option<Hours>,
    #[serde(default = "thirty")]
    early_min: u32,
    #[serde(default = "fifteen")]
    late_min: u32,
    #[serde(default)]
    province_share: u32,
}

fn fifteen() -> u32 {
    15
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvince {
    database: String,
    #[serde(default)]
    password_file: Option<std::path::PathBuf>,
    #[serde(default)]
    ca_file: Option<std::path::PathBuf>,
    #[serde(default)]
    batch: Option<usize>,
    #[serde(default)]
    public_url: Option<String>,
    #[serde(default)]
    booking_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCenter {
    #[serde(default)]
    id: Option<Spanned<String>>,
    name: String,
    #[serde(default)]
    name_en: String,
    #[serde(default = "default_tz", deserialize_with = "de_tz")]
    timezone: (Tz, String),
    #[serde(default = "midnight", deserialize_with = "de_time")]
    day_starts_at: NaiveTime,
    #[serde(default = "always", deserialize_with = "de_hours")]
    hours: Hours,
    #[serde(default)]
    notice: String,
    #[serde(default)]
    public_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default = "three")]
    max_priority_in_row: Spanned<u32>,
    #[serde(default = "two")]
    recalls_before_no_show: u32,
    #[serde(default = "yes")]
    transfer_keeps_place: bool,
    #[serde(default = "ten")]
    eta_window: usize,
    #[serde(default = "ten_minutes")]
    rating_window_min: u32,
    #[serde(default = "thirty")]
    rating_prompt_s: u32,
}

impl Default for RawRules {
    fn default() -> Self {
        RawRules {
            max_priority_in_row: three(),
            recalls_before_no_show: two(),
            transfer_keeps_place: true,
            eta_window: ten(),
            rating_window_min: ten_minutes(),
            rating_prompt_s: thirty(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    burst: Option<u32>,
    per_second: Option<u32>,
    max_connections: Option<u32>,
    offline_alert_s: Option<u64>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    trusted_proxies: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    id: String,
    name_vi: String,
    #[serde(default)]
    name_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    id: String,
    name_vi: String,
    #[serde(default)]
    name_en: String,
    prefix: String,
    #[serde(default = "one")]
    first_number: u32,
    #[serde(default = "max_number")]
    last_number: u32,
    #[serde(default)]
    daily_limit: Option<u32>,
    target_wait_min: u32,
    target_service_min: u32,
    #[serde(default, deserialize_with = "de_opt_hours")]
    hours: Option<Hours>,
    #[serde(default)]
    appointments: Option<Spanned<RawAppointments>>,
    #[serde(default)]
    icon: Option<Spanned<String>>,
    #[serde(default)]
    near_ahead: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCounter {
    number: u32,
    #[serde(default)]
    name: String,
    services: Vec<Spanned<String>>,
    #[serde(default)]
    priority_only: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDevice {
    id: String,
    role: Role,
    token: String,
    #[serde(default)]
    counters: Vec<u32>,
    /// A counter display's counter.
    #[serde(default)]
    counter: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRatingReason {
    id: String,
    name_vi: String,
    #[serde(default)]
    name_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRatingLevel {
    value: u8,
    name_vi: String,
    #[serde(default)]
    name_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStaff {
    code: String,
    name: String,
    #[serde(deserialize_with = "de_pin_hash")]
    pin_hash: String,
    #[serde(default)]
    role: StaffRole,
}

fn default_tz() -> (Tz, String) {
    (chrono_tz::Asia::Ho_Chi_Minh, "Asia/Ho_Chi_Minh".into())
}
fn midnight() -> NaiveTime {
    NaiveTime::MIN
}
fn always() -> Hours {
    Hours::always()
}
fn three() -> Spanned<u32> {
    Spanned::new(0..0, 3)
}
fn two() -> u32 {
    2
}
fn ten() -> usize {
    10
}
fn ten_minutes() -> u32 {
    10
}
fn thirty() -> u32 {
    30
}
fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn max_number() -> u32 {
    9999
}

fn de_tz<'de, D: serde::Deserializer<'de>>(d: D) -> Result<(Tz, String), D::Error> {
    let s = String::deserialize(d)?;
    let tz: Tz = s.parse().map_err(|_| {
        serde::de::Error::custom(format!("unknown time zone {s:?} (e.g. Asia/Ho_Chi_Minh)"))
    })?;
    Ok((tz, s))
}

fn de_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
    let s = String::deserialize(d)?;
    let m = parse_minute(&s).map_err(serde::de::Error::custom)?;
    NaiveTime::from_num_seconds_from_midnight_opt(m * 60, 0)
        .filter(|_| m < 24 * 60)
        .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a time of day")))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn de_hours<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Hours, D::Error> {
    let lines = match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    };
    Hours::parse_lines(&lines).map_err(serde::de::Error::custom)
}

fn de_opt_hours<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Hours>, D::Error> {
    de_hours(d).map(Some)
}

/// Appointment hours as the shared contract writes them: one line, ranges after commas
/// (`"mon-fri 07:30-11:00, 13:30-16:30"`), or a list of lines like the opening hours.
fn de_opt_appointment_hours<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Hours>, D::Error> {
    match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => Hours::parse_one_line(&s),
        OneOrMany::Many(v) => Hours::parse_lines(&v),
    }
    .map(Some)
    .map_err(serde::de::Error::custom)
}

fn de_pin_hash<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    argon2::PasswordHash::new(&s).map_err(|_| {
        serde::de::Error::custom("pin_hash is not an Argon2 hash; make one with `hub hash-pin`")
    })?;
    Ok(s)
}

// ------------------------------------------------------------------ checks

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Any configuration error, at a place in the file.
type ErrAt<'a> = &'a dyn Fn(Option<std::ops::Range<usize>>, String) -> ConfigError;

fn build(raw: RawConfig, err: ErrAt<'_>) -> Result<Config, ConfigError> {
    let notify = build_notify(&raw);
    let categories = build_categories(&raw.priorities, err)?;
    let (services, service_order) = build_services(&raw.services, err)?;
    let counters = build_counters(&raw.counters, &services, err)?;
    let devices = build_devices(&raw.devices, &counters, err)?;
    check_bound_counters(&devices, &counters, err)?;
    let counter_displays = bind_counter_displays(&devices);
    let rating_reasons = build_rating_reasons(&raw.rating_reasons, err)?;
    let rating_levels = build_rating_levels(&raw.rating_levels, err)?;
    let staff = build_staff(&raw.staff, err)?;
    if *raw.rules.max_priority_in_row.get_ref() == 0 {
        return Err(err(Some(raw.rules.max_priority_in_row.span()), "max_priority_in_row must be at least 1, or normal tickets would never be overtaken fairly".into()));
    }
    let limits = build_limits(&raw.limits);
    let center_id = build_centre_id(&raw.center, err)?;
    let province = match &raw.province {
        None => None,
        Some(p) => Some(build_province(p, center_id.as_deref(), err)?),
    };
    let staff_names = staff
        .iter()
        .map(|(k, v)| (StaffCode::from(k.as_str()), v.name.clone()))
        .collect();
    let rules = Rules {
        tz: raw.center.timezone.0,
        day_start: raw.center.day_starts_at,
        hours: raw.center.hours,
        services,
        service_order,
        counters,
        categories,
        staff_names,
        max_priority_in_row: *raw.rules.max_priority_in_row.get_ref(),
        recalls_before_no_show: raw.rules.recalls_before_no_show,
        transfer_keeps_place: raw.rules.transfer_keeps_place,
        eta_window: raw.rules.eta_window.max(1),
        rating_window: TimeDelta::minutes(i64::from(raw.rules.rating_window_min)),
        counter_displays,
        rating_levels,
        rating_reasons,
        recent_calls: 12,
        appointment_limits: build_appointment_limits(raw.appointments.as_ref(), err)?,
        province_passes: province
            .as_ref()
            .filter(|p| !p.booking_keys.is_empty())
            .map(|p| queue_core::rules::ProvincePasses {
                centre: p.centre_id.clone(),
                keys: p.booking_keys.clone(),
            }),
    };
    Ok(Config {
        rules,
        center: CenterInfo {
            name: nfc(&raw.center.name),
            name_en: nfc(&raw.center.name_en),
            timezone: raw.center.timezone.1,
            notice: nfc(&raw.center.notice),
            public_url: raw
                .center
                .public_url
                .map(|u| u.trim_end_matches('/').to_string()),
            sms: raw.notify.as_ref().is_some_and(|n| n.sms.is_some()),
            track_base: province.as_ref().and_then(|p| p.public_url.clone()),
        },
        devices,
        staff,
        limits,
        allowed_origins: raw
            .limits
            .allowed_origins
            .iter()
            .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
            .collect(),
        trusted_proxies: build_trusted_proxies(&raw.limits, err)?,
        center_id,
        province,
        rating_prompt_s: raw.rules.rating_prompt_s.clamp(5, 300),
        replication: raw
            .replication
            .as_ref()
            .map(|r| build_replication(r, err))
            .transpose()?,
        notify,
    })
}

/// `[notify]` and the services' own `near_ahead`.
fn build_notify(raw: &RawConfig) -> Notify {
    Notify {
        near_ahead: raw
            .notify
            .as_ref()
            .and_then(|n| n.near_ahead)
            .unwrap_or(DEFAULT_NEAR_AHEAD),
        near_ahead_by_service: raw
            .services
            .iter()
            .filter_map(|s| {
                let s = s.get_ref();
                Some((ServiceId(s.id.clone()), s.near_ahead?))
            })
            .collect(),
        contact: raw
            .notify
            .as_ref()
            .and_then(|n| n.contact.clone())
            .unwrap_or_else(|| DEFAULT_CONTACT.to_string()),
        web_push: raw.notify.as_ref().and_then(|n| n.web_push.clone()),
        sms: raw.notify.as_ref().and_then(|n| n.sms.clone()),
    }
}

/// Every device's counters exist.
fn check_bound_counters(
    devices: &BTreeMap<String, Device>,
    counters: &BTreeMap<CounterNo, queue_core::CounterRule>,
    err: ErrAt<'_>,
) -> Result<(), ConfigError> {
    for (id, d) in devices {
        if let Some(n) = d
            .counters
            .iter()
            .find(|n| !counters.contains_key(&CounterNo(**n)))
        {
            return Err(err(
                None,
                format!("device {id:?} is bound to counter {n}, which is not configured"),
            ));
        }
    }
    Ok(())
}

/// `[limits]`, each missing number its default (and none below 1).
fn build_limits(raw: &RawLimits) -> Limits {
    let defaults = Limits::default();
    Limits {
        burst: raw.burst.unwrap_or(defaults.burst).max(1),
        per_second: raw.per_second.unwrap_or(defaults.per_second).max(1),
        max_connections: raw
            .max_connections
            .unwrap_or(defaults.max_connections)
            .max(1),
        offline_alert: raw
            .offline_alert_s
            .map_or(defaults.offline_alert, std::time::Duration::from_secs),
    }
}

/// `[center] id`, the name the province knows the centre by.
fn build_centre_id(raw: &RawCenter, err: ErrAt<'_>) -> Result<Option<String>, ConfigError> {
    match &raw.id {
        Some(id) if !valid_centre_id(id.get_ref()) => Err(err(
            Some(id.span()),
            format!(
                "[center] id {:?} must be 1 to 40 lower-case letters, digits or -, e.g. \"thanh-hoa-tp\"",
                id.get_ref()
            ),
        )),
        Some(id) => Ok(Some(id.get_ref().clone())),
        None => Ok(None),
    }
}

/// `[limits] trusted_proxies`: IP addresses, each checked.
fn build_trusted_proxies(
    raw: &RawLimits,
    err: ErrAt<'_>,
) -> Result<Vec<std::net::IpAddr>, ConfigError> {
    raw.trusted_proxies
        .iter()
        .map(|p| {
            p.get_ref().parse().map_err(|_| {
                err(
                    Some(p.span()),
                    format!(
                        "[limits] trusted_proxies: {:?} is not an IP address",
                        p.get_ref()
                    ),
                )
            })
        })
        .collect()
}

fn build_replication(
    raw: &Spanned<RawReplication>,
    err: ErrAt<'_>,
) -> Result<Replication, ConfigError> {
    let span = || Some(raw.span());
    let r = raw.get_ref();
    let peer = r.peer.trim().trim_end_matches('/').to_string();
    let secure = peer.starts_with("wss://");
    if !(secure || peer.starts_with("ws://")) || peer.len() <= "wss://".len() {
        return Err(err(
            span(),
            format!(
                "[replication] peer {:?} must be the other hub's address, e.g. \"ws://192.168.1.11:7878\"",
                r.peer
            ),
        ));
    }
    let timeout_ms = r.sync_timeout_ms.unwrap_or(DEFAULT_SYNC_TIMEOUT_MS);
    if !(50..=60_000).contains(&timeout_ms) {
        return Err(err(
            span(),
            format!("[replication] sync_timeout_ms {timeout_ms} must be from 50 to 60000"),
        ));
    }
    if secure && r.ca_file.is_none() && r.pin.is_none() {
        return Err(err(
            span(),
            "[replication] a wss:// peer needs ca_file (the centre's CA) or pin (its certificate's SHA-256)"
                .into(),
        ));
    }
    Ok(Replication {
        peer,
        token_file: r.token_file.clone(),
        sync_timeout: std::time::Duration::from_millis(timeout_ms),
        ca_file: r.ca_file.clone(),
        pin: r.pin.clone(),
        live_buffer: r
            .live_buffer
            .unwrap_or(DEFAULT_LIVE_BUFFER)
            .clamp(1, 1 << 20),
    })
}

/// A centre id is a key in the province's database and appears in its reports and file names.
fn valid_centre_id(id: &str) -> bool {
    (1..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn build_province(
    raw: &Spanned<RawProvince>,
    center_id: Option<&str>,
    err: ErrAt<'_>,
) -> Result<Province, ConfigError> {
    let span = || Some(raw.span());
    let p = raw.get_ref();
    let Some(centre_id) = center_id else {
        return Err(err(
            span(),
            "[province] needs the centre's id: add `id = \"…\"` to [center] (the same id for ever: \
             it keys this centre's figures in the province)"
                .into(),
        ));
    };
    let parsed: tokio_postgres::Config = p.database.parse().map_err(|e| {
        err(
            span(),
            format!(
                "[province] database is not a PostgreSQL connection string or URL ({e}), e.g. \
                 \"host=db.province.example dbname=hang_doi user=centre_a\""
            ),
        )
    })?;
    if parsed.get_password().is_some() {
        return Err(err(
            span(),
            "[province] database must not hold the password (this file is readable by many): \
             put it in a file of its own and name it with password_file"
                .into(),
        ));
    }
    if parsed.get_user().is_none() {
        return Err(err(
            span(),
            "[province] database needs a user (user=… or postgresql://user@host/…)".into(),
        ));
    }
    let public_url = match &p.public_url {
        Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) => {
            return Err(err(
                span(),
                format!(
                    "[province] public_url {url:?} must be the door's address, \
                     e.g. \"https://hanhchinhcong.province.gov.vn\""
                ),
            ));
        }
        url => url.as_ref().map(|u| u.trim_end_matches('/').to_string()),
    };
    let booking_keys = p
        .booking_keys
        .iter()
        .map(|k| {
            province_pass::checking_key(k).map_err(|e| {
                err(
                    span(),
                    format!(
                        "[province] booking_keys: {k:?} is {e}: give the line `hang-doi-province \
                         keygen` printed (44 letters, digits, - and _)"
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Province {
        public_url,
        booking_keys,
        centre_id: centre_id.to_string(),
        database: p.database.clone(),
        password_file: p.password_file.clone(),
        ca_file: p.ca_file.clone(),
        batch: p.batch.unwrap_or(DEFAULT_SHIP_BATCH).clamp(1, 50_000),
    })
}

/// Priority categories: the configured ones, and the three the law requires always.
fn build_categories(
    priorities: &[Spanned<RawCategory>],
    err: ErrAt<'_>,
) -> Result<Vec<Category>, ConfigError> {
    // Priority categories: the three the law requires always exist.
    let mut categories: Vec<Category> = Vec::new();
    for p in priorities {
        let span = Some(p.span());
        let p = p.get_ref();
        if !valid_id(&p.id) {
            return Err(err(
                span,
                format!("priority id {:?} must be letters, digits, - or _", p.id),
            ));
        }
        if categories.iter().any(|c| c.id.as_str() == p.id) {
            return Err(err(
                span,
                format!("priority category {:?} is defined twice", p.id),
            ));
        }
        categories.push(Category {
            id: CategoryId::from(p.id.as_str()),
            name_vi: nfc(&p.name_vi),
            name_en: nfc(&p.name_en),
        });
    }
    for (i, (id, vi, en)) in REQUIRED_CATEGORIES.iter().enumerate() {
        if !categories.iter().any(|c| c.id.as_str() == *id) {
            categories.insert(
                i.min(categories.len()),
                Category {
                    id: CategoryId::from(*id),
                    name_vi: vi.to_string(),
                    name_en: en.to_string(),
                },
            );
        }
    }
    Ok(categories)
}

/// Services by id, and their order on screens.
fn build_services(
    raw_services: &[Spanned<RawService>],
    err: ErrAt<'_>,
) -> Result<(BTreeMap<ServiceId, ServiceRule>, Vec<ServiceId>), ConfigError> {
    let mut services = BTreeMap::new();
    let mut service_order = Vec::new();
    let mut prefixes = BTreeSet::new();
    for s in raw_services {
        let span = Some(s.span());
        let s = s.get_ref();
        if !valid_id(&s.id) {
            return Err(err(
                span,
                format!("service id {:?} must be letters, digits, - or _", s.id),
            ));
        }
        let id = ServiceId(s.id.clone());
        if services.contains_key(&id) {
            return Err(err(span, format!("service {:?} is defined twice", s.id)));
        }
        if nfc(&s.name_vi).is_empty() {
            return Err(err(
                span,
                format!("service {:?} needs a Vietnamese name (name_vi)", s.id),
            ));
        }
        if s.prefix.len() > 3 || !s.prefix.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(err(
                span,
                format!(
                    "service {:?}: prefix {:?} must be 0 to 3 capital letters",
                    s.id, s.prefix
                ),
            ));
        }
        if !prefixes.insert(s.prefix.clone()) {
            return Err(err(
                span,
                format!(
                    "service {:?}: prefix {:?} is already used by another service, numbers would clash",
                    s.id, s.prefix
                ),
            ));
        }
        if s.first_number == 0 || s.first_number > s.last_number || s.last_number > 99_999 {
            return Err(err(
                span,
                format!(
                    "service {:?}: numbers must run from 1 up to at most 99999, first ≤ last",
                    s.id
                ),
            ));
        }
        if s.target_wait_min == 0 || s.target_service_min == 0 {
            return Err(err(
                span,
                format!(
                    "service {:?}: target times must be at least one minute",
                    s.id
                ),
            ));
        }
        service_order.push(id.clone());
        services.insert(
            id.clone(),
            ServiceRule {
                id,
                name_vi: nfc(&s.name_vi),
                name_en: nfc(&s.name_en),
                prefix: s.prefix.clone(),
                first_number: s.first_number,
                last_number: s.last_number,
                daily_limit: s.daily_limit,
                target_wait: TimeDelta::minutes(i64::from(s.target_wait_min)),
                target_service: TimeDelta::minutes(i64::from(s.target_service_min)),
                hours: s.hours.clone(),
                appointments: build_appointments(s, err)?,
                icon: build_icon(s, err)?,
            },
        );
    }
    if services.is_empty() {
        return Err(err(None, "at least one [[service]] is needed".into()));
    }
    Ok((services, service_order))
}

/// A service's pictogram, one of the shipped set (`assets/icons/`).
fn build_icon(s: &RawService, err: ErrAt<'_>) -> Result<Option<String>, ConfigError> {
    let Some(icon) = &s.icon else {
        return Ok(None);
    };
    if !hub_client::pictograms::exists(icon.get_ref()) {
        let known: Vec<&str> = hub_client::pictograms::names().collect();
        return Err(err(
            Some(icon.span()),
            format!(
                "service {:?}: no pictogram {:?}; choose one of {}",
                s.id,
                icon.get_ref(),
                known.join(", ")
            ),
        ));
    }
    Ok(Some(icon.get_ref().clone()))
}

/// `[appointments]`, checked (absent: two bookings a phone a day, ten minutes' quarantine).
fn build_appointment_limits(
    raw: Option<&Spanned<RawAppointmentLimits>>,
    err: ErrAt<'_>,
) -> Result<queue_core::rules::AppointmentLimits, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Default::default());
    };
    let a = raw.get_ref();
    if !(1..=20).contains(&a.per_phone_per_day) || a.quarantine_min > 24 * 60 {
        return Err(err(
            Some(raw.span()),
            "[appointments]: per_phone_per_day must be 1 to 20, quarantine_min at most 1440".into(),
        ));
    }
    Ok(queue_core::rules::AppointmentLimits {
        per_phone_per_day: a.per_phone_per_day,
        quarantine: TimeDelta::minutes(i64::from(a.quarantine_min)),
    })
}

/// A service's `[service.appointments]`, checked.
fn build_appointments(
    s: &RawService,
    err: ErrAt<'_>,
) -> Result<Option<queue_core::rules::AppointmentRule>, ConfigError> {
    let Some(a) = &s.appointments else {
        return Ok(None);
    };
    let span = Some(a.span());
    let a = a.get_ref();
    let problem = if !(5..=240).contains(&a.slot_min) {
        Some("slot_min must be 5 to 240 minutes")
    } else if !(1..=100).contains(&a.per_slot) {
        Some("per_slot must be 1 to 100")
    } else if a.days_ahead > 60 {
        Some("days_ahead must be 0 (today only) to 60")
    } else if a.early_min > 240 || a.late_min > 240 {
        Some("early_min and late_min must be at most 240 minutes")
    } else if a.province_share > a.per_slot {
        Some("province_share must be at most per_slot (it is a part of each slot's places)")
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(err(
            span,
            format!("service {:?}, appointments: {problem}", s.id),
        ));
    }
    Ok(Some(queue_core::rules::AppointmentRule {
        slot: TimeDelta::minutes(i64::from(a.slot_min)),
        per_slot: a.per_slot,
        days_ahead: a.days_ahead,
        hours: a.hours.clone(),
        early: TimeDelta::minutes(i64::from(a.early_min)),
        late: TimeDelta::minutes(i64::from(a.late_min)),
        province_share: a.province_share,
    }))
}

fn build_counters(
    raw_counters: &[Spanned<RawCounter>],
    services: &BTreeMap<ServiceId, ServiceRule>,
    err: ErrAt<'_>,
) -> Result<BTreeMap<CounterNo, CounterRule>, ConfigError> {
    let mut counters = BTreeMap::new();
    for c in raw_counters {
        let span = Some(c.span());
        let c = c.get_ref();
        let number = CounterNo(c.number);
        if c.number == 0 {
            return Err(err(span, "counter numbers start at 1".into()));
        }
        if counters.contains_key(&number) {
            return Err(err(span, format!("counter {} is defined twice", c.number)));
        }
        if c.services.is_empty() {
            return Err(err(span, format!("counter {} serves no service", c.number)));
        }
        let mut list: Vec<ServiceId> = Vec::new();
        for s in &c.services {
            let id = ServiceId(s.get_ref().clone());
            if !services.contains_key(&id) {
                return Err(err(
                    Some(s.span()),
                    format!(
                        "counter {} serves unknown service {:?}",
                        c.number,
                        s.get_ref()
                    ),
                ));
            }
            if list.contains(&id) {
                return Err(err(
                    Some(s.span()),
                    format!("counter {} lists service {:?} twice", c.number, s.get_ref()),
                ));
            }
            list.push(id);
        }
        let name = if c.name.trim().is_empty() {
            format!("Quầy {}", c.number)
        } else {
            nfc(&c.name)
        };
        counters.insert(
            number,
            CounterRule {
                number,
                name,
                services: list,
                priority_only: c.priority_only,
            },
        );
    }
    if counters.is_empty() {
        return Err(err(None, "at least one [[counter]] is needed".into()));
    }
    Ok(counters)
}

fn build_devices(
    raw_devices: &[Spanned<RawDevice>],
    counters: &BTreeMap<CounterNo, queue_core::CounterRule>,
    err: ErrAt<'_>,
) -> Result<BTreeMap<String, Device>, ConfigError> {
    let mut devices = BTreeMap::new();
    for d in raw_devices {
        let span = Some(d.span());
        let d = d.get_ref();
        if !valid_id(&d.id) {
            return Err(err(
                span,
                format!("device id {:?} must be letters, digits, - or _", d.id),
            ));
        }
        if d.id == CONSOLE_DEVICE {
            return Err(err(
                span,
                format!(
                    "device id {CONSOLE_DEVICE:?} is the supervisor's console's; choose another"
                ),
            ));
        }
        if d.token.len() < 8 {
            return Err(err(
                span,
                format!("device {:?}: token must be at least 8 characters", d.id),
            ));
        }
        check_device_counter(d, counters).map_err(|reason| err(span.clone(), reason))?;
        if devices
            .insert(
                d.id.clone(),
                Device {
                    role: d.role,
                    token: d.token.clone(),
                    counters: d.counters.clone(),
                    counter: d.counter,
                },
            )
            .is_some()
        {
            return Err(err(span, format!("device {:?} is defined twice", d.id)));
        }
    }
    Ok(devices)
}

/// Each counter display with its counter (checked by `check_device_counter`).
fn bind_counter_displays(
    devices: &BTreeMap<String, Device>,
) -> BTreeMap<queue_core::DeviceId, CounterNo> {
    devices
        .iter()
        .filter(|(_, d)| d.role == Role::CounterDisplay)
        .filter_map(|(id, d)| {
            Some((
                queue_core::DeviceId::from(id.as_str()),
                CounterNo(d.counter?),
            ))
        })
        .collect()
}

/// A counter display needs the counter it faces, and only it has one.
fn check_device_counter(
    d: &RawDevice,
    counters: &BTreeMap<CounterNo, queue_core::CounterRule>,
) -> Result<(), String> {
    let id = &d.id;
    match (d.role, d.counter) {
        (Role::CounterDisplay, Some(n)) if counters.contains_key(&CounterNo(n)) => Ok(()),
        (Role::CounterDisplay, Some(n)) => Err(format!(
            "counter display {id:?} is at counter {n}, which is not configured"
        )),
        (Role::CounterDisplay, None) => Err(format!(
            "counter display {id:?} needs `counter = N`: the counter it faces"
        )),
        (_, Some(_)) => Err(format!(
            "device {id:?}: `counter` is for counter displays (a counter PC is bound with \
             `counters = [..]`)"
        )),
        (_, None) => Ok(()),
    }
}

/// `[[rating_reason]]`: what a citizen may choose for a low rating (never free text).
fn build_rating_reasons(
    raw: &[Spanned<RawRatingReason>],
    err: ErrAt<'_>,
) -> Result<Vec<protocol::RatingReason>, ConfigError> {
    let mut reasons: Vec<protocol::RatingReason> = vec![];
    for r in raw {
        let span = Some(r.span());
        let r = r.get_ref();
        if !valid_id(&r.id) {
            return Err(err(
                span,
                format!(
                    "rating reason id {:?} must be letters, digits, - or _",
                    r.id
                ),
            ));
        }
        if reasons.iter().any(|o| o.id == r.id) {
            return Err(err(
                span,
                format!("rating reason {:?} is defined twice", r.id),
            ));
        }
        if r.name_vi.trim().is_empty() {
            return Err(err(span, format!("rating reason {:?} needs name_vi", r.id)));
        }
        reasons.push(protocol::RatingReason {
            id: r.id.clone(),
            name_vi: nfc(&r.name_vi),
            name_en: nfc(&r.name_en),
        });
    }
    Ok(reasons)
}

/// `[[rating_level]]`: the words of levels 1 to 4, Vietnamese first; the standard words for
/// the levels not given.
fn build_rating_levels(
    raw: &[Spanned<RawRatingLevel>],
    err: ErrAt<'_>,
) -> Result<Vec<protocol::RatingLevel>, ConfigError> {
    let mut levels = queue_core::rules::default_rating_levels();
    let mut seen = vec![];
    for l in raw {
        let span = Some(l.span());
        let l = l.get_ref();
        if !(1..=4).contains(&l.value) || seen.contains(&l.value) {
            return Err(err(
                span,
                format!("rating level {}: each of 1 to 4 at most once", l.value),
            ));
        }
        if l.name_vi.trim().is_empty() {
            return Err(err(span, format!("rating level {} needs name_vi", l.value)));
        }
        seen.push(l.value);
        if let Some(level) = levels.iter_mut().find(|x| x.value == l.value) {
            level.name_vi = nfc(&l.name_vi);
            level.name_en = nfc(&l.name_en);
        }
    }
    Ok(levels)
}

fn build_staff(
    raw_staff: &[Spanned<RawStaff>],
    err: ErrAt<'_>,
) -> Result<BTreeMap<String, Staff>, ConfigError> {
    let mut staff = BTreeMap::new();
    for s in raw_staff {
        let span = Some(s.span());
        let s = s.get_ref();
        if !valid_id(&s.code) {
            return Err(err(
                span,
                format!("staff code {:?} must be letters, digits, - or _", s.code),
            ));
        }
        if staff
            .insert(
                s.code.clone(),
                Staff {
                    name: nfc(&s.name),
                    pin_hash: s.pin_hash.clone(),
                    role: s.role,
                },
            )
            .is_some()
        {
            return Err(err(span, format!("staff {:?} is defined twice", s.code)));
        }
    }
    Ok(staff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_centre_loads() {
        let c = Config::demo().expect("demo config is valid");
        assert!(c.rules.services.len() >= 6);
        assert_eq!(c.rules.counters.len(), 8);
        assert!(c.devices.contains_key("kiosk-1") && c.devices.contains_key("admin"));
        assert_eq!(c.devices["counter-8"].token, "demo-counter-8");
        assert!(c.staff.contains_key("nv08"));
        assert!(c.uses_demo_tokens());
        for id in ["elderly", "pregnant", "disabled"] {
            assert!(c.rules.category(id).is_some(), "{id}");
        }
        assert_eq!(c.rules.tz, chrono_tz::Asia::Ho_Chi_Minh);
    }

    const MINIMAL: &str = r#"
[center]
name = "Trung tâm thử"

[[service]]
id = "TP"
name_vi = "Tư pháp"
prefix = "A"
target_wait_min = 20
target_service_min = 10

[[counter]]
number = 1
services = ["TP"]
"#;

    fn check_error(extra: &str, replace: Option<(&str, &str)>, line: usize, needle: &str) {
        let mut text = MINIMAL.to_string();
        if let Some((a, b)) = replace {
            text = text.replace(a, b);
        }
        text.push_str(extra);
        let e = Config::parse(&text, "centre.toml").expect_err(needle);
        assert_eq!(e.file, "centre.toml");
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.reason.contains(needle), "{e}");
        assert!(
            e.to_string().starts_with(&format!("centre.toml:{line}: ")),
            "{e}"
        );
    }

    #[test]
    fn near_ahead_is_the_centres_unless_a_service_sets_its_own() {
        let tp = ServiceId::from("TP");
        let c = Config::parse(MINIMAL, "centre.toml").expect("valid");
        assert_eq!(c.notify.near_ahead(&tp), DEFAULT_NEAR_AHEAD);
        let text = format!("{MINIMAL}\n[notify]\nnear_ahead = 5\n");
        let c = Config::parse(&text, "centre.toml").expect("valid");
        assert_eq!(c.notify.near_ahead(&tp), 5);
        let text = MINIMAL.replacen(
            "target_service_min = 10\n",
            "target_service_min = 10\nnear_ahead = 1\n",
            1,
        ) + "\n[notify]\nnear_ahead = 5\n";
        let c = Config::parse(&text, "centre.toml").expect("valid");
        assert_eq!(c.notify.near_ahead(&tp), 1, "the service's own");
        assert_eq!(
            (c.notify.web_push.as_ref(), c.notify.sms.as_ref()),
            (None, None)
        );
        assert_eq!(c.notify.contact, DEFAULT_CONTACT);
        let text = format!(
            "{MINIMAL}\n[notify]\ncontact = \"mailto:it@hcc.vn\"\n[notify.web_push]\n[notify.sms]\nurl = \"https://gw.example.vn/send\"\ntoken_file = \"/etc/hang-doi/sms-token\"\n"
        );
        let c = Config::parse(&text, "centre.toml").expect("valid");
        assert_eq!(c.notify.contact, "mailto:it@hcc.vn");
        assert_eq!(
            c.notify.web_push,
            Some(WebPush {
                allow_insecure_endpoints: false
            })
        );
        let sms = c.notify.sms.expect("a gateway");
        assert_eq!(sms.url, "https://gw.example.vn/send");
        // A gateway without its token, or a misspelt key, is refused, not silently ignored.
        let text = format!("{MINIMAL}\n[notify.sms]\nurl = \"https://gw.example.vn\"\n");
        let e = Config::parse(&text, "centre.toml").expect_err("no token");
        assert!(e.reason.contains("token_file"), "{e}");
        let text = format!("{MINIMAL}\n[notify.web_push]\nallow_insecure = true\n");
        assert!(Config::parse(&text, "centre.toml").is_err());
    }

    #[test]
    fn appointments_and_pictograms_are_read_and_checked() {
        let table = "target_service_min = 10\n[service.appointments]\nslot_min = 15\nper_slot = 2\ndays_ahead = 6\nhours = \"mon-fri 07:30-11:00, 13:30-16:30\"\n";
        let text = MINIMAL.replacen("target_service_min = 10\n", table, 1)
            + "\n[appointments]\nper_phone_per_day = 3\nquarantine_min = 5\n";
        let c = Config::parse(&text, "centre.toml").expect("valid");
        let tp = &c.rules.services[&ServiceId::from("TP")];
        let a = tp.appointments.as_ref().expect("appointments");
        assert_eq!((a.slot.num_minutes(), a.per_slot, a.days_ahead), (15, 2, 6));
        assert_eq!(
            (a.early.num_minutes(), a.late.num_minutes()),
            (30, 15),
            "the default window"
        );
        let hours = a.hours.as_ref().expect("hours");
        assert_eq!(
            hours.ranges_on(chrono::Weekday::Tue),
            &[(450, 660), (810, 990)]
        );
        assert_eq!(c.rules.appointment_limits.per_phone_per_day, 3);
        assert_eq!(c.rules.appointment_limits.quarantine.num_minutes(), 5);
        // Mistakes are told with their line.
        let bad = MINIMAL.replacen(
            "target_service_min = 10\n",
            &table.replace("per_slot = 2", "per_slot = 0"),
            1,
        );
        let e = Config::parse(&bad, "centre.toml").expect_err("no places");
        assert_eq!(e.line, Some(11), "the table's line: {e}");
        assert!(e.reason.contains("per_slot"), "{e}");
        let bad = MINIMAL.replacen(
            "target_service_min = 10\n",
            &table.replace("07:30-11:00", "7h30"),
            1,
        );
        let e = Config::parse(&bad, "centre.toml").expect_err("bad hours");
        assert!(e.reason.contains("7h30"), "{e}");
        check_error(
            "\n[appointments]\nper_phone_per_day = 0\n",
            None,
            16,
            "per_phone_per_day",
        );
        check_error("\n[appointments]\nper_person = 2\n", None, 17, "per_person");
        let icon = MINIMAL.replacen("prefix = \"A\"", "prefix = \"A\"\nicon = \"rocket\"", 1);
        let e = Config::parse(&icon, "centre.toml").expect_err("no such pictogram");
        assert_eq!(e.line, Some(9), "{e}");
        assert!(e.reason.contains("scale"), "lists those there are: {e}");
        let demo = Config::demo().expect("demo");
        assert!(
            demo.rules.services.values().all(|s| s.icon.is_some()),
            "every demo field has its pictogram"
        );
        let bookable = demo
            .rules
            .services
            .values()
            .filter(|s| s.appointments.is_some())
            .count();
        assert!(bookable >= 2, "the demo books at least two fields");
    }

    #[test]
    fn a_counter_display_faces_one_configured_counter() {
        let pad =
            "\n[[device]]\nid = \"pad-1\"\nrole = \"counter_display\"\ntoken = \"a-long-token\"\n";
        check_error(pad, None, 16, "needs `counter = N`");
        check_error(
            &format!("{pad}counter = 2\n"),
            None,
            16,
            "counter 2, which is not configured",
        );
        let kiosk =
            "\n[[device]]\nid = \"k\"\nrole = \"kiosk\"\ntoken = \"a-long-token\"\ncounter = 1\n";
        check_error(kiosk, None, 16, "`counter` is for counter displays");
        let reasons = "\n[[rating_reason]]\nid = \"wait\"\nname_vi = \"Chờ lâu\"\n";
        check_error(&format!("{reasons}{reasons}"), None, 20, "defined twice");
        check_error(
            "\n[[rating_level]]\nvalue = 5\nname_vi = \"x\"\n",
            None,
            16,
            "1 to 4",
        );
        let c = Config::parse(
            &format!("{MINIMAL}{pad}counter = 1\n{reasons}"),
            "centre.toml",
        )
        .expect("valid");
        assert!(c.rules.has_counter_display(CounterNo(1)));
        assert_eq!(c.rules.rating_reasons[0].name_vi, "Chờ lâu");
        assert_eq!(c.rules.rating_levels.len(), 4);
        let demo = Config::demo().expect("demo");
        assert_eq!(demo.rules.counter_displays.len(), 8, "pad-1 … pad-8");
        assert_eq!(
            demo.rating_prompt_s, 30,
            "the citizen has half a minute by default"
        );
        let slow = MINIMAL.replace("[center]", "[rules]\nrating_prompt_s = 45\n\n[center]");
        let c = Config::parse(&slow, "centre.toml").expect("valid");
        assert_eq!(c.rating_prompt_s, 45);
    }

    #[test]
    fn a_minimal_file_gets_sensible_defaults() {
        let c = Config::parse(MINIMAL, "centre.toml").expect("valid");
        assert_eq!(c.rules.max_priority_in_row, 3);
        assert_eq!(c.rules.recalls_before_no_show, 2);
        assert_eq!(c.rules.counters[&CounterNo(1)].name, "Quầy 1");
        assert_eq!(c.center.timezone, "Asia/Ho_Chi_Minh");
        assert_eq!(c.rules.categories.len(), 3);
    }

    #[test]
    fn a_centre_ships_to_the_province_only_with_its_id_and_no_password_in_the_file() {
        let province = "\n[province]\ndatabase = \"host=db.province dbname=hang_doi user=centre_a\"\npassword_file = \"/etc/hang-doi/province-password\"\n";
        let with_id = MINIMAL.replace("[center]\n", "[center]\nid = \"thanh-hoa-tp\"\n");
        let c = Config::parse(&format!("{with_id}{province}"), "centre.toml").expect("valid");
        let p = c.province.expect("a province");
        assert_eq!(p.centre_id, "thanh-hoa-tp");
        assert_eq!(p.batch, DEFAULT_SHIP_BATCH);
        assert_eq!(
            p.password_file.as_deref(),
            Some(Path::new("/etc/hang-doi/province-password"))
        );
        assert!(
            Config::parse(MINIMAL, "c")
                .expect("valid")
                .province
                .is_none()
        );
        // Line 16: the [province] header after the 14 lines of MINIMAL and a blank one.
        check_error(province, None, 16, "needs the centre's id");
        check_error(
            "",
            Some(("[center]\n", "[center]\nid = \"Thanh Hóa\"\n")),
            3,
            "lower-case letters",
        );
        let with_password = province.replace("user=centre_a", "user=centre_a password=secret");
        let e = Config::parse(&format!("{with_id}{with_password}"), "c").expect_err("password");
        assert!(e.reason.contains("password_file"), "{e}");
        let nonsense = province.replace("host=db.province dbname=hang_doi user=centre_a", "host=");
        let e = Config::parse(&format!("{with_id}{nonsense}"), "c").expect_err("address");
        assert!(e.reason.contains("connection string"), "{e}");
        // The door's address leads the tickets' QR codes; it must be one.
        assert_eq!(c.center.track_base, None);
        let door = format!("{province}public_url = \"https://cong.tinh.example/\"\n");
        let c = Config::parse(&format!("{with_id}{door}"), "c").expect("valid");
        assert_eq!(
            c.center.track_base.as_deref(),
            Some("https://cong.tinh.example")
        );
        let not_a_url = door.replace("https://cong.tinh.example/", "cong.tinh.example");
        let e = Config::parse(&format!("{with_id}{not_a_url}"), "c").expect_err("a url");
        assert!(e.reason.contains("public_url"), "{e}");
    }

    #[test]
    fn bad_files_are_refused_with_line_and_reason() {
        check_error(
            "",
            Some(("services = [\"TP\"]", "services = [\"XX\"]")),
            14,
            "unknown service \"XX\"",
        );
        check_error(
            "",
            Some((
                "name = \"Trung tâm thử\"",
                "name = \"Trung tâm thử\"\ntimezone = \"Mars/Olympus\"",
            )),
            4,
            "unknown time zone",
        );
        check_error(
            "",
            Some(("prefix = \"A\"", "prefix = \"A\"\ncolour = \"red\"")),
            9,
            "unknown field `colour`",
        );
        check_error(
            "\n[[counter]]\nnumber = 1\nservices = [\"TP\"]\n",
            None,
            16,
            "counter 1 is defined twice",
        );
        check_error(
            "\n[[staff]]\ncode = \"nv01\"\nname = \"A\"\npin_hash = \"1234\"\n",
            None,
            19,
            "not an Argon2 hash",
        );
        check_error(
            "\n[rules]\nmax_priority_in_row = 0\n",
            None,
            17,
            "at least 1",
        );
        check_error(
            "",
            Some(("target_wait_min = 20", "target_wait_min = \"twenty\"")),
            9,
            "invalid type",
        );
        check_error(
            "",
            Some((
                "name = \"Trung tâm thử\"",
                "name = \"Trung tâm thử\"\nhours = \"mon-fri 7:30-25:00\"",
            )),
            4,
            "not a time",
        );
        check_error(
            "\n[[device]]\nid = \"kiosk-1\"\nrole = \"printer\"\ntoken = \"long-enough\"\n",
            None,
            18,
            "unknown variant",
        );
        check_error(
            "\n[[device]]\nid = \"console\"\nrole = \"admin\"\ntoken = \"long-enough\"\n",
            None,
            16,
            "supervisor's console",
        );
    }

    #[test]
    fn names_are_normalised_to_nfc() {
        // "Tư pháp" typed with combining marks (NFD).
        let text = MINIMAL.replace("Tư pháp", "Tu\u{31b} pha\u{301}p");
        let c = Config::parse(&text, "x.toml").expect("valid");
        assert_eq!(c.rules.services[&ServiceId("TP".into())].name_vi, "Tư pháp");
    }

    #[test]
    fn staff_are_clerks_unless_configured_as_supervisors() {
        let c = Config::demo().expect("demo");
        assert_eq!(c.staff["nv01"].role, StaffRole::Clerk);
        assert_eq!(c.staff["ql01"].role, StaffRole::Supervisor);
        assert_eq!(c.staff["ql01"].name, "Trần Văn Quản");
    }
}
