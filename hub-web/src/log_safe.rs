//! What a client sent, made safe to write in a log line: control characters (a newline could
//! forge a whole log line) escaped, and the length capped (a 64 KiB device name would drown the
//! log). Only text a client chose goes through here; the hub's own words are logged as they are.

/// Characters of client text kept in a log line.
pub const MAX_LOGGED_CHARS: usize = 64;

/// `text` escaped (`\n`, `\u{1b}` …) and cut to `MAX_LOGGED_CHARS` characters, with `…` when cut.
pub fn log_safe(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX_LOGGED_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() || c == '\\' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_cannot_forge_a_log_line_and_long_names_are_cut() {
        let forged = "kiosk-1\n2026-11-23T08:00:00Z  INFO hub: admin logged in";
        let safe = log_safe(forged);
        assert!(!safe.contains('\n'), "{safe}");
        assert!(safe.starts_with("kiosk-1\\n2026"), "{safe}");
        assert_eq!(
            log_safe(&"x".repeat(70_000)).chars().count(),
            MAX_LOGGED_CHARS + 1
        );
        assert_eq!(log_safe("Quầy 3"), "Quầy 3", "Vietnamese stays readable");
        assert_eq!(log_safe("\u{1b}[31m"), "\\u{1b}[31m");
    }
}
