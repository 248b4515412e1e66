//! `BoundedAddr`: the handle that sends to an actor through its bounded mailbox, and its weak
//! counterpart `WeakBoundedAddr`.

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use actix::{Actor, Handler, Message};

use crate::chan::{Chan, Sink};
use crate::envelope::MsgEnvelope;
use crate::probe::Observed;
use crate::send::try_push;
use crate::{
    BoundedRecipient, BoundedRequest, BoundedTell, ConfigError, Demand, MailboxProbe, MailboxStats,
    OverflowPolicy, PauseGate, TrySendError, WeakBoundedRecipient,
};
// Named by the docs only.
#[cfg(doc)]
use crate::SendError;

/// The address of an actor behind a bounded mailbox.
///
/// Every send method goes through the same queue of [`capacity`](Self::capacity) messages,
/// however many clones and recipients there are, and applies the mailbox's
/// [`OverflowPolicy`] when it is full. The actor stops once every `BoundedAddr` and
/// [`BoundedRecipient`] of it is dropped and its queue is empty (or when it stops itself);
/// a [`WeakBoundedAddr`] (from [`downgrade`](Self::downgrade)) does not keep it alive.
///
/// The actor's own actix address, `ctx.address()`, goes to actix's native mailbox, which has
/// no bound: a message sent there is neither bounded, nor counted, nor shown to the drop hook.
/// For an actor to send to itself through the bound, give it a [`WeakBoundedAddr`] of
/// itself (see [`BoundedMailbox`](crate::BoundedMailbox)); to handle a message after the
/// current one, `ctx.notify(msg)` is actix's own way and also unbounded.
///
/// | method | waits for room under `Block` | returns the response |
/// |---|---|---|
/// | [`send`](Self::send) | yes | yes |
/// | [`send_timeout`](Self::send_timeout) | up to a deadline | yes |
/// | [`tell`](Self::tell) | yes | no |
/// | [`try_send`](Self::try_send) | no (refuses) | no |
/// | [`do_send`](Self::do_send) | no (discards, counted) | no |
pub struct BoundedAddr<A: Actor> {
    chan: Arc<Chan<A>>,
}

impl<A: Actor> BoundedAddr<A> {
    /// Wraps a channel that already counts this handle as a sender.
    pub(crate) fn from_chan(chan: Arc<Chan<A>>) -> Self {
        BoundedAddr { chan }
    }

    /// The mailbox.
    pub(crate) fn chan(&self) -> &Arc<Chan<A>> {
        &self.chan
    }

