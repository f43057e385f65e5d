//! The primary's side of `/replicate`: a standby's link — its secret checked, its log checked
//! against ours, then what it misses read from the database and, once caught up, each commit
//! as the engine ships it; its acknowledgements handed to the [`Pair`]. Also the answer to a
//! hub that only asks what this one is.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{broadcast, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use hub_engine::clock::Clock;
use hub_engine::pair::messages::{self, Batch, FromPrimary, FromStandby};
use hub_engine::pair::{Mode, Pair};
use ledger::Reader;

/// Events read at a time for a catch-up.
const CATCH_UP_EVENTS: usize = 500;
/// A catch-up message is cut at about this many bytes (a day's first event carries the whole
/// day's snapshot in its wire frame), far below the link's 64 MiB message limit.
const CATCH_UP_BYTES: usize = 4 << 20;
/// Replies per catch-up message.
const CATCH_UP_REPLIES: usize = 2000;
/// How long the other hub has to say what it wants.
const FIRST_MESSAGE: Duration = Duration::from_secs(5);
/// The link is pinged this often, so a standby notices a dead primary.
const PING: Duration = Duration::from_secs(10);

static CONNECTIONS: AtomicU64 = AtomicU64::new(1);

/// What a standby's link needs besides its socket.
pub struct Served {
    pub pair: Arc<Pair>,
    pub db: PathBuf,
    pub clock: Arc<dyn Clock>,
    pub display_generations: hub_engine::DisplayGenerations,
    /// The engine, for a promotion.
    pub requests: tokio::sync::mpsc::Sender<hub_engine::Request>,
    pub shutdown: watch::Receiver<bool>,
    /// Who connected, for the log.
    pub peer: String,
    pub until_checked: Checking,
}

/// What a connection holds until the other hub's secret is checked: its places among the
/// server's connections that have not said who they are (dropped once it has), and the
/// signal that a newcomer needed its place (it is then closed).
pub struct Checking {
    pub places: Box<dyn Send + Sync>,
    pub evicted: watch::Receiver<bool>,
}

/// How a connection on `/replicate` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Its first message had the wrong secret: the server throttles and counts these.
    WrongSecret,
    /// Late, unreadable, or its place needed by a newcomer.
    Refused,
    /// The other hub, its secret right.
    Served,
}

/// Serves one connection on `/replicate` until it ends.
pub async fn serve<S>(mut ws: WebSocketStream<S>, mut served: Served) -> Ended
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut log = Log::new(served.db.clone());
    let mut evicted = served.until_checked.evicted.clone();
    let wish = first_word(&mut ws, &mut evicted, &served).await;
    // Checked (or refused): no longer one of the connections that say nothing.
    served.until_checked.places = Box::new(());
    match wish {
        Ok(Wish::Promote { force }) => promote(&mut ws, &served, &mut log, force).await,
        Ok(Wish::Ask) => say_standing(&mut ws, &served.pair, &mut log).await,
        Ok(Wish::Follow { seq, term }) => follow(ws, served, log, seq, term).await,
        Err(ended) => return ended,
    }
    Ended::Served
}

/// What the other hub asked for in its first message, its secret checked.
enum Wish {
    /// Be sent every event after `seq` (of `term`), then each commit.
    Follow { seq: u64, term: u64 },
    /// Be told what this hub is.
    Ask,
    /// Make this hub the primary (`hub promote` on this PC).
    Promote { force: bool },
}

/// The first message, refused when it is late, unreadable or has the wrong secret.
async fn first_word<S>(
    ws: &mut WebSocketStream<S>,
    evicted: &mut watch::Receiver<bool>,
    served: &Served,
) -> Result<Wish, Ended>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let first = tokio::select! {
        first = tokio::time::timeout(FIRST_MESSAGE, ws.next()) => first,
        _ = evicted.changed() => return Err(Ended::Refused),
    };
    let first = match first {
        Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str::<FromStandby>(t.as_str()).ok(),
        _ => None,
    };
    let (token, wish) = match first {
        Some(FromStandby::Follow { token, seq, term }) => (token, Wish::Follow { seq, term }),
        Some(FromStandby::Ask { token }) => (token, Wish::Ask),
        Some(FromStandby::Promote { token, force }) => (token, Wish::Promote { force }),
        _ => {
            refuse(ws, "bad_request", "say follow or ask first").await;
            return Err(Ended::Refused);
        }
    };
    if !served.pair.token_matches(&token) {
        refuse(ws, "unauthorized", "wrong replication secret").await;
        return Err(Ended::WrongSecret);
    }
    Ok(wish)
}

