//! `BoundedRequest` and `BoundedTell`: the owned futures that `send` and `tell` return.
//!
//! Like actix's `Request`, the message is offered to the mailbox when the method is called:
//! queued, or refused by the policy, at once. Only a message that has to wait for room (a full
//! mailbox under `Block`) is left for the future to queue when it is polled; until then the
//! future counts as a sender, so the mailbox stays open for it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use actix::Message;
use tokio::time::{Instant, Sleep};

use crate::chan::Sink;
use crate::envelope::{reply_channel, MsgEnvelope, ReplyReceiver};
use crate::send::{deadline_after, offer_now, push, Offered, Token};
use crate::SendError;

/// Where a message stands on its way into the mailbox.
enum Admission<M: Message + Send + 'static> {
    /// Settled when the method was called: queued (`Ok`) or refused.
    Settled(Result<(), SendError<M>>),
    /// Full (or waiting for its rate token) under `Block`: waits once polled (then becomes
    /// `Waiting`). `token`: where it stands with the rate limit.
    Blocked {
        sender: SenderGuard<M>,
        env: Box<MsgEnvelope<M>>,
    },
    /// Waiting for room.
    Waiting(Pin<Box<dyn Future<Output = Result<(), SendError<M>>> + Send>>),
    /// The outcome was returned.
    Done,
}

impl<M> Admission<M>
where
    M: Message + Send + 'static,
    M::Result: Send,
{
    /// Offers `env` now; keeps it for later if it has to wait for room.
    #[inline]
    fn offer<S>(
        sink: &S,
        env: Box<MsgEnvelope<M>>,
        to_dyn: impl FnOnce() -> Arc<dyn Sink<M>>,
    ) -> Self
    where
        S: Sink<M> + ?Sized,
    {
        match offer_now(sink, env) {
            Offered::Queued => Admission::Settled(Ok(())),
            Offered::Refused(err) => Admission::Settled(Err(err)),
            Offered::MustWait(env, token) => {
                let sink = to_dyn();
                sink.add_sender();
                Admission::Blocked {
                    sender: SenderGuard { sink, token },
                    env,
                }
            }
        }
    }

    /// Ready once the message is queued or refused. `room_deadline` bounds the wait for room.
    #[inline]
    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        room_deadline: Option<Instant>,
    ) -> Poll<Result<(), SendError<M>>> {
        if let Admission::Settled(_) = self {
            // A sender whose sends never wait must still let the consumer run when both share
            // a Tokio worker: spend a unit of the task's budget per message.
            let coop = ready!(tokio::task::coop::poll_proceed(cx));
            coop.made_progress();
            let Admission::Settled(outcome) = std::mem::replace(self, Admission::Done) else {
                unreachable!("matched above")
            };
            return Poll::Ready(outcome);
        }
        self.poll_wait(cx, room_deadline)
    }

    /// The slow path of [`poll`](Self::poll): the message waits for room.
    #[cold]
    #[inline(never)]
    fn poll_wait(
        &mut self,
        cx: &mut Context<'_>,
        room_deadline: Option<Instant>,
    ) -> Poll<Result<(), SendError<M>>> {
        loop {
            match self {
                Admission::Settled(_) => unreachable!("settled requests take the fast path"),
                Admission::Blocked { .. } => {
                    let Admission::Blocked { sender, env } =
                        std::mem::replace(self, Admission::Done)
                    else {
                        unreachable!("matched above")
                    };
                    *self = Admission::Waiting(Box::pin(async move {
                        // Holds `sender` (counted, and giving back the tokens it holds if
                        // dropped) until the message is queued or refused.
                        let mut sender = sender;
                        let SenderGuard { sink, token } = &mut sender;
                        push(&**sink, env, room_deadline, token).await
                    }));
                }
                Admission::Waiting(waiting) => {
                    let outcome = ready!(waiting.as_mut().poll(cx));
                    *self = Admission::Done;
                    return Poll::Ready(outcome);
                }
                Admission::Done => {
                    panic!("`BoundedRequest` or `BoundedTell` polled after completion")
                }
            }
        }
    }
}

