//! Web Push from the door (docs/PROVINCE.md, "Web Push from the door"): the door is reached
//! over the province's HTTPS, a secure context, so the tracking page opened from a ticket's QR
//! can subscribe there — the same contract as a hub's page (docs/PROTOCOL.md, "Web Push"), the
//! same sender (crate `notices`): one implementation, two users.
//!
//! Subscriptions are rows of `door_push`, found by the ticket's code's hash. One instance
//! sends: the one holding a session advisory lock on a connection of its own; if it dies, the
//! lock goes with its connection and another instance takes over within seconds. It reads,
//! once a second, every subscription with its ticket as the hub last shipped it, sends what is
//! due — "near" once when the people ahead fall to `near_ahead`, "called" and "recalled" each
//! time — and marks it told before handing it over, so no notice goes twice.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use notices::endpoint::{self, Refused};
use notices::{Contact, Message, Notice, Outcome, Subscription, VapidKey};
use protocol::NoticeKind;
use tokio::sync::mpsc;

use super::waits::STALE_AFTER_MIN;
use super::{Door, DoorError};

/// Subscriptions one ticket may have (a phone and, say, a relative's).
const PER_TICKET: i64 = 2;
/// How often the sender looks at the tickets (the hubs ship about once a second).
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How often an instance not sending asks whether it should.
const STANDBY_EVERY: Duration = Duration::from_secs(5);
/// The session lock of the one instance that sends ("hangpush" in ASCII).
const SENDER_LOCK: i64 = 0x68_61_6e_67_70_75_73_68;

/// What the door's Web Push is set to.
#[derive(Clone)]
pub struct Settings {
    pub vapid: VapidKey,
    /// The VAPID `sub`: how a push service reaches the province (`mailto:` or `https:`).
    pub contact: String,
    /// People ahead at which "near" is sent.
    pub near_ahead: u32,
    /// A test's: `http` and loopback endpoints allowed.
    pub allow_insecure_endpoints: bool,
}

pub type Shared = Arc<Settings>;

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    (status, Json(body)).into_response()
}

fn off() -> Response {
    refuse(
        StatusCode::NOT_FOUND,
        "not_found",
        "Web Push is not set up at this door",
    )
}

fn unknown() -> Response {
    refuse(
        StatusCode::NOT_FOUND,
        "not_found",
        "Không tìm thấy số này, hoặc số đã kết thúc. / No ticket in the queue with this code.",
    )
}

/// `GET /push/key`: the door's VAPID public key.
pub async fn key(State(door): State<Door>) -> Response {
    match &door.push {
        Some(p) => Json(serde_json::json!({"public_key": p.vapid.public_key()})).into_response(),
        None => off(),
    }
}

/// `GET /t/{track}/push-sw.js`: the hubs' own service worker.
pub async fn worker() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        notices::SERVICE_WORKER,
    )
        .into_response()
}

/// `POST /t/{track}/push`: `201` once the subscription is kept, for a ticket still waiting or
/// called.
pub async fn subscribe(
    State(door): State<Door>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(track): Path<String>,
    body: Bytes,
) -> Response {
    let Some(push) = door.push.clone() else {
        return off();
    };
    if !door.allowed(peer, &headers, false) {
        return super::booking::rate_limited();
    }
    if !super::tracking::plausible(&track) {
        return unknown();
    }
    let Ok(subscription) = serde_json::from_slice::<Subscription>(&body) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "expected a PushSubscription's JSON: {\"endpoint\", \"keys\": {\"p256dh\", \"auth\"}}",
        );
    };
    if subscription.receiver().is_none() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "keys.p256dh must be a P-256 point (65 bytes) and keys.auth 16 bytes, base64url",
        );
    }
    if let Err(refused) =
        endpoint::resolve(&subscription.endpoint, push.allow_insecure_endpoints).await
    {
        return match refused {
            Refused::Malformed => refuse(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the endpoint is not a URL the door can send to",
            ),
            other => refuse(
                StatusCode::FORBIDDEN,
                "endpoint_refused",
                &other.to_string(),
            ),
        };
    }
    match kept(&door, &track, &subscription).await {
        Ok(Kept::Yes) => StatusCode::CREATED.into_response(),
        Ok(Kept::NoTicket) => unknown(),
        Ok(Kept::Full) => refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "limit_reached",
            "this ticket has as many subscriptions as it may",
        ),
        Err(e) => e.into_response(),
    }
}