/// `hub promote`, asked of this standby: the engine decides, the answer is said and the link
/// closed.
async fn promote<S>(ws: &mut WebSocketStream<S>, served: &Served, log: &mut Log, force: bool)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    tracing::warn!(peer = %served.peer, force, "REPLICATION: asked to promote this hub");
    let (respond, answer) = tokio::sync::oneshot::channel();
    let asked = served
        .requests
        .send(hub_engine::Request::Promote { force, respond })
        .await;
    let answer = match (asked, answer.await) {
        (Ok(()), Ok(Ok(term))) => {
            let seq = log.read(|r| r.last_seq()).await.unwrap_or(0);
            FromPrimary::Promoted { term, seq }
        }
        (Ok(()), Ok(Err(message))) => FromPrimary::Refused {
            reason: "not_promoted".into(),
            message,
        },
        _ => FromPrimary::Refused {
            reason: "internal".into(),
            message: "the engine has stopped".into(),
        },
    };
    let _ = ws.send(Message::text(messages::text(&answer))).await;
    let _ = ws.close(None).await;
}

/// The other hub asks what this one is: its mode, term and last `seq`.
async fn say_standing<S>(ws: &mut WebSocketStream<S>, pair: &Pair, log: &mut Log)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let standing = pair.standing();
    let seq = log.read(|r| r.last_seq()).await.unwrap_or(0);
    let answer = FromPrimary::Standing {
        mode: standing.mode,
        term: standing.term,
        seq,
    };
    let _ = ws.send(Message::text(messages::text(&answer))).await;
    let _ = ws.close(None).await;
}

/// A standby follows from `from` (of `their_term`): refused unless this hub is the primary and
/// the two logs agree there; then started, caught up and kept in step until the link ends.
async fn follow<S>(
    mut ws: WebSocketStream<S>,
    served: Served,
    mut log: Log,
    from: u64,
    their_term: u64,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Served {
        pair,
        clock,
        display_generations,
        mut shutdown,
        peer,
        ..
    } = served;
    let standing = pair.standing();
    if standing.mode != Mode::Primary {
        let message = format!("this hub is not the primary ({:?})", standing.mode);
        refuse(&mut ws, "not_primary", &message).await;
        return;
    }
    // Subscribed before the database is read: nothing committed in between is missed.
    let mut live = pair.live.subscribe();
    let (head, secrets) = match agreed_log(&mut log, from, their_term).await {
        Ok(checked) => checked,
        Err((code, message)) => {
            if code == "diverged" {
                tracing::error!(%peer, %message, "REPLICATION: refused a standby whose log diverged");
            }
            refuse(&mut ws, code, &message).await;
            return;
        }
    };
    let connection = CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    let in_step = pair.standby_connected(connection, from, clock.now());
    tracing::info!(%peer, from, head, "REPLICATION: a standby follows from event {from}");
    let start = FromPrimary::Start {
        term: standing.term,
        head,
        secrets: secrets.into_iter().collect(),
        display_generations: hub_engine::generations_by_name(&display_generations),
    };
    let mut said = ws
        .send(Message::text(messages::text(&start)))
        .await
        .map_err(|e| e.to_string());
    if in_step && said.is_ok() {
        said = send_batch(&mut ws, in_step_notice(from)).await;
    }
    let ended = match said {
        Ok(()) => {
            follow_on(
                &mut ws,
                &pair,
                &mut log,
                connection,
                from,
                &mut live,
                &mut shutdown,
            )
            .await
        }
        Err(e) => e,
    };
    pair.standby_gone(connection, clock.now());
    tracing::warn!(%peer, reason = %ended, "REPLICATION: the standby's link ended");
    let _ = ws.close(None).await;
}

