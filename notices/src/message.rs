//! What a notice says: the push payload of the contract, and the SMS text. Vietnamese, ready to
//! show; the numbers as the board says them.

use protocol::NoticeKind;
use serde::Serialize;

/// The plaintext of a push (docs/PROTOCOL.md, "Web Push").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub kind: NoticeKind,
    pub ticket: String,
    pub service: String,
    pub ahead: Option<u32>,
    pub counter: Option<u32>,
    pub title: String,
    pub body: String,
}

impl Message {
    /// `service_vi`: the service's Vietnamese name, for the body.
    pub fn new(
        kind: NoticeKind,
        ticket: &str,
        service: &str,
        service_vi: &str,
        ahead: Option<u32>,
        counter: Option<u32>,
    ) -> Message {
        let counter_no = counter.unwrap_or_default();
        let (title, body) = match kind {
            NoticeKind::Near => (
                format!("Sắp đến lượt số {ticket}"),
                match ahead {
                    Some(0) => {
                        format!("{service_vi}: quý khách là người tiếp theo. Xin quay lại sảnh.")
                    }
                    Some(n) => {
                        format!("{service_vi}: còn {n} người trước quý khách. Xin quay lại sảnh.")
                    }
                    None => format!("{service_vi}: xin quay lại sảnh."),
                },
            ),
            NoticeKind::Called => (
                format!("Mời số {ticket} đến Quầy {counter_no}"),
                format!("{service_vi}: xin mời quý khách đến Quầy {counter_no}."),
            ),
            NoticeKind::Recalled | NoticeKind::Unknown => (
                format!("Nhắc lại: mời số {ticket} đến Quầy {counter_no}"),
                format!("{service_vi}: Quầy {counter_no} đang chờ quý khách."),
            ),
        };
        Message {
            kind,
            ticket: ticket.to_string(),
            service: service.to_string(),
            ahead: if kind == NoticeKind::Near {
                ahead
            } else {
                None
            },
            counter: if kind == NoticeKind::Near {
                None
            } else {
                counter
            },
            title,
            body,
        }
    }

    /// One SMS: the title and the body.
    pub fn text(&self) -> String {
        format!("{}. {}", self.title, self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_texts_say_number_counter_and_people_ahead() {
        let near = Message::new(NoticeKind::Near, "A012", "TP", "Tư pháp", Some(2), None);
        assert_eq!(near.title, "Sắp đến lượt số A012");
        assert!(near.body.contains("còn 2 người"), "{}", near.body);
        let json = serde_json::to_value(&near).expect("json");
        assert_eq!(json["kind"], "near");
        assert_eq!(json["ahead"], 2);
        assert!(json["counter"].is_null());
        let called = Message::new(
            NoticeKind::Called,
            "A012",
            "TP",
            "Tư pháp",
            Some(0),
            Some(5),
        );
        assert_eq!(called.title, "Mời số A012 đến Quầy 5");
        let json = serde_json::to_value(&called).expect("json");
        assert_eq!(json["counter"], 5);
        assert!(json["ahead"].is_null());
        assert!(called.text().starts_with("Mời số A012 đến Quầy 5. "));
    }
}
