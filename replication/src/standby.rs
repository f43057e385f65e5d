//! The standby's side: following the primary — reconnecting after any outage from the last
//! `seq` on disk — and handing what arrives to the engine, acknowledging each batch once it is
//! committed. And, on a primary, asking the other hub now and then what it is: a hub of a
//! higher term means this one was replaced.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;

use hub_engine::pair::messages::{self, FromPrimary, FromStandby};
use hub_engine::pair::{Mode, Pair, RETRY};
use hub_engine::{Health, Request};

/// A primary silent this long (it pings every 10 s) is taken for gone.
const SILENCE: Duration = Duration::from_secs(30);
/// How long connecting to the other hub may take.
const CONNECT: Duration = Duration::from_secs(5);
/// How often a primary asks its peer what it is.
const ASK_EVERY: Duration = Duration::from_secs(5);

/// What following needs of the hub.
pub struct Following {
    pub pair: Arc<Pair>,
    pub requests: mpsc::Sender<Request>,
    pub health: watch::Receiver<Health>,
    pub db: PathBuf,
    pub shutdown: watch::Receiver<bool>,
}

/// Follows the primary while this hub is a standby; returns when it is promoted or stops.
pub async fn follow(following: Following) {
    let Following {
        pair,
        requests,
        health,
        db,
        mut shutdown,
    } = following;
    let mut standing = pair.watch_standing();
    while standing.borrow().mode == Mode::Standby && !*shutdown.borrow() {
        let ended = link(&pair, &requests, &health, &db, &mut standing, &mut shutdown).await;
        pair.update_follow(|f| {
            f.connected = false;
            if f.problem.is_none() || ended.is_refusal {
                f.problem = Some(ended.reason.clone());
            }
        });
        if standing.borrow().mode != Mode::Standby {
            break;
        }
        if ended.is_refusal {
            tracing::error!(reason = %ended.reason, "REPLICATION: the primary refuses this standby");
        } else {
            tracing::warn!(reason = %ended.reason, "REPLICATION: not following the primary");
        }
        tokio::select! {
            _ = tokio::time::sleep(if ended.is_refusal { RETRY * 10 } else { RETRY }) => {}
            _ = shutdown.changed() => {}
            _ = standing.changed() => {}
        }
    }
    pair.update_follow(|f| f.connected = false);
}

struct Ended {
    reason: String,
    is_refusal: bool,
}

impl Ended {
    fn down(reason: impl Into<String>) -> Ended {
        Ended {
            reason: reason.into(),
            is_refusal: false,
        }
    }
}

async fn link(
    pair: &Pair,
    requests: &mpsc::Sender<Request>,
    health: &watch::Receiver<Health>,
    db: &std::path::Path,
    standing: &mut watch::Receiver<hub_engine::pair::Standing>,
    shutdown: &mut watch::Receiver<bool>,
) -> Ended {
    let seq = health.borrow().seq;
    let mut ws = match say_follow(pair, db, seq).await {
        Ok(ws) => ws,
        Err(ended) => return ended,
    };
    loop {
        let message = tokio::select! {
            m = tokio::time::timeout(SILENCE, ws.next()) => m,
            _ = shutdown.changed() => return Ended::down("stopping"),
            _ = standing.changed() => {
                let _ = ws.close(None).await;
                return Ended::down("no longer a standby");
            }
        };
        let message = match read(message) {
            Ok(Some(m)) => m,
            Ok(None) => continue,
            Err(ended) => return ended,
        };
        let heard = match message {
            FromPrimary::Start {
                term,
                head,
                secrets,
                display_generations,
            } => {
                tracing::info!(from = seq, head, term, "REPLICATION: following the primary");
                settings(requests, secrets, display_generations).await;
                pair.update_follow(|f| {
                    f.connected = true;
                    f.problem = None;
                    f.primary_seq = head;
                });
                Ok(())
            }
            FromPrimary::Settings {
                display_generations,
                secrets,
            } => {
                settings(requests, secrets, display_generations).await;
                Ok(())
            }
            FromPrimary::Batch(batch) => keep_and_acknowledge(&mut ws, requests, *batch).await,
            FromPrimary::Refused { reason, message } => Err(Ended {
                reason: format!("{reason}: {message}"),
                is_refusal: true,
            }),
            FromPrimary::Standing { .. } | FromPrimary::Promoted { .. } => Ok(()),
        };
        if let Err(ended) = heard {
            return ended;
        }
    }
}

