//! Phone numbers as the wire takes them: appointments, and the SMS notices of a ticket.

/// A Vietnamese phone number in its one national form (`0` and 9 or 10 digits), from what was
/// typed (spaces, dots, dashes, a `+84` or `84` prefix allowed); `None` if it cannot be one.
pub fn national(typed: &str) -> Option<String> {
    let mut digits: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    if let Some(rest) = digits.strip_prefix('+') {
        digits = rest.to_string();
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(rest) = digits.strip_prefix("84")
        && (rest.len() == 9 || rest.len() == 10)
    {
        digits = format!("0{rest}");
    }
    let b = digits.as_bytes();
    // Mobiles: 10 digits, 03/05/07/08/09. Landlines: 11 digits, 02.
    let mobile = b.len() == 10 && matches!(b.get(1), Some(b'3' | b'5' | b'7' | b'8' | b'9'));
    let landline = b.len() == 11 && b.get(1) == Some(&b'2');
    (b.first() == Some(&b'0') && (mobile || landline)).then_some(digits)
}
