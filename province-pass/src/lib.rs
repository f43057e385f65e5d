//! The pass of a booking made at the province's door (docs/PROVINCE.md, "Booking any centre"):
//! what the citizen's QR code holds, signed with the province's Ed25519 key, so that a centre's
//! hub checks it **offline** — the booking is honoured at the kiosk even if it never reached the
//! hub, because the link to the province was down.
//!
//! A pass names the centre, the field, the slot's start and the booking's code (the per-booking
//! nonce the hub counts once). Its text is `HD1.` + the payload + `.` + the signature, both in
//! URL-safe base64 without padding: about 160 characters, which a kiosk's QR reader types whole.
//! The payload is four lines: `centre`, `service`, the slot's start (Unix seconds), `code`.
//! What is signed is a fixed domain string and the payload, so a signature made for anything
//! else under the same key is never a pass.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

pub use ed25519_dalek::{SigningKey as PassKey, VerifyingKey as PassCheck};
pub use protocol::booking_code::{PASS_PREFIX, looks_like_pass};

/// What is signed before the payload.
const DOMAIN: &[u8] = b"hang-doi province booking pass v1\n";

/// A booking as its pass names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    pub centre: String,
    pub service: String,
    pub start: DateTime<Utc>,
    /// The booking's code (the same alphabet as a hub's), also what the citizen may type.
    pub code: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PassError {
    #[error("not a province pass")]
    NotAPass,
    #[error("a province pass, but damaged (the QR code was misread, or it was altered)")]
    Malformed,
    #[error("a province pass whose signature is not the province's")]
    BadSignature,
    #[error("not a key: {0}")]
    BadKey(&'static str),
}

impl Pass {
    fn payload(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}",
            self.centre,
            self.service,
            self.start.timestamp(),
            self.code
        )
    }

    /// The pass's text, signed with `key`. Ids and code are the caller's, already checked
    /// (no line breaks; a code of the booking alphabet).
    pub fn sign(&self, key: &SigningKey) -> String {
        let payload = self.payload();
        let mut message = DOMAIN.to_vec();
        message.extend_from_slice(payload.as_bytes());
        let signature = key.sign(&message);
        format!(
            "{PASS_PREFIX}{}.{}",
            B64.encode(payload.as_bytes()),
            B64.encode(signature.to_bytes())
        )
    }

    /// The pass a text holds, if one of `keys` signed it.
    pub fn verify(text: &str, keys: &[VerifyingKey]) -> Result<Pass, PassError> {
        let text = text.trim();
        if !looks_like_pass(text) {
            return Err(PassError::NotAPass);
        }
        let rest = &text[PASS_PREFIX.len()..];
        let (payload, signature) = rest.split_once('.').ok_or(PassError::Malformed)?;
        let payload = B64.decode(payload).map_err(|_| PassError::Malformed)?;
        let signature: [u8; 64] = B64
            .decode(signature)
            .map_err(|_| PassError::Malformed)?
            .try_into()
            .map_err(|_| PassError::Malformed)?;
        let signature = Signature::from_bytes(&signature);
        let mut message = DOMAIN.to_vec();
        message.extend_from_slice(&payload);
        if !keys
            .iter()
            .any(|k| k.verify_strict(&message, &signature).is_ok())
        {
            return Err(PassError::BadSignature);
        }
        let payload = String::from_utf8(payload).map_err(|_| PassError::Malformed)?;
        let mut lines = payload.split('\n');
        let (Some(centre), Some(service), Some(start), Some(code), None) = (
            lines.next(),
            lines.next(),
            lines.next(),
            lines.next(),
            lines.next(),
        ) else {
            return Err(PassError::Malformed);
        };
        let start = start
            .parse::<i64>()
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .ok_or(PassError::Malformed)?;
        let code = protocol::booking_code::normalise_code(code)
            .filter(|c| c == code)
            .ok_or(PassError::Malformed)?;
        if centre.is_empty() || service.is_empty() {
            return Err(PassError::Malformed);
        }
        Ok(Pass {
            centre: centre.into(),
            service: service.into(),
            start,
            code,
        })
    }
}

/// A key from its 32 bytes' text (URL-safe base64, as `key_text` writes it): the province's
/// signing key (its secret file) or a hub's `[province] booking_keys`.
fn key_bytes(text: &str) -> Result<[u8; 32], PassError> {
    B64.decode(text.trim().trim_end_matches('='))
        .map_err(|_| PassError::BadKey("not URL-safe base64"))?
        .try_into()
        .map_err(|_| PassError::BadKey("not 32 bytes"))
}

pub fn signing_key(text: &str) -> Result<SigningKey, PassError> {
    Ok(SigningKey::from_bytes(&key_bytes(text)?))
}

pub fn checking_key(text: &str) -> Result<VerifyingKey, PassError> {
    VerifyingKey::from_bytes(&key_bytes(text)?).map_err(|_| PassError::BadKey("not a public key"))
}

/// A key's 32 bytes as text.
pub fn key_text(bytes: &[u8; 32]) -> String {
    B64.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn pass() -> Pass {
        Pass {
            centre: "cau-giay".into(),
            service: "ho-tich".into(),
            start: DateTime::from_timestamp(1_796_000_400, 0).expect("time"),
            code: "KE4PX9MT".into(),
        }
    }

    #[test]
    fn a_signed_pass_is_read_back_with_the_key_and_only_with_it() {
        let text = pass().sign(&key(1));
        assert!(text.len() < 200, "{} characters", text.len());
        assert!(looks_like_pass(&text));
        let mine = key(1).verifying_key();
        let theirs = key(2).verifying_key();
        assert_eq!(Pass::verify(&text, &[mine]), Ok(pass()));
        assert_eq!(
            Pass::verify(&format!("  {text}\r\n"), &[theirs, mine]),
            Ok(pass()),
            "a reader's trailing newline, a second key"
        );
        assert_eq!(Pass::verify(&text, &[theirs]), Err(PassError::BadSignature));
        assert_eq!(Pass::verify(&text, &[]), Err(PassError::BadSignature));
    }

    #[test]
    fn an_altered_pass_is_refused() {
        let text = pass().sign(&key(1));
        let keys = [key(1).verifying_key()];
        // Another slot under the same signature.
        let mut later = pass();
        later.start += chrono::TimeDelta::hours(1);
        let forged_payload = B64.encode(later.payload());
        let signature = text.rsplit('.').next().expect("signature");
        let forged = format!("{PASS_PREFIX}{forged_payload}.{signature}");
        assert_eq!(Pass::verify(&forged, &keys), Err(PassError::BadSignature));
        assert_eq!(
            Pass::verify(&text[..text.len() - 3], &keys),
            Err(PassError::Malformed)
        );
        assert_eq!(Pass::verify("KE4PX9MT", &keys), Err(PassError::NotAPass));
        assert_eq!(
            Pass::verify("HD1.<script>", &keys),
            Err(PassError::NotAPass)
        );
        let flipped: String = text
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i == 10 {
                    if c == 'A' { 'B' } else { 'A' }
                } else {
                    c
                }
            })
            .collect();
        assert!(Pass::verify(&flipped, &keys).is_err());
    }

    #[test]
    fn keys_are_read_from_their_text() {
        let k = key(7);
        let secret = key_text(&k.to_bytes());
        let public = key_text(k.verifying_key().as_bytes());
        assert_eq!(signing_key(&secret).map(|s| s.to_bytes()), Ok(k.to_bytes()));
        assert_eq!(checking_key(&public), Ok(k.verifying_key()));
        assert!(checking_key("abc").is_err());
        assert!(checking_key("").is_err());
    }
}
