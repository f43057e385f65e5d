//! Booking any centre (docs/PROVINCE.md, "Booking any centre"): the same flow as a hub's
//! `/dat-lich` — a field, a day, a free time, a phone number — across every centre that offers
//! the province a share of its slots.
//!
//! - A place is first **held**, for [`Settings::hold`], after a proof of work (`proof.rs`);
//!   a hold not confirmed in time lapses and its place is free again. Holding is what a bot
//!   would hoard: it costs work, and counts against the phone's cap while it lasts.
//! - **Confirmed**, the booking gets its pass (crate `province-pass`), signed with the
//!   province's key: the centre's kiosk honours it without asking anyone.
//! - One phone number holds at most [`Settings::per_phone_per_day`] bookings a service day,
//!   **across the whole province** (held or confirmed), counted in the database under a
//!   lock per phone, so two instances cannot both let a fourth one through. The number itself
//!   is never stored: a keyed hash of it, emptied once its day is over.
//! - A slot's places are the province's share the hub published; the count is made under a
//!   lock on the slot's row. A cancelled place is free again only after a quarantine, so it
//!   cannot be handed to someone waiting for it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use province_pass::{Pass, PassKey};
use rand::Rng;
use ring::hmac;
use serde::{Deserialize, Serialize};

use super::proof::{ProofError, Proofs};
use super::{Door, DoorError};

const PAGE: &str = include_str!("dat-lich.html");

/// What the door's booking is set to.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A hold lapses after this unless confirmed.
    pub hold: Duration,
    /// Bookings (held or confirmed) one phone may have for one service day, all centres.
    pub per_phone_per_day: i64,
    /// A cancelled place is free again after this.
    pub quarantine: Duration,
    /// The proof of work's difficulty, in leading zero bits.
    pub proof_bits: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            hold: Duration::from_secs(10 * 60),
            per_phone_per_day: 2,
            quarantine: Duration::from_secs(10 * 60),
            proof_bits: 16,
        }
    }
}

/// The door's booking: its key, and the allowances of the addresses it serves.
pub struct Booking {
    key: PassKey,
    phones: hmac::Key,
    proofs: Proofs,
    settings: Settings,
    /// Slots this instance found full, and when: for [`FULL_MEMORY`] a hold of one is told so
    /// without asking the database (a rush on a few slots is mostly such refusals).
    full: std::sync::Mutex<HashMap<SlotKey, Instant>>,
}

type SlotKey = (String, String, DateTime<Utc>);

/// How long a slot found full is believed full. A place freed meanwhile (a lapse, a
/// cancellation past its quarantine) is offered a moment later, never lost.
const FULL_MEMORY: Duration = Duration::from_secs(2);
/// Slots remembered full at most; beyond, the memory starts again.
const MAX_FULL: usize = 10_000;

impl Booking {
    pub fn new(key: PassKey, settings: Settings) -> Booking {
        let seed = key.to_bytes();
        let mut material = b"hang-doi door phone numbers\n".to_vec();
        material.extend_from_slice(&seed);
        let phones = hmac::Key::new(
            hmac::HMAC_SHA256,
            ring::digest::digest(&ring::digest::SHA256, &material).as_ref(),
        );
        Booking {
            proofs: Proofs::new(&seed, settings.proof_bits),
            key,
            phones,
            settings,
            full: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn phone_hash(&self, phone: &str) -> Option<String> {
        let phone = protocol::phone::national(phone)?;
        let tag = hmac::sign(&self.phones, phone.as_bytes());
        Some(
            tag.as_ref()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        )
    }

    fn known_full(&self, ask: &HoldAsk) -> bool {
        let full = self.full.lock().unwrap_or_else(|e| e.into_inner());
        full.get(&(ask.centre.clone(), ask.service.clone(), ask.start))
            .is_some_and(|at| at.elapsed() < FULL_MEMORY)
    }

    fn found_full(&self, ask: &HoldAsk) {
        let mut full = self.full.lock().unwrap_or_else(|e| e.into_inner());
        if full.len() >= MAX_FULL {
            full.clear();
        }
        full.insert(
            (ask.centre.clone(), ask.service.clone(), ask.start),
            Instant::now(),
        );
    }
}

/// `{"error": {"code", "message"}}`, as the hubs' booking API answers.
fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    (status, Json(body)).into_response()
}

fn not_offered() -> Response {
    refuse(
        StatusCode::NOT_FOUND,
        "not_found",
        "Cổng này chưa nhận đặt lịch. / This door takes no bookings.",
    )
}

pub(crate) fn rate_limited() -> Response {
    let mut r = refuse(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "Quá nhiều yêu cầu, xin thử lại sau ít phút. / Too many requests; try again in a few minutes.",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("20"));
    r
}

fn bad_request(message: &str) -> Response {
    refuse(StatusCode::BAD_REQUEST, "bad_request", message)
}

fn unreadable(e: &JsonRejection) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "bad_request",
            "the request is too large",
        );
    }
    bad_request("the body must be the JSON object PROTOCOL.md describes")
}

