//! Outcome counters of one source.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of a source's counters, from [`SourceHandle::stats`](crate::SourceHandle::stats).
///
/// Every message pulled ends in exactly one outcome:
///
/// ```text
/// pulled = acked + retried + terminated + refused + released + in_flight
/// ```
///
/// `acked` are the messages whose handler succeeded, `retried` and `terminated` those whose
/// handler failed (nak'ed, or terminated), `refused` those that did not reach the handler
/// (nak'ed: a full mailbox, an eviction, a stopped actor), `released` those nak'ed undelivered
/// because the source stopped. A message whose ack or nak could not be sent
/// (`ack_errors`) is still counted under its outcome: the server delivers it again after
/// `ack_wait`, which is why handlers must tolerate duplicates (see [`Dedup`](crate::Dedup)).
///
/// The counters are read one by one: a snapshot taken while messages flow may be off by the
/// messages in between; once the source is quiet the equation holds exactly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceStats {
    /// Messages received from the server.
    pub pulled: u64,
    /// Of those, messages that had been delivered before (`delivered > 1`).
    pub redelivered: u64,
    /// Messages handled successfully, and acked.
    pub acked: u64,
    /// Messages whose handler failed and asked for a retry: nak'ed.
    pub retried: u64,
    /// Messages whose handler failed for good: terminated.
    pub terminated: u64,
    /// Messages that did not reach the handler (refused, dropped, evicted, actor gone): nak'ed.
    pub refused: u64,
    /// Messages nak'ed undelivered because the source stopped.
    pub released: u64,
    /// Acks and naks that could not be sent (the server will deliver the message again).
    pub ack_errors: u64,
    /// Progress acks sent for messages held longer than the progress threshold.
    pub progress_acks: u64,
    /// Pull requests made.
    pub pulls: u64,
    /// Pull requests that failed (the source retries after a short backoff).
    pub pull_errors: u64,
    /// Times the source was paused (while running).
    pub pauses: u64,
    /// Times the client reconnected to the server.
    pub reconnects: u64,
}

impl SourceStats {
    /// Messages held now: pulled and not yet settled.
    pub fn in_flight(&self) -> u64 {
        self.pulled.saturating_sub(self.settled())
    }

    /// Messages settled: acked, retried, terminated, refused or released.
    pub fn settled(&self) -> u64 {
        self.acked + self.retried + self.terminated + self.refused + self.released
    }
}

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) pulled: AtomicU64,
    pub(crate) redelivered: AtomicU64,
    pub(crate) acked: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) terminated: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) released: AtomicU64,
    pub(crate) ack_errors: AtomicU64,
    pub(crate) progress_acks: AtomicU64,
    pub(crate) pulls: AtomicU64,
    pub(crate) pull_errors: AtomicU64,
    pub(crate) pauses: AtomicU64,
    pub(crate) reconnects: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        // Relaxed: independent counters, read as a snapshot.
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> SourceStats {
        // The outcomes before `pulled`: a message is pulled before it settles, so a snapshot
        // never shows more settled than pulled.
        SourceStats {
            acked: self.acked.load(Relaxed),
            retried: self.retried.load(Relaxed),
            terminated: self.terminated.load(Relaxed),
            refused: self.refused.load(Relaxed),
            released: self.released.load(Relaxed),
            ack_errors: self.ack_errors.load(Relaxed),
            progress_acks: self.progress_acks.load(Relaxed),
            pulls: self.pulls.load(Relaxed),
            pull_errors: self.pull_errors.load(Relaxed),
            pauses: self.pauses.load(Relaxed),
            reconnects: self.reconnects.load(Relaxed),
            redelivered: self.redelivered.load(Relaxed),
            pulled: self.pulled.load(Relaxed),
        }
    }
}
