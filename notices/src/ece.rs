//! Message encryption for Web Push (RFC 8291) in the `aes128gcm` content coding (RFC 8188):
//! what only the citizen's browser can read, whichever push service carries it.
//!
//! One record: the notices are far below the 4,096 bytes a push service takes.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use sha2::Sha256;

/// The record size written in the header (RFC 8291 §4: 4096).
const RECORD_SIZE: u32 = 4096;
/// Largest plaintext that fits one record: the size less the delimiter and the tag.
pub const MAX_PLAINTEXT: usize = RECORD_SIZE as usize - 1 - 16 - 86;

/// What a browser's subscription gives to encrypt for it (`keys.p256dh`, `keys.auth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receiver {
    /// The browser's P-256 public key, uncompressed (65 bytes).
    pub public: [u8; 65],
    pub auth: [u8; 16],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EceError {
    #[error("the browser's key is not a point of P-256")]
    BadKey,
    #[error("the message is too long for one push record ({0} bytes)")]
    TooLong(usize),
    #[error("the message could not be decrypted")]
    Undecryptable,
}

impl Receiver {
    /// From the subscription's raw bytes; refuses a key that is not a P-256 point.
    pub fn new(public: &[u8], auth: &[u8]) -> Result<Receiver, EceError> {
        let public: [u8; 65] = public.try_into().map_err(|_| EceError::BadKey)?;
        let auth: [u8; 16] = auth.try_into().map_err(|_| EceError::BadKey)?;
        PublicKey::from_sec1_bytes(&public).map_err(|_| EceError::BadKey)?;
        Ok(Receiver { public, auth })
    }
}

/// The sender's one-time key and salt: fresh for every message, fixed only in tests.
pub struct Sender {
    pub private: SecretKey,
    pub salt: [u8; 16],
}

impl Sender {
    pub fn fresh() -> Sender {
        Sender {
            private: random_secret(),
            salt: rand::random(),
        }
    }
}

/// A P-256 private key from the operating system's random numbers.
pub fn random_secret() -> SecretKey {
    loop {
        let bytes: [u8; 32] = rand::random();
        // Fails only for zero or a number past the curve's order: about never.
        if let Ok(key) = SecretKey::from_slice(&bytes) {
            return key;
        }
    }
}

/// The uncompressed encoding (65 bytes) of a public key.
pub fn uncompressed(key: &PublicKey) -> [u8; 65] {
    let point = key.to_encoded_point(false);
    let mut out = [0u8; 65];
    out.copy_from_slice(point.as_bytes());
    out
}

/// The content-encryption key and nonce both sides derive (RFC 8291 §3.4, RFC 8188 §2.2).
fn derive(
    ecdh_secret: &[u8],
    auth: &[u8; 16],
    ua_public: &[u8; 65],
    as_public: &[u8; 65],
    salt: &[u8; 16],
) -> ([u8; 16], [u8; 12]) {
    let mut key_info = Vec::with_capacity(14 + 130);
    key_info.extend_from_slice(b"WebPush: info\0");
    key_info.extend_from_slice(ua_public);
    key_info.extend_from_slice(as_public);
    let mut ikm = [0u8; 32];
    // Expanding to 32 bytes cannot fail (the limit is 255 × 32).
    let _ = Hkdf::<Sha256>::new(Some(auth), ecdh_secret).expand(&key_info, &mut ikm);
    let content = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    let _ = content.expand(b"Content-Encoding: aes128gcm\0", &mut cek);
    let _ = content.expand(b"Content-Encoding: nonce\0", &mut nonce);
    (cek, nonce)
}

/// The request body for `plaintext`: header (salt, record size, the sender's key) and one
/// record ending with the last-record delimiter.
pub fn encrypt(plaintext: &[u8], to: &Receiver, sender: &Sender) -> Result<Vec<u8>, EceError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(EceError::TooLong(plaintext.len()));
    }
    let ua_public = PublicKey::from_sec1_bytes(&to.public).map_err(|_| EceError::BadKey)?;
    let as_public = uncompressed(&sender.private.public_key());
    let shared =
        p256::ecdh::diffie_hellman(sender.private.to_nonzero_scalar(), ua_public.as_affine());
    let (cek, nonce) = derive(
        shared.raw_secret_bytes(),
        &to.auth,
        &to.public,
        &as_public,
        &sender.salt,
    );
    let mut record = Vec::with_capacity(plaintext.len() + 1);
    record.extend_from_slice(plaintext);
    record.push(2);
    let cipher = Aes128Gcm::new(&cek.into());
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), record.as_slice())
        .map_err(|_| EceError::TooLong(plaintext.len()))?;
    let mut body = Vec::with_capacity(86 + sealed.len());
    body.extend_from_slice(&sender.salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(65);
    body.extend_from_slice(&as_public);
    body.extend_from_slice(&sealed);
    Ok(body)
}

