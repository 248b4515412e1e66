//! `SourceConfig`: which stream and durable consumer a source reads, and how it pulls, acks
//! and keeps messages alive.

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::stream;

/// Messages asked for in one pull request, by default.
pub const DEFAULT_BATCH: usize = 32;
/// Messages one source holds at most (pulled and not yet acked or nak'ed), by default.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;
/// The consumer's `max_ack_pending` (unacked messages over all the processes sharing it), by
/// default.
pub const DEFAULT_MAX_ACK_PENDING: usize = 1000;
/// The consumer's `ack_wait`, by default.
pub const DEFAULT_ACK_WAIT: Duration = Duration::from_secs(30);
/// How long a pull request waits for messages on the server, by default.
pub const DEFAULT_EXPIRES: Duration = Duration::from_secs(1);
/// The nak delay after a handler failure, by default.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(1);
/// The nak delay for a message that did not reach the handler (a full mailbox), by default.
pub const DEFAULT_REFUSED_DELAY: Duration = Duration::from_millis(250);
/// The fraction of `ack_wait` after which a held message gets a progress ack, by default.
pub const DEFAULT_PROGRESS_AFTER: f64 = 0.5;
/// How often the lag and in-flight gauges are refreshed, by default.
pub const DEFAULT_GAUGE_INTERVAL: Duration = Duration::from_secs(1);
/// The longest duration a setting may have: one day. The server keeps durations in
/// nanoseconds, and the source adds them to the clock.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// The shortest pull request expiry accepted.
pub const MIN_EXPIRES: Duration = Duration::from_millis(10);

/// What a [`JetStreamSource`](crate::JetStreamSource) reads and how.
///
/// The source reads stream `stream` through the **durable pull consumer** `durable`: every
/// process that uses the same durable name shares the consumer, and the server spreads the
/// messages over them (a consumer group). The consumer is created when it does not exist; when
/// it exists, its settings must match this configuration's — pull mode, explicit acks,
/// `ack_wait`, `max_ack_pending`, `max_deliver` and the filter subject
/// ([`SourceError::ConsumerMismatch`] otherwise) — so that one process cannot silently change
/// what the others run with. (The deliver policy only matters when the consumer is created.)
///
/// | setting | what | default |
/// |---|---|---|
/// | [`batch`](Self::batch) | messages asked for in one pull request | [`DEFAULT_BATCH`] (32) |
/// | [`max_in_flight`](Self::max_in_flight) | messages this source holds (pulled, not yet acked) | [`DEFAULT_MAX_IN_FLIGHT`] (64) |
/// | [`max_ack_pending`](Self::max_ack_pending) | consumer: unacked messages over **all** processes | [`DEFAULT_MAX_ACK_PENDING`] (1000) |
/// | [`ack_wait`](Self::ack_wait) | consumer: redelivery after this long without an ack | [`DEFAULT_ACK_WAIT`] (30 s) |
/// | [`max_deliver`](Self::max_deliver) | consumer: deliveries of one message at most | unlimited |
/// | [`filter_subject`](Self::filter_subject) | consumer: only these subjects of the stream | all |
/// | [`deliver_policy`](Self::deliver_policy) | consumer: where a new consumer starts | `All` |
/// | [`expires`](Self::expires) | how long a pull request waits on the server | [`DEFAULT_EXPIRES`] (1 s) |
/// | [`retry_delay`](Self::retry_delay) | nak delay after a handler failure | [`DEFAULT_RETRY_DELAY`] (1 s) |
/// | [`refused_delay`](Self::refused_delay) | nak delay when the message did not reach the handler | [`DEFAULT_REFUSED_DELAY`] (250 ms) |
/// | [`progress_after`](Self::progress_after) | progress ack for a held message after this fraction of `ack_wait` | [`DEFAULT_PROGRESS_AFTER`] (0.5) |
/// | [`gauge_interval`](Self::gauge_interval) | refresh of the lag and in-flight gauges | [`DEFAULT_GAUGE_INTERVAL`] (1 s) |
/// | [`create_stream`](Self::create_stream) | create the stream when it is missing | no: a missing stream is an error |
/// | [`name`](Self::name) | the source's name (metrics label, supervisor upstream) | the durable name |
///
/// [`SourceError::ConsumerMismatch`]: crate::SourceError::ConsumerMismatch
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// # mod actix_backpressure { pub mod nats { pub use actix_backpressure_nats::*; } }
/// use actix_backpressure::nats::SourceConfig;
///
/// let config = SourceConfig::new("ORDERS", "billing")
///     .filter_subject("orders.>")
///     .batch(16)
///     .max_in_flight(32)
///     .ack_wait(Duration::from_secs(10));
/// config.validate().unwrap();
/// assert_eq!(config.get_name(), "billing");
///
/// let err = SourceConfig::new("ORDERS", "bill.ing").validate().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "durable consumer name `bill.ing` is invalid: it must not contain whitespace, `.`, `*`, `>`, `/` or `\\`"
/// );
/// ```
#[derive(Clone, Debug)]
pub struct SourceConfig {
    pub(crate) stream: String,
    pub(crate) durable: String,
    pub(crate) name: Option<String>,
    pub(crate) filter_subject: Option<String>,
    pub(crate) batch: usize,
    pub(crate) max_in_flight: usize,
    pub(crate) max_ack_pending: usize,
    pub(crate) ack_wait: Duration,
    pub(crate) max_deliver: Option<u64>,
    pub(crate) deliver_policy: DeliverPolicy,
    pub(crate) expires: Duration,
    pub(crate) retry_delay: Duration,
    pub(crate) refused_delay: Duration,
    pub(crate) progress_after: f64,
    pub(crate) gauge_interval: Duration,
    pub(crate) create_stream: Option<stream::Config>,
}

