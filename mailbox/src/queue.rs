//! The mailbox's queue: [`Permits`] for the bound over a queue without one for the storage.
//!
//! A push takes a permit, then queues; a pop takes a message out, then gives its permit back.
//! So the messages queued or being queued never outnumber the permits that exist, and a
//! capacity change is a change of the permit count: nothing is moved, copied or kept.
//!
//! # What the storage must do
//!
//! The storage is `concurrent-queue`'s unbounded queue (pinned to 2.5.x in the workspace's
//! `Cargo.toml`). Of it the mailbox relies only on what its API promises: a linearizable
//! FIFO queue for any number of pushers and poppers; after `close`, every push fails and
//! hands the value back, and pops return what was pushed before, then `Closed`. The orderings
//! of the wake-up protocols are in `permits.rs` (room) and `consumers.rs` (parking), not in
//! the storage; the loom model of the storage (`sync.rs`) gives it no synchronization beyond
//! that.

use concurrent_queue::{PopError, PushError};

use crate::permits::{Permits, Refused};
use crate::sync::{spin, unbounded, Queue};

pub(crate) struct MailboxQueue<T> {
    permits: Permits,
    items: Queue<T>,
}

/// What [`MailboxQueue::force_push`] could not do: the queue is closed (`closed`), or no
/// permit is free and nothing is queued to evict, the permits being held for good
/// (reserved). `evicted` is a message the push took out to make room before it found the
/// queue closed.
pub(crate) struct ForcePushRefused<T> {
    pub(crate) value: T,
    pub(crate) evicted: Option<T>,
    pub(crate) closed: bool,
}

/// A message taken out by [`MailboxQueue::pop`], and whether a sender waiting for room should
/// be told.
pub(crate) struct Popped<T> {
    pub(crate) value: T,
    pub(crate) notify: bool,
}

impl<T> MailboxQueue<T> {
    pub(crate) fn bounded(capacity: usize) -> Self {
        MailboxQueue {
            permits: Permits::new(capacity),
            items: unbounded(),
        }
    }

    /// A queue of `capacity` permits, none available until granted (demand).
    pub(crate) fn granted_later(capacity: usize) -> Self {
        MailboxQueue {
            permits: Permits::granted_later(capacity),
            items: unbounded(),
        }
    }

    pub(crate) fn permits(&self) -> &Permits {
        &self.permits
    }

    /// Queues `value` if a permit is available.
    pub(crate) fn push(&self, value: T) -> Result<(), PushError<T>> {
        match self.permits.try_acquire() {
            Ok(()) => self.queue(value),
            Err(Refused::Full) => Err(PushError::Full(value)),
            Err(Refused::Closed) => Err(PushError::Closed(value)),
        }
    }

    /// Queues `value` with a permit already taken. A push that finds the storage closed keeps
    /// its permit: the mailbox is closed for good.
    pub(crate) fn queue(&self, value: T) -> Result<(), PushError<T>> {
        self.items.push(value).map_err(|refused| match refused {
            PushError::Full(value) | PushError::Closed(value) => PushError::Closed(value),
        })
    }

    /// Queues `value`, evicting the oldest message while no permit is available: the evicted
    /// message's permit passes to `value`. `reserved` says whether permits are held for longer
    /// than a moment (by `SendPermit`s): then a queue with nothing to evict refuses.
    pub(crate) fn force_push(
        &self,
        value: T,
        reserved: impl Fn() -> bool,
    ) -> Result<Option<T>, ForcePushRefused<T>> {
        let refused = |value, closed| ForcePushRefused {
            value,
            evicted: None,
            closed,
        };
        let evicted = loop {
            match self.permits.try_acquire() {
                Ok(()) => break None,
                Err(Refused::Full) => {}
                Err(Refused::Closed) => return Err(refused(value, true)),
            }
            match self.items.pop() {
                Ok(oldest) => break Some(oldest),
                Err(PopError::Empty) if reserved() => return Err(refused(value, false)),
                // Every permit is held by a message being queued, or by one the consumer just
                // took out and has not given back yet: both finish in a moment.
                Err(PopError::Empty) => spin(),
                Err(PopError::Closed) => return Err(refused(value, true)),
            }
        };
        match self.queue(value) {
            Ok(()) => Ok(evicted),
            Err(err) => Err(ForcePushRefused {
                value: err.into_inner(),
                evicted,
                closed: true,
            }),
        }
    }

    /// Takes the oldest message out and gives its permit back.
    pub(crate) fn pop(&self) -> Result<Popped<T>, PopError> {
        let value = self.take()?;
        Ok(Popped {
            value,
            notify: self.grant(1),
        })
    }

    /// Takes the oldest message out, keeping its permit: the caller gives it back later
    /// ([`grant`](Self::grant)), as a credit.
    pub(crate) fn take(&self) -> Result<T, PopError> {
        self.items.pop()
    }

    /// Gives `n` permits back (credits). Returns whether a sender waiting for room should be
    /// told.
    pub(crate) fn grant(&self, n: usize) -> bool {
        self.permits.add(n)
    }

    /// Takes the oldest message out to evict it, if a message is held beyond the capacity
    /// (after a shrink below the depth); its permit goes with it.
    pub(crate) fn pop_excess(&self) -> Option<T> {
        if !self.permits.claim_excess() {
            return None;
        }
        match self.items.pop() {
            Ok(value) => Some(value),
            // The excess is held by messages still being queued: leave them to the next look.
            Err(_) => {
                self.permits.forget();
                None
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The capacity in effect.
    pub(crate) fn capacity(&self) -> usize {
        self.permits.capacity()
    }

    /// Messages held beyond the capacity, after a shrink below the depth.
    pub(crate) fn excess(&self) -> usize {
        usize::try_from(-self.permits.available()).unwrap_or(0)
    }

    /// Whether the mailbox was closed for good.
    pub(crate) fn is_closed(&self) -> bool {
        self.permits.is_closed()
    }

    /// Closes the mailbox for good: no push succeeds afterwards, and pops return what was
    /// queued, then `Closed`. A push that took its permit before this lands before the close
    /// of the storage (and is drained) or after it (and fails).
    pub(crate) fn close(&self) {
        self.permits.close();
        self.items.close();
    }

    /// Sets the capacity (at least 1) at once; returns by how much it grew (negative: shrank).
    /// Messages queued beyond a smaller capacity stay; new pushes wait until the depth is
    /// below it.
    pub(crate) fn set_capacity(&self, capacity: usize) -> i64 {
        debug_assert!(capacity > 0);
        self.permits.resize(capacity)
    }
}
