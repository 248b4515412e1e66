//! `JetStreamSource`: a durable pull consumer bound and ready; `SourceHandle`: the running
//! source, pausable by a pressure supervisor.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix_backpressure_mailbox::PauseGate;
use actix_backpressure_supervisor::Upstream;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::{Client, ConnectOptions, Event};
use async_trait::async_trait;
use tokio::sync::watch;

use crate::metrics::Gauges;
use crate::stats::Counters;
use crate::{consumer, pull, Feed, SourceConfig, SourceError, SourceStats};

/// A durable JetStream pull consumer, bound and checked, ready to feed an actor: the upstream
/// of a bounded mailbox that outlives crashes.
///
/// [`connect`](Self::connect) connects to the server, finds the stream (or creates it, when
/// configured to), and creates the durable consumer or checks that the existing one has the
/// configured settings. [`start`](Self::start) then runs the source on the current Tokio
/// runtime (an actix `System` is one), delivering each message to a [`Feed`] — a
/// [`BoundedAddr`](actix_backpressure_mailbox::BoundedAddr) of an actor that handles
/// [`JetStreamMessage`](crate::JetStreamMessage) — and returns a [`SourceHandle`].
///
/// # What the source does
///
/// - **Pulls** with `batch` requests of at most [`batch`](SourceConfig::batch) messages, and
///   holds at most [`max_in_flight`](SourceConfig::max_in_flight) messages (pulled, not yet
///   acked); the server's [`max_ack_pending`](SourceConfig::max_ack_pending) bounds them over
///   all the processes sharing the durable consumer.
/// - **Delivers** every pulled message to the feed (many at once), and **acks it only once the
///   handler's result is known**: ack on success, nak with a delay (or term) on a
///   [`HandlerError`](crate::HandlerError), nak when it never reached the handler. Nothing is
///   acked that was not handled, so nothing is lost; a crash before an ack means a redelivery
///   (at least once: see [`Dedup`](crate::Dedup)).
/// - **Keeps held messages alive**: a message held longer than
///   [`progress_after`](SourceConfig::progress_after) × `ack_wait` (waiting for a resume, for
///   room in the mailbox, in the mailbox or in the handler) gets a progress ack, so the server
///   does not deliver it again meanwhile.
/// - **Pauses** ([`SourceHandle::pause`], or a supervisor through [`Upstream`]): no new pull
///   request while paused. Messages of the request outstanding at the pause still arrive (at
///   most one `batch`); they are held, with progress acks, and delivered after the resume.
///   Deliveries under way finish.
/// - **Refreshes** the gauges `upstream_lag_messages` and `upstream_in_flight` (see
///   [`metrics`](crate::metrics)) every [`gauge_interval`](SourceConfig::gauge_interval),
///   paused or not.
/// - **Reconnects** after the server restarts (the client retries for ever, with a backoff up
///   to 4 s); a pull request that was lost with the server is abandoned after `expires` plus
///   a grace period, and a new one made.
///
/// # Per overflow policy of the fed mailbox
///
/// | policy | a full mailbox | the message |
/// |---|---|---|
/// | `Block` | the delivery waits for room: back-pressure up to the server | handled, acked |
/// | `Reject` | refused at once | nak'ed after [`refused_delay`](SourceConfig::refused_delay), delivered again |
/// | `DropNewest` | discarded on arrival | nak'ed after `refused_delay`, delivered again |
/// | `DropOldest` | the oldest queued message is evicted | the evicted one is nak'ed, delivered again |
///
/// Under the lossy policies nothing is lost either: a message is acked only once handled.
/// After a refusal the source makes no pull request for `refused_delay`; still, each refusal
/// is a redelivery (counted toward [`max_deliver`](SourceConfig::max_deliver)), so pair them
/// with a [`PressureSupervisor`](actix_backpressure_supervisor::PressureSupervisor) that pauses
/// the source, or keep `max_in_flight` at most the mailbox's capacity.
///
/// When the feed reports its actor gone ([`NotHandled::Closed`](crate::NotHandled::Closed)),
/// the source stops by itself: it nak's what it holds and ends.
pub struct JetStreamSource {
    config: Arc<SourceConfig>,
    client: Client,
    consumer: PullConsumer,
    connected: Arc<AtomicU64>,
}

