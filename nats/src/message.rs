//! `JetStreamMessage`: what the actor receives, and `HandlerError`: what it answers when it
//! could not handle it.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_nats::HeaderMap;
use bytes::Bytes;

/// The header a publisher sets to have JetStream deduplicate its publishes; the
/// [`Dedup`](crate::Dedup) helper can key on it too.
pub const MSG_ID_HEADER: &str = "Nats-Msg-Id";

/// A message from a JetStream stream, delivered to an actor by a
/// [`JetStreamSource`](crate::JetStreamSource).
///
/// It carries the payload, the subject and headers it was published with, its place in the
/// stream ([`stream_sequence`](Self::stream_sequence)) and how many times it has been delivered
/// ([`delivered`](Self::delivered): 1 the first time, more after a failure, a refusal, a crash
/// or an `ack_wait` that ran out). The handler's answer decides what the source tells the
/// server: `Ok(())` acks the message, an `Err(`[`HandlerError`]`)` nak's it (it comes back after
/// a delay) or terminates it. The message itself holds no handle to the server: dropping it
/// acks nothing.
///
/// # Examples
///
/// A handler that retries a failed message twice, then gives up on it:
///
/// ```
/// use actix::prelude::*;
/// # mod actix_backpressure { pub mod nats { pub use actix_backpressure_nats::*; } }
/// use actix_backpressure::nats::{HandlerError, JetStreamMessage};
///
/// struct Store;
///
/// impl Actor for Store {
///     type Context = Context<Self>;
/// }
///
/// impl Handler<JetStreamMessage> for Store {
///     type Result = Result<(), HandlerError>;
///
///     fn handle(&mut self, msg: JetStreamMessage, _: &mut Context<Self>) -> Self::Result {
///         match std::str::from_utf8(msg.payload()) {
///             Ok(text) => {
///                 println!("#{} {}: {text}", msg.stream_sequence(), msg.subject());
///                 Ok(())
///             }
///             Err(_) if msg.delivered() >= 3 => Err(HandlerError::terminate("not UTF-8")),
///             Err(_) => Err(HandlerError::retry("not UTF-8")),
///         }
///     }
/// }
///
/// let msg = JetStreamMessage::new("orders.new", "42").with_stream_sequence(7).with_delivered(2);
/// assert_eq!((msg.stream_sequence(), msg.redeliveries()), (7, 1));
/// ```
#[derive(Clone)]
pub struct JetStreamMessage {
    subject: String,
    payload: Bytes,
    headers: Option<HeaderMap>,
    stream_sequence: u64,
    consumer_sequence: u64,
    delivered: u64,
    pending: u64,
    published: SystemTime,
}

impl JetStreamMessage {
    /// A message on `subject` with `payload`, first delivery, sequence 0, published now: for
    /// tests of handlers. The source makes the real ones.
    pub fn new(subject: impl Into<String>, payload: impl Into<Bytes>) -> Self {
        JetStreamMessage {
            subject: subject.into(),
            payload: payload.into(),
            headers: None,
            stream_sequence: 0,
            consumer_sequence: 0,
            delivered: 1,
            pending: 0,
            published: SystemTime::now(),
        }
    }

    /// Sets the stream sequence.
    #[must_use]
    pub fn with_stream_sequence(mut self, sequence: u64) -> Self {
        self.stream_sequence = sequence;
        self
    }

    /// Sets the delivery count (1 for a first delivery).
    #[must_use]
    pub fn with_delivered(mut self, delivered: u64) -> Self {
        self.delivered = delivered;
        self
    }

    /// Sets the headers.
    #[must_use]
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.headers = Some(headers);
        self
    }

    /// Builds the message from what the server delivered; `None` if it is not a JetStream
    /// message (no `$JS.ACK` reply subject).
    pub(crate) fn from_delivery(
        message: async_nats::Message,
    ) -> Option<(Self, async_nats::Subject)> {
        let reply = message.reply?;
        let parsed = parse_ack_subject(&reply)?;
        let msg = JetStreamMessage {
            subject: message.subject.to_string(),
            payload: message.payload,
            headers: message.headers,
            stream_sequence: parsed.stream_sequence,
            consumer_sequence: parsed.consumer_sequence,
            delivered: parsed.delivered,
            pending: parsed.pending,
            published: parsed.published,
        };
        Some((msg, reply))
    }

    /// The payload.
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// Takes the payload.
    pub fn into_payload(self) -> Bytes {
        self.payload
    }

    /// The subject it was published on.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The headers it was published with, if any.
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.headers.as_ref()
    }

    /// The first value of header `name`, if it is set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.as_ref()?.get(name).map(|value| value.as_str())
    }

    /// The publisher's message id (header [`MSG_ID_HEADER`]), if it set one.
    pub fn message_id(&self) -> Option<&str> {
        self.header(MSG_ID_HEADER)
    }

    /// Its sequence number in the stream: unique within the stream, the same on every
    /// delivery.
    pub fn stream_sequence(&self) -> u64 {
        self.stream_sequence
    }

    /// Its delivery number for this consumer (grows with every delivery, redeliveries
    /// included).
    pub fn consumer_sequence(&self) -> u64 {
        self.consumer_sequence
    }

    /// How many times it has been delivered, this time included: 1 the first time.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// How many times it was delivered before: `delivered() - 1`.
    pub fn redeliveries(&self) -> u64 {
        self.delivered.saturating_sub(1)
    }

    /// Whether it was delivered before (a retry, or a redelivery after a crash or a timeout).
    pub fn is_redelivery(&self) -> bool {
        self.delivered > 1
    }

    /// Messages the server still had for the consumer when it delivered this one.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// When the server stored it.
    pub fn published(&self) -> SystemTime {
        self.published
    }
}

