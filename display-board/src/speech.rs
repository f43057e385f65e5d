//! Numbers and call sentences read the Vietnamese way.
//!
//! The rules, for 0 ≤ n ≤ 999 999 999:
//! - 1–10: một, hai, ba, bốn, năm, sáu, bảy, tám, chín, mười;
//! - tens: "mười" for 10–19, "X mươi" for 20–99;
//! - units after a tens word: 1 → "mốt" after "mươi" (21 "hai mươi mốt", but 11 "mười một");
//!   4 → "tư" after "mươi" (24 "hai mươi tư", but 14 "mười bốn"); 5 → "lăm" after any tens
//!   word (15 "mười lăm", 25 "hai mươi lăm"); 0 → nothing (20 "hai mươi");
//! - inside a larger number, a group whose hundreds digit is 0 still says "không trăm"
//!   (1 005 "một nghìn không trăm linh năm"), and units after a zero tens digit take "linh"
//!   (105 "một trăm linh năm", never "lăm" or "mốt" there);
//! - thousands: "nghìn"; millions: "triệu"; an empty thousands group inside a number is skipped
//!   (1 000 005 "một triệu không trăm linh năm" is not used at a counter; the board reads
//!   ticket numbers up to 99 999).

const DIGITS: [&str; 10] = [
    "không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín",
];

/// Words for 0–999. `full` is true when the group follows a higher group (so a zero hundreds
/// digit is read "không trăm").
fn group(n: u32, full: bool, out: &mut Vec<&'static str>) {
    let (h, t, u) = (n / 100, (n / 10) % 10, n % 10);
    if h > 0 || full {
        out.push(DIGITS[h as usize]);
        out.push("trăm");
    }
    match t {
        0 => {
            if u > 0 {
                if h > 0 || full {
                    out.push("linh");
                }
                out.push(DIGITS[u as usize]);
            }
        }
        1 => {
            out.push("mười");
            match u {
                0 => {}
                5 => out.push("lăm"),
                _ => out.push(DIGITS[u as usize]),
            }
        }
        _ => {
            out.push(DIGITS[t as usize]);
            out.push("mươi");
            match u {
                0 => {}
                1 => out.push("mốt"),
                4 => out.push("tư"),
                5 => out.push("lăm"),
                _ => out.push(DIGITS[u as usize]),
            }
        }
    }
}

/// The words of a number, e.g. 1005 → ["một", "nghìn", "không", "trăm", "linh", "năm"].
pub fn number_words(n: u32) -> Vec<&'static str> {
    let mut out = Vec::new();
    if n == 0 {
        out.push("không");
        return out;
    }
    let millions = n / 1_000_000;
    let thousands = (n / 1000) % 1000;
    let units = n % 1000;
    let mut started = false;
    if millions > 0 {
        group(millions, false, &mut out);
        out.push("triệu");
        started = true;
    }
    if thousands > 0 {
        group(thousands, started, &mut out);
        out.push("nghìn");
        started = true;
    }
    if units > 0 {
        group(units, started, &mut out);
    }
    out
}

/// A number read aloud, e.g. 21 → "hai mươi mốt".
pub fn read_number(n: u32) -> String {
    number_words(n).join(" ")
}

/// Why a ticket label cannot be read aloud.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpeechError {
    #[error("{0:?} is not a ticket number (letters then digits, e.g. 1005 or A1005)")]
    NotATicket(String),
    #[error("{0:?} is too large to read (up to 999 999 999)")]
    TooLarge(String),
}

/// The words of a ticket label: its letters (each said by its Vietnamese name), then the
/// number, e.g. "A1005" → ["A", "một", "nghìn", "không", "trăm", "linh", "năm"].
pub fn label_words(label: &str) -> Result<Vec<String>, SpeechError> {
    let label = label.trim();
    let letters: String = label.chars().take_while(|c| !c.is_ascii_digit()).collect();
    let digits = &label[letters.len()..];
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit())
        || !letters.chars().all(|c| c.is_ascii_alphabetic())
    {
        return Err(SpeechError::NotATicket(label.to_string()));
    }
    let n: u32 = digits
        .parse()
        .ok()
        .filter(|n| *n <= 999_999_999)
        .ok_or_else(|| SpeechError::TooLarge(label.to_string()))?;
    let mut out: Vec<String> = letters
        .chars()
        .map(|c| c.to_ascii_uppercase().to_string())
        .collect();
    out.extend(number_words(n).into_iter().map(str::to_string));
    Ok(out)
}

/// The opening words of every call.
pub const CALL_OPENING: &str = "mời công dân có số thứ tự";
/// The words between the ticket and the counter.
pub const CALL_COUNTER: &str = "đến quầy số";

/// What is said for one call, as the names of the clips to play in order (after the chime):
/// "mời công dân có số thứ tự", the ticket's words, "đến quầy số", the counter's words.
pub fn call_clips(label: &str, counter: u32) -> Result<Vec<String>, SpeechError> {
    let mut clips = vec![CALL_OPENING.to_string()];
    clips.extend(label_words(label)?);
    clips.push(CALL_COUNTER.to_string());
    clips.extend(number_words(counter).into_iter().map(str::to_string));
    Ok(clips)
}