enum Kept {
    Yes,
    NoTicket,
    Full,
}

async fn kept(door: &Door, track: &str, s: &Subscription) -> Result<Kept, DoorError> {
    let hash = province::track_hash(track);
    let mut client = door.client().await?;
    let tx = client.transaction().await?;
    let alive = tx
        .query_opt(
            "SELECT 1 FROM tickets t JOIN centres c ON c.id = t.centre
             WHERE t.track_hash = $1 AND t.status IN ('waiting', 'called', 'serving')
                AND t.day >= coalesce(c.service_day,
                    ((now() AT TIME ZONE c.time_zone) - c.day_starts_at)::date)",
            &[&hash],
        )
        .await?;
    if alive.is_none() {
        return Ok(Kept::NoTicket);
    }
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 1))",
        &[&hash],
    )
    .await?;
    let (count, mine): (i64, bool) = {
        let r = tx
            .query_one(
                "SELECT count(*), coalesce(bool_or(endpoint = $2), false) FROM door_push
                 WHERE track_hash = $1",
                &[&hash, &s.endpoint],
            )
            .await?;
        (r.get(0), r.get(1))
    };
    if count >= PER_TICKET && !mine {
        return Ok(Kept::Full);
    }
    tx.execute(
        "INSERT INTO door_push (track_hash, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4)
         ON CONFLICT (track_hash, endpoint) DO UPDATE SET p256dh = excluded.p256dh,
            auth = excluded.auth",
        &[&hash, &s.endpoint, &s.keys.p256dh, &s.keys.auth],
    )
    .await?;
    tx.commit().await?;
    Ok(Kept::Yes)
}