impl SourceConfig {
    /// Reads stream `stream` through the durable pull consumer `durable`, with the defaults.
    pub fn new(stream: impl Into<String>, durable: impl Into<String>) -> Self {
        SourceConfig {
            stream: stream.into(),
            durable: durable.into(),
            name: None,
            filter_subject: None,
            batch: DEFAULT_BATCH,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_ack_pending: DEFAULT_MAX_ACK_PENDING,
            ack_wait: DEFAULT_ACK_WAIT,
            max_deliver: None,
            deliver_policy: DeliverPolicy::All,
            expires: DEFAULT_EXPIRES,
            retry_delay: DEFAULT_RETRY_DELAY,
            refused_delay: DEFAULT_REFUSED_DELAY,
            progress_after: DEFAULT_PROGRESS_AFTER,
            gauge_interval: DEFAULT_GAUGE_INTERVAL,
            create_stream: None,
        }
    }

    /// The source's name: the `source` label of its gauges and its name as a supervisor
    /// [`Upstream`](actix_backpressure_supervisor::Upstream). Defaults to the durable name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Only the stream's messages on subjects matching `subject` (a consumer setting).
    #[must_use]
    pub fn filter_subject(mut self, subject: impl Into<String>) -> Self {
        self.filter_subject = Some(subject.into());
        self
    }