/// What the door answers a request with: JSON, or a refusal.
type Answer = Result<Response, Response>;

fn db(e: impl Into<DoorError>) -> Response {
    e.into().into_response()
}

/// `GET /dat-lich`: the booking page.
pub async fn page() -> Response {
    let mut response = Html(PAGE).into_response();
    super::protect(response.headers_mut());
    // The pass is in its image's address: no other site learns it from a referrer.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[derive(Debug, Serialize)]
struct Offer {
    id: String,
    name_vi: String,
    name_en: String,
    time_zone: String,
    services: Vec<OfferedService>,
}

#[derive(Debug, Serialize)]
struct OfferedService {
    id: String,
    name_vi: String,
    name_en: String,
    /// The local dates with slots not yet started.
    dates: Vec<String>,
}

/// `GET /api/bookings/options`: the centres and fields the door books, with their dates.
pub async fn options(
    State(door): State<Door>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let Some(booking) = &door.booking else {
        return not_offered();
    };
    if !door.allowed(peer, &headers, false) {
        return rate_limited();
    }
    let rows = async {
        let client = door.client().await?;
        let rows = client
            .query(
                "SELECT c.id, c.name, c.name_en, s.service, coalesce(v.name, s.service),
                    coalesce(v.name_en, ''),
                    array_agg(DISTINCT ((s.start AT TIME ZONE c.time_zone)::date)::text),
                    c.time_zone
                 FROM province_slots s
                 JOIN centres c ON c.id = s.centre
                 LEFT JOIN services v ON v.centre = s.centre AND v.id = s.service
                 WHERE s.start > now() AND s.places > 0
                 GROUP BY c.id, c.name, c.name_en, c.time_zone, s.service, v.name, v.name_en
                 ORDER BY c.name, s.service",
                &[],
            )
            .await?;
        Ok::<_, DoorError>(rows)
    }
    .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let mut centres: Vec<Offer> = Vec::new();
    for r in &rows {
        let id: String = r.get(0);
        if centres.last().is_none_or(|c| c.id != id) {
            centres.push(Offer {
                id: id.clone(),
                name_vi: r.get(1),
                name_en: r.get(2),
                time_zone: r.get(7),
                services: Vec::new(),
            });
        }
        let mut dates: Vec<String> = r.get(6);
        dates.sort();
        if let Some(c) = centres.last_mut() {
            c.services.push(OfferedService {
                id: r.get(3),
                name_vi: r.get(4),
                name_en: r.get(5),
                dates,
            });
        }
    }
    let body = serde_json::json!({
        "centres": centres,
        "per_phone_per_day": booking.settings.per_phone_per_day,
        "hold_min": booking.settings.hold.as_secs() / 60,
    });
    no_store(Json(body).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SlotsQuery {
    centre: String,
    service: String,
    date: NaiveDate,
}

/// `GET /api/bookings/slots?centre=…&service=…&date=YYYY-MM-DD`: the slots of that local
/// date not yet started, with the province's places still free.
pub async fn slots(
    State(door): State<Door>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<SlotsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(booking) = &door.booking else {
        return not_offered();
    };
    if !door.allowed(peer, &headers, false) {
        return rate_limited();
    }
    let Ok(Query(q)) = query else {
        return bad_request("centre, service and date (YYYY-MM-DD) are needed");
    };
    let quarantine = booking.settings.quarantine.as_secs_f64();
    let rows = async {
        let client = door.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT s.start, s.end_at, s.check_in_from, s.check_in_until,
                    {FREE}
                 FROM province_slots s JOIN centres c ON c.id = s.centre
                 WHERE s.centre = $1 AND s.service = $2
                    AND (s.start AT TIME ZONE c.time_zone)::date = $3::text::date
                    AND s.start > now()
                 ORDER BY s.start"
                ),
                &[&q.centre, &q.service, &q.date.to_string(), &quarantine],
            )
            .await?;
        Ok::<_, DoorError>(rows)
    }
    .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let slots: Vec<_> = rows
        .iter()
        .map(|r| {
            let free: i64 = r.get(4);
            serde_json::json!({
                "start": r.get::<_, DateTime<Utc>>(0),
                "end": r.get::<_, DateTime<Utc>>(1),
                "check_in_from": r.get::<_, DateTime<Utc>>(2),
                "check_in_until": r.get::<_, DateTime<Utc>>(3),
                "free": free.max(0),
            })
        })
        .collect();
    no_store(Json(serde_json::json!({ "slots": slots })).into_response())
}

/// The places of slot `s` still free: the province's share less the bookings that take a
/// place — confirmed, held and not lapsed, or cancelled within the quarantine (`$4`: its
/// seconds).
const FREE: &str = "s.places - (SELECT count(*) FROM province_bookings b
    WHERE b.centre = s.centre AND b.service = s.service AND b.start = s.start
    AND (b.state = 'confirmed' OR (b.state = 'held' AND b.held_until > now())
        OR (b.state = 'cancelled' AND b.changed_at > now() - make_interval(secs => $4))))";

