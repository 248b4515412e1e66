//! `Dedup`: remembers which messages were handled, to skip their redeliveries.

use std::collections::{HashSet, VecDeque};
use std::fmt;

use crate::JetStreamMessage;

/// What a [`Dedup`] tells messages apart by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DedupKey {
    /// The stream sequence: the same on every delivery of a message, unique in one stream.
    /// Use one `Dedup` per stream.
    StreamSequence,
    /// The publisher's message id (the [`Nats-Msg-Id`](crate::MSG_ID_HEADER) header), which
    /// also catches a message published twice. A message without the header is never taken
    /// for a duplicate.
    MessageId,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Sequence(u64),
    Id(String),
}

/// Remembers the last `capacity` messages handled, so that their redeliveries can be skipped.
///
/// JetStream delivers **at least once**: a message whose ack did not reach the server (the
/// process was killed after handling it, the server restarted before storing the ack, the
/// ack was late) is delivered again. `Dedup` turns that into *effectively once* for the
/// messages it remembers: call [`handle_once`](Self::handle_once) in the handler, which runs
/// the handling only for a message not handled yet, and remembers it only when the handling
/// succeeded (so a failed message is handled again when it comes back).
///
/// The window is bounded: past `capacity` messages, the oldest remembered is forgotten. Size
/// it for the redeliveries you expect: at least `max_ack_pending` messages.
///
/// **A `Dedup` lives in one process**: it forgets everything when the process stops, and
/// processes sharing a consumer do not see each other's. To skip redeliveries after a crash,
/// persist what it remembers alongside the handler's effects (in the same transaction, or in
/// the same append to a log) and [`remember`](Self::remember) them at start.
///
/// # Examples
///
/// ```
/// # mod actix_backpressure { pub mod nats { pub use actix_backpressure_nats::*; } }
/// use actix_backpressure::nats::{Dedup, JetStreamMessage};
///
/// let mut dedup = Dedup::by_stream_sequence(10_000);
/// let mut total = 0;
/// let msg = JetStreamMessage::new("orders", "5").with_stream_sequence(1);
/// let redelivered = msg.clone().with_delivered(2);
/// for m in [&msg, &redelivered] {
///     let handled = dedup.handle_once(m, |m| {
///         total += std::str::from_utf8(m.payload()).unwrap().parse::<i32>().unwrap();
///         Ok::<_, std::convert::Infallible>(())
///     });
///     assert!(handled.is_ok());
/// }
/// assert_eq!(total, 5, "the redelivery was skipped");
/// assert_eq!(dedup.duplicates(), 1);
/// ```
#[derive(Clone)]
pub struct Dedup {
    by: DedupKey,
    capacity: usize,
    seen: HashSet<Key>,
    order: VecDeque<Key>,
    duplicates: u64,
}

impl Dedup {
    /// Remembers up to `capacity` messages (at least 1) by stream sequence.
    pub fn by_stream_sequence(capacity: usize) -> Self {
        Dedup::new(DedupKey::StreamSequence, capacity)
    }

    /// Remembers up to `capacity` messages (at least 1) by message id.
    pub fn by_message_id(capacity: usize) -> Self {
        Dedup::new(DedupKey::MessageId, capacity)
    }

    /// Remembers up to `capacity` messages (at least 1), told apart by `by`.
    pub fn new(by: DedupKey, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Dedup {
            by,
            capacity,
            seen: HashSet::with_capacity(capacity.min(1 << 16)),
            order: VecDeque::with_capacity(capacity.min(1 << 16)),
            duplicates: 0,
        }
    }

    /// Runs `handle` for `msg` unless `msg` was handled already; remembers it if `handle`
    /// succeeded. Returns `Ok(Some(_))` with the handling's result, `Ok(None)` for a
    /// duplicate (skipped, counted in [`duplicates`](Self::duplicates)).
    ///
    /// # Errors
    ///
    /// The handling's error: the message is not remembered, so its redelivery is handled.
    pub fn handle_once<T, E>(
        &mut self,
        msg: &JetStreamMessage,
        handle: impl FnOnce(&JetStreamMessage) -> Result<T, E>,
    ) -> Result<Option<T>, E> {
        if self.contains(msg) {
            self.duplicates += 1;
            return Ok(None);
        }
        let out = handle(msg)?;
        self.insert(msg);
        Ok(Some(out))
    }

