//! Booking codes as citizens type them: what a code may contain, and how a typed or scanned
//! text is read as one. Shared by the hub, which makes them, and the kiosk, which reads them.

/// The characters of a booking code: capitals and digits without those read as one another
/// (0/O/Q/D, 1/I/L, 2/Z, 5/S, 8/B), so a code read aloud or typed on a kiosk survives.
pub const CODE_ALPHABET: &[u8] = b"ACEFGHJKMNPRTUVWXY34679";
/// A code's length: 23^8 ≈ 7.8·10^10 codes.
pub const CODE_LEN: usize = 8;

/// How a booking made at the province's door begins in its QR code: a signed pass naming the
/// centre, the field, the slot and the booking's code, which the hub checks without asking
/// anyone (crate `province-pass`). The kiosk sends such a scan to the hub as it is.
pub const PASS_PREFIX: &str = "HD1.";
/// A pass is about 160 characters; anything much longer is not one.
pub const MAX_PASS_LEN: usize = 320;

/// Whether a scanned text is a province pass (not checked: only the hub can).
pub fn looks_like_pass(text: &str) -> bool {
    let text = text.trim();
    text.starts_with(PASS_PREFIX)
        && text.len() <= MAX_PASS_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

/// A code as typed: upper-cased, spaces and dashes dropped; `None` when it cannot be one.
pub fn normalise_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_read_whatever_its_case_spaces_or_dashes() {
        assert_eq!(
            normalise_code("k7px-3mq2").as_deref(),
            None,
            "no 2 in the alphabet"
        );
        assert_eq!(normalise_code(" ke4p x9mt ").as_deref(), Some("KE4PX9MT"));
        assert_eq!(normalise_code("KE4P-X9MT").as_deref(), Some("KE4PX9MT"));
        assert_eq!(normalise_code("KE4PX9M").as_deref(), None, "too short");
        assert_eq!(normalise_code("KE4PX9MO").as_deref(), None, "O is not used");
        assert_eq!(
            normalise_code("001066012345||Nguyễn Văn An|23111966|Nam||"),
            None
        );
    }
}
