//! A small centre built in code, for the core's own tests, the fuzzer and examples: three
//! services (one with its own hours and a short number range), three counters (one for priority
//! citizens only), three clerks. It is the same centre as `hub/tests/golden/centre.toml`, and a
//! hub test checks that the two stay equal.

use std::collections::BTreeMap;

use chrono::{NaiveTime, TimeDelta};

use crate::rules::{
    Category, CounterNo, CounterRule, Hours, REQUIRED_CATEGORIES, Rules, ServiceId, ServiceRule,
};
use crate::views::CenterInfo;

struct Service {
    id: &'static str,
    name_vi: &'static str,
    prefix: &'static str,
    numbers: (u32, u32),
    daily_limit: Option<u32>,
    target_wait_min: i64,
    target_service_min: i64,
    hours: Option<&'static str>,
}

const SERVICES: [Service; 3] = [
    Service {
        id: "TP",
        name_vi: "Tư pháp – Hộ tịch",
        prefix: "A",
        numbers: (1001, 1999),
        daily_limit: None,
        target_wait_min: 20,
        target_service_min: 10,
        hours: None,
    },
    Service {
        id: "GT",
        name_vi: "Giao thông vận tải",
        prefix: "B",
        numbers: (1, 3),
        daily_limit: None,
        target_wait_min: 30,
        target_service_min: 5,
        hours: None,
    },
    Service {
        id: "DD",
        name_vi: "Đất đai",
        prefix: "C",
        numbers: (1, 9_999),
        daily_limit: Some(50),
        target_wait_min: 45,
        target_service_min: 20,
        hours: Some("mon-fri 07:30-11:30 13:30-17:00"),
    },
];

/// Counter number, services in order of preference, priority only.
const COUNTERS: [(u32, &[&str], bool); 3] = [
    (1, &["TP", "GT"], false),
    (2, &["GT", "TP", "DD"], false),
    (3, &["TP", "GT", "DD"], true),
];

const STAFF: [(&str, &str); 3] = [
    ("nv01", "Nguyễn Thị Lan"),
    ("nv02", "Trần Văn Hùng"),
    ("nv03", "Lê Thị Mai"),
];

/// The sample centre's rules.
pub fn rules() -> Rules {
    let services: BTreeMap<ServiceId, ServiceRule> = SERVICES
        .iter()
        .map(|s| {
            let id = ServiceId(s.id.into());
            let rule = ServiceRule {
                id: id.clone(),
                name_vi: s.name_vi.into(),
                name_en: String::new(),
                prefix: s.prefix.into(),
                first_number: s.numbers.0,
                last_number: s.numbers.1,
                daily_limit: s.daily_limit,
                target_wait: TimeDelta::minutes(s.target_wait_min),
                target_service: TimeDelta::minutes(s.target_service_min),
                hours: s
                    .hours
                    .map(|h| h.parse().unwrap_or_else(|_| Hours::always())),
                appointments: None,
                icon: None,
            };
            (id, rule)
        })
        .collect();
    let counters = COUNTERS
        .iter()
        .map(|&(n, services, priority_only)| {
            let rule = CounterRule {
                number: CounterNo(n),
                name: format!("Quầy {n}"),
                services: services.iter().map(|s| ServiceId((*s).into())).collect(),
                priority_only,
            };
            (CounterNo(n), rule)
        })
        .collect();
    Rules {
        tz: chrono_tz::Asia::Ho_Chi_Minh,
        day_start: NaiveTime::MIN,
        hours: Hours::always(),
        services,
        service_order: SERVICES.iter().map(|s| ServiceId(s.id.into())).collect(),
        counters,
        categories: REQUIRED_CATEGORIES
            .iter()
            .map(|(id, vi, en)| Category {
                id: (*id).into(),
                name_vi: (*vi).into(),
                name_en: (*en).into(),
            })
            .collect(),
        staff_names: STAFF
            .iter()
            .map(|(code, name)| ((*code).into(), (*name).into()))
            .collect(),
        max_priority_in_row: 3,
        recalls_before_no_show: 2,
        transfer_keeps_place: true,
        eta_window: 10,
        rating_window: TimeDelta::minutes(10),
        counter_displays: BTreeMap::new(),
        rating_levels: crate::rules::default_rating_levels(),
        rating_reasons: vec![],
        recent_calls: 12,
        appointment_limits: Default::default(),
        province_passes: None,
    }
}

/// What the sample centre's screens say about it.
pub fn center() -> CenterInfo {
    CenterInfo {
        name: "Trung tâm thử nghiệm".into(),
        name_en: String::new(),
        timezone: "Asia/Ho_Chi_Minh".into(),
        notice: String::new(),
        public_url: None,
        track_base: None,
        sms: false,
    }
}