/// The sentence of a call as text, e.g. "Mời công dân có số thứ tự một nghìn không trăm linh năm
/// đến quầy số ba".
pub fn call_sentence(label: &str, counter: u32) -> Result<String, SpeechError> {
    let text = call_clips(label, counter)?.join(" ");
    let mut chars = text.chars();
    Ok(match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every number 0–120 by the rules, written out independently of the code above.
    fn by_rule(n: u32) -> String {
        let d = |x: u32| DIGITS[x as usize].to_string();
        let tail = |t: u32, u: u32, after_hundred: bool| -> String {
            match (t, u) {
                (0, 0) => String::new(),
                (0, u) if after_hundred => format!("linh {}", d(u)),
                (0, u) => d(u),
                (1, 0) => "mười".into(),
                (1, 5) => "mười lăm".into(),
                (1, u) => format!("mười {}", d(u)),
                (t, 0) => format!("{} mươi", d(t)),
                (t, 1) => format!("{} mươi mốt", d(t)),
                (t, 4) => format!("{} mươi tư", d(t)),
                (t, 5) => format!("{} mươi lăm", d(t)),
                (t, u) => format!("{} mươi {}", d(t), d(u)),
            }
        };
        match n {
            0 => "không".into(),
            1..=99 => tail(n / 10, n % 10, false),
            _ => {
                let rest = tail((n / 10) % 10, n % 10, true);
                if rest.is_empty() {
                    format!("{} trăm", d(n / 100))
                } else {
                    format!("{} trăm {rest}", d(n / 100))
                }
            }
        }
    }

    #[test]
    fn zero_to_one_hundred_and_twenty_follow_the_rules() {
        for n in 0..=120 {
            assert_eq!(read_number(n), by_rule(n), "{n}");
        }
    }

    #[test]
    fn a_table_of_readings() {
        for (n, words) in [
            (1, "một"),
            (4, "bốn"),
            (5, "năm"),
            (10, "mười"),
            (11, "mười một"),
            (14, "mười bốn"),
            (15, "mười lăm"),
            (20, "hai mươi"),
            (21, "hai mươi mốt"),
            (24, "hai mươi tư"),
            (25, "hai mươi lăm"),
            (55, "năm mươi lăm"),
            (100, "một trăm"),
            (101, "một trăm linh một"),
            (104, "một trăm linh bốn"),
            (105, "một trăm linh năm"),
            (110, "một trăm mười"),
            (115, "một trăm mười lăm"),
            (121, "một trăm hai mươi mốt"),
            (1000, "một nghìn"),
            (1005, "một nghìn không trăm linh năm"),
            (1010, "một nghìn không trăm mười"),
            (1015, "một nghìn không trăm mười lăm"),
            (1021, "một nghìn không trăm hai mươi mốt"),
            (1024, "một nghìn không trăm hai mươi tư"),
            (1105, "một nghìn một trăm linh năm"),
            (1234, "một nghìn hai trăm ba mươi tư"),
            (2000, "hai nghìn"),
            (2001, "hai nghìn không trăm linh một"),
            (5555, "năm nghìn năm trăm năm mươi lăm"),
            (9999, "chín nghìn chín trăm chín mươi chín"),
            (10_000, "mười nghìn"),
            (15_015, "mười lăm nghìn không trăm mười lăm"),
            (21_000, "hai mươi mốt nghìn"),
            (100_000, "một trăm nghìn"),
            (1_000_000, "một triệu"),
            (1_000_005, "một triệu không trăm linh năm"),
        ] {
            assert_eq!(read_number(n), words, "{n}");
        }
    }

    #[test]
    fn the_call_sentence() {
        assert_eq!(
            call_sentence("1005", 3).as_deref(),
            Ok("Mời công dân có số thứ tự một nghìn không trăm linh năm đến quầy số ba")
        );
        assert_eq!(
            call_sentence("A1021", 14).as_deref(),
            Ok(
                "Mời công dân có số thứ tự A một nghìn không trăm hai mươi mốt đến quầy số mười bốn"
            )
        );
        assert_eq!(
            label_words("A1005").as_deref(),
            Ok(&["A", "một", "nghìn", "không", "trăm", "linh", "năm"].map(String::from)[..])
        );
        assert_eq!(
            label_words("b21").as_deref(),
            Ok(&["B", "hai", "mươi", "mốt"].map(String::from)[..])
        );
    }

    #[test]
    fn what_cannot_be_read_is_refused() {
        for bad in ["", "???", "A", "12A", "A-12", "Á12", "1 2"] {
            assert!(
                matches!(label_words(bad), Err(SpeechError::NotATicket(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            label_words("99999999999999"),
            Err(SpeechError::TooLarge(_))
        ));
        assert!(label_words("999999999").is_ok());
    }
}
