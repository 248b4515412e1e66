//! `Feed`: whatever a source delivers messages to and learns the handler's result from.

use std::fmt;
use std::sync::Arc;

use actix::{Actor, Context, Handler};
use actix_backpressure_mailbox::{BoundedAddr, BoundedRecipient, SendError, WorkerPool};
use async_trait::async_trait;

use crate::{HandlerError, JetStreamMessage};

/// Where a [`JetStreamSource`](crate::JetStreamSource) delivers its messages: something that
/// takes a [`JetStreamMessage`] to a handler and reports what became of it.
///
/// Implemented for [`BoundedAddr<A>`], [`WorkerPool<A>`] and
/// [`BoundedRecipient<JetStreamMessage>`] (all send with `send`, so the source waits for room
/// under `Block`), and for `Arc<F>` of a feed. Anything else that can hand a message to a
/// handler and tell its result implements it in a few lines.
///
/// The source calls `feed` for many messages at once (up to
/// [`max_in_flight`](crate::SourceConfig::max_in_flight)), and acks or nak's each message once
/// its `feed` returns, according to the [`Delivery`].
///
/// # Examples
///
/// A feed that hands messages to a function (say, a worker pool's entry point):
///
/// ```
/// # mod actix_backpressure { pub mod nats { pub use actix_backpressure_nats::*; } }
/// use actix_backpressure::nats::{async_trait, Delivery, Feed, JetStreamMessage};
///
/// struct Log;
///
/// #[async_trait]
/// impl Feed for Log {
///     async fn feed(&self, msg: JetStreamMessage) -> Delivery {
///         println!("{}: {} bytes", msg.subject(), msg.payload().len());
///         Delivery::Handled
///     }
/// }
/// ```
#[async_trait]
pub trait Feed: Send + Sync + 'static {
    /// Delivers `msg` to its handler and waits for its result.
    ///
    /// # Cancel safety
    ///
    /// The source does not drop a `feed` future before it completes (it waits for every
    /// delivery when it stops; under `Block`, that includes a delivery waiting for room), so
    /// implementations need not be cancel safe; only the runtime shutting down drops them. A
    /// `feed` that panics counts as [`NotHandled::Stopped`]: the message is nak'ed.
    async fn feed(&self, msg: JetStreamMessage) -> Delivery;
}

/// What became of a message given to a [`Feed`]; it decides what the source tells the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The handler succeeded: the source **acks** the message.
    Handled,
    /// The handler failed: the source **nak's** the message (it is delivered again after a
    /// delay) or **terminates** it, as the [`HandlerError`] says.
    Failed(HandlerError),
    /// The message did not reach the handler, or the handler's result is unknown: the source
    /// **nak's** it after its [`refused_delay`](crate::SourceConfig::refused_delay), so it is
    /// delivered again. It is never acked.
    NotHandled(NotHandled),
}

/// Why a message did not reach its handler (see [`Delivery::NotHandled`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotHandled {
    /// The mailbox was full and refused it (`Reject`, or `Block` with a timeout).
    Full,
    /// The mailbox was full and discarded it on arrival (`DropNewest`).
    Dropped,
    /// It was queued, then evicted by a newer message (`DropOldest`).
    Evicted,
    /// It was queued, then shed because it waited too long (`ttl`, `sojourn`).
    Expired,
    /// The mailbox's rate limit refused it.
    RateLimited,
    /// The actor is gone: the mailbox is closed.
    Closed,
    /// The actor stopped before it answered (it may or may not have handled the message).
    Stopped,
    /// The source stopped before delivering it.
    Released,
}

impl NotHandled {
    /// The reason as a short lowercase word.
    pub fn as_str(self) -> &'static str {
        match self {
            NotHandled::Full => "full",
            NotHandled::Dropped => "dropped",
            NotHandled::Evicted => "evicted",
            NotHandled::Expired => "expired",
            NotHandled::RateLimited => "rate_limited",
            NotHandled::Closed => "closed",
            NotHandled::Stopped => "stopped",
            NotHandled::Released => "released",
        }
    }
}

impl fmt::Display for NotHandled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Delivery {
    /// The delivery of a `send` to a bounded mailbox.
    pub fn from_send(
        result: Result<Result<(), HandlerError>, SendError<JetStreamMessage>>,
    ) -> Self {
        match result {
            Ok(Ok(())) => Delivery::Handled,
            Ok(Err(err)) => Delivery::Failed(err),
            Err(err) => Delivery::NotHandled(match err {
                SendError::Full(_) | SendError::Timeout(_) => NotHandled::Full,
                SendError::Dropped(_) => NotHandled::Dropped,
                SendError::Evicted => NotHandled::Evicted,
                SendError::Expired => NotHandled::Expired,
                SendError::RateLimited(_) => NotHandled::RateLimited,
                SendError::Closed(_) => NotHandled::Closed,
                // `SendError` is non-exhaustive: whatever else, the handler's result is unknown.
                SendError::Stopped | _ => NotHandled::Stopped,
            }),
        }
    }
}

/// Sends with [`BoundedAddr::send`]: waits for room under `Block`; under the other policies
/// a refused, dropped or evicted message is [`NotHandled`] (nak'ed, delivered again).
#[async_trait]
impl<A> Feed for BoundedAddr<A>
where
    A: Actor + Handler<JetStreamMessage>,
{
    async fn feed(&self, msg: JetStreamMessage) -> Delivery {
        Delivery::from_send(self.send(msg).await)
    }
}

/// Sends with [`BoundedRecipient::send`], as the `BoundedAddr` feed does.
#[async_trait]
impl Feed for BoundedRecipient<JetStreamMessage> {
    async fn feed(&self, msg: JetStreamMessage) -> Delivery {
        Delivery::from_send(self.send(msg).await)
    }
}

/// Sends to the pool's shared mailbox with [`BoundedAddr::send`]; whichever worker takes the
/// message answers, as for one actor.
#[async_trait]
impl<A> Feed for WorkerPool<A>
where
    A: Actor<Context = Context<A>> + Handler<JetStreamMessage>,
{
    async fn feed(&self, msg: JetStreamMessage) -> Delivery {
        Delivery::from_send(self.addr().send(msg).await)
    }
}

#[async_trait]
impl<F: Feed + ?Sized> Feed for Arc<F> {
    async fn feed(&self, msg: JetStreamMessage) -> Delivery {
        (**self).feed(msg).await
    }
}