/// This log's head and the centre's secrets, if a standby holding event `from` of
/// `their_term` agrees with it; otherwise the refusal's code and message.
async fn agreed_log(
    log: &mut Log,
    from: u64,
    their_term: u64,
) -> Result<(u64, Vec<(String, String)>), (&'static str, String)> {
    let checked = log
        .read(move |r| {
            let head = r.last_seq()?;
            let ours = r.term_at(from)?;
            let secrets = r.secrets()?;
            Ok((head, ours, secrets))
        })
        .await;
    let (head, our_term, secrets) =
        checked.map_err(|e| ("internal", format!("cannot read the log: {e}")))?;
    if from > head || our_term != their_term {
        let theirs = if from > head {
            format!("only {head} events")
        } else {
            format!("term {our_term} there")
        };
        return Err((
            "diverged",
            format!(
                "the standby's log differs from the primary's: it has event {from} of term {their_term}, \
                 the primary {theirs} — re-join it with `hub standby --resync`"
            ),
        ));
    }
    Ok((head, secrets.into_iter().collect()))
}

/// Catch-up, then live commits, until the link ends; returns why it ended.
async fn follow_on<S>(
    ws: &mut WebSocketStream<S>,
    pair: &Pair,
    log: &mut Log,
    connection: u64,
    from: u64,
    live: &mut broadcast::Receiver<Arc<hub_engine::pair::Shipped>>,
    shutdown: &mut watch::Receiver<bool>,
) -> String
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut sent = from;
    // Each stretch read from the database is preceded by the replies of its days, read after
    // its events: they cover every event up to the head as it was then (`replies_cover`). The
    // live batches those events came in (skipped, or dropped when the link lagged) carried
    // them; a stretch that goes past that head reads them again.
    let mut replies_cover = 0;
    let mut behind = true;
    let mut ping = tokio::time::interval(PING);
    loop {
        if behind {
            match catch_up(ws, log, sent, &mut replies_cover).await {
                Ok(Some(last)) => {
                    sent = last;
                    continue;
                }
                Ok(None) => behind = false,
                Err(e) => return e,
            }
        }
        tokio::select! {
            shipped = live.recv() => match shipped {
                Ok(s) if s.first == 0 => {
                    if let Err(e) = ws.send(Message::text(s.text.clone())).await {
                        return e.to_string();
                    }
                }
                Ok(s) if s.last <= sent => {}
                Ok(s) if s.first > sent + 1 => behind = true,
                Ok(s) => {
                    if let Err(e) = ws.send(Message::text(s.text.clone())).await {
                        return e.to_string();
                    }
                    sent = s.last;
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::info!(connection, missed, "REPLICATION: the standby's link fell behind the commits; reading what it missed from the database");
                    behind = true;
                }
                Err(broadcast::error::RecvError::Closed) => return "the hub is stopping".into(),
            },
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(t))) => match serde_json::from_str::<FromStandby>(t.as_str()) {
                    Ok(FromStandby::Ack { seq }) => {
                        if pair.acknowledged(connection, seq)
                            && let Err(e) = send_batch(ws, in_step_notice(seq)).await
                        {
                            return e;
                        }
                    }
                    _ => return "the standby said something unexpected".into(),
                },
                Some(Ok(Message::Close(_))) | None => return "the standby closed the link".into(),
                Some(Ok(_)) => {}
                Some(Err(e)) => return e.to_string(),
            },
            _ = ping.tick() => {
                if let Err(e) = ws.send(Message::Ping(Default::default())).await {
                    return e.to_string();
                }
            }
            _ = shutdown.changed() => return "the hub is stopping".into(),
        }
        if pair.standing().mode != Mode::Primary {
            return "this hub is no longer the primary".into();
        }
    }
}

