//! Envelopes: a message of any type, packed for one actor, with its reply channel.

use std::any::Any;
use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix::dev::{MessageResponse, OneshotSender};
use actix::{Actor, Handler, Message};
use tokio::sync::oneshot;

use crate::core::Core;
use crate::metrics::Timers;
use crate::{DropReason, SendError};

/// A queued message, type-erased for the actor `A`.
pub(crate) type Envelope<A> = Box<dyn EnvelopeProxy<A>>;

/// What the queue and the driver need from a message of any type.
pub(crate) trait EnvelopeProxy<A: Actor>: Send {
    /// Runs the actor's handler and hands the result to the waiting requester, if any. A
    /// message stamped for timing records the histograms in `timers`.
    fn handle(self: Box<Self>, act: &mut A, ctx: &mut A::Context, timers: &mut Timers, core: &Core);

    /// Marks the message for timing, queued at `at`.
    fn stamp(&mut self, at: Instant);

    /// Records when the message was queued, for shedding by time in the mailbox (on Tokio's
    /// clock, which a test may pause).
    fn stamp_queued(&mut self, at: tokio::time::Instant);

    /// When the message was queued, if [`stamp_queued`](Self::stamp_queued) said so.
    fn queued_at(&self) -> Option<tokio::time::Instant>;

    /// The message will never be handled: count it, show it to the drop hook, and tell the
    /// requester why.
    fn fail(self: Box<Self>, reason: DropReason, core: &Core);

    /// For turning a refused envelope back into its concrete type.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

/// One message and, for a request, the way back to its requester.
pub(crate) struct MsgEnvelope<M: Message> {
    pub(crate) msg: M,
    reply: Option<Reply<M::Result>>,
    /// When it was queued, for one message in `metrics::TIMING_SAMPLE`.
    enqueued_at: Option<Instant>,
    /// When it was queued, for a mailbox that sheds by time in the mailbox.
    queued_at: Option<tokio::time::Instant>,
}

impl<M: Message> MsgEnvelope<M> {
    pub(crate) fn new(msg: M, reply: Option<Reply<M::Result>>) -> Box<Self> {
        Box::new(MsgEnvelope {
            msg,
            reply,
            enqueued_at: None,
            queued_at: None,
        })
    }

    /// The message of a refused envelope. Its reply channel, if any, is dropped: the sender
    /// learns the outcome from the returned error.
    pub(crate) fn into_msg(self) -> M {
        self.msg
    }
}

impl<A, M> EnvelopeProxy<A> for MsgEnvelope<M>
where
    A: Actor + Handler<M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    fn handle(
        self: Box<Self>,
        act: &mut A,
        ctx: &mut A::Context,
        timers: &mut Timers,
        core: &Core,
    ) {
        let MsgEnvelope {
            msg,
            reply,
            enqueued_at,
            ..
        } = *self;
        match enqueued_at {
            None => handle(act, ctx, msg, reply),
            Some(enqueued_at) => handle_timed(act, ctx, msg, reply, enqueued_at, timers, core),
        }
    }

    fn stamp(&mut self, at: Instant) {
        self.enqueued_at = Some(at);
    }

    fn stamp_queued(&mut self, at: tokio::time::Instant) {
        self.queued_at = Some(at);
    }

    fn queued_at(&self) -> Option<tokio::time::Instant> {
        self.queued_at
    }

