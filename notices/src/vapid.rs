//! The centre's voluntary application server identification (RFC 8292): a P-256 key made with
//! the database, and the ES256 token that proves each push request comes from it.

use p256::SecretKey;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

use crate::b64;
use crate::ece::{random_secret, uncompressed};

/// How long a token is good for: RFC 8292 allows at most 24 hours.
pub const TOKEN_LIFETIME_SECS: i64 = 12 * 3600;

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
    fn a_stored_key_reads_back_the_same_and_garbage_is_refused() {
        let secret = VapidKey::fresh_secret();
        let a = VapidKey::from_secret(&secret).expect("reads");
        let b = VapidKey::from_secret(&format!("{secret}\n")).expect("reads");
        assert_eq!(a.public_key(), b.public_key());
        assert!(VapidKey::from_secret("not a key").is_err());
        assert!(VapidKey::from_secret(&b64::encode(&[0u8; 32])).is_err());
    }
}
