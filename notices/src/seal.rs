//! A follower's address (a phone number, a push subscription) at rest: sealed under a key of
//! the service day, which the hub replaces when the day turns. The log keeps only the sealed
//! text; once the day's key is gone, nobody can read it again.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use chrono::NaiveDate;

use crate::b64;

/// The key of one service day.
#[derive(Clone)]
pub struct DayKey {
    pub day: NaiveDate,
    key: [u8; 32],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the stored day key is unreadable")]
    BadKey,
    #[error("sealed under another day's key, or altered")]
    Unreadable,
}

impl DayKey {
    pub fn fresh(day: NaiveDate) -> DayKey {
        DayKey {
            day,
            key: rand::random(),
        }
    }

    /// As kept with the centre's secrets: `YYYY-MM-DD:<base64url key>`.
    pub fn to_secret(&self) -> String {
        format!("{}:{}", self.day, b64::encode(&self.key))
    }

    pub fn from_secret(text: &str) -> Result<DayKey, SealError> {
        let (day, key) = text.trim().split_once(':').ok_or(SealError::BadKey)?;
        let day = day.parse().map_err(|_| SealError::BadKey)?;
        let key = b64::decode(key)
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
            .ok_or(SealError::BadKey)?;
        Ok(DayKey { day, key })
    }

    pub fn seal(&self, plaintext: &str) -> String {
        let nonce: [u8; 12] = rand::random();
        let cipher = Aes256Gcm::new(&self.key.into());
        // Encrypting in memory fails only past 64 GiB.
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        b64::encode(&out)
    }

    pub fn open(&self, sealed: &str) -> Result<String, SealError> {
        let bytes = b64::decode(sealed).ok_or(SealError::Unreadable)?;
        if bytes.len() < 12 {
            return Err(SealError::Unreadable);
        }
        let (nonce, body) = bytes.split_at(12);
        let plain = Aes256Gcm::new(&self.key.into())
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| SealError::Unreadable)?;
        String::from_utf8(plain).map_err(|_| SealError::Unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_only_with_its_days_key() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).expect("a day");
        let key = DayKey::fresh(day);
        let sealed = key.seal("0912345678");
        assert!(!sealed.contains("0912345678"));
        assert_ne!(sealed, key.seal("0912345678"), "a fresh nonce each time");
        assert_eq!(key.open(&sealed).as_deref(), Ok("0912345678"));
        let kept = DayKey::from_secret(&key.to_secret()).expect("reads back");
        assert_eq!(kept.open(&sealed).as_deref(), Ok("0912345678"));
        let next = DayKey::fresh(day.succ_opt().expect("tomorrow"));
        assert_eq!(next.open(&sealed), Err(SealError::Unreadable));
        assert_eq!(key.open("AAAA"), Err(SealError::Unreadable));
        assert!(DayKey::from_secret("2026-12-07:short").is_err());
    }
}
