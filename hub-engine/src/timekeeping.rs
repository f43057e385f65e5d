//! Which wall-clock readings the hub trusts to start a service day.
//!
//! The wall clock can jump: NTP steps it, an operator sets it, a board without a battery boots
//! with a date years off and is corrected minutes later. Queue order does not depend on it (the
//! core orders by an issue counter), but the service day does, and starting a wrong day expires
//! everyone waiting. So a new day starts only when it is plausible:
//!
//! - at most one day after the current service day (the night passed), or
//! - vouched for by the monotonic clock: the hub has really been running until that day (a
//!   weekend with the hub on).
//!
//! Otherwise the day is *held*: the hub carries on with the current day, `/healthz` says why,
//! and the hold ends by itself when the clock comes back — or when the operator restarts the hub
//! (at start-up [`check_start`] applies, with `--accept-date` for a long closure).

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use queue_core::Rules;

/// A difference between the wall and the monotonic clock smaller than this is drift, not a step.
const STEP: TimeDelta = TimeDelta::seconds(2);
/// At start-up, a clock more than this many days after the log's last service day needs
/// `--accept-date` (the longest closure, Tết, is about ten days).
pub const START_MAX_GAP_DAYS: u64 = 16;

/// The wall clock compared with the time the monotonic clock vouches for.
pub struct Timekeeper {
    /// A wall-clock reading the hub trusted, with the monotonic time of that reading.
    anchor: (DateTime<Utc>, Duration),
    /// The step last reported, so each step is logged once.
    reported: TimeDelta,
}

/// What a reading says about the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Steady,
    /// The wall clock is behind the time vouched for by this much (it was set back).
    SteppedBack(TimeDelta),
    /// Ahead of it by this much.
    SteppedForward(TimeDelta),
}

impl Timekeeper {
    pub fn new(now: DateTime<Utc>, monotonic: Duration) -> Timekeeper {
        Timekeeper {
            anchor: (now, monotonic),
            reported: TimeDelta::zero(),
        }
    }

    /// The time the monotonic clock vouches for: the last trusted reading plus what has passed.
    pub fn vouched(&self, monotonic: Duration) -> DateTime<Utc> {
        let passed = monotonic.saturating_sub(self.anchor.1);
        self.anchor.0 + TimeDelta::from_std(passed).unwrap_or(TimeDelta::MAX)
    }

    /// Compares a reading with the vouched time. `Some` the first time a step is seen.
    pub fn read(&mut self, now: DateTime<Utc>, monotonic: Duration) -> Option<Reading> {
        let skew = now - self.vouched(monotonic);
        let reading = if skew.abs() < STEP {
            Reading::Steady
        } else if skew < TimeDelta::zero() {
            Reading::SteppedBack(-skew)
        } else {
            Reading::SteppedForward(skew)
        };
        let new = (skew - self.reported).abs() >= STEP;
        if new {
            self.reported = if reading == Reading::Steady {
                TimeDelta::zero()
            } else {
                skew
            };
        }
        (new && reading != Reading::Steady).then_some(reading)
    }

    /// Whether service day `day` may start now (see the module's rules). The caller trusts the
    /// reading (`trust`) when it goes on.
    pub fn may_start(
        &self,
        rules: &Rules,
        current: NaiveDate,
        day: NaiveDate,
        monotonic: Duration,
    ) -> bool {
        let next_night = current
            .checked_add_days(chrono::Days::new(1))
            .is_some_and(|next| day <= next);
        next_night || rules.service_day(self.vouched(monotonic) + STEP) >= day
    }

    /// Trusts this reading from now on.
    pub fn trust(&mut self, now: DateTime<Utc>, monotonic: Duration) {
        self.anchor = (now, monotonic);
        self.reported = TimeDelta::zero();
    }
}

/// Why the hub will not start on this clock.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClockRefused {
    #[error(
        "the clock says service day {today}, before {last}, the last day in the database: the clock is wrong (is NTP working? is the battery flat?). Fix the clock, then start the hub"
    )]
    Behind { today: NaiveDate, last: NaiveDate },
    #[error(
        "the clock says service day {today}, more than {START_MAX_GAP_DAYS} days after {last}, the last day in the database. If the clock is right (a long closure), start the hub with --accept-date {today}"
    )]
    FarAhead { today: NaiveDate, last: NaiveDate },
}

/// The start-up check: the clock's service day against the last one in the log.
pub fn check_start(
    today: NaiveDate,
    last: Option<NaiveDate>,
    accept: Option<NaiveDate>,
) -> Result<(), ClockRefused> {
    let Some(last) = last else {
        return Ok(());
    };
    if today < last {
        return Err(ClockRefused::Behind { today, last });
    }
    let far = last
        .checked_add_days(chrono::Days::new(START_MAX_GAP_DAYS))
        .is_none_or(|limit| today > limit);
    if far && accept != Some(today) {
        return Err(ClockRefused::FarAhead { today, last });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn steps_are_seen_once_and_drift_is_not_a_step() {
        let mut k = Timekeeper::new(t("2026-11-23T09:00:00+07:00"), secs(100));
        assert_eq!(k.read(t("2026-11-23T09:01:00.500+07:00"), secs(160)), None);
        let back = k.read(t("2026-11-23T08:01:00+07:00"), secs(160));
        assert_eq!(back, Some(Reading::SteppedBack(TimeDelta::hours(1))));
        assert_eq!(k.read(t("2026-11-23T08:01:10+07:00"), secs(170)), None);
        k.trust(t("2026-11-23T08:01:10+07:00"), secs(170));
        let ahead = k.read(t("2026-11-23T10:01:10+07:00"), secs(170));
        assert_eq!(ahead, Some(Reading::SteppedForward(TimeDelta::hours(2))));
    }

    #[test]
    fn the_next_night_may_start_but_a_jump_of_days_only_when_time_really_passed() {
        let rules = queue_core::sample::rules();
        let friday = d("2026-11-20");
        let k = Timekeeper::new(t("2026-11-20T17:00:00+07:00"), secs(0));
        // The night passed: Saturday may start whatever the monotonic clock says.
        assert!(k.may_start(&rules, friday, d("2026-11-21"), secs(60)));
        // A jump to Monday after a minute: held.
        assert!(!k.may_start(&rules, friday, d("2026-11-23"), secs(60)));
        // A weekend the hub was really on for: Monday may start.
        let weekend = secs(3 * 24 * 3600);
        assert!(k.may_start(&rules, friday, d("2026-11-23"), weekend));
    }

    #[test]
    fn at_start_a_clock_behind_the_log_or_far_ahead_is_refused() {
        let last = Some(d("2026-11-23"));
        assert_eq!(check_start(d("2026-11-23"), last, None), Ok(()));
        assert_eq!(check_start(d("2026-12-01"), last, None), Ok(()));
        assert!(matches!(
            check_start(d("2026-11-22"), last, None),
            Err(ClockRefused::Behind { .. })
        ));
        assert!(matches!(
            check_start(d("2031-01-01"), last, None),
            Err(ClockRefused::FarAhead { .. })
        ));
        assert_eq!(
            check_start(d("2031-01-01"), last, Some(d("2031-01-01"))),
            Ok(())
        );
        assert_eq!(check_start(d("1970-01-01"), None, None), Ok(()));
    }
}