impl JetStreamSource {
    /// Connects to the server at `url` (for example `nats://127.0.0.1:4222`; several may be
    /// given, separated by commas) and binds to the stream and durable consumer of `config`.
    ///
    /// # Errors
    ///
    /// [`SourceError::Config`] for an invalid configuration, [`SourceError::InvalidUrl`] or
    /// [`SourceError::Connect`] when no connection can be made (no retry: one attempt per
    /// server), [`SourceError::JetStreamUnavailable`], [`SourceError::StreamNotFound`],
    /// [`SourceError::ConsumerMismatch`] when the durable consumer exists with other settings,
    /// [`SourceError::Server`] for anything else the server refused.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the connection. A stream or consumer created before that
    /// stays on the server, as it would after a successful call.
    pub async fn connect(url: &str, config: SourceConfig) -> Result<Self, SourceError> {
        Self::connect_with(url, ConnectOptions::new(), config).await
    }

    /// [`connect`](Self::connect) with the client's options (credentials, TLS, timeouts …).
    /// The source sets the client's name (to the source's name) and its event callback (to
    /// count reconnects), replacing those of `options`.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    ///
    /// # Cancel safety
    ///
    /// As [`connect`](Self::connect).
    pub async fn connect_with(
        url: &str,
        options: ConnectOptions,
        config: SourceConfig,
    ) -> Result<Self, SourceError> {
        config.validate()?;
        let connected = Arc::new(AtomicU64::new(0));
        let events = Arc::clone(&connected);
        let options = options.name(config.get_name()).event_callback(move |event| {
            let events = Arc::clone(&events);
            async move {
                match event {
                    Event::Connected => {
                        // Relaxed: a counter.
                        events.fetch_add(1, Ordering::Relaxed);
                    }
                    Event::Disconnected => {
                        tracing::warn!(target: "actix_backpressure::nats", "disconnected from the NATS server")
                    }
                    _ => {}
                }
            }
        });
        let client = consumer::connect(url, options).await?;
        let mut source = Self::bind(client, config).await?;
        source.connected = connected;
        Ok(source)
    }

    /// Binds to the stream and durable consumer of `config` through a client connected
    /// already. Reconnects are not counted in [`SourceStats::reconnects`] then.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect), but for the connection errors.
    ///
    /// # Cancel safety
    ///
    /// As [`connect`](Self::connect).
    pub async fn with_client(client: Client, config: SourceConfig) -> Result<Self, SourceError> {
        config.validate()?;
        Self::bind(client, config).await
    }

    async fn bind(client: Client, config: SourceConfig) -> Result<Self, SourceError> {
        let js = async_nats::jetstream::new(client.clone());
        let consumer = consumer::bind(&js, &config).await?;
        Ok(JetStreamSource {
            config: Arc::new(config),
            client,
            consumer,
            connected: Arc::new(AtomicU64::new(1)),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SourceConfig {
        &self.config
    }

    /// The NATS client (to publish, for instance).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Starts pulling and delivering to `feed`, on the current Tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (every actix `System` has one), like [`tokio::spawn`].
    pub fn start<F: Feed>(self, feed: F) -> SourceHandle {
        let (stop, stop_rx) = watch::channel(false);
        let (finished_tx, finished) = watch::channel(false);
        let shared = Arc::new(Shared {
            name: Arc::from(self.config.get_name()),
            gate: PauseGate::new(),
            counters: Counters::default(),
            connected: self.connected,
            gauges: ServerGauges::default(),
            stop,
            finished,
        });
        let gauges = Gauges::register(&shared.name);
        tokio::spawn(crate::metrics::refresh(
            self.consumer.clone(),
            self.config.gauge_interval,
            gauges,
            Arc::clone(&shared),
        ));
        tokio::spawn(pull::run(
            pull::Puller {
                config: self.config,
                client: self.client,
                consumer: self.consumer,
                feed: Arc::new(feed),
                shared: Arc::clone(&shared),
            },
            stop_rx,
            finished_tx,
        ));
        SourceHandle { shared }
    }
}

impl fmt::Debug for JetStreamSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JetStreamSource")
            .field("stream", &self.config.stream)
            .field("durable", &self.config.durable)
            .field("name", &self.config.get_name())
            .finish()
    }
}

/// What the source and its handles share.
pub(crate) struct Shared {
    pub(crate) name: Arc<str>,
    pub(crate) gate: PauseGate,
    pub(crate) counters: Counters,
    /// `Connected` events of the client (the first is the initial connection).
    pub(crate) connected: Arc<AtomicU64>,
    pub(crate) gauges: ServerGauges,
    stop: watch::Sender<bool>,
    finished: watch::Receiver<bool>,
}

impl Shared {
    /// Becomes `true` when the source has ended.
    pub(crate) fn finished(&self) -> watch::Receiver<bool> {
        self.finished.clone()
    }
}

/// The consumer's figures last read from the server.
#[derive(Debug, Default)]
pub(crate) struct ServerGauges {
    pub(crate) lag: AtomicU64,
    pub(crate) in_flight: AtomicU64,
    pub(crate) refreshes: AtomicU64,
}

/// The consumer's figures as the server last gave them, from [`SourceHandle::consumer_gauges`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerGauges {
    /// Messages in the stream not yet delivered to the consumer (`num_pending`).
    pub lag: u64,
    /// Messages delivered to the consumer and not yet acked, by any process
    /// (`num_ack_pending`).
    pub in_flight: u64,
    /// Times the figures were read from the server (0: not yet).
    pub refreshes: u64,
}