    /// Messages asked for in one pull request (at least 1). A pull never asks for more than
    /// the room left under [`max_in_flight`](Self::max_in_flight).
    #[must_use]
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch;
        self
    }

    /// Messages this source holds at most (at least 1): pulled from the server and not yet
    /// acked or nak'ed, whether they wait to be delivered, wait for room in the mailbox, are
    /// queued there or are being handled.
    #[must_use]
    pub fn max_in_flight(mut self, max_in_flight: usize) -> Self {
        self.max_in_flight = max_in_flight;
        self
    }

    /// The consumer's `max_ack_pending` (at least 1): the server delivers no more while this
    /// many messages are unacked, over **all** the processes sharing the durable consumer.
    #[must_use]
    pub fn max_ack_pending(mut self, max_ack_pending: usize) -> Self {
        self.max_ack_pending = max_ack_pending;
        self
    }

    /// The consumer's `ack_wait`: a message not acked this long after its delivery (or its
    /// last progress ack) is delivered again. Time spent waiting in the mailbox counts; the
    /// source sends progress acks for held messages (see [`progress_after`](Self::progress_after)).
    #[must_use]
    pub fn ack_wait(mut self, ack_wait: Duration) -> Self {
        self.ack_wait = ack_wait;
        self
    }

    /// The consumer's `max_deliver`: after this many deliveries the server gives up on a
    /// message. Unlimited by default; note that a message nak'ed because the mailbox refused
    /// it counts as a delivery.
    #[must_use]
    pub fn max_deliver(mut self, max_deliver: u64) -> Self {
        self.max_deliver = Some(max_deliver);
        self
    }

    /// Where a newly created consumer starts in the stream (a consumer setting).
    #[must_use]
    pub fn deliver_policy(mut self, policy: DeliverPolicy) -> Self {
        self.deliver_policy = policy;
        self
    }

    /// How long a pull request waits on the server for messages (at least [`MIN_EXPIRES`]).
    /// A pause takes full effect once the outstanding request has ended, so this bounds how
    /// many messages arrive after a pause: at most the request's size.
    #[must_use]
    pub fn expires(mut self, expires: Duration) -> Self {
        self.expires = expires;
        self
    }

    /// The nak delay after a handler failure ([`HandlerError::retry`](crate::HandlerError::retry)),
    /// unless the handler gives its own.
    #[must_use]
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// The nak delay for a message that did not reach the handler: refused by a full mailbox,
    /// evicted, or its actor stopped.
    #[must_use]
    pub fn refused_delay(mut self, delay: Duration) -> Self {
        self.refused_delay = delay;
        self
    }

    /// A held message (pulled and not yet acked) gets a progress ack once it has waited this
    /// fraction of [`ack_wait`](Self::ack_wait) since its delivery or its last progress ack,
    /// so that the server does not deliver it again meanwhile. Strictly between 0 and 1.
    #[must_use]
    pub fn progress_after(mut self, fraction: f64) -> Self {
        self.progress_after = fraction;
        self
    }

    /// How often the `upstream_lag_messages` and `upstream_in_flight` gauges are refreshed from
    /// the consumer's info, paused or not.
    #[must_use]
    pub fn gauge_interval(mut self, interval: Duration) -> Self {
        self.gauge_interval = interval;
        self
    }

    /// Creates the stream with `config` when it does not exist (its name is set to this
    /// source's stream). Without this, a missing stream is
    /// [`SourceError::StreamNotFound`](crate::SourceError::StreamNotFound).
    #[must_use]
    pub fn create_stream(mut self, config: stream::Config) -> Self {
        self.create_stream = Some(config);
        self
    }

    /// The stream's name.
    pub fn get_stream(&self) -> &str {
        &self.stream
    }

    /// The durable consumer's name.
    pub fn get_durable(&self) -> &str {
        &self.durable
    }

    /// The source's name (the durable name unless [set](Self::name)).
    pub fn get_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.durable)
    }

    /// The consumer's `ack_wait`.
    pub fn get_ack_wait(&self) -> Duration {
        self.ack_wait
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first setting that is wrong and what is allowed.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_name("stream", &self.stream)?;
        check_name("durable consumer", &self.durable)?;
        if self.get_name().is_empty() {
            return Err(ConfigError::EmptyName { what: "source" });
        }
        if let Some(subject) = &self.filter_subject {
            if subject.is_empty() || subject.chars().any(char::is_whitespace) {
                return Err(ConfigError::InvalidSubject {
                    subject: subject.clone(),
                });
            }
        }
        for (setting, value) in [
            ("batch", self.batch),
            ("max_in_flight", self.max_in_flight),
            ("max_ack_pending", self.max_ack_pending),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero { setting });
            }
        }
        if i64::try_from(self.max_ack_pending).is_err() {
            return Err(ConfigError::TooLarge {
                setting: "max_ack_pending",
                max: i64::MAX as u64,
            });
        }
        if self.max_deliver == Some(0) {
            return Err(ConfigError::Zero {
                setting: "max_deliver",
            });
        }
        if self
            .max_deliver
            .is_some_and(|max| i64::try_from(max).is_err())
        {
            return Err(ConfigError::TooLarge {
                setting: "max_deliver",
                max: i64::MAX as u64,
            });
        }
        for (setting, value) in [
            ("ack_wait", self.ack_wait),
            ("gauge_interval", self.gauge_interval),
        ] {
            if value.is_zero() {
                return Err(ConfigError::ZeroDuration { setting });
            }
        }
        for (setting, value) in [
            ("ack_wait", self.ack_wait),
            ("gauge_interval", self.gauge_interval),
            ("expires", self.expires),
            ("retry_delay", self.retry_delay),
            ("refused_delay", self.refused_delay),
        ] {
            if value > MAX_DURATION {
                return Err(ConfigError::DurationTooLong { setting, value });
            }
        }
        if self.expires < MIN_EXPIRES {
            return Err(ConfigError::ExpiresTooShort {
                expires: self.expires,
            });
        }
        if !(self.progress_after > 0.0 && self.progress_after < 1.0) {
            return Err(ConfigError::ProgressAfter {
                fraction: self.progress_after,
            });
        }
        Ok(())
    }

    /// The settings of the durable pull consumer this source needs.
    pub(crate) fn consumer_config(&self) -> pull::Config {
        pull::Config {
            durable_name: Some(self.durable.clone()),
            deliver_policy: self.deliver_policy,
            ack_policy: AckPolicy::Explicit,
            ack_wait: self.ack_wait,
            max_deliver: self.max_deliver.map_or(-1, |max| max as i64),
            filter_subject: self.filter_subject.clone().unwrap_or_default(),
            max_ack_pending: self.max_ack_pending as i64,
            ..Default::default()
        }
    }

    /// The time after which a held message gets a progress ack.
    pub(crate) fn progress_threshold(&self) -> Duration {
        self.ack_wait.mul_f64(self.progress_after)
    }
}