/// A handle counted as a sender while a message waits for room, with where the message
/// stands with the rate limits: dropped before the message was queued (the request
/// cancelled), it gives back the tokens the message took.
struct SenderGuard<M>
where
    M: Message + Send + 'static,
{
    sink: Arc<dyn Sink<M>>,
    token: Token,
}

impl<M> Drop for SenderGuard<M>
where
    M: Message + Send + 'static,
{
    fn drop(&mut self) {
        self.token.give_back(&*self.sink);
        self.sink.remove_sender();
    }
}

/// The future of a request: [`BoundedAddr::send`](crate::BoundedAddr::send) and
/// [`BoundedRecipient::send`](crate::BoundedRecipient::send) return it. It owns everything it
/// needs (`'static`, `Send`, `Unpin`), so it can be spawned or stored, and
/// [`timeout`](Self::timeout) bounds the whole request, as with actix's `Request`.
///
/// The message is offered to the mailbox when `send` is called, not when the future is first
/// polled: it is queued, or refused by the policy, at once; only under
/// [`Block`](crate::OverflowPolicy::Block) with a full mailbox does it wait for room, once
/// polled.
///
/// # Errors
///
/// See [`BoundedAddr::send`](crate::BoundedAddr::send).
///
/// # Cancel safety
///
/// Dropping the future while its message waits for room drops the message, which was not
/// queued. Dropping it after the message was queued leaves the message queued: it is still
/// handled, and its response is discarded.
#[must_use = "the response is lost unless the request is awaited; use `tell` or `do_send` to send without one"]
pub struct BoundedRequest<M>
where
    M: Message + Send + 'static,
    M::Result: Send,
{
    admission: Admission<M>,
    response: Option<ReplyReceiver<M::Result>>,
    /// Bounds the wait for room only (`send_timeout`).
    room_deadline: Option<Instant>,
    /// Bounds the whole request (`timeout`).
    deadline: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<M> BoundedRequest<M>
where
    M: Message + Send + 'static,
    M::Result: Send,
{
    pub(crate) fn new<S>(
        sink: &S,
        msg: M,
        room_timeout: Option<Duration>,
        to_dyn: impl FnOnce() -> Arc<dyn Sink<M>>,
    ) -> Self
    where
        S: Sink<M> + ?Sized,
    {
        let room_deadline = room_timeout.and_then(deadline_after);
        let (reply, response) = reply_channel();
        BoundedRequest {
            admission: Admission::offer(sink, MsgEnvelope::new(msg, Some(reply)), to_dyn),
            response: Some(response),
            room_deadline,
            deadline: None,
            timer: None,
        }
    }

    /// A request on the control lane: queued now, or `Closed` with the message back.
    pub(crate) fn control<S>(sink: &S, msg: M) -> Self
    where
        S: Sink<M> + ?Sized,
    {
        let (reply, response) = reply_channel();
        BoundedRequest::settled(
            sink.offer_control(MsgEnvelope::new(msg, Some(reply)))
                .map(|()| response)
                .map_err(|env| SendError::Closed((*env).into_msg())),
        )
    }

    /// A request whose message was already offered (the control lane): queued, with its
    /// response to come, or refused.
    pub(crate) fn settled(outcome: Result<ReplyReceiver<M::Result>, SendError<M>>) -> Self {
        let (admission, response) = match outcome {
            Ok(response) => (Admission::Settled(Ok(())), Some(response)),
            Err(err) => (Admission::Settled(Err(err)), None),
        };
        BoundedRequest {
            admission,
            response,
            room_deadline: None,
            deadline: None,
            timer: None,
        }
    }

    /// Bounds the whole request, the wait for room and for the response, to `timeout` from
    /// now.
    ///
    /// # Errors
    ///
    /// When the time is up before the message was queued, the request fails with
    /// [`SendError::Timeout`], which hands the message back; when it was queued but not
    /// answered in time, with [`SendError::ResponseTimeout`]: the message stays queued and is
    /// still handled, and its response is discarded.
    ///
    /// # Panics
    ///
    /// When it has to wait, it needs a Tokio runtime with the time driver enabled (every actix
    /// `System` has one), like [`tokio::time::timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.deadline = deadline_after(timeout);
        self
    }
}

