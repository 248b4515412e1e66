//! `BoundedRecipient`: a bounded address erased to one message type, and its weak
//! counterpart `WeakBoundedRecipient`.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Weak};
use std::time::Duration;

use actix::Message;

use crate::chan::Sink;
use crate::envelope::MsgEnvelope;
use crate::limited::Limited;
use crate::rate::Limiter;
use crate::send::try_push;
use crate::{
    BoundedRequest, BoundedTell, ConfigError, MailboxProbe, MailboxStats, OverflowPolicy,
    PauseGate, RateLimit, TrySendError,
};

/// A handle that sends `M` to some actor through its bounded mailbox, whatever the actor's
/// type: the bounded counterpart of actix's `Recipient`.
///
/// Made by [`BoundedAddr::recipient`](crate::BoundedAddr::recipient) or `From<BoundedAddr>`.
/// It counts as a sender: the actor does not stop for lack of senders while a recipient is
/// alive ([`downgrade`](Self::downgrade) gives one that does not). Its methods behave exactly
/// as the [`BoundedAddr`](crate::BoundedAddr) methods of the same name, reconfiguration
/// included. Two recipients are equal when they send to the same mailbox.
pub struct BoundedRecipient<M: Message> {
    sink: Arc<dyn Sink<M>>,
}

