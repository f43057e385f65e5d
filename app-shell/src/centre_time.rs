//! The centre's time as its screens show it: the hub's configured time zone (not the PC's,
//! which may be set to anything), known once the hub's state has arrived.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use hub_client::Mirror;

/// Where the centre is, as the hub said; Việt Nam until it has said.
pub fn zone(mirror: &Mirror) -> Tz {
    mirror
        .center
        .as_ref()
        .and_then(|c| c.timezone.parse().ok())
        .unwrap_or(chrono_tz::Asia::Ho_Chi_Minh)
}

/// The centre's local time at `now`.
pub fn local(mirror: &Mirror, now: DateTime<Utc>) -> DateTime<Tz> {
    now.with_timezone(&zone(mirror))
}

/// The centre's local time now, as `HH:MM` for a screen's clock.
pub fn clock(mirror: &Mirror) -> String {
    local(mirror, Utc::now()).format("%H:%M").to_string()
}