impl actix::Message for JetStreamMessage {
    type Result = Result<(), HandlerError>;
}

impl fmt::Debug for JetStreamMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JetStreamMessage")
            .field("subject", &self.subject)
            .field("stream_sequence", &self.stream_sequence)
            .field("delivered", &self.delivered)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

/// A handler's answer when it could not handle a [`JetStreamMessage`]: try again later
/// ([`retry`](Self::retry), a nak) or never ([`terminate`](Self::terminate), a term).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct HandlerError {
    reason: String,
    action: Failure,
}

/// What the source does with a message whose handler failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// Nak: the server delivers it again after the delay (the source's
    /// [`retry_delay`](crate::SourceConfig::retry_delay) when `None`).
    Retry(Option<Duration>),
    /// Term: the server never delivers it again. The message stays in the stream (as far as
    /// its retention allows) but this consumer is done with it.
    Terminate,
}

impl HandlerError {
    /// Deliver the message again after the source's
    /// [`retry_delay`](crate::SourceConfig::retry_delay).
    pub fn retry(reason: impl Into<String>) -> Self {
        HandlerError {
            reason: reason.into(),
            action: Failure::Retry(None),
        }
    }

    /// Deliver the message again after `delay`.
    pub fn retry_after(reason: impl Into<String>, delay: Duration) -> Self {
        HandlerError {
            reason: reason.into(),
            action: Failure::Retry(Some(delay)),
        }
    }

    /// Never deliver the message again to this consumer (a poison message).
    pub fn terminate(reason: impl Into<String>) -> Self {
        HandlerError {
            reason: reason.into(),
            action: Failure::Terminate,
        }
    }

    /// Why the handler failed.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// What the source does with the message.
    pub fn failure(&self) -> Failure {
        self.action
    }
}

/// The fields of a `$JS.ACK.` reply subject.
pub(crate) struct AckSubject {
    pub(crate) stream_sequence: u64,
    pub(crate) consumer_sequence: u64,
    pub(crate) delivered: u64,
    pub(crate) pending: u64,
    pub(crate) published: SystemTime,
}

/// Parses a `$JS.ACK.` reply subject: `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.
/// <consumer seq>.<timestamp ns>.<pending>`, or the form with the domain and account hash
/// after `$JS.ACK.` (ADR-15), whose last seven known tokens are the same.
pub(crate) fn parse_ack_subject(reply: &str) -> Option<AckSubject> {
    let rest = reply.strip_prefix("$JS.ACK.")?;
    let tokens: Vec<&str> = rest.split('.').collect();
    // v1: stream.consumer.delivered.sseq.cseq.ts.pending (7 tokens);
    // v2: domain.acchash.stream.consumer.delivered.sseq.cseq.ts.pending[.token] (9 or more).
    let first = match tokens.len() {
        7 => 2,
        n if n >= 9 => 4,
        _ => return None,
    };
    let number = |i: usize| tokens.get(first + i)?.parse::<u64>().ok();
    let nanos = number(3)?;
    Some(AckSubject {
        delivered: number(0)?,
        stream_sequence: number(1)?,
        consumer_sequence: number(2)?,
        published: SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos),
        pending: number(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_subjects_of_both_formats_are_parsed() {
        let v1 = parse_ack_subject("$JS.ACK.ORDERS.billing.3.42.57.1700000000000000000.9").unwrap();
        assert_eq!(
            (
                v1.delivered,
                v1.stream_sequence,
                v1.consumer_sequence,
                v1.pending
            ),
            (3, 42, 57, 9)
        );
        assert_eq!(
            v1.published,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
        );
        let v2 =
            parse_ack_subject("$JS.ACK.hub.ACCHASH.ORDERS.billing.1.5.6.1700000000000000000.0.xyz")
                .unwrap();
        assert_eq!(
            (v2.delivered, v2.stream_sequence, v2.consumer_sequence),
            (1, 5, 6)
        );
        assert!(parse_ack_subject("_INBOX.abc").is_none());
        assert!(parse_ack_subject("$JS.ACK.ORDERS.billing.x.1.1.1.1").is_none());
    }

    #[test]
    fn handler_errors_say_what_happens_next() {
        assert_eq!(
            HandlerError::retry("db down").failure(),
            Failure::Retry(None)
        );
        let later = HandlerError::retry_after("busy", Duration::from_secs(2));
        assert_eq!(
            later.failure(),
            Failure::Retry(Some(Duration::from_secs(2)))
        );
        assert_eq!(later.to_string(), "busy");
        assert_eq!(HandlerError::terminate("bad").failure(), Failure::Terminate);
    }

    #[test]
    fn a_message_for_tests_reads_back() {
        let mut headers = HeaderMap::new();
        headers.insert(MSG_ID_HEADER, "order-1");
        let msg = JetStreamMessage::new("a.b", "x")
            .with_headers(headers)
            .with_delivered(1);
        assert_eq!(msg.message_id(), Some("order-1"));
        assert!(!msg.is_redelivery());
        assert_eq!(msg.payload().as_ref(), b"x");
        assert_eq!(msg.header("Other"), None);
    }
}