    fn fail(self: Box<Self>, reason: DropReason, core: &Core) {
        let MsgEnvelope { msg, reply, .. } = *self;
        core.discard(reason, &msg);
        if let Some(reply) = reply {
            let fate = match reason {
                DropReason::DropOldest => Fate::Evicted,
                DropReason::Expired => Fate::Expired,
                _ => Fate::Stopped,
            };
            // Release: the requester reads the fate after it sees the reply channel close,
            // which happens when `reply.tx` is dropped right after this store.
            reply.fate.store(fate as u8, Ordering::Release);
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// Handles a message sampled for timing: records its wait, and its handler time up to the
/// moment its response is sent (later, for an asynchronous response).
#[cfg(feature = "metrics")]
fn handle_timed<A, M>(
    act: &mut A,
    ctx: &mut A::Context,
    msg: M,
    reply: Option<Reply<M::Result>>,
    enqueued_at: Instant,
    timers: &mut Timers,
    core: &Core,
) where
    A: Actor + Handler<M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    let started = Instant::now();
    let histograms = timers.histograms(core, started);
    histograms.wait.record(started.duration_since(enqueued_at));
    let Some(reply) = reply else {
        // No one waits for a response: time the handler call, and hand it no response channel,
        // exactly as untimed.
        handle(act, ctx, msg, None);
        histograms.handler.record(started.elapsed());
        return;
    };
    // Stand between the handler and the requester, to see when the response is sent.
    let (tx, mut rx) = oneshot::channel();
    let response = <A as Handler<M>>::handle(act, msg, ctx);
    response.handle(ctx, Some(tx));
    match rx.try_recv() {
        Ok(value) => {
            histograms.handler.record(started.elapsed());
            let _ = reply.tx.send(value);
        }
        Err(oneshot::error::TryRecvError::Closed) => histograms.handler.record(started.elapsed()),
        Err(oneshot::error::TryRecvError::Empty) => {
            // An asynchronous response: finish timing (and answer) when it is sent.
            actix_rt::spawn(async move {
                let value = rx.await;
                histograms.handler.record(started.elapsed());
                if let Ok(value) = value {
                    let _ = reply.tx.send(value);
                }
            });
        }
    }
}

/// Without the `metrics` feature no message is stamped; handle it plainly all the same.
#[cfg(not(feature = "metrics"))]
fn handle_timed<A, M>(
    act: &mut A,
    ctx: &mut A::Context,
    msg: M,
    reply: Option<Reply<M::Result>>,
    _: Instant,
    _: &mut Timers,
    _: &Core,
) where
    A: Actor + Handler<M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    handle(act, ctx, msg, reply);
}

/// Runs the handler and hands its response to the requester, if any.
fn handle<A, M>(act: &mut A, ctx: &mut A::Context, msg: M, reply: Option<Reply<M::Result>>)
where
    A: Actor + Handler<M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    let response = <A as Handler<M>>::handle(act, msg, ctx);
    response.handle(ctx, reply.map(|reply| reply.tx));
}

/// Why a queued request got no response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Fate {
    /// The actor stopped before (or while) handling it; also the default when the handler
    /// dropped its response.
    Stopped = 0,
    /// Evicted by a newer message.
    Evicted = 1,
    /// Shed for waiting too long in the mailbox.
    Expired = 2,
}

/// The actor's end of a request: actix's own oneshot sender, plus the fate cell.
pub(crate) struct Reply<R> {
    tx: OneshotSender<R>,
    fate: Arc<AtomicU8>,
}

/// The requester's end of a request.
pub(crate) struct ReplyReceiver<R> {
    rx: oneshot::Receiver<R>,
    fate: Arc<AtomicU8>,
}

pub(crate) fn reply_channel<R>() -> (Reply<R>, ReplyReceiver<R>) {
    let (tx, rx) = oneshot::channel();
    let fate = Arc::new(AtomicU8::new(Fate::Stopped as u8));
    (
        Reply {
            tx,
            fate: Arc::clone(&fate),
        },
        ReplyReceiver { rx, fate },
    )
}

impl<R> ReplyReceiver<R> {
    /// Polls for the response. Dropping the receiver leaves the message queued; it is still
    /// handled.
    pub(crate) fn poll_recv<M>(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<R, SendError<M>>> {
        std::pin::Pin::new(&mut self.rx)
            .poll(cx)
            .map(|received| match received {
                Ok(response) => Ok(response),
                Err(_) => Err(self.fate()),
            })
    }

    /// Why no response came: the sender was dropped unanswered.
    fn fate<M>(&self) -> SendError<M> {
        // Acquire: pairs with the Release store in `fail`, made before the sender dropped.
        match self.fate.load(Ordering::Acquire) {
            f if f == Fate::Evicted as u8 => SendError::Evicted,
            f if f == Fate::Expired as u8 => SendError::Expired,
            _ => SendError::Stopped,
        }
    }
}
