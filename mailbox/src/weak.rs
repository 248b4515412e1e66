//! `WeakBoundedAddr` and `WeakBoundedRecipient`: handles that do not keep an actor alive.

use std::fmt;
use std::sync::Weak;

use actix::{Actor, Handler, Message};

use crate::chan::{Chan, Sink};
use crate::{BoundedAddr, BoundedRecipient};

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
        WeakBoundedRecipient {
            sink: self.chan.clone() as Weak<dyn Sink<M>>,
        }
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

/// A [`BoundedRecipient`] that does not keep the actor alive: the bounded counterpart of
/// actix's `WeakRecipient`.
///
/// Made by [`BoundedRecipient::downgrade`] or [`WeakBoundedAddr::recipient`].
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
    /// closed; see [`WeakBoundedAddr::upgrade`].
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