/// `GET /api/bookings/challenge`: a proof-of-work challenge for one hold.
pub async fn challenge(
    State(door): State<Door>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let Some(booking) = &door.booking else {
        return not_offered();
    };
    if !door.allowed(peer, &headers, false) {
        return rate_limited();
    }
    no_store(
        Json(serde_json::json!({
            "challenge": booking.proofs.challenge(),
            "bits": booking.proofs.bits,
        }))
        .into_response(),
    )
}

#[derive(Debug, Deserialize)]
pub struct HoldAsk {
    centre: String,
    service: String,
    start: DateTime<Utc>,
    phone: String,
    challenge: String,
    nonce: String,
}

/// `POST /api/bookings`: holds a place (201), for the hold's minutes.
pub async fn hold(
    State(door): State<Door>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<HoldAsk>, JsonRejection>,
) -> Response {
    let Some(booking) = door.booking.clone() else {
        return not_offered();
    };
    if !door.allowed(peer, &headers, true) {
        return rate_limited();
    }
    let ask = match body {
        Ok(Json(a)) => a,
        Err(e) => return unreadable(&e),
    };
    match held(&door, &booking, &ask).await {
        Ok(r) | Err(r) => r,
    }
}

async fn held(door: &Door, booking: &Booking, ask: &HoldAsk) -> Answer {
    let Some(phone) = booking.phone_hash(&ask.phone) else {
        return Err(bad_request(
            "Số điện thoại không đúng. / Not a Vietnamese phone number.",
        ));
    };
    if let Some(refused) = refused_proof(booking, ask) {
        return Err(refused);
    }
    // A slot already full is said so at once, with no lock and no write: in a rush on a few
    // slots that is most answers, and the challenge stays unspent (it bought nothing).
    if booking.known_full(ask) {
        return Err(slot_full());
    }
    let mut client = door.client().await.map_err(db)?;
    // Again: while this one waited for a connection, others may have found it full.
    if booking.known_full(ask) {
        return Err(slot_full());
    }
    let Some((day, free)) = slot_now(&client, booking, ask).await.map_err(db)? else {
        return Err(not_bookable());
    };
    if free <= 0 {
        booking.found_full(ask);
        return Err(slot_full());
    }
    let tx = client.transaction().await.map_err(db)?;
    // A hold lost with the database's last half second (a crash) frees its place, which is
    // what its lapse does anyway; not waiting for the disk keeps a rush's answers quick. The
    // confirmation — what the pass stands for — is committed durably.
    tx.batch_execute("SET LOCAL synchronous_commit = off")
        .await
        .map_err(db)?;
    within_limits(&tx, booking, ask, &phone, &day).await?;
    let (code, held_until) = insert_hold(&tx, booking, ask, &phone, &day).await?;
    tx.commit().await.map_err(db)?;
    let body = serde_json::json!({
        "centre": ask.centre,
        "service": ask.service,
        "start": ask.start,
        "code": code,
        "state": "held",
        "held_until": held_until,
    });
    Ok((StatusCode::CREATED, no_store(Json(body).into_response())).into_response())
}