    /// Sends a request; the returned [`BoundedRequest`] resolves to its response.
    ///
    /// As with actix's `Addr::send`, the message is offered to the mailbox now, in this call:
    /// the order of calls is the order in the mailbox, whenever the futures are awaited. The
    /// future owns what it needs: it can be spawned (`actix_rt::spawn(addr.send(m))`) or
    /// stored, and [`BoundedRequest::timeout`] bounds the whole request.
    ///
    /// When the mailbox is full, [`Block`](OverflowPolicy::Block) waits for room (without
    /// blocking the thread; waiting senders are woken in order, but a new sender may take a
    /// freed slot before them), [`DropNewest`](OverflowPolicy::DropNewest) and
    /// [`Reject`](OverflowPolicy::Reject) fail at once, and
    /// [`DropOldest`](OverflowPolicy::DropOldest) evicts the oldest queued message.
    ///
    /// # Errors
    ///
    /// [`SendError::Full`], [`SendError::Dropped`] and [`SendError::Closed`] hand the message
    /// back: it was never queued. [`SendError::Evicted`] means it was queued, then evicted;
    /// [`SendError::Stopped`] that the actor stopped before handling it, or while its response
    /// was still being computed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future while it waits for room (a full `Block` mailbox) drops the message,
    /// which was not queued. Dropping it after the message was queued leaves the message
    /// queued: it is still handled, and its response is discarded. A message is never both
    /// queued and lost.
    pub fn send<M>(&self, msg: M) -> BoundedRequest<M>
    where
        A: Handler<M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        BoundedRequest::new(&*self.chan, msg, None, || self.sink())
    }

    /// Like [`send`](Self::send), but waits at most `timeout` for room in the mailbox. The
    /// timeout bounds only the wait for room, not the handler.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), plus [`SendError::Timeout`] when no room came in time: the
    /// message was not queued and is handed back.
    ///
    /// # Panics
    ///
    /// When it has to wait, it needs a Tokio runtime with the time driver enabled (every actix
    /// `System` has one), like [`tokio::time::timeout`].
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Self::send).
    pub fn send_timeout<M>(&self, msg: M, timeout: Duration) -> BoundedRequest<M>
    where
        A: Handler<M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        BoundedRequest::new(&*self.chan, msg, Some(timeout), || self.sink())
    }

    /// Sends a message without waiting for its response; under
    /// [`Block`](OverflowPolicy::Block) the returned [`BoundedTell`] waits for room. The
    /// message is offered now, as for [`send`](Self::send).
    ///
    /// # Errors
    ///
    /// [`SendError::Full`], [`SendError::Dropped`] and [`SendError::Closed`], as for
    /// [`send`](Self::send). Once this returns `Ok` the message is queued; if it is later
    /// evicted or the actor stops first, the drop hook and [`stats`](Self::stats) say so.
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Self::send).
    #[inline]
    pub fn tell<M>(&self, msg: M) -> BoundedTell<M>
    where
        A: Handler<M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        BoundedTell::new(&*self.chan, msg, || self.sink())
    }

    /// The mailbox seen through `M`, for a message that has to wait for room.
    fn sink<M>(&self) -> Arc<dyn Sink<M>>
    where
        A: Handler<M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        Arc::clone(&self.chan) as _
    }

    /// Queues a message if that can be done now, without waiting.
    ///
    /// # Errors
    ///
    /// The message is handed back: [`TrySendError::Full`] when the mailbox is full under
    /// [`Reject`](OverflowPolicy::Reject) or [`Block`](OverflowPolicy::Block),
    /// [`TrySendError::Dropped`] under [`DropNewest`](OverflowPolicy::DropNewest),
    /// [`TrySendError::Closed`] when the actor is gone. Under
    /// [`DropOldest`](OverflowPolicy::DropOldest) only `Closed` can happen.
    pub fn try_send<M>(&self, msg: M) -> Result<(), TrySendError<M>>
    where
        A: Handler<M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        try_push(&*self.chan, MsgEnvelope::new(msg, None))
    }

    /// Queues a message if that can be done now, and otherwise **discards it**.
    ///
    /// This is actix's `do_send` with a real bound: it never waits, so when the mailbox is
    /// full under [`Block`](OverflowPolicy::Block) or [`Reject`](OverflowPolicy::Reject) the
    /// message is discarded and counted as *rejected* (and under
    /// [`DropNewest`](OverflowPolicy::DropNewest) as *dropped*). Every discarded message still
    /// goes to the drop hook and into [`stats`](Self::stats). Prefer [`try_send`](Self::try_send)
    /// to get the message back, or [`tell`](Self::tell) to wait for room.
    pub fn do_send<M>(&self, msg: M)
    where
        A: Handler<M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        let _ = self.try_send(msg);
    }

    /// Queues `msg` on the mailbox's **control lane**: it bypasses the bound and the policy
    /// (it is never dropped, evicted, rejected or held for room), and is handled before the
    /// messages in the mailbox, even while the mailbox is [paused](Self::pause).
    ///
    /// The control lane is for the few messages that steer an actor (stop, reconfigure,
    /// flush); it has no bound of its own, so do not use it for a stream of data. Control
    /// messages are not counted in [`stats`](Self::stats) or the mailbox's metrics.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Closed`] hands the message back if the actor is gone. If the actor
    /// stops before handling it, the message is dropped (see [`send_control`](Self::send_control)
    /// to learn of it).
    pub fn control<M>(&self, msg: M) -> Result<(), TrySendError<M>>
    where
        A: Handler<M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        crate::send::control(&*self.chan, msg)
    }

    /// Sends a request on the control lane (see [`control`](Self::control)) and waits for its
    /// response.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] hands the message back if the actor is gone;
    /// [`SendError::Stopped`] means the actor stopped before it answered.
    ///
    /// # Cancel safety
    ///
    /// The message is queued at once; dropping the future only discards the response.
    pub fn send_control<M>(&self, msg: M) -> BoundedRequest<M>
    where
        A: Handler<M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        BoundedRequest::control(&*self.chan, msg)
    }

    /// Pauses the actor: it takes no further message out of its mailbox (control messages
    /// still pass) until [`resume`](Self::resume). The message being handled finishes; queued
    /// messages stay queued and new ones are queued or refused by the policy as usual, so the
    /// pressure reaches this actor's own senders. Streams guarded by the mailbox's
    /// [`pause_gate`](Self::pause_gate) stop too.
    ///
    /// Idempotent: returns `true` if the actor was running.
    pub fn pause(&self) -> bool {
        self.chan.core.gate.pause()
    }

    /// Lets a [paused](Self::pause) actor go on. Idempotent: returns `true` if it was paused.
    pub fn resume(&self) -> bool {
        self.chan.core.gate.resume()
    }

    /// Whether the mailbox is paused.
    pub fn is_paused(&self) -> bool {
        self.chan.core.gate.is_paused()
    }

    /// The mailbox's [`PauseGate`]: pausing it pauses the actor (see [`pause`](Self::pause)).
    /// Unlike the address, the gate does not keep the actor alive.
    pub fn pause_gate(&self) -> PauseGate {
        self.chan.core.gate.clone()
    }

    /// The mailbox's [`Demand`], if it was made with
    /// [`MailboxConfig::demand`](crate::MailboxConfig::demand): the actor grants room with it.
    /// It does not keep the actor alive.
    pub fn demand(&self) -> Option<Demand> {
        crate::chan::demand_of(&self.chan)
    }

    /// A read-only view of the mailbox's pressure, which does not keep the actor alive.
    pub fn probe(&self) -> MailboxProbe {
        MailboxProbe::new(
            Arc::downgrade(&self.chan) as Weak<dyn Observed>,
            Arc::clone(&self.chan.core.name),
        )
    }

    /// A type-erased handle that sends `M` to this actor, through the same mailbox.
    pub fn recipient<M>(&self) -> BoundedRecipient<M>
    where
        A: Handler<M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        self.chan.add_sender();
        BoundedRecipient::from_sink(Arc::clone(&self.chan) as _)
    }

    /// A handle that does not keep the actor alive; [`WeakBoundedAddr::upgrade`] gives this
    /// address back while a strong handle is left.
    pub fn downgrade(&self) -> WeakBoundedAddr<A> {
        WeakBoundedAddr::new(Arc::downgrade(&self.chan))
    }

    /// Messages queued now.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether no message is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most messages the mailbox holds.
    pub fn capacity(&self) -> usize {
        self.chan.capacity()
    }

    /// What the mailbox does when it is full.
    pub fn policy(&self) -> OverflowPolicy {
        self.chan.core.policy()
    }

    /// Changes the mailbox's overflow policy, at once. Senders waiting for room under `Block`
    /// look again under the new policy (under `DropNewest` or `Reject` they get their message
    /// back).
    pub fn set_policy(&self, policy: OverflowPolicy) {
        self.chan.set_policy(policy);
    }

    /// Changes the mailbox's capacity.
    ///
    /// The new capacity takes effect for every sender at once (the bound is a count of
    /// permits, and this changes the count); [`capacity`](Self::capacity) reports it, and
    /// senders waiting for room under `Block` look again when it grows. Shrinking below the
    /// number of queued messages evicts nothing, except under
    /// [`DropOldest`](OverflowPolicy::DropOldest), whose actor evicts the oldest messages
    /// beyond the new capacity before it handles its next one (counted and shown to the drop
    /// hook); under the other policies the queued messages are all handled, in order, and new
    /// sends see the new bound (the mailbox is full) until the queue has drained below it.
    ///
    /// With [`demand`](crate::MailboxConfig::demand), the capacity bounds the demand
    /// outstanding: growing it grants nothing (the actor requests more), and a shrink takes
    /// back the demand granted beyond it that no sender used yet.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroCapacity`] if `capacity` is 0, [`ConfigError::CapacityTooLarge`] if
    /// it is above [`MAX_CAPACITY`](crate::MAX_CAPACITY); nothing changes.
    pub fn set_capacity(&self, capacity: usize) -> Result<(), ConfigError> {
        crate::config::check_capacity(capacity, || self.name().to_owned())?;
        self.chan.set_capacity(capacity);
        Ok(())
    }

    /// The mailbox's name (see [`MailboxConfig::name`](crate::MailboxConfig::name)).
    pub fn name(&self) -> &str {
        &self.chan.core.name
    }

    /// Whether the mailbox refuses new messages because the actor is gone.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Whether the actor is still there to take messages: the opposite of
    /// [`is_closed`](Self::is_closed), as actix's `Addr::connected`.
    pub fn connected(&self) -> bool {
        !self.is_closed()
    }

    /// The mailbox's outcome counters.
    pub fn stats(&self) -> MailboxStats {
        self.chan.core.stats()
    }
}

