//! An actor's output as a [`Stream`] that respects its reader's demand: an [`Outlet`] the actor
//! sends into, and the [`OutletStream`] its reader polls.
//!
//! The outlet is the mailbox's mechanism turned around: a mailbox's queue (`queue.rs`: a count
//! of permits, the *window*, over storage without a bound) between the actor and its reader. A send takes a permit, and the reader gives it back
//! as it takes the item out: so at most `window` items are ever produced ahead of what the
//! reader took, and a sender waits (`room.rs`) while the reader is behind. An actor that awaits
//! its send inside `ctx.wait` stops taking messages meanwhile, so a slow reader slows the
//! actor, whose own bounded mailbox then slows its senders: back-pressure end to end.
//!
//! Waking the reader: a send queues its item, then wakes the reader's waker; a reader that
//! finds nothing registers its waker, then looks once more. Model-checked with the rest in
//! `tests/loom_outlet.rs`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::{AcqRel, Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

use concurrent_queue::{PopError, PushError};
use futures_core::Stream;

use crate::queue::{MailboxQueue, Popped};
use crate::room::{retry_with_room, Room, RoomRegistration};
use crate::sync::{AtomicUsize, AtomicWaker};
use crate::{ConfigError, SendError, TrySendError};

/// What the outlets and the reader share.
pub(crate) struct Shared<T> {
    /// The window (a permit per item the reader takes without a sender waiting) over the
    /// items, as a mailbox's queue.
    queue: MailboxQueue<T>,
    /// Senders waiting for the reader.
    room: Room,
    reader: AtomicWaker,
    /// Live `Outlet`s: the stream ends once none is left and it was read to the end.
    outlets: AtomicUsize,
}

impl<T> Shared<T> {
    pub(crate) fn new(window: usize) -> Self {
        Shared {
            queue: MailboxQueue::bounded(window),
            room: Room::new(),
            reader: AtomicWaker::new(),
            outlets: AtomicUsize::new(1),
        }
    }

    /// Queues `item` if the reader's window has room, then wakes the reader.
    pub(crate) fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        match self.queue.push(item) {
            Ok(()) => {
                // After the push: a reader that registered before this sees the wake-up; one
                // that registers after it looks again and finds the item.
                self.reader.wake();
                Ok(())
            }
            Err(PushError::Full(item)) => Err(TrySendError::Full(item)),
            Err(PushError::Closed(item)) => Err(TrySendError::Closed(item)),
        }
    }

    /// Registers a sender about to wait for the reader: it must try once more before it
    /// awaits the registration (see `room.rs`).
    pub(crate) fn wait_for_room(&self) -> RoomRegistration<'_> {
        self.room.register(self.queue.permits())
    }

    /// The reader's turn: the next item, the end, or (after registering `cx`'s waker)
    /// nothing yet.
    pub(crate) fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let popped = match self.queue.pop() {
            Err(PopError::Empty) => {
                // Register, then look once more: an item queued in between wakes us.
                self.reader.register(cx.waker());
                self.queue.pop()
            }
            popped => popped,
        };
        match popped {
            Ok(Popped { value, notify }) => {
                // Its permit went back: the reader wants one more.
                if notify {
                    self.room.freed();
                }
                Poll::Ready(Some(value))
            }
            Err(PopError::Closed) => Poll::Ready(None),
            Err(PopError::Empty) => Poll::Pending,
        }
    }

    /// The reader is done: no permit is handed out any more, waiting senders get their item
    /// back, and the reader reads what is queued, then the end.
    pub(crate) fn close(&self) {
        self.queue.close();
        self.room.wake_all();
    }

    pub(crate) fn add_outlet(&self) {
        // Relaxed: a new outlet is made from a live one, which keeps the count above 0.
        self.outlets.fetch_add(1, Relaxed);
    }

    /// The last outlet went: the reader reads what is queued, then the end.
    pub(crate) fn remove_outlet(&self) {
        // AcqRel: the last outlet's decrement sees every other outlet's sends.
        if self.outlets.fetch_sub(1, AcqRel) == 1 {
            self.queue.close();
            self.reader.wake();
        }
    }
}

/// The sending side of an actor's output stream: see [`Outlet::new`].
///
/// Clones share the reader's window; the stream ends once every `Outlet` (and every send
/// future, which holds one) is dropped and the reader took what was queued.
pub struct Outlet<T> {
    shared: Arc<Shared<T>>,
}