/// The refusal of a hold whose proof of work does not answer a challenge, if it does not.
fn refused_proof(booking: &Booking, ask: &HoldAsk) -> Option<Response> {
    match booking.proofs.check(&ask.challenge, &ask.nonce) {
        Ok(()) => None,
        Err(ProofError::Expired) => Some(refuse(
            StatusCode::FORBIDDEN,
            "proof_refused",
            "Phiên đặt lịch đã quá hạn, xin thử lại. / The challenge expired; ask for another.",
        )),
        Err(_) => Some(refuse(
            StatusCode::FORBIDDEN,
            "proof_refused",
            "the proof of work does not answer a challenge of this door",
        )),
    }
}

/// Spends the challenge, then whether the phone may hold one more, under the locks that keep
/// the phone's count and the slot's true until the commit: the phone's first, then the
/// slot's, always in this order, so two holds never wait on each other in a circle. A
/// statement sees what was committed before it began (READ COMMITTED), so each count is made
/// in a statement after the one that took its lock.
async fn within_limits(
    tx: &tokio_postgres::Transaction<'_>,
    booking: &Booking,
    ask: &HoldAsk,
    phone: &str,
    day: &str,
) -> Result<(), Response> {
    let spent: i64 = tx
        .query_one(
            "WITH spent AS (
                INSERT INTO door_spent_challenges (challenge, expires_at)
                VALUES ($1, now() + make_interval(secs => $2)) ON CONFLICT DO NOTHING
                RETURNING 1)
             SELECT (SELECT count(*) FROM spent), pg_advisory_xact_lock(hashtextextended($3, 0))::text",
            &[
                &ask.challenge,
                &(super::proof::CHALLENGE_LIFE.as_secs_f64()),
                &phone,
            ],
        )
        .await
        .map_err(db)?
        .get(0);
    if spent == 0 {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "proof_refused",
            "this challenge was answered already; ask for another",
        ));
    }
    let holds: Option<i64> = tx
        .query_opt(
            "SELECT (SELECT count(*) FROM province_bookings b WHERE b.phone_hash = $4
                    AND b.day = $5::text::date
                    AND (b.state = 'confirmed' OR (b.state = 'held' AND b.held_until > now())))
             FROM province_slots s WHERE s.centre = $1 AND s.service = $2 AND s.start = $3
             FOR UPDATE",
            &[&ask.centre, &ask.service, &ask.start, &phone, &day],
        )
        .await
        .map_err(db)?
        .map(|r| r.get(0));
    let Some(holds) = holds else {
        return Err(not_bookable());
    };
    let limit = booking.settings.per_phone_per_day;
    if holds >= limit {
        return Err(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "limit_reached",
            &format!(
                "Số điện thoại này đã có {limit} lịch hẹn trong ngày đó (tại mọi trung tâm của tỉnh). / This phone number already holds {limit} bookings for that day, at all of the province's centres."
            ),
        ));
    }
    Ok(())
}

fn not_bookable() -> Response {
    refuse(
        StatusCode::CONFLICT,
        "not_bookable",
        "Giờ này không còn nhận đặt lịch. / That time cannot be booked.",
    )
}

fn slot_full() -> Response {
    refuse(
        StatusCode::CONFLICT,
        "slot_full",
        "Giờ này đã hết chỗ. / That slot is full.",
    )
}