/// A running [`JetStreamSource`]: pause, resume, stop it, read its counters. Clones share the
/// source; dropping them does not stop it ([`stop`](Self::stop) does).
///
/// It is an [`Upstream`]: pass it to
/// [`SupervisorHandle::add_upstream`](actix_backpressure_supervisor::SupervisorHandle::add_upstream)
/// so that the supervisor pauses the source while the mailbox it feeds is saturated.
#[derive(Clone)]
pub struct SourceHandle {
    shared: Arc<Shared>,
}

impl SourceHandle {
    /// The source's name (see [`SourceConfig::name`]).
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Stops pulling: no new pull request until [`resume`](Self::resume). Messages already
    /// pulled are held (with progress acks) and delivered after the resume; none is dropped.
    /// Idempotent: returns `true` if the source was running.
    pub fn pause(&self) -> bool {
        let paused = self.shared.gate.pause();
        if paused {
            Counters::bump(&self.shared.counters.pauses);
            tracing::debug!(target: "actix_backpressure::nats", source = &*self.shared.name, "paused");
        }
        paused
    }

    /// Pulls again. Idempotent: returns `true` if the source was paused.
    pub fn resume(&self) -> bool {
        let resumed = self.shared.gate.resume();
        if resumed {
            tracing::debug!(target: "actix_backpressure::nats", source = &*self.shared.name, "resumed");
        }
        resumed
    }

    /// Whether the source is paused.
    pub fn is_paused(&self) -> bool {
        self.shared.gate.is_paused()
    }

    /// The source's counters.
    pub fn stats(&self) -> SourceStats {
        let mut stats = self.shared.counters.snapshot();
        stats.reconnects = self
            .shared
            .connected
            .load(Ordering::Relaxed)
            .saturating_sub(1);
        stats
    }

    /// The consumer's lag and in-flight count as last read from the server (the values of the
    /// gauges).
    pub fn consumer_gauges(&self) -> ConsumerGauges {
        let gauges = &self.shared.gauges;
        // Relaxed: figures read for display; `refreshes` last, so that a non-zero count comes
        // with figures at least that fresh.
        ConsumerGauges {
            lag: gauges.lag.load(Ordering::Relaxed),
            in_flight: gauges.in_flight.load(Ordering::Relaxed),
            refreshes: gauges.refreshes.load(Ordering::Acquire),
        }
    }

    /// Asks the source to stop: it makes no new pull request, nak's (at once) the messages it
    /// holds undelivered, waits for the deliveries under way and acks or nak's them as
    /// usual, then ends. Returns at once; [`stopped`](Self::stopped) waits for the end.
    pub fn stop(&self) {
        self.shared.stop.send_replace(true);
    }

    /// Whether the source has ended.
    pub fn is_stopped(&self) -> bool {
        *self.shared.finished.borrow()
    }

    /// Waits until the source has ended (after [`stop`](Self::stop), or when its feed is
    /// closed for good), and returns its final counters.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only stops the wait.
    pub async fn stopped(&self) -> SourceStats {
        let mut finished = self.shared.finished.clone();
        // An error means the task is gone, so it has ended as well.
        let _ = finished.wait_for(|done| *done).await;
        self.stats()
    }
}

impl fmt::Debug for SourceHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceHandle")
            .field("name", &self.name())
            .field("paused", &self.is_paused())
            .field("stopped", &self.is_stopped())
            .field("stats", &self.stats())
            .finish()
    }
}

#[async_trait]
impl Upstream for SourceHandle {
    fn name(&self) -> &str {
        &self.shared.name
    }

    async fn pause(&self) {
        SourceHandle::pause(self);
    }

    async fn resume(&self) {
        SourceHandle::resume(self);
    }
}
