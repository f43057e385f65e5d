//! The citizen-ID (CCCD) QR code, read to decide one thing: is the holder 60 or over on the
//! service day? The text is `ID|old ID|full name|DDMMYYYY birth|sex|address|DDMMYYYY issue`.
//!
//! Nothing of it is kept, logged or sent: the parser borrows the text, returns a decision, and the
//! caller drops the text. Anything that does not look like a CCCD is `NotACccd`.

use chrono::{Datelike, NaiveDate};

/// The age from which the elderly priority applies (Luật Người cao tuổi: 60).
pub const ELDERLY_AGE: u32 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The holder is 60 or over on the service day.
    Elderly,
    /// A valid card of someone younger.
    NotElderly,
    /// Not a CCCD text, or a malformed one: ignored.
    NotACccd,
}

/// Reads a scanned text against the hub's service day.
pub fn decide(text: &str, service_day: NaiveDate) -> Decision {
    match birth_date(text) {
        Some(birth) if birth <= service_day => {
            if age_on(birth, service_day) >= ELDERLY_AGE {
                Decision::Elderly
            } else {
                Decision::NotElderly
            }
        }
        _ => Decision::NotACccd,
    }
}

/// The birth date of a CCCD text, when the text is one.
fn birth_date(text: &str) -> Option<NaiveDate> {
    let fields: Vec<&str> = text.trim().split('|').collect();
    // Cards give 7 fields; some readers drop the trailing issue date.
    if !(6..=7).contains(&fields.len()) {
        return None;
    }
    let id = fields[0].trim();
    // A CCCD number has 12 digits (an old CMND 9): anything else is another QR code.
    if !(id.len() == 12 || id.len() == 9) || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    parse_ddmmyyyy(fields[3].trim())
}

fn parse_ddmmyyyy(s: &str) -> Option<NaiveDate> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let day = s[0..2].parse().ok()?;
    let month = s[2..4].parse().ok()?;
    let year = s[4..8].parse().ok()?;
    if year < 1900 {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Completed years on `day`. Someone born on 29 February has their birthday on 1 March in
/// other years (the day after 28 February, as the civil rule counts it).
fn age_on(birth: NaiveDate, day: NaiveDate) -> u32 {
    let years = day.year() - birth.year();
    let birthday_reached = (day.month(), day.day()) >= (birth.month(), birth.day());
    let years = if birthday_reached { years } else { years - 1 };
    u32::try_from(years).unwrap_or(0)
}

/// Collects what a keyboard-wedge QR reader types, one key at a time, until Enter.
#[derive(Debug, Default)]
pub struct ScanBuffer {
    text: String,
}

/// Longer input is not a CCCD; the buffer stops growing rather than keep a stranger's typing.
const MAX_SCAN: usize = 400;

impl ScanBuffer {
    /// Feeds one key's text. Returns the whole scan when Enter completes it.
    pub fn key(&mut self, key: &str) -> Option<String> {
        if key == "\n" || key == "\r" {
            let scan = std::mem::take(&mut self.text);
            return (!scan.is_empty()).then_some(scan);
        }
        if self.text.len() + key.len() <= MAX_SCAN {
            self.text.push_str(key);
        }
        None
    }

    /// Forgets a partial scan (the screen changed, or the reader paused).
    pub fn clear(&mut self) {
        self.text.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
    }

    fn card(birth: &str) -> String {
        format!(
            "001066012345|012345678|Nguyễn Văn An|{birth}|Nam|Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội|01052021"
        )
    }

    #[test]
    fn sixty_on_the_service_day_is_elderly_fifty_nine_is_not() {
        assert_eq!(decide(&card("23111966"), day()), Decision::Elderly);
        assert_eq!(decide(&card("22111966"), day()), Decision::Elderly);
        assert_eq!(decide(&card("24111966"), day()), Decision::NotElderly);
        assert_eq!(decide(&card("01011967"), day()), Decision::NotElderly);
        assert_eq!(decide(&card("15081940"), day()), Decision::Elderly);
        assert_eq!(decide(&card("15082000"), day()), Decision::NotElderly);
    }

    #[test]
    fn leap_day_birthdays() {
        // Born 29/02/1964: 60 on 1 March 2024 (not a day before), 62 in 2026.
        let feb28 = NaiveDate::from_ymd_opt(2024, 2, 28).expect("date");
        let feb29 = NaiveDate::from_ymd_opt(2024, 2, 29).expect("date");
        assert_eq!(decide(&card("29021964"), feb28), Decision::NotElderly);
        assert_eq!(decide(&card("29021964"), feb29), Decision::Elderly);
        assert_eq!(decide(&card("29021964"), day()), Decision::Elderly);
    }

    #[test]
    fn bad_dates_and_garbage_are_ignored() {
        for bad in [
            card("31021960"),
            card("00011960"),
            card("01131960"),
            card("1/1/1960"),
            card("0101196"),
            card("01011880"),
            card("01012030"),
            card(""),
            String::new(),
            "https://dichvucong.gov.vn/".into(),
            "||||||".into(),
            "abc|def|ghi|01011950|Nam|x|y".into(),
            "0010660123|x|y|01011950|Nam|x|y".into(),
            "001066012345|01011950".into(),
            "001066012345|a|b|01011950|c|d|e|f|g".into(),
            "\u{0}\u{1}💥|||||".into(),
        ] {
            assert_eq!(decide(&bad, day()), Decision::NotACccd, "{bad:?}");
        }
        // Without the old ID and the issue date, as some readers give it.
        assert_eq!(
            decide("001066012345||Trần Thị B|01011950|Nữ|Huế", day()),
            Decision::Elderly
        );
    }

    #[test]
    fn the_scan_buffer_collects_until_enter_and_stays_bounded() {
        let mut b = ScanBuffer::default();
        for ch in card("01011950").chars() {
            assert_eq!(b.key(&ch.to_string()), None);
        }
        assert_eq!(b.key("\n"), Some(card("01011950")));
        assert_eq!(b.key("\r"), None, "empty scans are nothing");
        for _ in 0..10_000 {
            b.key("x");
        }
        assert_eq!(b.key("\n").map(|s| s.len()), Some(MAX_SCAN));
    }
}