/// The slot's service day and places left as last committed (no lock: the hold counts again
/// under one); `None`: no such slot, or it has started.
async fn slot_now(
    client: &tokio_postgres::Client,
    booking: &Booking,
    ask: &HoldAsk,
) -> Result<Option<(String, i64)>, tokio_postgres::Error> {
    let quarantine = booking.settings.quarantine.as_secs_f64();
    let row = client
        .query_opt(
            &format!(
                "SELECT ((s.start AT TIME ZONE c.time_zone) - c.day_starts_at)::date::text,
                {FREE} FROM province_slots s JOIN centres c ON c.id = s.centre
                WHERE s.centre = $1 AND s.service = $2 AND s.start = $3 AND s.start > now()"
            ),
            &[&ask.centre, &ask.service, &ask.start, &quarantine],
        )
        .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// The hold's row under a fresh code no booking of the centre has (here or at its hub).
async fn insert_hold(
    tx: &tokio_postgres::Transaction<'_>,
    booking: &Booking,
    ask: &HoldAsk,
    phone: &str,
    day: &str,
) -> Result<(String, DateTime<Utc>), Response> {
    let hold = booking.settings.hold.as_secs_f64();
    let quarantine = booking.settings.quarantine.as_secs_f64();
    for _ in 0..4 {
        let code = fresh_code();
        let row = tx
            .query_opt(
                &format!("INSERT INTO province_bookings (centre, code, service, start, day, phone_hash,
                    state, held_until)
                 SELECT $1, $2, $3, $5, $6::text::date, $7, 'held', now() + make_interval(secs => $8)
                 WHERE NOT EXISTS (SELECT 1 FROM appointments WHERE centre = $1 AND code = $2)
                    AND (SELECT {FREE} FROM province_slots s
                        WHERE s.centre = $1 AND s.service = $3 AND s.start = $5) > 0
                 ON CONFLICT DO NOTHING
                 RETURNING held_until"),
                &[
                    &ask.centre,
                    &code,
                    &ask.service,
                    &quarantine,
                    &ask.start,
                    &day,
                    &phone,
                    &hold,
                ],
            )
            .await
            .map_err(db)?;
        if let Some(row) = row {
            return Ok((code, row.get(0)));
        }
        // Full, or the code was taken (one chance in 10^10): which, the slot says.
        let free: i64 = tx
            .query_one(
                &format!(
                    "SELECT {FREE} FROM province_slots s
                    WHERE s.centre = $1 AND s.service = $2 AND s.start = $3"
                ),
                &[&ask.centre, &ask.service, &ask.start, &quarantine],
            )
            .await
            .map_err(db)?
            .get(0);
        if free <= 0 {
            booking.found_full(ask);
            return Err(slot_full());
        }
    }
    Err(db(DoorError::Busy))
}

#[derive(Debug, Deserialize)]
pub struct Mine {
    centre: String,
    code: String,
    phone: String,
}

/// `POST /api/bookings/confirm`: a held booking confirmed, with its pass (again, if it was
/// confirmed already).
pub async fn confirm(
    State(door): State<Door>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<Mine>, JsonRejection>,
) -> Response {
    let Some(booking) = door.booking.clone() else {
        return not_offered();
    };
    if !door.allowed(peer, &headers, false) {
        return rate_limited();
    }
    let mine = match body {
        Ok(Json(m)) => m,
        Err(e) => return unreadable(&e),
    };
    match confirmed(&door, &booking, &mine).await {
        Ok(r) | Err(r) => r,
    }
}

fn unknown_booking() -> Response {
    refuse(
        StatusCode::NOT_FOUND,
        "not_found",
        "Không tìm thấy lịch hẹn với mã và số điện thoại này. / No booking with this code and phone number.",
    )
}

async fn confirmed(door: &Door, booking: &Booking, mine: &Mine) -> Answer {
    let (Some(phone), Some(code)) = (
        booking.phone_hash(&mine.phone),
        protocol::booking_code::normalise_code(&mine.code),
    ) else {
        return Err(unknown_booking());
    };
    let client = door.client().await.map_err(db)?;
    let row = client
        .query_opt(
            "WITH confirmed AS (
                UPDATE province_bookings SET state = 'confirmed', held_until = NULL,
                    changed_at = now(), version = nextval('province_bookings_version')
                WHERE centre = $1 AND code = $2 AND phone_hash = $3
                    AND state = 'held' AND held_until > now()
                RETURNING centre, code)
             SELECT b.state, (b.state = 'held' AND c.code IS NULL), b.service, b.start,
                s.end_at, s.check_in_from, s.check_in_until, ce.name, ce.name_en, ce.time_zone,
                coalesce(v.name, b.service), coalesce(v.name_en, '')
             FROM province_bookings b
             LEFT JOIN confirmed c ON c.centre = b.centre AND c.code = b.code
             LEFT JOIN province_slots s ON s.centre = b.centre AND s.service = b.service
                AND s.start = b.start
             JOIN centres ce ON ce.id = b.centre
             LEFT JOIN services v ON v.centre = b.centre AND v.id = b.service
             WHERE b.centre = $1 AND b.code = $2 AND b.phone_hash = $3",
            &[&mine.centre, &code, &phone],
        )
        .await
        .map_err(db)?;
    let Some(row) = row else {
        return Err(unknown_booking());
    };
    let state: String = row.get(0);
    let lapsed: bool = row.get(1);
    if state == "cancelled" {
        return Err(unknown_booking());
    }
    if lapsed {
        return Err(refuse(
            StatusCode::GONE,
            "expired",
            "Chỗ giữ đã hết hạn, xin đặt lại. / The hold lapsed; please book again.",
        ));
    }
    let service: String = row.get(2);
    let start: DateTime<Utc> = row.get(3);
    let pass = Pass {
        centre: mine.centre.clone(),
        service: service.clone(),
        start,
        code: code.clone(),
    }
    .sign(&booking.key);
    let body = serde_json::json!({
        "centre": mine.centre,
        "centre_vi": row.get::<_, String>(7),
        "centre_en": row.get::<_, String>(8),
        "time_zone": row.get::<_, String>(9),
        "service": service,
        "service_vi": row.get::<_, String>(10),
        "service_en": row.get::<_, String>(11),
        "start": start,
        "end": row.get::<_, Option<DateTime<Utc>>>(4),
        "check_in_from": row.get::<_, Option<DateTime<Utc>>>(5),
        "check_in_until": row.get::<_, Option<DateTime<Utc>>>(6),
        "code": code,
        "state": "confirmed",
        "pass": pass,
    });
    Ok(no_store(Json(body).into_response()))
}

