//! Who may connect: device tokens and staff PINs.

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use subtle::ConstantTimeEq;

use crate::config::Config;
use protocol::Role;

/// Whether a device may connect with this role and token. Compares in constant time so the
/// token cannot be guessed byte by byte from response times.
pub fn device_allowed(config: &Config, device: &str, role: Role, token: &str) -> bool {
    match config.devices.get(device) {
        Some(d) => d.role == role && bool::from(d.token.as_bytes().ct_eq(token.as_bytes())),
        None => false,
    }
}

/// Checks a staff PIN against its stored Argon2 hash. Slow on purpose (tens of milliseconds):
/// run it off the async threads.
pub fn pin_matches(config: &Config, staff: &str, pin: &str) -> bool {
    let Some(s) = config.staff.get(staff) else {
        return false;
    };
    let Ok(hash) = PasswordHash::new(&s.pin_hash) else {
        return false;
    };
    Argon2::default()
        .verify_password(pin.as_bytes(), &hash)
        .is_ok()
}

/// The Argon2id hash of a PIN, as the configuration stores it.
pub fn hash_pin(pin: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_pins_verify_and_wrong_ones_do_not() {
        let c = Config::demo().expect("demo config");
        assert!(pin_matches(&c, "nv01", "1234"));
        assert!(!pin_matches(&c, "nv01", "1235"));
        assert!(!pin_matches(&c, "nobody", "1234"));
        assert!(device_allowed(&c, "kiosk-1", Role::Kiosk, "demo-kiosk-1"));
        assert!(!device_allowed(&c, "kiosk-1", Role::Admin, "demo-kiosk-1"));
        assert!(!device_allowed(&c, "kiosk-1", Role::Kiosk, "demo-kiosk-2"));
    }

    #[test]
    fn a_fresh_hash_verifies() {
        let h = hash_pin("8642").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        let parsed = PasswordHash::new(&h).expect("PHC string");
        assert!(Argon2::default().verify_password(b"8642", &parsed).is_ok());
    }
}