impl<M> BoundedRecipient<M>
where
    M: Message + Send + 'static,
    M::Result: Send,
{
    /// Wraps a sink that already counts this handle as a sender.
    pub(crate) fn from_sink(sink: Arc<dyn Sink<M>>) -> Self {
        BoundedRecipient { sink }
    }

    /// A recipient of the same mailbox with a **rate limit of its own**: what is sent through
    /// it (and its clones, which share the limit) takes a token of `limit` first, then one of
    /// the mailbox's [`rate_limit`](crate::MailboxConfig::rate_limit) if it has one. Other
    /// handles are not limited by it: give each producer its own, to hold each to its own rate.
    ///
    /// It behaves as the mailbox's limit does: under `Block` a send waits for its token (a
    /// `send_timeout` whose deadline comes first is refused at once); under the other
    /// policies, and for `try_send` and `do_send`, a send without a token is refused as
    /// `rate_limited` (counted, shown to the drop hook) and hands the message back as
    /// `RateLimited(msg)`; a message refused for another reason gives its tokens back. It
    /// counts as a sender, as any recipient.
    ///
    /// # Errors
    ///
    /// [`ConfigError::RateLimit`] for a limit with a zero count, period or burst (or one
    /// whose messages would be under a nanosecond apart).
    pub fn with_rate_limit(&self, limit: RateLimit) -> Result<Self, ConfigError> {
        let limiter = Limiter::new(limit).ok_or_else(|| ConfigError::RateLimit {
            mailbox: self.name().to_owned(),
            count: limit.count,
            period: limit.period,
            burst: limit.burst,
        })?;
        self.sink.add_sender();
        Ok(BoundedRecipient::from_sink(Arc::new(Limited::new(
            Arc::clone(&self.sink),
            limiter,
        ))))
    }

    /// Sends a request, offered now; the returned [`BoundedRequest`] resolves to its
    /// response. See [`BoundedAddr::send`](crate::BoundedAddr::send).
    ///
    /// # Errors
    ///
    /// As [`BoundedAddr::send`](crate::BoundedAddr::send).
    ///
    /// # Cancel safety
    ///
    /// As [`BoundedAddr::send`](crate::BoundedAddr::send).
    pub fn send(&self, msg: M) -> BoundedRequest<M> {
        BoundedRequest::new(&*self.sink, msg, None, || Arc::clone(&self.sink))
    }

    /// Sends a request, waiting at most `timeout` for room; see
    /// [`BoundedAddr::send_timeout`](crate::BoundedAddr::send_timeout).
    ///
    /// # Errors
    ///
    /// As [`BoundedAddr::send_timeout`](crate::BoundedAddr::send_timeout).
    ///
    /// # Panics
    ///
    /// As [`BoundedAddr::send_timeout`](crate::BoundedAddr::send_timeout).
    ///
    /// # Cancel safety
    ///
    /// As [`BoundedAddr::send`](crate::BoundedAddr::send).
    pub fn send_timeout(&self, msg: M, timeout: Duration) -> BoundedRequest<M> {
        BoundedRequest::new(&*self.sink, msg, Some(timeout), || Arc::clone(&self.sink))
    }

    /// Sends without waiting for the response; see
    /// [`BoundedAddr::tell`](crate::BoundedAddr::tell).
    ///
    /// # Errors
    ///
    /// As [`BoundedAddr::tell`](crate::BoundedAddr::tell).
    ///
    /// # Cancel safety
    ///
    /// As [`BoundedAddr::send`](crate::BoundedAddr::send).
    pub fn tell(&self, msg: M) -> BoundedTell<M> {
        BoundedTell::new(&*self.sink, msg, || Arc::clone(&self.sink))
    }

    /// Queues the message if that can be done now; see
    /// [`BoundedAddr::try_send`](crate::BoundedAddr::try_send).
    ///
    /// # Errors
    ///
    /// As [`BoundedAddr::try_send`](crate::BoundedAddr::try_send).
    pub fn try_send(&self, msg: M) -> Result<(), TrySendError<M>> {
        try_push(&*self.sink, MsgEnvelope::new(msg, None))
    }

    /// Queues the message if that can be done now, and otherwise discards it (counted and
    /// shown to the drop hook); see [`BoundedAddr::do_send`](crate::BoundedAddr::do_send).
    pub fn do_send(&self, msg: M) {
        let _ = self.try_send(msg);
    }

    /// Queues `msg` on the mailbox's control lane; see
    /// [`BoundedAddr::control`](crate::BoundedAddr::control).
    ///
    /// # Errors
    ///
    /// As [`BoundedAddr::control`](crate::BoundedAddr::control).
    pub fn control(&self, msg: M) -> Result<(), TrySendError<M>> {
        crate::send::control(&*self.sink, msg)
    }

    /// Sends a request on the control lane; see
    /// [`BoundedAddr::send_control`](crate::BoundedAddr::send_control).
    ///
    /// # Errors
    ///
    /// As [`BoundedAddr::send_control`](crate::BoundedAddr::send_control).
    ///
    /// # Cancel safety
    ///
    /// As [`BoundedAddr::send_control`](crate::BoundedAddr::send_control).
    pub fn send_control(&self, msg: M) -> BoundedRequest<M> {
        BoundedRequest::control(&*self.sink, msg)
    }

    /// Pauses the actor; see [`BoundedAddr::pause`](crate::BoundedAddr::pause).
    pub fn pause(&self) -> bool {
        self.sink.core().gate.pause()
    }

    /// Lets a paused actor go on; see [`BoundedAddr::resume`](crate::BoundedAddr::resume).
    pub fn resume(&self) -> bool {
        self.sink.core().gate.resume()
    }

    /// Whether the mailbox is paused.
    pub fn is_paused(&self) -> bool {
        self.sink.core().gate.is_paused()
    }

    /// The mailbox's [`PauseGate`]; see
    /// [`BoundedAddr::pause_gate`](crate::BoundedAddr::pause_gate).
    pub fn pause_gate(&self) -> PauseGate {
        self.sink.core().gate.clone()
    }

    /// A read-only view of the mailbox's pressure, which does not keep the actor alive.
    pub fn probe(&self) -> MailboxProbe {
        MailboxProbe::new(
            Arc::clone(&self.sink).observed(),
            Arc::clone(&self.sink.core().name),
        )
    }

    /// Changes the mailbox's overflow policy, at once; see
    /// [`BoundedAddr::set_policy`](crate::BoundedAddr::set_policy).
    pub fn set_policy(&self, policy: OverflowPolicy) {
        self.sink.set_policy(policy);
    }

    /// Changes the mailbox's capacity; see
    /// [`BoundedAddr::set_capacity`](crate::BoundedAddr::set_capacity).
    ///
    /// # Errors
    ///
    /// As [`BoundedAddr::set_capacity`](crate::BoundedAddr::set_capacity).
    pub fn set_capacity(&self, capacity: usize) -> Result<(), ConfigError> {
        crate::config::check_capacity(capacity, || self.name().to_owned())?;
        self.sink.set_capacity(capacity);
        Ok(())
    }

    /// A handle that does not keep the actor alive.
    pub fn downgrade(&self) -> WeakBoundedRecipient<M> {
        WeakBoundedRecipient::new(Arc::downgrade(&self.sink))
    }

    /// Messages queued now.
    pub fn len(&self) -> usize {
        self.sink.len()
    }

    /// Whether no message is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most messages the mailbox holds.
    pub fn capacity(&self) -> usize {
        self.sink.capacity()
    }

    /// What the mailbox does when it is full.
    pub fn policy(&self) -> OverflowPolicy {
        self.sink.core().policy()
    }

    /// The mailbox's name.
    pub fn name(&self) -> &str {
        &self.sink.core().name
    }

    /// Whether the mailbox refuses new messages because the actor is gone.
    pub fn is_closed(&self) -> bool {
        self.sink.is_closed()
    }

    /// Whether the actor is still there to take messages: the opposite of
    /// [`is_closed`](Self::is_closed), as actix's `Recipient::connected`.
    pub fn connected(&self) -> bool {
        !self.is_closed()
    }

    /// The mailbox's outcome counters.
    pub fn stats(&self) -> MailboxStats {
        self.sink.core().stats()
    }
}