type PrimarySocket = tokio_tungstenite::WebSocketStream<Box<dyn hub_client::client::AsyncStream>>;

/// Reaches the primary and asks to follow from `seq`, naming that event's term (read from
/// this hub's log) so the primary can tell whether the two logs agree.
async fn say_follow(pair: &Pair, db: &std::path::Path, seq: u64) -> Result<PrimarySocket, Ended> {
    let url = pair.peer_url();
    let mut ws = match tokio::time::timeout(
        CONNECT,
        hub_client::client::open_websocket(&url, pair.tls.clone()),
    )
    .await
    {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            return Err(Ended::down(format!(
                "cannot reach the primary at {url}: {e}"
            )));
        }
        Err(_) => return Err(Ended::down(format!("the primary at {url} does not answer"))),
    };
    let db_path = db.to_path_buf();
    let term = tokio::task::spawn_blocking(move || ledger::Reader::open(&db_path)?.term_at(seq))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map_err(|e| Ended::down(format!("cannot read this hub's log: {e}")))?;
    let hello = FromStandby::Follow {
        token: pair.token.clone(),
        seq,
        term,
    };
    if let Err(e) = ws.send(Message::text(messages::text(&hello))).await {
        return Err(Ended::down(format!("cannot say follow: {e}")));
    }
    Ok(ws)
}

/// What the primary sent (`Ok(None)`: nothing to act on, such as a ping).
fn read(
    message: Result<
        Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
        tokio::time::error::Elapsed,
    >,
) -> Result<Option<FromPrimary>, Ended> {
    let text = match message {
        Err(_) => return Err(Ended::down("the primary went silent")),
        Ok(None) => return Err(Ended::down("the primary closed the link")),
        Ok(Some(Err(e))) => return Err(Ended::down(format!("link error: {e}"))),
        Ok(Some(Ok(Message::Text(t)))) => t,
        Ok(Some(Ok(Message::Close(_)))) => {
            return Err(Ended::down("the primary closed the link"));
        }
        Ok(Some(Ok(_))) => return Ok(None),
    };
    serde_json::from_str::<FromPrimary>(text.as_str())
        .map(Some)
        .map_err(|e| Ended::down(format!("unreadable message from the primary: {e}")))
}

/// The primary's secrets and counter display generations, handed to this hub's engine.
async fn settings(
    requests: &mpsc::Sender<Request>,
    secrets: std::collections::HashMap<String, String>,
    display_generations: std::collections::HashMap<String, u64>,
) {
    let _ = requests
        .send(Request::Settings {
            secrets,
            display_generations,
        })
        .await;
}

/// A batch of the primary's: applied and committed by this hub's engine, one service day at a
/// time, then acknowledged with the last `seq` on disk.
async fn keep_and_acknowledge(
    ws: &mut PrimarySocket,
    requests: &mpsc::Sender<Request>,
    batch: messages::Batch,
) -> Result<(), Ended> {
    let mut seq = 0;
    for part in batch.by_day() {
        let (respond, answer) = oneshot::channel();
        let batch = Box::new(part);
        if requests
            .send(Request::Replicated { batch, respond })
            .await
            .is_err()
        {
            return Err(Ended::down("the engine stopped"));
        }
        seq = match answer.await {
            Ok(Ok(seq)) => seq,
            Ok(Err(e)) => {
                return Err(Ended::down(format!(
                    "cannot keep the primary's events: {e}"
                )));
            }
            Err(_) => return Err(Ended::down("the engine stopped")),
        };
    }
    let ack = FromStandby::Ack { seq };
    ws.send(Message::text(messages::text(&ack)))
        .await
        .map_err(|e| Ended::down(format!("cannot acknowledge: {e}")))
}

