//! Supervisors signed in to the console. A session is a random token kept by the browser in an
//! `HttpOnly`, `SameSite=Strict` cookie: page scripts cannot read it, and no other site's page
//! can make the browser send it. Sessions end on sign-out, after `IDLE` without use, after
//! `LONGEST` whatever happens, and with the hub (they live in memory only).

use std::collections::HashMap;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

/// The cookie's name.
pub const COOKIE: &str = "hang_doi_console";
/// A session unused this long has ended (a console left open on an empty desk).
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// No session lasts longer than a working day.
pub const LONGEST: Duration = Duration::from_secs(12 * 3600);
/// Sessions at once; past that the oldest ends (memory is bounded whoever signs in).
pub const MAX_SESSIONS: usize = 64;

/// A signed-in supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub staff: String,
    pub name: String,
}

struct Session {
    who: Signed,
    created: Instant,
    last_seen: Instant,
}

#[derive(Default)]
pub struct Sessions {
    by_token: HashMap<String, Session>,
}

impl Sessions {
    /// Opens a session; returns its token (256 random bits, hex).
    pub fn open(&mut self, who: Signed, now: Instant) -> String {
        self.by_token.retain(|_, s| alive(s, now));
        if self.by_token.len() >= MAX_SESSIONS
            && let Some(oldest) = self
                .by_token
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(t, _)| t.clone())
        {
            self.by_token.remove(&oldest);
        }
        let token: String = rand::rng()
            .random::<[u8; 32]>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.by_token.insert(
            token.clone(),
            Session {
                who,
                created: now,
                last_seen: now,
            },
        );
        token
    }

    /// The supervisor of a live session, which counts as used now.
    pub fn get(&mut self, token: &str, now: Instant) -> Option<Signed> {
        let session = self.by_token.get_mut(token)?;
        if !alive(session, now) {
            self.by_token.remove(token);
            return None;
        }
        session.last_seen = now;
        Some(session.who.clone())
    }

    pub fn close(&mut self, token: &str) {
        self.by_token.remove(token);
    }
}

fn alive(s: &Session, now: Instant) -> bool {
    now.saturating_duration_since(s.last_seen) < IDLE
        && now.saturating_duration_since(s.created) < LONGEST
}

/// The session token in a `Cookie` header, if any.
pub fn token_in(cookie_header: &str) -> Option<&str> {
    cookie_in(cookie_header, COOKIE)
}

/// The value of the cookie `name` in a `Cookie` header, if it is there and not empty.
pub fn cookie_in<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ql01() -> Signed {
        Signed {
            staff: "ql01".into(),
            name: "Trần Văn Quản".into(),
        }
    }

    #[test]
    fn a_session_ends_when_idle_after_a_working_day_or_on_sign_out() {
        let t0 = Instant::now();
        let mut s = Sessions::default();
        let token = s.open(ql01(), t0);
        assert_eq!(token.len(), 64);
        assert_eq!(s.get(&token, t0 + IDLE / 2), Some(ql01()));
        assert_eq!(s.get(&token, t0 + IDLE), Some(ql01()), "use keeps it alive");
        assert_eq!(
            s.get(&token, t0 + IDLE * 2 + IDLE / 2),
            None,
            "idle too long"
        );

        let token = s.open(ql01(), t0);
        let mut t = t0;
        while t < t0 + LONGEST - IDLE {
            t += IDLE / 2;
            assert!(s.get(&token, t).is_some());
        }
        assert_eq!(s.get(&token, t0 + LONGEST), None, "never longer than a day");

        let token = s.open(ql01(), t0);
        s.close(&token);
        assert_eq!(s.get(&token, t0), None);
        assert_eq!(s.get("guess", t0), None);
    }

    #[test]
    fn sessions_are_bounded_and_the_oldest_goes() {
        let t0 = Instant::now();
        let mut s = Sessions::default();
        let first = s.open(ql01(), t0);
        for n in 1..=MAX_SESSIONS {
            s.open(ql01(), t0 + Duration::from_secs(n as u64));
        }
        assert_eq!(s.by_token.len(), MAX_SESSIONS);
        assert_eq!(s.get(&first, t0 + Duration::from_secs(100)), None);
    }

    #[test]
    fn the_token_is_read_from_the_cookie_header() {
        assert_eq!(token_in("a=1; hang_doi_console=abc; b=2"), Some("abc"));
        assert_eq!(token_in("hang_doi_console="), None);
        assert_eq!(token_in("other=x"), None);
    }
}
