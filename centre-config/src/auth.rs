//! Who may connect: device tokens and staff PINs.

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Argon2, PasswordHash};
use subtle::ConstantTimeEq;

use crate::Config;
use protocol::Role;

/// Whether a device may connect with this role and token. Compares in constant time so the
/// token cannot be guessed byte by byte from response times.
pub fn device_allowed(config: &Config, device: &str, role: Role, token: &str) -> bool {
    match config.devices.get(device) {
        Some(d) => d.role == role && bool::from(d.token.as_bytes().ct_eq(token.as_bytes())),
        None => false,
    }
}

/// Checks staff PINs against their stored Argon2 hashes. Slow on purpose (tens of
/// milliseconds): run it on a thread of its own.
///
/// Each check's working memory (19 MiB at the default cost) is mapped from the kernel for that
/// check and unmapped after it. Kept between checks, as it once was, it stayed resident for
/// ever (two PIN threads: 38 MiB, twice what the rest of a hub holds); allocated and freed per
/// check through the allocator, a login storm left it holding hundreds of MB.
#[derive(Default)]
pub struct PinVerifier;

/// Argon2's memory for one check: anonymous pages, returned to the kernel when dropped.
struct WorkingMemory {
    map: memmap2::MmapMut,
    blocks: usize,
}

// `blocks` is sized in `Block::SIZE` bytes: that must be what a Block takes in memory.
const _: () = assert!(std::mem::size_of::<argon2::Block>() == argon2::Block::SIZE);

impl WorkingMemory {
    fn new(blocks: usize) -> Option<WorkingMemory> {
        let map = memmap2::MmapMut::map_anon(blocks.checked_mul(argon2::Block::SIZE)?).ok()?;
        Some(WorkingMemory { map, blocks })
    }

    fn blocks(&mut self) -> &mut [argon2::Block] {
        // SAFETY: the map is page-aligned (a Block needs 64 bytes), exactly `blocks` Blocks
        // long (checked above), zero-filled by the kernel, and a Block is 128 plain u64s, valid
        // for any bytes. The slice borrows the map mutably, so nothing else reaches it.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.map.as_mut_ptr().cast::<argon2::Block>(),
                self.blocks,
            )
        }
    }
}

impl PinVerifier {
    /// Whether `pin` is the PIN of `staff` (a configured code). An unknown code costs the same
    /// time, so response times do not tell which codes exist.
    pub fn matches(&mut self, config: &Config, staff: &str, pin: &str) -> bool {
        let (known, stored) = match config.staff.get(staff) {
            Some(s) => (true, s.pin_hash.as_str()),
            None => (false, unknown_staff_hash()),
        };
        known && self.verify(stored, pin)
    }

    fn verify(&mut self, stored: &str, pin: &str) -> bool {
        let Ok(hash) = PasswordHash::new(stored) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
            return false;
        };
        let Ok(params) = argon2::Params::try_from(&hash) else {
            return false;
        };
        let Ok(algorithm) = argon2::Algorithm::try_from(hash.algorithm) else {
            return false;
        };
        let version = hash
            .version
            .and_then(|v| argon2::Version::try_from(v).ok())
            .unwrap_or_default();
        let mut salt_bytes = [0u8; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
            return false;
        };
        let Some(mut memory) = WorkingMemory::new(params.block_count()) else {
            return false;
        };
        let mut out = vec![0u8; expected.len()];
        let argon = Argon2::new(algorithm, version, params.clone());
        if argon
            .hash_password_into_with_memory(pin.as_bytes(), salt, &mut out, memory.blocks())
            .is_err()
        {
            return false;
        }
        bool::from(out.as_slice().ct_eq(expected.as_bytes()))
    }
}

/// A hash to check unknown staff codes against.
fn unknown_staff_hash() -> &'static str {
    static UNKNOWN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    UNKNOWN.get_or_init(|| hash_pin("unknown staff").unwrap_or_default())
}

/// Checks a staff PIN against its stored Argon2 hash (a fresh working memory each time; the
/// hub's PIN threads use a `PinVerifier`).
pub fn pin_matches(config: &Config, staff: &str, pin: &str) -> bool {
    PinVerifier.matches(config, staff, pin)
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
    use argon2::PasswordVerifier;

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
    fn the_reusing_verifier_agrees_with_the_library() {
        let mut verifier = PinVerifier;
        for pin in ["8642", "0000"] {
            let h = hash_pin(pin).expect("hash");
            let parsed = PasswordHash::new(&h).expect("PHC string");
            for attempt in ["8642", "0000", "8643", ""] {
                let library = Argon2::default()
                    .verify_password(attempt.as_bytes(), &parsed)
                    .is_ok();
                assert_eq!(verifier.verify(&h, attempt), library, "{pin} vs {attempt}");
            }
        }
        assert!(!verifier.verify("not a hash", "1234"));
    }

    #[test]
    fn a_fresh_hash_verifies() {
        let h = hash_pin("8642").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        let parsed = PasswordHash::new(&h).expect("PHC string");
        assert!(Argon2::default().verify_password(b"8642", &parsed).is_ok());
    }
}