/// What the other hub says it is (`ask`), within `CONNECT`.
pub async fn ask(pair: &Pair) -> Result<(Mode, u64, u64), String> {
    let url = pair.peer_url();
    let asked = async {
        let mut ws = hub_client::client::open_websocket(&url, pair.tls.clone()).await?;
        let ask = FromStandby::Ask {
            token: pair.token.clone(),
        };
        ws.send(Message::text(messages::text(&ask)))
            .await
            .map_err(|e| e.to_string())?;
        while let Some(m) = ws.next().await {
            if let Ok(Message::Text(t)) = m {
                return match serde_json::from_str::<FromPrimary>(t.as_str()) {
                    Ok(FromPrimary::Standing { mode, term, seq }) => Ok((mode, term, seq)),
                    Ok(FromPrimary::Refused { message, .. }) => Err(message),
                    _ => Err("an unexpected answer".to_string()),
                };
            }
        }
        Err("no answer".to_string())
    };
    match tokio::time::timeout(CONNECT, asked).await {
        Ok(r) => r,
        Err(_) => Err(format!("{url} does not answer")),
    }
}

/// `hub promote`: asks the standby at `url` (this machine's hub) to become the primary.
/// Returns its new term and last event, or why it refused.
pub async fn request_promotion(
    url: &str,
    token: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
    force: bool,
) -> Result<(u64, u64), String> {
    let mut ws = tokio::time::timeout(CONNECT, hub_client::client::open_websocket(url, tls))
        .await
        .map_err(|_| format!("{url} does not answer"))??;
    let promote = FromStandby::Promote {
        token: token.to_string(),
        force,
    };
    ws.send(Message::text(messages::text(&promote)))
        .await
        .map_err(|e| e.to_string())?;
    while let Some(m) = ws.next().await {
        if let Ok(Message::Text(t)) = m {
            return match serde_json::from_str::<FromPrimary>(t.as_str()) {
                Ok(FromPrimary::Promoted { term, seq }) => Ok((term, seq)),
                Ok(FromPrimary::Refused { message, .. }) => Err(message),
                _ => Err("an unexpected answer".to_string()),
            };
        }
    }
    Err("the hub closed the link without an answer".to_string())
}

/// On a primary: asks the other hub what it is every few seconds; a primary of a higher term
/// there deposes this one.
pub async fn watch_peer(
    pair: Arc<Pair>,
    requests: mpsc::Sender<Request>,
    mut shutdown: watch::Receiver<bool>,
) {
    // The start already asked once (`Hub::start_with`), before serving.
    loop {
        tokio::select! {
            _ = tokio::time::sleep(ASK_EVERY) => {}
            _ = shutdown.changed() => return,
        }
        if pair.standing().mode == Mode::Primary {
            check_peer(&pair, &requests).await;
        }
    }
}

/// Asks the other hub once; deposes this one if it is a primary of a higher term.
pub async fn check_peer(pair: &Pair, requests: &mpsc::Sender<Request>) {
    let Ok((mode, term, _)) = ask(pair).await else {
        return;
    };
    let ours = pair.standing();
    if mode == Mode::Primary && term > ours.term {
        depose(requests, term, &pair.config.peer).await;
    }
    let both = mode == Mode::Primary && term == ours.term && ours.mode == Mode::Primary;
    if both {
        tracing::error!(
            peer = %pair.config.peer,
            term,
            "TWO PRIMARIES: the other hub issues numbers too, in the same term; make one of them \
             the standby (hub standby --resync) before it gives a number twice"
        );
    }
    pair.set_two_primaries(both);
}

/// Tells the engine a hub of `term` serves (learnt from `by`), and waits until it is recorded.
pub async fn depose(requests: &mpsc::Sender<Request>, term: u64, by: &str) {
    let (respond, done) = oneshot::channel();
    let _ = requests
        .send(Request::Depose {
            term,
            by: by.to_string(),
            respond,
        })
        .await;
    let _ = done.await;
}