// Never pinned structurally: the message waits in a `Box`, the wait and the timer are boxed.
impl<M> Unpin for BoundedRequest<M>
where
    M: Message + Send + 'static,
    M::Result: Send,
{
}

impl<M> Future for BoundedRequest<M>
where
    M: Message + Send + 'static,
    M::Result: Send,
{
    type Output = Result<M::Result, SendError<M>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if !matches!(this.admission, Admission::Done) {
            let room_deadline = match (this.room_deadline, this.deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if let Err(err) = ready!(this.admission.poll(cx, room_deadline)) {
                this.response = None;
                return Poll::Ready(Err(err));
            }
        }
        let response = this.response.as_mut().expect("polled after completion");
        if let Poll::Ready(outcome) = response.poll_recv(cx) {
            this.response = None;
            return Poll::Ready(outcome);
        }
        if let Some(deadline) = this.deadline {
            let timer = this
                .timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            if timer.as_mut().poll(cx).is_ready() {
                this.response = None;
                return Poll::Ready(Err(SendError::ResponseTimeout));
            }
        }
        Poll::Pending
    }
}

impl<M> fmt::Debug for BoundedRequest<M>
where
    M: Message + Send + 'static,
    M::Result: Send,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match (&self.admission, &self.response) {
            (_, None) => "done",
            (Admission::Settled(Ok(())) | Admission::Done, _) => "queued",
            (Admission::Settled(Err(_)), _) => "refused",
            (Admission::Blocked { .. } | Admission::Waiting(_), _) => "waiting for room",
        };
        f.debug_struct("BoundedRequest")
            .field("stage", &stage)
            .finish()
    }
}

/// The future of a message sent without a response: [`BoundedAddr::tell`](crate::BoundedAddr::tell)
/// and [`BoundedRecipient::tell`](crate::BoundedRecipient::tell) return it. Owned (`'static`,
/// `Send`, `Unpin`); the message is offered when `tell` is called, as for [`BoundedRequest`].
///
/// # Errors
///
/// See [`BoundedAddr::tell`](crate::BoundedAddr::tell).
///
/// # Cancel safety
///
/// As [`BoundedRequest`]: a message dropped while it waits for room was not queued.
#[must_use = "under `Block` the message waits for room only while the future is polled"]
pub struct BoundedTell<M>
where
    M: Message + Send + 'static,
    M::Result: Send,
{
    admission: Admission<M>,
}

impl<M> BoundedTell<M>
where
    M: Message + Send + 'static,
    M::Result: Send,
{
    #[inline]
    pub(crate) fn new<S>(sink: &S, msg: M, to_dyn: impl FnOnce() -> Arc<dyn Sink<M>>) -> Self
    where
        S: Sink<M> + ?Sized,
    {
        BoundedTell {
            admission: Admission::offer(sink, MsgEnvelope::new(msg, None), to_dyn),
        }
    }
}

// As for `BoundedRequest`.
impl<M> Unpin for BoundedTell<M>
where
    M: Message + Send + 'static,
    M::Result: Send,
{
}

impl<M> Future for BoundedTell<M>
where
    M: Message + Send + 'static,
    M::Result: Send,
{
    type Output = Result<(), SendError<M>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().admission.poll(cx, None)
    }
}

impl<M> fmt::Debug for BoundedTell<M>
where
    M: Message + Send + 'static,
    M::Result: Send,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match &self.admission {
            Admission::Settled(_) => "settled",
            Admission::Blocked { .. } | Admission::Waiting(_) => "waiting for room",
            Admission::Done => "done",
        };
        f.debug_struct("BoundedTell")
            .field("stage", &stage)
            .finish()
    }
}
