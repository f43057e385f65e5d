//! What following from afar costs the queue (issue #33): `call_next` round trips on one hub, in
//! the same run, with no push subscription and then with 1,000 in the called service; how long
//! the "called" and "near" notices take from the call to a push service on loopback (our own,
//! which checks each VAPID signature and decrypts each message, `testkit::push`); the hub's
//! resident memory with 2,000 subscriptions; and all of it again while half of them point at a
//! push service that never answers.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use testkit::push::PushReceiver;
use testkit::raw::Ws;
use tokio_tungstenite::tungstenite::Message;

use super::{connect, reply, rss_kb, show, start_hub};

/// Calls made at the start of each phase and not timed: the first pushes open connections,
/// sign the VAPID token, fill caches.
const WARM_UP: usize = 10;
/// Subscriptions in the called service for the second phase.
const FOLLOWED: usize = 1000;
/// Subscriptions live for the memory figure and the third phase.
const MOST: usize = 2000;
/// The push service's own POSTs one loopback address may make (the hub allows 30 changes an
/// address, as it does bookings): the bench comes from many, as phones do.
const PER_ADDRESS: usize = 25;
/// How long notices may take to arrive before the figure is called a failure.
const ARRIVES: Duration = Duration::from_secs(60);

pub async fn figures(bin: &Path, dir: &Path, base: &str, rounds: usize) -> anyhow::Result<()> {
    let config = dir.join("push.toml");
    std::fs::write(
        &config,
        format!(
            "{base}\n[notify]\nnear_ahead = 3\ncontact = \"mailto:bench@example.vn\"\n\n\
             [notify.web_push]\nallow_insecure_endpoints = true\n"
        ),
    )?;
    let (hub, _) = start_hub(bin, &config, &dir.join("push.db")).await?;
    let phone = PushReceiver::start().await;
    let mut kiosk = connect(hub.addr, "kiosk", "kiosk-1").await;
    // Enough for three phases of calls and 2,000 subscriptions among those still waiting.
    let calls_per_phase = WARM_UP + rounds;
    let tickets = 3 * calls_per_phase + FOLLOWED;
    let mut tracks = Vec::with_capacity(tickets);
    for i in 0..tickets {
        kiosk
            .send(Message::text(format!(
                r#"{{"type":"cmd","id":"push-{i}","cmd":"issue_ticket","args":{{"service":"S00"}}}}"#
            )))
            .await?;
        let r: serde_json::Value = serde_json::from_str(&reply(&mut kiosk).await?)?;
        let ticket = &r["result"]["ticket"];
        let (Some(number), Some(track)) = (ticket["number"].as_str(), ticket["track"].as_str())
        else {
            anyhow::bail!("issue_ticket refused: {r}");
        };
        tracks.push((number.to_string(), track.to_string()));
    }
    let mut counter = connect(hub.addr, "counter", "counter-1").await;
    counter
        .send(Message::text(r#"{"type":"cmd","id":"login","cmd":"login","args":{"counter":1,"staff":"nv01","pin":"1234"}}"#))
        .await?;
    reply(&mut counter).await?;
    let rss_none = rss_kb(hub.child.id());

    // 1. No subscription anywhere.
    let mut calls = Calls::default();
    let plain = calls.run(&mut counter, rounds, &tracks, None).await?;
    show("call_next round trip, no push subscription", plain);

    // 2. 1,000 subscriptions among the waiting tickets of the service called.
    let mut posts = Posts::new(hub.addr);
    let first = calls.next;
    for (i, (_, track)) in tracks.iter().enumerate().skip(first).take(FOLLOWED) {
        posts
            .subscribe(track, &phone.subscription(&format!("t{i}")))
            .await?;
    }
    // The first four (three or fewer ahead) are told "near" at once: not timed.
    let before = phone.wait_for(4, ARRIVES).await.len();
    let rss_followed = rss_kb(hub.child.id());
    let started = calls.next;
    let followed = calls
        .run(&mut counter, rounds, &tracks, Some((&phone, before)))
        .await?;
    show(
        &format!("call_next round trip, {FOLLOWED} subscriptions"),
        followed,
    );
    let arrived = phone.wait_for(before + 2 * calls_per_phase, ARRIVES).await;
    delivery(&calls, &tracks, &arrived[before..], started + WARM_UP, "");

    // 3. 2,000 live: each ticket still waiting gets a second one, at a push service that
    //    never answers (the hub gives up on each after its time, and tries again).
    let mut live = FOLLOWED - calls_per_phase;
    for (i, (_, track)) in tracks.iter().enumerate().skip(calls.next) {
        if live >= MOST {
            break;
        }
        if i >= first + FOLLOWED {
            posts
                .subscribe(track, &phone.subscription(&format!("t{i}")))
                .await?;
            live += 1;
        }
        posts
            .subscribe(track, &phone.subscription(&format!("t{i}/hang")))
            .await?;
        live += 1;
    }
    let rss_most = rss_kb(hub.child.id());
    let before = phone.received().len();
    let started = calls.next;
    let hanging = calls
        .run(&mut counter, rounds, &tracks, Some((&phone, before)))
        .await?;
    show(
        &format!("call_next round trip, {live} subscriptions, half hang"),
        hanging,
    );
    let arrived = phone.wait_for(before + 2 * calls_per_phase, ARRIVES).await;
    delivery(
        &calls,
        &tracks,
        &arrived[before..],
        started + WARM_UP,
        ", beside hanging ones",
    );
    let mb =
        |kb: Option<u64>| kb.map_or_else(|| "?".into(), |k| format!("{:.1}", k as f64 / 1024.0));
    println!(
        "{:<44} {} MB with none, {} MB with {FOLLOWED}, {} MB with {live}  ({tickets} tickets of the day)",
        "hub RSS with push subscriptions",
        mb(rss_none),
        mb(rss_followed),
        mb(rss_most),
    );
    let refused = phone.refused();
    anyhow::ensure!(
        refused.is_empty(),
        "the push service refused: {:?}",
        &refused[..refused.len().min(3)]
    );
    hub.kill();
    Ok(())
}

/// The calls made so far (tickets are called in the order they were issued): when each ticket
/// (by number) was called, and which comes next.
#[derive(Default)]
struct Calls {
    sent: HashMap<String, Instant>,
    next: usize,
    /// `ticket_notified` events the counter has seen in this phase.
    notified: usize,
}

impl Calls {
    /// `WARM_UP + rounds` calls, each served before the next; the round trip of each timed
    /// `call_next`. With
    /// `notices` (the push service, and what it had before), each call is timed on a quiet hub:
    /// the next waits until this one's "called" and "near" have arrived.
    async fn run(
        &mut self,
        counter: &mut Ws,
        rounds: usize,
        tracks: &[(String, String)],
        notices: Option<(&PushReceiver, usize)>,
    ) -> anyhow::Result<Vec<Duration>> {
        let mut times = Vec::with_capacity(WARM_UP + rounds);
        for round in 0..WARM_UP + rounds {
            let i = self.next;
            anyhow::ensure!(i < tracks.len(), "out of tickets");
            let sent = Instant::now();
            counter
                .send(Message::text(format!(
                    r#"{{"type":"cmd","id":"call-{i}","cmd":"call_next","args":{{}}}}"#
                )))
                .await?;
            let r = self.reply(counter).await?;
            times.push(sent.elapsed());
            anyhow::ensure!(
                r.contains(&format!("\"number\":\"{}\"", tracks[i].0)),
                "call {i} did not call {}: {r}",
                tracks[i].0
            );
            self.sent.insert(tracks[i].0.clone(), sent);
            self.next += 1;
            counter
                .send(Message::text(format!(
                    r#"{{"type":"cmd","id":"serve-{i}","cmd":"start_serving","args":{{}}}}"#
                )))
                .await?;
            self.reply(counter).await?;
            if let Some((phone, before)) = notices {
                let expected = before + 2 * (round + 1);
                anyhow::ensure!(
                    phone.wait_for(expected, ARRIVES).await.len() >= expected,
                    "the notices of call {i} did not arrive"
                );
                // And the hub has recorded that they did (`ticket_notified`, a commit each).
                while self.notified < 2 * (round + 1) {
                    self.next_frame(counter).await?;
                }
            }
        }
        self.notified = 0;
        Ok(times.split_off(WARM_UP))
    }

    /// The next reply, counting the `ticket_notified` events that come before it.
    async fn reply(&mut self, counter: &mut Ws) -> anyhow::Result<String> {
        loop {
            let frame = self.next_frame(counter).await?;
            if frame.starts_with("{\"type\":\"reply\"") {
                return Ok(frame);
            }
        }
    }

    async fn next_frame(&mut self, counter: &mut Ws) -> anyhow::Result<String> {
        match counter.next().await {
            Some(Ok(Message::Text(t))) => {
                if t.as_str().contains("\"kind\":\"ticket_notified\"") {
                    self.notified += 1;
                }
                Ok(t.to_string())
            }
            Some(Ok(_)) => Ok(String::new()),
            _ => anyhow::bail!("the counter's connection was lost"),
        }
    }
}

/// From the call to the push service: "called" for the ticket called, and "near" for the one
/// that call brought within `near_ahead` (three places behind it, so the fourth); for the
/// calls from the `from`th ticket on.
fn delivery(
    calls: &Calls,
    tracks: &[(String, String)],
    arrived: &[testkit::push::Received],
    from: usize,
    beside: &str,
) {
    let mut called = vec![];
    let mut near = vec![];
    for r in arrived {
        let number = r.message["ticket"].as_str().unwrap_or_default();
        match r.message["kind"].as_str() {
            Some("called") => {
                let timed = tracks.iter().position(|(n, _)| n == number) >= Some(from);
                if let Some(sent) = calls.sent.get(number).filter(|_| timed) {
                    called.push(r.at.saturating_duration_since(*sent));
                }
            }
            Some("near") => {
                let index = tracks.iter().position(|(n, _)| n == number);
                // The 4th after a ticket became near when that ticket was called; those near
                // from the start (subscribed with three or fewer ahead) are not timed.
                let trigger = index.and_then(|i| i.checked_sub(4)).filter(|t| *t >= from);
                if let Some(sent) = trigger.and_then(|t| calls.sent.get(&tracks[t].0)) {
                    near.push(r.at.saturating_duration_since(*sent));
                }
            }
            _ => {}
        }
    }
    show(
        &format!("push \"called\": call → push service{beside}"),
        called,
    );
    show(&format!("push \"near\": call → push service{beside}"), near);
}

/// Subscriptions posted as the tracking page does, from as many loopback addresses as phones.
struct Posts {
    hub: SocketAddr,
    made: usize,
}

impl Posts {
    fn new(hub: SocketAddr) -> Posts {
        Posts { hub, made: 0 }
    }

    async fn subscribe(&mut self, track: &str, sub: &serde_json::Value) -> anyhow::Result<()> {
        let n = self.made / PER_ADDRESS;
        let from = IpAddr::V4(Ipv4Addr::new(127, 1, (n / 250) as u8, (n % 250 + 2) as u8));
        self.made += 1;
        let (status, body) = testkit::raw::request_from(
            Some(from),
            self.hub,
            "POST",
            &format!("/t/{track}/push"),
            None,
            Some(sub),
        )
        .await;
        anyhow::ensure!(status == 201, "subscribing refused: {status} {body}");
        Ok(())
    }
}