    /// Whether `msg` was remembered as handled.
    pub fn contains(&self, msg: &JetStreamMessage) -> bool {
        self.key(msg).is_some_and(|key| self.seen.contains(&key))
    }

    /// Remembers `msg` as handled; returns `false` if it was remembered already (or, by
    /// message id, has none).
    pub fn insert(&mut self, msg: &JetStreamMessage) -> bool {
        match self.key(msg) {
            Some(key) => self.insert_key(key),
            None => false,
        }
    }

    /// Remembers a stream sequence (or, by message id, an id) as handled, e.g. one persisted
    /// by an earlier run. Returns `false` if it was remembered already.
    pub fn remember(&mut self, key: impl Into<Remembered>) -> bool {
        let key = match key.into() {
            Remembered::Sequence(sequence) => Key::Sequence(sequence),
            Remembered::Id(id) => Key::Id(id),
        };
        self.insert_key(key)
    }

    /// Duplicates skipped by [`handle_once`](Self::handle_once).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Messages remembered now.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// The most messages remembered.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// What messages are told apart by.
    pub fn key_kind(&self) -> DedupKey {
        self.by
    }

    fn key(&self, msg: &JetStreamMessage) -> Option<Key> {
        match self.by {
            DedupKey::StreamSequence => Some(Key::Sequence(msg.stream_sequence())),
            DedupKey::MessageId => msg.message_id().map(|id| Key::Id(id.to_owned())),
        }
    }

    fn insert_key(&mut self, key: Key) -> bool {
        if !self.seen.insert(key.clone()) {
            return false;
        }
        self.order.push_back(key);
        while self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        true
    }
}

impl fmt::Debug for Dedup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dedup")
            .field("by", &self.by)
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .field("duplicates", &self.duplicates)
            .finish()
    }
}

/// A key given to [`Dedup::remember`]: a stream sequence (`u64`) or a message id (`&str`,
/// `String`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Remembered {
    /// A stream sequence.
    Sequence(u64),
    /// A message id.
    Id(String),
}

impl From<u64> for Remembered {
    fn from(sequence: u64) -> Self {
        Remembered::Sequence(sequence)
    }
}

impl From<&str> for Remembered {
    fn from(id: &str) -> Self {
        Remembered::Id(id.to_owned())
    }
}

impl From<String> for Remembered {
    fn from(id: String) -> Self {
        Remembered::Id(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_nats::HeaderMap;

    fn seq(n: u64) -> JetStreamMessage {
        JetStreamMessage::new("s", "x").with_stream_sequence(n)
    }

    #[test]
    fn a_failed_handling_is_not_remembered() {
        let mut dedup = Dedup::by_stream_sequence(4);
        let failed: Result<Option<()>, &str> = dedup.handle_once(&seq(1), |_| Err("db down"));
        assert_eq!(failed, Err("db down"));
        assert!(!dedup.contains(&seq(1)));
        assert_eq!(dedup.handle_once(&seq(1), |_| Ok::<_, ()>(7)), Ok(Some(7)));
        assert_eq!(dedup.handle_once(&seq(1), |_| Ok::<_, ()>(8)), Ok(None));
        assert_eq!(dedup.duplicates(), 1);
    }

    #[test]
    fn the_window_forgets_the_oldest() {
        let mut dedup = Dedup::by_stream_sequence(3);
        for n in 1..=4 {
            assert!(dedup.insert(&seq(n)));
        }
        assert_eq!(dedup.len(), 3);
        assert!(!dedup.contains(&seq(1)));
        assert!(dedup.contains(&seq(2)) && dedup.contains(&seq(4)));
        assert!(!dedup.insert(&seq(4)));
        assert!(dedup.remember(9));
        assert!(!dedup.contains(&seq(2)));
    }

    #[test]
    fn by_message_id_ignores_messages_without_one() {
        let mut dedup = Dedup::by_message_id(8);
        let with_id = |id: &str, n: u64| {
            let mut headers = HeaderMap::new();
            headers.insert(crate::MSG_ID_HEADER, id);
            seq(n).with_headers(headers)
        };
        assert!(dedup.insert(&with_id("a", 1)));
        assert!(dedup.contains(&with_id("a", 2)), "same id, published twice");
        assert!(!dedup.insert(&seq(3)));
        assert!(!dedup.contains(&seq(3)));
        assert!(dedup.remember("b"));
        assert!(dedup.contains(&with_id("b", 4)));
    }
}