/// What the browser does with a body: the other side, for the tests' push receiver.
pub fn decrypt(body: &[u8], private: &SecretKey, auth: &[u8; 16]) -> Result<Vec<u8>, EceError> {
    let header = body.get(..21).ok_or(EceError::Undecryptable)?;
    let salt: [u8; 16] = header[..16]
        .try_into()
        .map_err(|_| EceError::Undecryptable)?;
    let id_len = usize::from(header[20]);
    let as_public: [u8; 65] = body
        .get(21..21 + id_len)
        .and_then(|k| k.try_into().ok())
        .ok_or(EceError::Undecryptable)?;
    let sealed = &body[21 + id_len..];
    let sender = PublicKey::from_sec1_bytes(&as_public).map_err(|_| EceError::Undecryptable)?;
    let ua_public = uncompressed(&private.public_key());
    let shared = p256::ecdh::diffie_hellman(private.to_nonzero_scalar(), sender.as_affine());
    let (cek, nonce) = derive(
        shared.raw_secret_bytes(),
        auth,
        &ua_public,
        &as_public,
        &salt,
    );
    let mut record = Aes128Gcm::new(&cek.into())
        .decrypt(Nonce::from_slice(&nonce), sealed)
        .map_err(|_| EceError::Undecryptable)?;
    // Padding is zeros after the delimiter; the last record's delimiter is 2.
    while record.last() == Some(&0) {
        record.pop();
    }
    if record.pop() != Some(2) {
        return Err(EceError::Undecryptable);
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b64;

    /// RFC 8291, Appendix A, every value as printed there.
    const PLAINTEXT: &str = "When I grow up, I want to be a watermelon";
    const UA_PUBLIC: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const UA_PRIVATE: &str = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    const AS_PUBLIC: &str =
        "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    const AS_PRIVATE: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    const SALT: &str = "DGv6ra1nlYgDCS1FRnbzlw";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    const BODY: &str = concat!(
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml",
        "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT",
        "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
    );

    fn bytes(text: &str) -> Vec<u8> {
        b64::decode(text).expect("the RFC's base64url")
    }

    fn receiver() -> Receiver {
        Receiver::new(&bytes(UA_PUBLIC), &bytes(AUTH)).expect("the RFC's receiver")
    }

    #[test]
    fn the_rfc_8291_worked_example_byte_for_byte() {
        let sender = Sender {
            private: SecretKey::from_slice(&bytes(AS_PRIVATE)).expect("the RFC's sender key"),
            salt: bytes(SALT).try_into().expect("16 bytes"),
        };
        assert_eq!(
            b64::encode(&uncompressed(&sender.private.public_key())),
            AS_PUBLIC
        );
        let body = encrypt(PLAINTEXT.as_bytes(), &receiver(), &sender).expect("encrypts");
        assert_eq!(b64::encode(&body), BODY);
    }

    #[test]
    fn the_browser_reads_what_was_sent_and_nothing_altered() {
        let private = SecretKey::from_slice(&bytes(UA_PRIVATE)).expect("the RFC's key");
        let auth: [u8; 16] = bytes(AUTH).try_into().expect("16 bytes");
        let opened = decrypt(&bytes(BODY), &private, &auth).expect("decrypts");
        assert_eq!(opened, PLAINTEXT.as_bytes());

        let fresh =
            encrypt(b"{\"kind\":\"near\"}", &receiver(), &Sender::fresh()).expect("encrypts");
        assert_eq!(
            decrypt(&fresh, &private, &auth).expect("decrypts"),
            b"{\"kind\":\"near\"}"
        );
        let mut altered = fresh.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert_eq!(
            decrypt(&altered, &private, &auth),
            Err(EceError::Undecryptable)
        );
        assert_eq!(
            decrypt(&fresh[..30], &private, &auth),
            Err(EceError::Undecryptable)
        );
    }

    #[test]
    fn keys_that_are_not_a_curve_point_or_the_wrong_size_are_refused() {
        let mut off_curve = bytes(UA_PUBLIC);
        off_curve[64] ^= 1;
        assert_eq!(
            Receiver::new(&off_curve, &bytes(AUTH)),
            Err(EceError::BadKey)
        );
        assert_eq!(
            Receiver::new(&bytes(UA_PUBLIC)[..64], &bytes(AUTH)),
            Err(EceError::BadKey)
        );
        assert_eq!(
            Receiver::new(&bytes(UA_PUBLIC), &[0; 15]),
            Err(EceError::BadKey)
        );
        let long = vec![b'x'; MAX_PLAINTEXT + 1];
        assert!(matches!(
            encrypt(&long, &receiver(), &Sender::fresh()),
            Err(EceError::TooLong(_))
        ));
    }
}