impl<A: Actor> Clone for BoundedAddr<A> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        BoundedAddr {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<A: Actor> Drop for BoundedAddr<A> {
    fn drop(&mut self) {
        self.chan.remove_sender();
    }
}

impl<A: Actor> PartialEq for BoundedAddr<A> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<A: Actor> Eq for BoundedAddr<A> {}

impl<A: Actor> std::hash::Hash for BoundedAddr<A> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.chan).hash(state);
    }
}

impl<A, M> From<BoundedAddr<A>> for BoundedRecipient<M>
where
    A: Actor + Handler<M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    /// The address as a recipient of `M`; it takes the address's place as a sender.
    fn from(addr: BoundedAddr<A>) -> Self {
        addr.recipient()
    }
}

impl<A: Actor> fmt::Debug for BoundedAddr<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedAddr")
            .field("name", &self.name())
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("policy", &self.policy())
            .finish()
    }
}

/// A handle to an actor's bounded mailbox that does not keep the actor alive: the bounded
/// counterpart of actix's `WeakAddr`.
///
/// Made by [`BoundedAddr::downgrade`] (or [`BoundedMailbox::downgrade`](crate::BoundedMailbox::downgrade),
/// before the actor starts). An actor that holds its own `BoundedAddr` never stops for lack of
/// senders; holding a `WeakBoundedAddr` of itself and upgrading it when it needs to send lets
/// it stop once everyone else has let go.
///
/// # Examples
///
/// ```
/// use actix::prelude::*;
/// # use actix_backpressure_mailbox as actix_backpressure;
/// use actix_backpressure::{BoundedActorExt, MailboxConfig};
///
/// struct Echo;
/// impl Actor for Echo {
///     type Context = Context<Self>;
/// }
///
/// System::new().block_on(async {
///     let addr = Echo.start_bounded(MailboxConfig::new(4));
///     let weak = addr.downgrade();
///     assert!(weak.upgrade().is_some());
///     drop(addr);
///     // The last strong handle is gone: the mailbox closed, and it does not come back.
///     assert!(weak.upgrade().is_none());
/// });
/// ```
pub struct WeakBoundedAddr<A: Actor> {
    chan: Weak<Chan<A>>,
}

