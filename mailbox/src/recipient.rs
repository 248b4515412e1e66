//! `BoundedRecipient`: a bounded address erased to one message type.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix::Message;

use crate::chan::Sink;
use crate::envelope::MsgEnvelope;
use crate::send::try_push;
use crate::{BoundedRequest, BoundedTell, MailboxStats, OverflowPolicy, TrySendError};

/// A handle that sends `M` to some actor through its bounded mailbox, whatever the actor's
/// type: the bounded counterpart of actix's `Recipient`.
///
/// Made by [`BoundedAddr::recipient`](crate::BoundedAddr::recipient). It counts as a sender:
/// the actor does not stop for lack of senders while a recipient is alive. Its methods behave
/// exactly as the [`BoundedAddr`](crate::BoundedAddr) methods of the same name.
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

impl<M: Message> fmt::Debug for BoundedRecipient<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedRecipient")
            .field("name", &&*self.sink.core().name)
            .field("len", &self.sink.len())
            .field("capacity", &self.sink.capacity())
            .finish()
    }
}