impl<M: Message> Clone for BoundedRecipient<M> {
    fn clone(&self) -> Self {
        self.sink.add_sender();
        BoundedRecipient {
            sink: Arc::clone(&self.sink),
        }
    }
}

impl<M: Message> Drop for BoundedRecipient<M> {
    fn drop(&mut self) {
        self.sink.remove_sender();
    }
}

impl<M: Message> PartialEq for BoundedRecipient<M> {
    fn eq(&self, other: &Self) -> bool {
        // The mailbox, whatever the vtable or a rate limit of the handle's own.
        self.sink.mailbox() == other.sink.mailbox()
    }
}

impl<M: Message> Eq for BoundedRecipient<M> {}

impl<M: Message> Hash for BoundedRecipient<M> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.sink.mailbox().hash(state);
    }
}

impl<M: Message> fmt::Debug for BoundedRecipient<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedRecipient")
            .field("name", &&*self.sink.core().name)
            .field("len", &self.sink.len())
            .field("capacity", &self.sink.capacity())
            .field("policy", &self.sink.core().policy())
            .finish()
    }
}

/// A [`BoundedRecipient`] that does not keep the actor alive: the bounded counterpart of
/// actix's `WeakRecipient`.
///
/// Made by [`BoundedRecipient::downgrade`] or
/// [`WeakBoundedAddr::recipient`](crate::WeakBoundedAddr::recipient).
pub struct WeakBoundedRecipient<M: Message> {
    sink: Weak<dyn Sink<M>>,
}

impl<M> WeakBoundedRecipient<M>
where
    M: Message + Send + 'static,
    M::Result: Send,
{
    pub(crate) fn new(sink: Weak<dyn Sink<M>>) -> Self {
        WeakBoundedRecipient { sink }
    }

    /// A [`BoundedRecipient`], or `None` when no strong handle is left or the mailbox is
    /// closed; see
    /// [`WeakBoundedAddr::upgrade`](crate::WeakBoundedAddr::upgrade).
    pub fn upgrade(&self) -> Option<BoundedRecipient<M>> {
        let sink = self.sink.upgrade()?;
        if sink.is_closed() || !sink.try_add_sender() {
            return None;
        }
        Some(BoundedRecipient::from_sink(sink))
    }
}

impl<M: Message> Clone for WeakBoundedRecipient<M> {
    fn clone(&self) -> Self {
        WeakBoundedRecipient {
            sink: Weak::clone(&self.sink),
        }
    }
}

impl<M: Message> PartialEq for WeakBoundedRecipient<M> {
    fn eq(&self, other: &Self) -> bool {
        // The data pointer only: the same mailbox may be seen through different vtables.
        std::ptr::addr_eq(self.sink.as_ptr(), other.sink.as_ptr())
    }
}

impl<M: Message> Eq for WeakBoundedRecipient<M> {}

impl<M: Message> std::hash::Hash for WeakBoundedRecipient<M> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.sink.as_ptr().cast::<()>().hash(state);
    }
}

impl<M: Message> fmt::Debug for WeakBoundedRecipient<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakBoundedRecipient")
            .field("alive", &(self.sink.strong_count() > 0))
            .finish()
    }
}
