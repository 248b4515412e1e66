//! Waiting for room: senders of a full `Block` mailbox, and the consumer that makes room.
//!
//! A sender that finds no permit registers a listener on the event, counts itself in the
//! permit word ([`Permits::add_waiter`]), tries once more to take a permit, then sleeps. The
//! consumer gives a permit back with a read-modify-write of the same word, which tells it
//! whether a sender waits: then it notifies one. The argument is that word's modification
//! order (see `permits.rs`); model-checked in `tests/loom_chan.rs`.

use crate::permits::Permits;
use crate::sync::{notify, notify_additional, Event, EventListener};

/// The senders waiting for room in one mailbox, in FIFO order.
pub(crate) struct Room {
    event: Event,
}

impl Room {
    pub(crate) fn new() -> Self {
        Room {
            event: Event::new(),
        }
    }

    /// Registers a sender about to wait for one of `permits`. The sender must try once more
    /// to take a permit before it awaits the returned registration; dropping the registration
    /// unregisters it (passing a notification it got on to the next sender).
    pub(crate) fn register<'a>(&'a self, permits: &'a Permits) -> RoomRegistration<'a> {
        // The listener first: the count's AcqRel RMW then publishes it to the consumer that
        // reads the count.
        let listener = self.event.listen();
        permits.add_waiter();
        RoomRegistration { permits, listener }
    }

    /// A permit was given back and a sender waits (what [`Permits::add`] returned): notifies
    /// one more of them.
    pub(crate) fn freed(&self) {
        self.freed_n(1);
    }

    /// `n` permits were given back at once and a sender waits: notifies up to `n` more.
    pub(crate) fn freed_n(&self, n: usize) {
        notify_additional(&self.event, n);
    }

    /// Every waiting sender looks again: the policy or the capacity changed, or the mailbox
    /// closed.
    pub(crate) fn wake_all(&self) {
        notify(&self.event, usize::MAX);
    }
}

/// Runs `attempt` until it settles (`Some`), waiting for room in between: after a failed
/// attempt it registers (`register`), tries once more, then sleeps; a registration serves one
/// wake-up, and the next failed attempt registers again.
///
/// # Cancel safety
///
/// Cancel safe as [`RoomRegistration::notified`]: dropping the future unregisters, passing a
/// notification on.
pub(crate) async fn retry_with_room<'a, R>(
    register: impl Fn() -> RoomRegistration<'a>,
    mut attempt: impl FnMut() -> Option<R>,
) -> R {
    let mut registration = None;
    loop {
        if let Some(settled) = attempt() {
            return settled;
        }
        match registration.take() {
            None => registration = Some(register()),
            Some(mut registered) => registered.notified().await,
        }
    }
}

/// A sender registered as waiting for room; see [`Room::register`].
pub(crate) struct RoomRegistration<'a> {
    permits: &'a Permits,
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
        self.permits.remove_waiter();
    }
}
