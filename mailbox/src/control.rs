//! The control lane: an unbounded queue of messages that bypass the bound and the pause,
//! handled before the queued ones.

use std::sync::atomic::Ordering;

use concurrent_queue::PushError;

use crate::sync::{fence, unbounded, AtomicUsize, Queue};

pub(crate) struct ControlLane<T> {
    queue: Queue<T>,
    /// Messages queued or being queued: lets the consumer skip looking at the queue (whose
    /// empty check issues a full fence) on every message.
    len: AtomicUsize,
}

impl<T> ControlLane<T> {
    pub(crate) fn new() -> Self {
        ControlLane {
            queue: unbounded(),
            len: AtomicUsize::new(0),
        }
    }

    /// Queues `value`, handing it back if the lane is closed. On `Ok`, a SeqCst fence was
    /// issued after the push: the caller may then wake a parked consumer (the protocol of
    /// `consumers.rs`, with an explicit fence rather than the queue's internal orderings).
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        // Counted before it is queued, so the count is never below the queue's length.
        self.len.fetch_add(1, Ordering::SeqCst);
        if let Err(refused) = self.queue.push(value) {
            self.len.fetch_sub(1, Ordering::Relaxed);
            return Err(match refused {
                PushError::Full(value) | PushError::Closed(value) => value,
            });
        }
        fence(Ordering::SeqCst);
        Ok(())
    }

    /// Takes the oldest message out, if any. Cheap when none was queued: a relaxed load (a
    /// message being queued right now is found by the next look, or by the look after
    /// parking, which uses [`pop_fenced`](Self::pop_fenced)).
    pub(crate) fn pop(&self) -> Option<T> {
        // Relaxed: only a hint; see above.
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.pop_fenced()
    }

    /// Takes the oldest message out, if any, looking at the queue itself: after parking
    /// (whose fence pairs with the one in `push`).
    pub(crate) fn pop_fenced(&self) -> Option<T> {
        let value = self.queue.pop().ok()?;
        // Relaxed: the count is a hint for `pop`; the queue is the truth.
        self.len.fetch_sub(1, Ordering::Relaxed);
        Some(value)
    }

    /// Refuses new messages and drops the queued ones.
    pub(crate) fn close(&self) {
        self.queue.close();
        while self.queue.pop().is_ok() {}
    }
}