fn check_name(what: &'static str, name: &str) -> Result<(), ConfigError> {
    if name.is_empty() {
        return Err(ConfigError::EmptyName { what });
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
    {
        return Err(ConfigError::InvalidName {
            what,
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// What is wrong with a [`SourceConfig`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A name is empty.
    #[error("the {what} name must not be empty")]
    EmptyName {
        /// Which name.
        what: &'static str,
    },
    /// A stream or consumer name has characters NATS does not allow in names.
    #[error(
        "{what} name `{name}` is invalid: it must not contain whitespace, `.`, `*`, `>`, `/` or `\\`"
    )]
    InvalidName {
        /// Which name.
        what: &'static str,
        /// The name given.
        name: String,
    },
    /// The filter subject is empty or has whitespace.
    #[error("filter subject `{subject}` is invalid: it must be non-empty, without whitespace")]
    InvalidSubject {
        /// The subject given.
        subject: String,
    },
    /// A count that must be at least 1 is 0.
    #[error("`{setting}` must be at least 1, got 0")]
    Zero {
        /// The setting.
        setting: &'static str,
    },
    /// A count is larger than the server accepts.
    #[error("`{setting}` must be at most {max}")]
    TooLarge {
        /// The setting.
        setting: &'static str,
        /// The largest value accepted.
        max: u64,
    },
    /// A duration that must not be zero is.
    #[error("`{setting}` must not be zero")]
    ZeroDuration {
        /// The setting.
        setting: &'static str,
    },
    /// A duration is above [`MAX_DURATION`].
    #[error("`{setting}` must be at most {MAX_DURATION:?}, got {value:?}")]
    DurationTooLong {
        /// The setting's name.
        setting: &'static str,
        /// The duration given.
        value: Duration,
    },
    /// The pull request expiry is below [`MIN_EXPIRES`].
    #[error("`expires` must be at least {MIN_EXPIRES:?}, got {expires:?}")]
    ExpiresTooShort {
        /// The expiry given.
        expires: Duration,
    },
    /// The progress fraction is not strictly between 0 and 1.
    #[error("`progress_after` must be strictly between 0 and 1 (a fraction of `ack_wait`), got {fraction}")]
    ProgressAfter {
        /// The fraction given.
        fraction: f64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        let config = SourceConfig::new("S", "d");
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.get_name(), "d");
        assert_eq!(config.progress_threshold(), Duration::from_secs(15));
        let consumer = config.consumer_config();
        assert_eq!(consumer.max_deliver, -1);
        assert_eq!(consumer.ack_policy, AckPolicy::Explicit);
    }

    #[test]
    fn every_invalid_setting_is_named() {
        let base = || SourceConfig::new("S", "d");
        let cases: Vec<(SourceConfig, &str)> = vec![
            (
                SourceConfig::new("", "d"),
                "the stream name must not be empty",
            ),
            (
                SourceConfig::new("a b", "d"),
                "stream name `a b` is invalid",
            ),
            (base().name(""), "the source name must not be empty"),
            (
                base().filter_subject("a b"),
                "filter subject `a b` is invalid",
            ),
            (base().batch(0), "`batch` must be at least 1, got 0"),
            (
                base().expires(Duration::MAX),
                "`expires` must be at most 86400s",
            ),
            (
                base().refused_delay(Duration::from_secs(86_401)),
                "`refused_delay` must be at most 86400s",
            ),
            (
                base().max_in_flight(0),
                "`max_in_flight` must be at least 1",
            ),
            (
                base().max_ack_pending(0),
                "`max_ack_pending` must be at least 1",
            ),
            (base().max_deliver(0), "`max_deliver` must be at least 1"),
            (
                base().ack_wait(Duration::ZERO),
                "`ack_wait` must not be zero",
            ),
            (
                base().gauge_interval(Duration::ZERO),
                "`gauge_interval` must not be zero",
            ),
            (
                base().expires(Duration::from_millis(1)),
                "`expires` must be at least 10ms, got 1ms",
            ),
            (
                base().progress_after(1.0),
                "`progress_after` must be strictly between 0 and 1",
            ),
            (
                base().progress_after(f64::NAN),
                "`progress_after` must be strictly between 0 and 1",
            ),
        ];
        for (config, wanted) in cases {
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(wanted), "{err:?} should contain {wanted:?}");
        }
    }
}