/// `POST /api/bookings/cancel`: cancels a held or confirmed booking whose slot has not
/// started. Cancelling twice is answered like the first time.
pub async fn cancel(
    State(door): State<Door>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<Mine>, JsonRejection>,
) -> Response {
    let Some(booking) = door.booking.clone() else {
        return not_offered();
    };
    if !door.allowed(peer, &headers, false) {
        return rate_limited();
    }
    let mine = match body {
        Ok(Json(m)) => m,
        Err(e) => return unreadable(&e),
    };
    let (Some(phone), Some(code)) = (
        booking.phone_hash(&mine.phone),
        protocol::booking_code::normalise_code(&mine.code),
    ) else {
        return unknown_booking();
    };
    let answer = async {
        let client = door.client().await?;
        client
            .execute(
                "UPDATE province_bookings SET state = 'cancelled', held_until = NULL,
                    changed_at = now(), version = nextval('province_bookings_version')
                 WHERE centre = $1 AND code = $2 AND phone_hash = $3
                    AND state <> 'cancelled' AND start > now()",
                &[&mine.centre, &code, &phone],
            )
            .await?;
        let state = client
            .query_opt(
                "SELECT state FROM province_bookings WHERE centre = $1 AND code = $2
                    AND phone_hash = $3",
                &[&mine.centre, &code, &phone],
            )
            .await?
            .map(|r| r.get::<_, String>(0));
        Ok::<_, DoorError>(state)
    }
    .await;
    match answer {
        Ok(Some(state)) if state == "cancelled" => no_store(
            Json(serde_json::json!({"centre": mine.centre, "code": code, "state": "cancelled"}))
                .into_response(),
        ),
        Ok(Some(_)) => refuse(
            StatusCode::CONFLICT,
            "invalid_state",
            "Lịch hẹn đã bắt đầu, không huỷ được. / The appointment has begun; it cannot be cancelled.",
        ),
        Ok(None) => unknown_booking(),
        Err(e) => e.into_response(),
    }
}

/// `GET /dat-lich/qr/{pass}`: a pass this door signed, as a QR image for the kiosk's reader.
/// Anything else is refused: the door draws no one else's codes.
pub async fn qr(
    State(door): State<Door>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(pass): Path<String>,
) -> Response {
    let Some(booking) = &door.booking else {
        return not_offered();
    };
    if !door.allowed(peer, &headers, false) {
        return rate_limited();
    }
    if Pass::verify(&pass, &[booking.key.verifying_key()]).is_err() {
        return (StatusCode::NOT_FOUND, "not a pass of this door").into_response();
    }
    let Ok(qr) = qrcode::QrCode::new(pass.as_bytes()) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "cannot draw the code").into_response();
    };
    let svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(260, 260)
        .build();
    no_store(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// Empties what the door no longer needs: spent challenges past their life, and the phone
/// hashes of bookings whose day is over (a number is never readable after its service day).
pub async fn sweep(door: &Door) -> Result<(), DoorError> {
    let client = door.client().await?;
    client
        .execute(
            "DELETE FROM door_spent_challenges WHERE expires_at < now()",
            &[],
        )
        .await?;
    client
        .execute(
            "UPDATE province_bookings b SET phone_hash = NULL
             FROM centres c WHERE c.id = b.centre AND b.phone_hash IS NOT NULL
                AND b.day < ((now() AT TIME ZONE c.time_zone) - c.day_starts_at)::date",
            &[],
        )
        .await?;
    Ok(())
}

fn fresh_code() -> String {
    let mut rng = rand::rng();
    let alphabet = protocol::booking_code::CODE_ALPHABET;
    (0..protocol::booking_code::CODE_LEN)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Shared for the door's own handlers.
pub type Shared = Arc<Booking>;
