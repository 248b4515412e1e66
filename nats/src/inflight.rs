//! The messages a source holds (pulled, not yet acked or nak'ed), and which of them are due a
//! progress ack.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::Subject;
use tokio::time::Instant;

/// Held messages by token, each with its ack subject and when the server last heard of it.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    held: HashMap<u64, Held>,
    next: u64,
}

#[derive(Debug)]
struct Held {
    reply: Subject,
    /// When the message was received or last given a progress ack.
    touched: Instant,
}

impl InFlight {
    /// Holds a message received now; returns its token.
    pub(crate) fn hold(&mut self, reply: Subject, now: Instant) -> u64 {
        let token = self.next;
        self.next += 1;
        self.held.insert(
            token,
            Held {
                reply,
                touched: now,
            },
        );
        token
    }

    /// Lets go of a message; returns its ack subject.
    pub(crate) fn release(&mut self, token: u64) -> Option<Subject> {
        self.held.remove(&token).map(|held| held.reply)
    }

    /// Messages held now.
    pub(crate) fn len(&self) -> usize {
        self.held.len()
    }

    /// The ack subjects of the messages untouched for `after` or longer, marked as touched
    /// `now` (the caller sends each a progress ack).
    pub(crate) fn due(&mut self, now: Instant, after: Duration) -> Vec<Subject> {
        self.held
            .values_mut()
            .filter(|held| now.saturating_duration_since(held.touched) >= after)
            .map(|held| {
                held.touched = now;
                held.reply.clone()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_messages_held_long_enough_are_due() {
        let start = Instant::now();
        let mut held = InFlight::default();
        let old = held.hold(Subject::from("$JS.ACK.old"), start);
        let _new = held.hold(
            Subject::from("$JS.ACK.new"),
            start + Duration::from_millis(400),
        );
        let at = start + Duration::from_millis(500);
        let due = held.due(at, Duration::from_millis(500));
        assert_eq!(due, vec![Subject::from("$JS.ACK.old")]);
        assert!(
            held.due(at, Duration::from_millis(500)).is_empty(),
            "touched again"
        );
        assert_eq!(held.release(old), Some(Subject::from("$JS.ACK.old")));
        assert_eq!(held.release(old), None);
        assert_eq!(held.len(), 1);
    }
}
