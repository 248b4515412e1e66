//! The pull loop: pull requests while running, deliveries, acks after the handler's result,
//! progress acks for held messages.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::pull::Batch;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::AckKind;
use async_nats::{Client, Subject};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant, MissedTickBehavior};

use crate::inflight::InFlight;
use crate::source::Shared;
use crate::stats::Counters;
use crate::{Delivery, Failure, Feed, JetStreamMessage, NotHandled, SourceConfig};

const TARGET: &str = "actix_backpressure::nats";
/// Time given to a request to the client (making a pull request, sending an ack).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time past a pull request's expiry after which it is given up: the server that had it is
/// gone (its expiry status never came).
const PULL_GRACE: Duration = Duration::from_secs(1);
/// First and longest wait before a failed pull request is made again.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// What the loop runs with.
pub(crate) struct Puller<F> {
    pub(crate) config: Arc<SourceConfig>,
    pub(crate) client: Client,
    pub(crate) consumer: PullConsumer,
    pub(crate) feed: Arc<F>,
    pub(crate) shared: Arc<Shared>,
}

type Deliveries = FuturesUnordered<BoxFuture<'static, (u64, u64, Delivery)>>;

/// Sets `finished` when dropped: the source counts as ended whatever way its task ends.
struct Finished(watch::Sender<bool>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

/// Runs the source until it is told to stop (or its feed is closed), then settles every
/// message it holds.
pub(crate) async fn run<F: Feed>(
    puller: Puller<F>,
    mut stop: watch::Receiver<bool>,
    finished: watch::Sender<bool>,
) {
    let _finished = Finished(finished);
    let Puller {
        config,
        client,
        consumer,
        feed,
        shared,
    } = puller;
    let counters = &shared.counters;
    let gate = shared.gate.clone();
    let name = Arc::clone(&shared.name);
    let acks = Acks {
        client: &client,
        counters,
        name: &name,
    };

    let mut held = InFlight::default();
    // Pulled while paused (or stopping): not delivered yet, by token.
    let mut waiting: VecDeque<(u64, JetStreamMessage)> = VecDeque::new();
    let mut delivering: Deliveries = FuturesUnordered::new();
    let mut batch: Option<Batch> = None;
    let mut batch_deadline = Instant::now();
    let mut retry_at: Option<Instant> = None;
    let mut backoff = BACKOFF_MIN;
    let mut stopping = *stop.borrow();

    let threshold = config.progress_threshold();
    let mut keepalive = tokio::time::interval((threshold / 4).max(Duration::from_millis(5)));
    keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);

    tracing::info!(target: TARGET, source = &*name, stream = %config.stream, durable = %config.durable, "started");
    loop {
        let paused = gate.is_paused();
        if stopping {
            // Undelivered messages go back to the server at once, for another process.
            while let Some((token, msg)) = waiting.pop_front() {
                if let Some(reply) = held.release(token) {
                    Counters::bump(&counters.released);
                    acks.send(reply, AckKind::Nak(None), msg.stream_sequence())
                        .await;
                }
            }
        } else if !paused {
            while let Some((token, msg)) = waiting.pop_front() {
                delivering.push(deliver(&feed, token, msg));
            }
        }

        if batch.is_none() && !paused && !stopping && retry_at.is_none() {
            let room = config.max_in_flight.saturating_sub(held.len());
            // Pull once there is room for half a batch (or nothing is held): fewer, fuller
            // requests than one per settled message.
            let worth = (config.batch.min(config.max_in_flight) / 2).max(1);
            if room >= worth || (room > 0 && held.len() == 0) {
                let size = room.min(config.batch);
                let request = consumer
                    .batch()
                    .max_messages(size)
                    .expires(config.expires)
                    .messages();
                match tokio::time::timeout(CLIENT_TIMEOUT, request).await {
                    Ok(Ok(pulled)) => {
                        Counters::bump(&counters.pulls);
                        batch = Some(pulled);
                        batch_deadline = Instant::now() + config.expires + PULL_GRACE;
                    }
                    failed => {
                        Counters::bump(&counters.pull_errors);
                        let reason = match failed {
                            Ok(Err(err)) => err.to_string(),
                            _ => "timed out".to_owned(),
                        };
                        tracing::warn!(target: TARGET, source = &*name, %reason, retry_in = ?backoff, "pull request failed");
                        retry_at = Some(Instant::now() + backoff);
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                    }
                }
            }
        }

        if stopping && batch.is_none() && waiting.is_empty() && delivering.is_empty() {
            break;
        }

        tokio::select! {
            changed = stop.changed(), if !stopping => {
                // An error cannot happen (the sender lives in `shared`, held here); stop then.
                if changed.is_err() || *stop.borrow() {
                    stopping = true;
                    tracing::info!(target: TARGET, source = &*name, "stopping");
                }
            }
            item = next(&mut batch), if batch.is_some() => match item {
                Some(Ok(message)) => {
                    backoff = BACKOFF_MIN;
                    let Some((msg, reply)) = JetStreamMessage::from_delivery(message.message) else {
                        tracing::warn!(target: TARGET, source = &*name, "ignored a message without a JetStream ack subject");
                        continue;
                    };
                    Counters::bump(&counters.pulled);
                    if msg.is_redelivery() {
                        Counters::bump(&counters.redelivered);
                    }
                    let token = held.hold(reply, Instant::now());
                    if gate.is_paused() || stopping {
                        waiting.push_back((token, msg));
                    } else {
                        delivering.push(deliver(&feed, token, msg));
                    }
                }
                Some(Err(err)) => {
                    // A status the server sent instead of messages (the consumer was deleted,
                    // a limit was exceeded …): try again after a backoff.
                    Counters::bump(&counters.pull_errors);
                    tracing::warn!(target: TARGET, source = &*name, %err, retry_in = ?backoff, "pull request ended with an error");
                    batch = None;
                    retry_at = Some(Instant::now() + backoff);
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
                None => {
                    // The request expired or was filled: the server is answering.
                    backoff = BACKOFF_MIN;
                    batch = None;
                }
            },
            Some((token, sequence, delivery)) = delivering.next(), if !delivering.is_empty() => {
                let refused = match delivery {
                    Delivery::NotHandled(NotHandled::Closed) => {
                        if !stopping {
                            tracing::warn!(target: TARGET, source = &*name, "the feed is closed (its actor is gone): stopping the source");
                            stopping = true;
                        }
                        false
                    }
                    Delivery::NotHandled(_) => true,
                    _ => false,
                };
                settle(&acks, &config, &mut held, token, sequence, delivery).await;
                if refused {
                    // The mailbox is full: pull no more for a while rather than have the next
                    // messages refused too.
                    let until = Instant::now() + config.refused_delay;
                    retry_at = Some(retry_at.map_or(until, |at| at.max(until)));
                }
            }
            _ = keepalive.tick() => {
                for reply in held.due(Instant::now(), threshold) {
                    if acks.publish(reply, AckKind::Progress).await {
                        Counters::bump(&counters.progress_acks);
                    }
                }
            }
            _ = gate.opened(), if paused && !stopping => {}
            _ = sleep_until(batch_deadline), if batch.is_some() => {
                Counters::bump(&counters.pull_errors);
                tracing::warn!(target: TARGET, source = &*name, retry_in = ?backoff, "a pull request outlived its expiry (the server went away?): giving it up");
                batch = None;
                retry_at = Some(Instant::now() + backoff);
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
            _ = sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() && batch.is_none() => {
                retry_at = None;
            }
        }
    }
    // Let the last acks reach the server before the source counts as ended.
    let _ = tokio::time::timeout(CLIENT_TIMEOUT, client.flush()).await;
    tracing::info!(target: TARGET, source = &*name, stats = ?shared.counters.snapshot(), "stopped");
}

/// The next message of the outstanding pull request.
async fn next(
    batch: &mut Option<Batch>,
) -> Option<Result<async_nats::jetstream::Message, async_nats::Error>> {
    match batch {
        Some(batch) => batch.next().await,
        None => None,
    }
}

/// Hands `msg` to the feed; resolves to its token, sequence and what became of it.
fn deliver<F: Feed>(
    feed: &Arc<F>,
    token: u64,
    msg: JetStreamMessage,
) -> BoxFuture<'static, (u64, u64, Delivery)> {
    let feed = Arc::clone(feed);
    let sequence = msg.stream_sequence();
    async move {
        // A feed that panics must not take the source down with the messages it holds:
        // the message counts as not handled (nak'ed, delivered again).
        let delivery = AssertUnwindSafe(feed.feed(msg))
            .catch_unwind()
            .await
            .unwrap_or(Delivery::NotHandled(NotHandled::Stopped));
        (token, sequence, delivery)
    }
    .boxed()
}

/// Acks, nak's or terminates a delivered message according to what became of it.
async fn settle(
    acks: &Acks<'_>,
    config: &SourceConfig,
    held: &mut InFlight,
    token: u64,
    sequence: u64,
    delivery: Delivery,
) {
    let Some(reply) = held.release(token) else {
        return;
    };
    let counters = acks.counters;
    let kind = match delivery {
        Delivery::Handled => {
            Counters::bump(&counters.acked);
            AckKind::Ack
        }
        Delivery::Failed(err) => match err.failure() {
            Failure::Terminate => {
                Counters::bump(&counters.terminated);
                tracing::warn!(target: TARGET, source = acks.name, sequence, reason = err.reason(), "handler failed for good: message terminated");
                AckKind::Term
            }
            Failure::Retry(delay) => {
                Counters::bump(&counters.retried);
                let delay = delay.unwrap_or(config.retry_delay);
                tracing::debug!(target: TARGET, source = acks.name, sequence, reason = err.reason(), ?delay, "handler failed: message nak'ed");
                AckKind::Nak(Some(delay))
            }
        },
        Delivery::NotHandled(reason) => {
            Counters::bump(&counters.refused);
            tracing::debug!(target: TARGET, source = acks.name, sequence, %reason, "message did not reach the handler: nak'ed");
            AckKind::Nak(Some(config.refused_delay))
        }
    };
    acks.send(reply, kind, sequence).await;
}

/// Sends acks of every kind to the server.
struct Acks<'a> {
    client: &'a Client,
    counters: &'a Counters,
    name: &'a str,
}

impl Acks<'_> {
    /// Sends an ack (of any kind) that settles a message; a failure is counted and logged:
    /// the server will deliver the message again after `ack_wait`.
    async fn send(&self, reply: Subject, kind: AckKind, sequence: u64) {
        if !self.publish(reply, kind).await {
            Counters::bump(&self.counters.ack_errors);
            tracing::warn!(target: TARGET, source = self.name, sequence, ?kind, "could not send the ack: the message will be delivered again");
        }
    }

    /// Publishes `kind` to `reply`; whether the client took it.
    async fn publish(&self, reply: Subject, kind: AckKind) -> bool {
        let payload: Bytes = kind.into();
        matches!(
            tokio::time::timeout(CLIENT_TIMEOUT, self.client.publish(reply, payload)).await,
            Ok(Ok(()))
        )
    }
}