/// The reading side of an actor's output: a [`Stream`] of what its [`Outlet`]s send, which
/// lets them produce at most its window ahead of what it took.
///
/// Dropping it (or [`close`](Self::close)) closes the outlet: senders get their items back
/// (as `Closed`), and the items it did not read are dropped with it.
pub struct OutletStream<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Outlet<T> {
    /// An outlet whose reader takes up to `window` items ahead: a sender waits once
    /// `window` items are queued and not yet taken by the reader.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroCapacity`] for a window of 0, [`ConfigError::CapacityTooLarge`]
    /// above [`MAX_CAPACITY`](crate::MAX_CAPACITY).
    ///
    /// # Examples
    ///
    /// An actor that turns each request into a reading, awaiting room for it in its output
    /// (`ctx.wait`): while the reader is behind, the actor takes no more requests.
    ///
    /// ```
    /// # use actix_backpressure_mailbox as actix_backpressure;
    /// use actix::prelude::*;
    /// use actix_backpressure::{BoundedActorExt, MailboxConfig, Outlet};
    /// use futures_util::StreamExt;
    ///
    /// #[derive(Message)]
    /// #[rtype(result = "()")]
    /// struct Measure(u32);
    ///
    /// struct Sensor {
    ///     out: Outlet<u32>,
    /// }
    ///
    /// impl Actor for Sensor {
    ///     type Context = Context<Self>;
    /// }
    ///
    /// impl Handler<Measure> for Sensor {
    ///     type Result = ();
    ///
    ///     fn handle(&mut self, Measure(n): Measure, ctx: &mut Context<Self>) {
    ///         let send = self.out.send(n * 10);
    ///         ctx.wait(actix::fut::wrap_future(async move {
    ///             // `Err` hands the reading back once the reader is gone.
    ///             let _ = send.await;
    ///         }));
    ///     }
    /// }
    ///
    /// # actix::System::new().block_on(async {
    /// let (out, readings) = Outlet::new(2).unwrap();
    /// let sensor = Sensor { out }.start_bounded(MailboxConfig::new(4));
    /// for n in 0..3 {
    ///     sensor.tell(Measure(n)).await.unwrap();
    /// }
    /// drop(sensor);
    /// // The actor stops once its queue is empty, which ends the stream.
    /// assert_eq!(readings.collect::<Vec<_>>().await, [0, 10, 20]);
    /// # });
    /// ```
    pub fn new(window: usize) -> Result<(Outlet<T>, OutletStream<T>), ConfigError> {
        crate::config::check_capacity(window, || "<outlet>".to_owned())?;
        let shared = Arc::new(Shared::new(window));
        Ok((
            Outlet {
                shared: Arc::clone(&shared),
            },
            OutletStream { shared },
        ))
    }

    /// Queues `item` if the reader's window has room now.
    ///
    /// # Errors
    ///
    /// The item is handed back: [`TrySendError::Full`] when `window` items wait for the
    /// reader, [`TrySendError::Closed`] when the reader is gone.
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        self.shared.try_send(item)
    }

    /// Queues `item`, waiting while the reader's window is full. The future owns a clone of
    /// the outlet: it can be spawned, or awaited inside `ctx.wait` to hold the actor.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] hands the item back if the reader is gone.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future while it waits drops the item, which was not queued; once it
    /// returns, the item is queued. Never both.
    pub fn send(&self, item: T) -> impl Future<Output = Result<(), SendError<T>>> + 'static
    where
        T: 'static,
    {
        let outlet = self.clone();
        async move {
            let shared = &outlet.shared;
            let mut item = Some(item);
            retry_with_room(
                || shared.wait_for_room(),
                || match shared.try_send(item.take().expect("put back on every retry")) {
                    Ok(()) => Some(Ok(())),
                    Err(TrySendError::Full(back)) => {
                        item = Some(back);
                        None
                    }
                    Err(refused) => Some(Err(SendError::Closed(refused.into_inner()))),
                },
            )
            .await
        }
    }

    /// How many items the reader takes now without a sender waiting: its window, less what
    /// is queued for it (0 once it is gone).
    pub fn demand(&self) -> usize {
        match self.is_closed() {
            true => 0,
            false => usize::try_from(self.shared.queue.permits().available()).unwrap_or(0),
        }
    }

    /// Whether the reader is gone (or closed the stream).
    pub fn is_closed(&self) -> bool {
        self.shared.queue.is_closed()
    }
}

impl<T> Clone for Outlet<T> {
    fn clone(&self) -> Self {
        self.shared.add_outlet();
        Outlet {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Outlet<T> {
    fn drop(&mut self) {
        self.shared.remove_outlet();
    }
}

impl<T> fmt::Debug for Outlet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outlet")
            .field("demand", &self.demand())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> OutletStream<T> {
    /// Closes the outlet: senders get their items back (as `Closed`), and the stream yields
    /// what is already queued, then ends.
    pub fn close(&mut self) {
        self.shared.close();
    }

    /// Items queued and not yet read.
    pub fn len(&self) -> usize {
        self.shared.queue.len()
    }

    /// Whether no item is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The window: the most items queued ahead of the reader.
    pub fn window(&self) -> usize {
        self.shared.queue.capacity()
    }
}

impl<T> Stream for OutletStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.shared.poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), None)
    }
}

impl<T> Drop for OutletStream<T> {
    fn drop(&mut self) {
        self.shared.close();
        // What was not read goes now, not with the last outlet.
        while self.shared.queue.pop().is_ok() {}
    }
}

impl<T> fmt::Debug for OutletStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutletStream")
            .field("window", &self.window())
            .field("queued", &self.len())
            .finish()
    }
}
