//! Room before the message: [`BoundedAddr::reserve`] waits for a permit and hands it over as a
//! [`SendPermit`]; [`BoundedAddr::feed`] uses one per item, so that a stream is pulled only
//! when its item has room (or a credit) waiting for it.

use std::fmt;
use std::future::poll_fn;
use std::pin::pin;
use std::sync::Arc;

use actix::{Actor, Handler, Message};
use futures_core::Stream;

use crate::chan::{downcast, Chan, Refusal};
use crate::envelope::MsgEnvelope;
use crate::room::retry_with_room;
use crate::{BoundedAddr, DropReason, TrySendError};

/// Room for one message in a bounded mailbox, taken ahead of the message by
/// [`BoundedAddr::reserve`]. [`send`](Self::send) queues a message with it, at once;
/// dropping it unused gives the room back.
///
/// While it is held, the room counts as taken: other senders see the mailbox one message
/// fuller (with [`credits`](crate::MailboxConfig::credits), it holds a credit). Under
/// `DropOldest`, a send that finds every permit held and nothing queued to evict is refused
/// (`Full`, counted as rejected).
#[must_use = "a permit holds room in the mailbox until it is used or dropped"]
pub struct SendPermit<A: Actor> {
    chan: Option<Arc<Chan<A>>>,
}

impl<A: Actor> SendPermit<A> {
    /// Queues `msg` with this permit, without waiting and whatever the policy.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Closed`] hands the message back if the actor went away since the
    /// permit was taken (counted as `closed`, shown to the drop hook).
    pub fn send<M>(mut self, msg: M) -> Result<(), TrySendError<M>>
    where
        A: Handler<M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        let chan = self.chan.take().expect("a permit is used once");
        match chan.send_reserved(MsgEnvelope::new(msg, None)) {
            Ok(()) => Ok(()),
            Err(env) => {
                let msg = downcast::<A, M>(env).into_msg();
                chan.core.discard(DropReason::Closed, &msg);
                Err(TrySendError::Closed(msg))
            }
        }
    }
}

impl<A: Actor> Drop for SendPermit<A> {
    fn drop(&mut self) {
        if let Some(chan) = self.chan.take() {
            chan.release_reserved();
        }
    }
}

impl<A: Actor> fmt::Debug for SendPermit<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendPermit").finish_non_exhaustive()
    }
}

impl<A: Actor> BoundedAddr<A> {
    /// Waits for room in the mailbox (whatever its policy), and for a token of its
    /// [`rate_limit`](crate::MailboxConfig::rate_limit) if it has one, then hands the room
    /// over as a [`SendPermit`]: for a sender that should fetch or build its message only once
    /// there is room for it. `None` when the actor is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future while it waits takes no room, and gives back the
    /// rate token it reserved.
    pub async fn reserve(&self) -> Option<SendPermit<A>> {
        let chan = self.chan();
        let reserved = retry_with_room(
            || chan.wait_for_room(),
            || match chan.try_reserve() {
                Ok(()) => Some(true),
                Err(Refusal::Closed) => Some(false),
                Err(Refusal::Full) => None,
            },
        )
        .await;
        if !reserved {
            return None;
        }
        let permit = SendPermit {
            chan: Some(Arc::clone(chan)),
        };
        if let Some(limiter) = &chan.core.rate {
            // Holding the room meanwhile: dropped (cancelled) here, the permit gives it back,
            // and the guard the token.
            if let Some(slot) = limiter.reserve_before(None) {
                let booked = limiter.booked();
                crate::send::wait_for_token(&chan.core, slot).await;
                booked.spent();
            }
        }
        Some(permit)
    }

    /// Feeds the actor from `stream`, pulling an item only once there is room for it (a
    /// permit, see [`reserve`](Self::reserve)): a slow actor holds the stream back, and no
    /// item is ever pulled and then left waiting, or dropped. Returns the number of items
    /// queued, once the stream ends or the actor is gone (then [`is_closed`](Self::is_closed)
    /// says so, and the stream is not pulled any more).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses no item: every item pulled was queued before the next await.
    pub async fn feed<S>(&self, stream: S) -> u64
    where
        S: Stream,
        S::Item: Message + Send + 'static,
        <S::Item as Message>::Result: Send,
        A: Handler<S::Item>,
    {
        let mut stream = pin!(stream);
        let mut queued = 0;
        while let Some(permit) = self.reserve().await {
            let Some(item) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await else {
                break;
            };
            if permit.send(item).is_err() {
                break;
            }
            queued += 1;
        }
        queued
    }
}