/// Sends the next events after `after` from the database; `None` when there are none.
async fn catch_up<S>(
    ws: &mut WebSocketStream<S>,
    log: &mut Log,
    after: u64,
    replies_cover: &mut u64,
) -> Result<Option<u64>, String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let covered = *replies_cover;
    let read_batch = log
        .read(move |r| {
            let rows = r.replication_after(after, CATCH_UP_EVENTS)?;
            // Read after the events, the replies cover at least them (each reply is committed
            // with its events), and every event up to the head read just before them.
            let past_cover = rows.last().is_some_and(|(last, _)| last.seq > covered);
            let (head, replies) = match rows.first() {
                Some((first, _)) if past_cover => (r.last_seq()?, r.replies_since(first.day)?),
                _ => (r.last_seq()?, vec![]),
            };
            Ok((head, rows, replies, past_cover))
        })
        .await;
    let (head, rows, replies, past_cover) =
        read_batch.map_err(|e| format!("cannot read the log: {e}"))?;
    if rows.is_empty() {
        return Ok(None);
    }
    if past_cover {
        *replies_cover = head;
    }
    // The idempotency memory of the days to come first, in parts.
    for part in replies.chunks(CATCH_UP_REPLIES) {
        let batch = Batch {
            head,
            sync: false,
            events: vec![],
            replies: part.iter().map(messages::Reply::of).collect(),
        };
        send_batch(ws, batch).await?;
    }
    let mut last = after;
    let mut events = vec![];
    let mut bytes = 0;
    for (row, wire) in rows {
        bytes += row.body.len() + wire.as_ref().map_or(0, String::len);
        last = row.seq;
        events.push(messages::Event::of_row(&row, wire));
        if bytes >= CATCH_UP_BYTES {
            let part = std::mem::take(&mut events);
            send_batch(
                ws,
                Batch {
                    head,
                    sync: false,
                    events: part,
                    replies: vec![],
                },
            )
            .await?;
            bytes = 0;
        }
    }
    if !events.is_empty() {
        send_batch(
            ws,
            Batch {
                head,
                sync: false,
                events,
                replies: vec![],
            },
        )
        .await?;
    }
    Ok(Some(last))
}

/// Tells a standby that holds everything up to `head` that every answer now waits for it.
fn in_step_notice(head: u64) -> Batch {
    Batch {
        head,
        sync: true,
        events: vec![],
        replies: vec![],
    }
}

async fn send_batch<S>(ws: &mut WebSocketStream<S>, batch: Batch) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let text = messages::text(&FromPrimary::Batch(Box::new(batch)));
    ws.send(Message::text(text))
        .await
        .map_err(|e| e.to_string())
}

/// The log as one link reads it: a read-only connection, opened at the first read and kept
/// for the next ones, used off the async threads.
struct Log {
    db: PathBuf,
    reader: Option<Reader>,
}

impl Log {
    fn new(db: PathBuf) -> Log {
        Log { db, reader: None }
    }

    async fn read<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Reader) -> Result<T, ledger::LedgerError> + Send + 'static,
    ) -> Result<T, ledger::LedgerError> {
        let db = self.db.clone();
        let kept = self.reader.take();
        let read = tokio::task::spawn_blocking(move || {
            let mut reader = match kept {
                Some(reader) => reader,
                None => match Reader::open(&db) {
                    Ok(reader) => reader,
                    Err(e) => return (None, Err(e)),
                },
            };
            let out = f(&mut reader);
            (Some(reader), out)
        })
        .await;
        match read {
            Ok((reader, out)) => {
                self.reader = reader;
                out
            }
            Err(e) => Err(ledger::LedgerError::BadSetting {
                what: format!("a read of the log stopped: {e}"),
            }),
        }
    }
}

async fn refuse<S>(ws: &mut WebSocketStream<S>, reason: &str, message: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let refused = FromPrimary::Refused {
        reason: reason.into(),
        message: message.into(),
    };
    let _ = ws.send(Message::text(messages::text(&refused))).await;
    let _ = ws.close(None).await;
}