impl<A: Actor> WeakBoundedAddr<A> {
    pub(crate) fn new(chan: Weak<Chan<A>>) -> Self {
        WeakBoundedAddr { chan }
    }

    /// A [`BoundedAddr`] of the actor, or `None` when no strong handle (`BoundedAddr` or
    /// [`BoundedRecipient`]) is left or its mailbox is closed.
    ///
    /// Once every strong handle is gone the mailbox closes for good, so after a first `None`
    /// every later call returns `None` too.
    pub fn upgrade(&self) -> Option<BoundedAddr<A>> {
        let chan = self.chan.upgrade()?;
        if chan.is_closed() || !chan.try_add_sender() {
            return None;
        }
        Some(BoundedAddr::from_chan(chan))
    }

    /// A weak handle that sends `M` to this actor.
    pub fn recipient<M>(&self) -> WeakBoundedRecipient<M>
    where
        A: Handler<M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        WeakBoundedRecipient::new(self.chan.clone() as Weak<dyn Sink<M>>)
    }
}

impl<A: Actor> Clone for WeakBoundedAddr<A> {
    fn clone(&self) -> Self {
        WeakBoundedAddr {
            chan: Weak::clone(&self.chan),
        }
    }
}

impl<A: Actor> PartialEq for WeakBoundedAddr<A> {
    fn eq(&self, other: &Self) -> bool {
        Weak::ptr_eq(&self.chan, &other.chan)
    }
}

impl<A: Actor> Eq for WeakBoundedAddr<A> {}

impl<A: Actor> std::hash::Hash for WeakBoundedAddr<A> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.chan.as_ptr().hash(state);
    }
}

impl<A: Actor> fmt::Debug for WeakBoundedAddr<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakBoundedAddr")
            .field("alive", &(self.chan.strong_count() > 0))
            .finish()
    }
}

impl<A, M> From<WeakBoundedAddr<A>> for WeakBoundedRecipient<M>
where
    A: Actor + Handler<M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    fn from(addr: WeakBoundedAddr<A>) -> Self {
        addr.recipient()
    }
}