/// `DELETE /t/{track}/push`: `204`, the ticket's subscriptions gone.
pub async fn unsubscribe(
    State(door): State<Door>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(track): Path<String>,
) -> Response {
    if door.push.is_none() {
        return off();
    }
    if !door.allowed(peer, &headers, false) {
        return super::booking::rate_limited();
    }
    if !super::tracking::plausible(&track) {
        return unknown();
    }
    let gone = async {
        let client = door.client().await?;
        client
            .execute(
                "DELETE FROM door_push WHERE track_hash = $1",
                &[&province::track_hash(&track)],
            )
            .await?;
        Ok::<_, DoorError>(())
    };
    match gone.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Forgets subscriptions older than a day, whatever became of their tickets (a ticket's
/// follower never outlives its service day).
pub async fn sweep(door: &Door) -> Result<(), DoorError> {
    door.client()
        .await?
        .execute(
            "DELETE FROM door_push WHERE created_at < now() - interval '1 day'",
            &[],
        )
        .await?;
    Ok(())
}

/// A subscription with its ticket as last shipped.
struct Due {
    track_hash: String,
    endpoint: String,
    p256dh: String,
    auth: String,
    number: String,
    service: String,
    service_vi: String,
    status: String,
    counter: Option<i32>,
    called_at: Option<chrono::DateTime<chrono::Utc>>,
    recalls: i32,
    near_sent: bool,
    called_told: Option<chrono::DateTime<chrono::Utc>>,
    recalls_told: i32,
    ahead: Option<i32>,
}

/// What one subscription is to be told now, if anything.
fn notice_due(d: &Due, near_ahead: u32) -> Option<(NoticeKind, Option<u32>)> {
    if d.status == "called" && (d.called_at != d.called_told || d.recalls > d.recalls_told) {
        let recalled = d.called_told.is_some() && d.recalls > d.recalls_told;
        let kind = if recalled {
            NoticeKind::Recalled
        } else {
            NoticeKind::Called
        };
        return Some((kind, None));
    }
    let ahead = d.ahead.and_then(|a| u32::try_from(a).ok())?;
    (d.status == "waiting" && !d.near_sent && ahead <= near_ahead)
        .then_some((NoticeKind::Near, Some(ahead)))
}

/// The sending task: waits to be the one instance that sends, then sends, until the door stops.
pub async fn run(door: Door, push: Shared, link: province::Link) {
    let (gone_tx, mut gone_rx) = mpsc::unbounded_channel::<(String, String)>();
    let settings = notices::Settings {
        vapid: Arc::new(std::sync::RwLock::new(Some(push.vapid.clone()))),
        contact: push.contact.clone(),
        allow_insecure_endpoints: push.allow_insecure_endpoints,
        sms: None,
        first_retry: Duration::from_secs(1),
        client: notices::http::Client::new(),
        tokens: Default::default(),
    };
    let endpoints: Arc<std::sync::Mutex<std::collections::HashMap<u64, (String, String)>>> =
        Arc::default();
    let reported = endpoints.clone();
    let notifier = notices::start(settings, move |report| {
        let who = reported
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&report.ticket);
        if report.outcome == Outcome::Gone
            && let Some(who) = who
        {
            let _ = gone_tx.send(who);
        }
    });
    loop {
        let Ok(lock) = link.connect_as("hang-doi-province push").await else {
            tokio::time::sleep(STANDBY_EVERY).await;
            continue;
        };
        let holds = lock
            .query_one("SELECT pg_try_advisory_lock($1)", &[&SENDER_LOCK])
            .await
            .is_ok_and(|r| r.get::<_, bool>(0));
        if !holds {
            drop(lock);
            tokio::time::sleep(STANDBY_EVERY).await;
            continue;
        }
        tracing::info!("this instance sends the door's Web Push");
        while !lock.is_closed() {
            while let Ok((hash, endpoint)) = gone_rx.try_recv() {
                let _ = forget(&door, &hash, &endpoint).await;
            }
            if let Err(e) = send_due(&door, &push, &notifier, &endpoints).await {
                tracing::warn!(error = %e, "cannot read the tickets to push");
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
        tracing::warn!("lost the Web Push sender's lock; another instance takes over");
    }
}

async fn forget(door: &Door, hash: &str, endpoint: &str) -> Result<(), DoorError> {
    door.client()
        .await?
        .execute(
            "DELETE FROM door_push WHERE track_hash = $1 AND endpoint = $2",
            &[&hash, &endpoint],
        )
        .await?;
    Ok(())
}

/// Forgets the subscriptions whose ticket ended (finished, no-show, cancelled, transferred, or
/// of a service day over) or is no longer in the province at all.
pub async fn forget_ended(door: &Door) -> Result<u64, DoorError> {
    let client = door.client().await?;
    Ok(client
        .execute(
            "DELETE FROM door_push p WHERE NOT EXISTS (
                SELECT 1 FROM tickets t JOIN centres c ON c.id = t.centre
                WHERE t.track_hash = p.track_hash AND t.status IN ('waiting', 'called', 'serving')
                    AND t.day >= coalesce(c.service_day,
                        ((now() AT TIME ZONE c.time_zone) - c.day_starts_at)::date))",
            &[],
        )
        .await?)
}

/// Reads every subscription with its ticket, forgets those whose ticket ended, marks and hands
/// over what is due.
async fn send_due(
    door: &Door,
    push: &Settings,
    notifier: &notices::Notifier,
    endpoints: &std::sync::Mutex<std::collections::HashMap<u64, (String, String)>>,
) -> Result<(), DoorError> {
    forget_ended(door).await?;
    let client = door.client().await?;
    let sql = format!(
        "SELECT p.track_hash, p.endpoint, p.p256dh, p.auth, t.number, t.service,
            coalesce(s.name, t.service), t.status, t.counter, t.called_at, t.recalls,
            p.near_sent, p.called_told, p.recalls_told,
            CASE WHEN coalesce(c.heard_at > now() - interval '{STALE_AFTER_MIN} minutes', false)
                 THEN array_position(w.queue, t.id) - 1 END
         FROM door_push p
         JOIN tickets t ON t.track_hash = p.track_hash
         JOIN centres c ON c.id = t.centre
         LEFT JOIN services s ON s.centre = t.centre AND s.id = t.service
         LEFT JOIN service_waits w ON w.centre = t.centre AND w.service = t.service"
    );
    let rows = client.query(&sql, &[]).await?;
    for r in rows {
        let d = Due {
            track_hash: r.try_get(0)?,
            endpoint: r.try_get(1)?,
            p256dh: r.try_get(2)?,
            auth: r.try_get(3)?,
            number: r.try_get(4)?,
            service: r.try_get(5)?,
            service_vi: r.try_get(6)?,
            status: r.try_get(7)?,
            counter: r.try_get(8)?,
            called_at: r.try_get(9)?,
            recalls: r.try_get(10)?,
            near_sent: r.try_get(11)?,
            called_told: r.try_get(12)?,
            recalls_told: r.try_get(13)?,
            ahead: r.try_get(14)?,
        };
        let Some((kind, ahead)) = notice_due(&d, push.near_ahead) else {
            continue;
        };
        // Told first, then handed over: at most once, never twice.
        client
            .execute(
                "UPDATE door_push SET near_sent = true, called_told = $3,
                    recalls_told = $4 WHERE track_hash = $1 AND endpoint = $2",
                &[
                    &d.track_hash,
                    &d.endpoint,
                    &if kind == NoticeKind::Near {
                        d.called_told
                    } else {
                        d.called_at
                    },
                    &if kind == NoticeKind::Near {
                        d.recalls_told
                    } else {
                        d.recalls
                    },
                ],
            )
            .await?;
        let counter = d.counter.and_then(|c| u32::try_from(c).ok());
        let message = Message::new(kind, &d.number, &d.service, &d.service_vi, ahead, counter);
        let follower = follower_id(&d.track_hash, &d.endpoint);
        endpoints
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(follower, (d.track_hash.clone(), d.endpoint.clone()));
        notifier.send(Notice {
            ticket: follower,
            follower: 0,
            to: Contact::Push(Subscription {
                endpoint: d.endpoint,
                keys: notices::SubscriptionKeys {
                    p256dh: d.p256dh,
                    auth: d.auth,
                },
            }),
            message,
        });
    }
    Ok(())
}

/// A subscription's number for the sender (its notices go out in order, one at a time).
fn follower_id(hash: &str, endpoint: &str) -> u64 {
    let mut h = DefaultHasher::new();
    (hash, endpoint).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(status: &str, ahead: Option<i32>) -> Due {
        Due {
            track_hash: String::new(),
            endpoint: String::new(),
            p256dh: String::new(),
            auth: String::new(),
            number: "A1003".into(),
            service: "HT".into(),
            service_vi: "Hộ tịch".into(),
            status: status.into(),
            counter: None,
            called_at: None,
            recalls: 0,
            near_sent: false,
            called_told: None,
            recalls_told: 0,
            ahead,
        }
    }

    #[test]
    fn near_once_then_called_then_each_recall() {
        assert_eq!(notice_due(&due("waiting", Some(5)), 3), None);
        assert_eq!(
            notice_due(&due("waiting", Some(3)), 3),
            Some((NoticeKind::Near, Some(3)))
        );
        let mut told = due("waiting", Some(1));
        told.near_sent = true;
        assert_eq!(notice_due(&told, 3), None, "near goes once");
        assert_eq!(
            notice_due(&due("waiting", None), 3),
            None,
            "a silent centre's place is not claimed"
        );
        let at = chrono::DateTime::from_timestamp(1_796_000_000, 0);
        let mut called = due("called", None);
        called.called_at = at;
        assert_eq!(notice_due(&called, 3), Some((NoticeKind::Called, None)));
        called.called_told = at;
        assert_eq!(notice_due(&called, 3), None, "told already");
        called.recalls = 1;
        assert_eq!(notice_due(&called, 3), Some((NoticeKind::Recalled, None)));
    }
}
