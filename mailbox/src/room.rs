//! Waiting for room: senders of a full `Block` mailbox, and the consumer that makes room.
//!
//! A sender that finds the queue full registers on the event and counts itself in
//! `waiting`, issues a SeqCst fence, looks at the queue once more, then sleeps. The consumer,
//! after taking a message out, loads the count (SeqCst) and notifies one sender when it is not
//! zero. Store-buffering pattern: either the sender's last look sees the freed slot, or the
//! consumer's load sees the registration. Model-checked in `tests/loom_chan.rs`.

use std::sync::atomic::Ordering;

use crate::sync::{fence, notify, notify_additional, AtomicUsize, Event, EventListener};

/// The senders waiting for room in one mailbox, in FIFO order.
pub(crate) struct Room {
    event: Event,
    /// How many senders are registered on `event`: lets the consumer skip `notify` (which
    /// takes a lock in `event-listener`) when no one waits.
    waiting: AtomicUsize,
}

impl Room {
    pub(crate) fn new() -> Self {
        Room {
            event: Event::new(),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Registers a sender about to wait for room. The sender must look at the queue once more
    /// before it awaits the returned registration; dropping the registration unregisters it
    /// (passing a notification it got on to the next sender).
    pub(crate) fn register(&self) -> RoomRegistration<'_> {
        let listener = self.event.listen();
        // SeqCst, then a SeqCst fence before the sender's last look at the queue: pairs with
        // the consumer's SeqCst load in `freed` (see the module docs).
        self.waiting.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        RoomRegistration {
            room: self,
            listener,
        }
    }

    /// The consumer freed `slots` slots, after a SeqCst access (the queue's SeqCst CAS, or a
    /// fence): notifies as many more waiting senders, if any wait.
    pub(crate) fn freed(&self, slots: usize) {
        if self.waiting.load(Ordering::SeqCst) != 0 {
            notify_additional(&self.event, slots);
        }
    }

    /// Like [`freed`](Self::freed), but makes sure `slots` waiting senders hold a
    /// notification, counting those notified already: the backstop at the end of a batch.
    pub(crate) fn settle(&self, slots: usize) {
        if self.waiting.load(Ordering::SeqCst) != 0 {
            notify(&self.event, slots);
        }
    }

    /// Every waiting sender looks again: the policy or the capacity changed, or the mailbox
    /// closed.
    pub(crate) fn wake_all(&self) {
        notify(&self.event, usize::MAX);
    }

    /// Senders waiting for room now.
    pub(crate) fn waiting(&self) -> usize {
        // Relaxed: a statistic.
        self.waiting.load(Ordering::Relaxed)
    }
}

/// A sender registered as waiting for room; see [`Room::register`].
pub(crate) struct RoomRegistration<'a> {
    room: &'a Room,
    listener: EventListener,
}

impl RoomRegistration<'_> {
    /// Waits for a notification that there may be room.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future (or the registration) passes a notification it got
    /// on to another waiting sender.
    pub(crate) async fn notified(&mut self) {
        (&mut self.listener).await;
    }
}

impl Drop for RoomRegistration<'_> {
    fn drop(&mut self) {
        // Relaxed: a briefly stale count only costs the consumer one needless notification.
        self.room.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}
