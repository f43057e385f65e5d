//! Proof of work on booking: before a place is held, the client finds a `nonce` such that
//! SHA-256(`challenge` + ":" + `nonce`) begins with `bits` zero bits. At the default 16 bits
//! that is about 65,000 hashes — a fraction of a second on a phone, in the page's script — and
//! a scalper's thousand holds cost a thousand times as much real CPU. No third-party captcha:
//! the portal depends on no foreign service.
//!
//! The challenge is stateless (any instance checks one another issued: it carries its time and
//! a MAC under a key derived from the door's signing key), and good once: spent challenges are
//! kept in the database until they would have expired anyway.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use ring::digest::{SHA256, digest};
use ring::hmac;

/// A challenge must be answered within this.
pub const CHALLENGE_LIFE: Duration = Duration::from_secs(600);

pub struct Proofs {
    key: hmac::Key,
    pub bits: u32,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("not a challenge of this door")]
    Forged,
    #[error("the challenge is too old; ask for another")]
    Expired,
    #[error("the work does not meet the challenge")]
    Short,
}

impl Proofs {
    /// Proofs under a key made from `secret` (the door's signing key: every instance has it).
    pub fn new(secret: &[u8], bits: u32) -> Proofs {
        let mut material = b"hang-doi door proof of work\n".to_vec();
        material.extend_from_slice(secret);
        Proofs {
            key: hmac::Key::new(hmac::HMAC_SHA256, digest(&SHA256, &material).as_ref()),
            bits,
        }
    }

    /// A fresh challenge.
    pub fn challenge(&self) -> String {
        let issued = unix_now();
        let salt: u64 = rand::rng().random();
        let body = format!("{issued}.{salt:016x}");
        let tag = hmac::sign(&self.key, body.as_bytes());
        format!("{body}.{}", hex(tag.as_ref()))
    }

    /// Whether `nonce` answers `challenge` (issued by a door of this key, still young). The
    /// caller then spends it, so it answers once.
    pub fn check(&self, challenge: &str, nonce: &str) -> Result<(), ProofError> {
        let (body, tag) = challenge.rsplit_once('.').ok_or(ProofError::Forged)?;
        let tag = unhex(tag).ok_or(ProofError::Forged)?;
        hmac::verify(&self.key, body.as_bytes(), &tag).map_err(|_| ProofError::Forged)?;
        let issued: u64 = body
            .split('.')
            .next()
            .and_then(|t| t.parse().ok())
            .ok_or(ProofError::Forged)?;
        let age = unix_now().saturating_sub(issued);
        if age > CHALLENGE_LIFE.as_secs() {
            return Err(ProofError::Expired);
        }
        if nonce.len() > 32 || leading_zero_bits(challenge, nonce) < self.bits {
            return Err(ProofError::Short);
        }
        Ok(())
    }
}

/// The zero bits SHA-256(`challenge:nonce`) begins with.
pub fn leading_zero_bits(challenge: &str, nonce: &str) -> u32 {
    let hash = digest(&SHA256, format!("{challenge}:{nonce}").as_bytes());
    let mut bits = 0;
    for byte in hash.as_ref() {
        if *byte == 0 {
            bits += 8;
        } else {
            bits += byte.leading_zeros();
            break;
        }
    }
    bits
}

/// A nonce that answers `challenge` at `bits` (what the page's script does; for tests, the
/// bench and any client written from PROTOCOL.md).
pub fn solve(challenge: &str, bits: u32) -> String {
    (0_u64..)
        .map(|n| n.to_string())
        .find(|n| leading_zero_bits(challenge, n) >= bits)
        .unwrap_or_default()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 128 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_solved_challenge_passes_and_anything_else_does_not() {
        let proofs = Proofs::new(b"secret", 12);
        let challenge = proofs.challenge();
        let nonce = solve(&challenge, 12);
        assert_eq!(proofs.check(&challenge, &nonce), Ok(()));
        let unsolved = (0_u64..)
            .map(|n| n.to_string())
            .find(|n| leading_zero_bits(&challenge, n) < 12)
            .expect("most nonces fail");
        assert_eq!(proofs.check(&challenge, &unsolved), Err(ProofError::Short));
        let other = Proofs::new(b"another door", 12);
        assert_eq!(other.check(&challenge, &nonce), Err(ProofError::Forged));
        let (body, tag) = challenge.rsplit_once('.').expect("tag");
        let (issued, salt) = body.split_once('.').expect("time and salt");
        let issued: u64 = issued.parse().expect("a time");
        let older = format!("{}.{salt}", issued - 1);
        assert_eq!(
            proofs.check(&format!("{older}.{tag}"), &nonce),
            Err(ProofError::Forged),
            "its time is under the MAC"
        );
        assert_eq!(proofs.check("garbage", "1"), Err(ProofError::Forged));
    }

    #[test]
    fn an_old_challenge_is_refused() {
        let proofs = Proofs::new(b"secret", 0);
        let body = format!("{}.{:016x}", unix_now() - 3600, 7);
        let tag = hmac::sign(&proofs.key, body.as_bytes());
        let old = format!("{body}.{}", hex(tag.as_ref()));
        assert_eq!(proofs.check(&old, "0"), Err(ProofError::Expired));
    }
}
