//! The centre's voluntary application server identification (RFC 8292): a P-256 key made with
//! the database, and the ES256 token that proves each push request comes from it.

use p256::SecretKey;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

use crate::b64;
use crate::ece::{random_secret, uncompressed};

/// How long a token is good for: RFC 8292 allows at most 24 hours.
pub const TOKEN_LIFETIME_SECS: i64 = 12 * 3600;
/// A kept token is signed again once it has less than this left.
const RENEW_BEFORE_SECS: i64 = 3600;
/// Audiences (push services' origins) whose tokens are kept; a phone names its push service,
/// so a stranger could name many: beyond this, the expired are forgotten, then all.
const MAX_AUDIENCES: usize = 256;

/// The centre's VAPID key.
#[derive(Clone)]
pub struct VapidKey {
    signing: SigningKey,
    /// base64url of the uncompressed public point: `GET /push/key`, and `k=` of each request.
    public: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the stored VAPID key is not a P-256 private key")]
pub struct BadStoredKey;

impl VapidKey {
    /// A new key's text, to keep with the centre's secrets.
    pub fn fresh_secret() -> String {
        b64::encode(&random_secret().to_bytes())
    }

    /// The key from its stored text (base64url of the 32-byte private scalar).
    pub fn from_secret(text: &str) -> Result<VapidKey, BadStoredKey> {
        let bytes = b64::decode(text.trim()).ok_or(BadStoredKey)?;
        let secret = SecretKey::from_slice(&bytes).map_err(|_| BadStoredKey)?;
        Ok(VapidKey {
            public: b64::encode(&uncompressed(&secret.public_key())),
            signing: SigningKey::from(secret),
        })
    }

    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header for a push to `audience` (the endpoint's origin), good until
    /// `expires` (seconds since the epoch).
    pub fn authorization(&self, audience: &str, expires: i64, contact: &str) -> String {
        let header = b64::encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({"aud": audience, "exp": expires, "sub": contact});
        let claims = b64::encode(claims.to_string().as_bytes());
        let signed = format!("{header}.{claims}");
        let signature: Signature = self.signing.sign(signed.as_bytes());
        let token = format!("{signed}.{}", b64::encode(&signature.to_bytes()));
        format!("vapid t={token}, k={}", self.public)
    }
}

/// Tokens already signed, by key and audience: a push service is shown the same token for
/// hours, as RFC 8292 allows, and the hub signs once per push service rather than once per
/// push (an ES256 signature costs more CPU than the rest of a push but its encryption).
#[derive(Default)]
pub struct Tokens {
    signed: std::sync::Mutex<std::collections::HashMap<(String, String), (String, i64)>>,
}

impl Tokens {
    /// The `Authorization` header for a push to `audience` at `now` (seconds since the epoch).
    pub fn authorization(&self, key: &VapidKey, audience: &str, now: i64, contact: &str) -> String {
        let mut signed = self.signed.lock().unwrap_or_else(|e| e.into_inner());
        let which = (key.public.clone(), audience.to_string());
        if let Some((header, expires)) = signed.get(&which)
            && expires - now > RENEW_BEFORE_SECS
        {
            return header.clone();
        }
        let expires = now + TOKEN_LIFETIME_SECS;
        let header = key.authorization(audience, expires, contact);
        if signed.len() >= MAX_AUDIENCES {
            signed.retain(|_, (_, e)| *e - now > RENEW_BEFORE_SECS);
            if signed.len() >= MAX_AUDIENCES {
                signed.clear();
            }
        }
        signed.insert(which, (header.clone(), expires));
        header
    }
}

/// What a push service checks of a request's `Authorization` (RFC 8292 §3): for the tests'
/// receiver. Returns the token's claims when the signature is the named key's.
pub fn verify(authorization: &str) -> Option<serde_json::Value> {
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;
    let rest = authorization.strip_prefix("vapid ")?;
    let mut token = None;
    let mut key = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(t) = part.strip_prefix("t=") {
            token = Some(t);
        } else if let Some(k) = part.strip_prefix("k=") {
            key = Some(k);
        }
    }
    let (token, key) = (token?, key?);
    let verifying = VerifyingKey::from_sec1_bytes(&b64::decode(key)?).ok()?;
    let (signed, signature) = token.rsplit_once('.')?;
    let signature = Signature::from_slice(&b64::decode(signature)?).ok()?;
    verifying.verify(signed.as_bytes(), &signature).ok()?;
    let (header, claims) = signed.split_once('.')?;
    let header: serde_json::Value = serde_json::from_slice(&b64::decode(header)?).ok()?;
    if header["alg"] != "ES256" {
        return None;
    }
    serde_json::from_slice(&b64::decode(claims)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_signed_by_the_centres_key_and_names_audience_expiry_and_contact() {
        let key = VapidKey::from_secret(&VapidKey::fresh_secret()).expect("a fresh key reads");
        assert_eq!(b64::decode(key.public_key()).map(|k| k.len()), Some(65));
        let header = key.authorization(
            "https://push.example.net",
            1_800_000_000,
            "mailto:it@hcc.vn",
        );
        let claims = verify(&header).expect("the signature checks");
        assert_eq!(claims["aud"], "https://push.example.net");
        assert_eq!(claims["exp"], 1_800_000_000);
        assert_eq!(claims["sub"], "mailto:it@hcc.vn");
        assert!(header.ends_with(&format!(", k={}", key.public_key())));

        // Another key's name on the same token, or a changed claim, does not check.
        let other = VapidKey::from_secret(&VapidKey::fresh_secret()).expect("reads");
        let forged = header.replace(key.public_key(), other.public_key());
        assert_eq!(verify(&forged), None);
        let (token, k) = header.split_once(", k=").expect("two parts");
        let (signed, signature) = token.rsplit_once('.').expect("three parts");
        let (head, _) = signed.split_once('.').expect("header");
        let claims = b64::encode(br#"{"aud":"https://evil.example","exp":1800000000,"sub":"x"}"#);
        assert_eq!(verify(&format!("{head}.{claims}.{signature}, k={k}")), None);
    }

    #[test]
    fn a_token_is_kept_per_push_service_until_its_last_hour() {
        let key = VapidKey::from_secret(&VapidKey::fresh_secret()).expect("a fresh key reads");
        let tokens = Tokens::default();
        let now = 1_800_000_000;
        let contact = "mailto:it@hcc.vn";
        let fcm = tokens.authorization(&key, "https://fcm.googleapis.com", now, contact);
        assert_eq!(
            tokens.authorization(&key, "https://fcm.googleapis.com", now + 600, contact),
            fcm,
            "the same token for the same push service"
        );
        let mozilla = tokens.authorization(
            &key,
            "https://updates.push.services.mozilla.com",
            now,
            contact,
        );
        assert_ne!(mozilla, fcm);
        assert_eq!(
            verify(&mozilla).map(|c| c["aud"].clone()),
            Some("https://updates.push.services.mozilla.com".into())
        );
        // With less than an hour left it is signed again, good for another twelve hours.
        let late = now + TOKEN_LIFETIME_SECS - RENEW_BEFORE_SECS + 1;
        let renewed = tokens.authorization(&key, "https://fcm.googleapis.com", late, contact);
        assert_ne!(renewed, fcm);
        assert_eq!(
            verify(&renewed).map(|c| c["exp"].clone()),
            Some((late + TOKEN_LIFETIME_SECS).into())
        );
        // Another key (a standby's replaced by its primary's) is never shown an old token.
        let other = VapidKey::from_secret(&VapidKey::fresh_secret()).expect("reads");
        let theirs = tokens.authorization(&other, "https://fcm.googleapis.com", late, contact);
        assert!(theirs.ends_with(other.public_key()));
        // A stranger naming many push services does not grow the cache without end.
        for i in 0..3 * MAX_AUDIENCES {
            tokens.authorization(&key, &format!("https://p{i}.example"), now, contact);
        }
        assert!(tokens.signed.lock().map(|s| s.len()).unwrap_or(0) <= MAX_AUDIENCES);
    }

    #[test]
    fn a_stored_key_reads_back_the_same_and_garbage_is_refused() {
        let secret = VapidKey::fresh_secret();
        let a = VapidKey::from_secret(&secret).expect("reads");
        let b = VapidKey::from_secret(&format!("{secret}\n")).expect("reads");
        assert_eq!(a.public_key(), b.public_key());
        assert!(VapidKey::from_secret("not a key").is_err());
        assert!(VapidKey::from_secret(&b64::encode(&[0u8; 32])).is_err());
    }
}
