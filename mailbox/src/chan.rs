//! The state a mailbox's handles and its driver share: the bounded queue, the waiters and the
//! counters.

use std::any::Any;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use actix::{Actor, Handler, Message};
use atomic_waker::AtomicWaker;
use concurrent_queue::{ConcurrentQueue, ForcePushError, PopError, PushError};
use event_listener::{Event, IntoNotification};

use crate::envelope::{Envelope, MsgEnvelope};
use crate::hook::DropHook;
use crate::stats::Counters;
use crate::{DropReason, Dropped, MailboxConfig, MailboxStats, OverflowPolicy};

/// The part of a mailbox that does not depend on the actor's type.
pub(crate) struct Core {
    pub(crate) name: Arc<str>,
    capacity: usize,
    policy: AtomicU8,
    pub(crate) batch: usize,
    hook: Option<DropHook>,
    counters: Counters,
    blocked_nanos: AtomicU64,
    /// Senders waiting for room under `Block`; notified once per message taken out.
    pub(crate) room: Event,
    /// How many senders are registered on `room`: lets the driver skip `notify` (which takes
    /// a lock in `event-listener`) when no one waits.
    waiting_senders: AtomicUsize,
    /// The driver, waiting for a message.
    pub(crate) consumer: AtomicWaker,
    /// Set by the driver before it sleeps on `consumer`: lets senders skip the wake-up (two
    /// atomic read-modify-writes) while the driver is busy anyway.
    consumer_parked: AtomicBool,
    /// Live `BoundedAddr`s and `BoundedRecipient`s; the queue closes when the last one goes.
    senders: AtomicUsize,
    /// Set while a supervised actor restarts, so the old driver leaves the queue open.
    pub(crate) restarting: AtomicBool,
}

impl Core {
    pub(crate) fn policy(&self) -> OverflowPolicy {
        // Relaxed: the policy is a setting read on its own; no other memory depends on it.
        OverflowPolicy::from_u8(self.policy.load(Ordering::Relaxed))
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Counts a message that will not reach its handler and shows it to the drop hook.
    pub(crate) fn discard<M: Send + 'static>(&self, reason: DropReason, msg: &M) {
        self.counters.dropped(reason);
        if let Some(hook) = &self.hook {
            hook(&Dropped {
                reason,
                actor: &self.name,
                type_name: std::any::type_name::<M>(),
                message: msg as &(dyn Any + Send),
            });
        }
    }

    /// Registers a sender about to wait for room; the guard unregisters it when dropped.
    ///
    /// Call it after `room.listen()` and before the sender's last look at the queue.
    pub(crate) fn wait_for_room(&self) -> WaitingSender<'_> {
        // SeqCst, then a SeqCst fence before the sender looks at the queue again: either that
        // look sees the slot a consumer freed, or the consumer's SeqCst load in `pop` (after
        // its SeqCst pop) sees this count and notifies. (Store-buffering pattern.)
        self.waiting_senders.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        WaitingSender { core: self }
    }

    pub(crate) fn add_blocked(&self, waited: Duration) {
        let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.blocked_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> MailboxStats {
        let mut stats = self.counters.snapshot();
        stats.sender_blocked = Duration::from_nanos(self.blocked_nanos.load(Ordering::Relaxed));
        stats
    }
}

/// A sender registered as waiting for room; see [`Core::wait_for_room`].
pub(crate) struct WaitingSender<'a> {
    core: &'a Core,
}

impl Drop for WaitingSender<'_> {
    fn drop(&mut self) {
        // Relaxed: an extra notification because the count is briefly stale is harmless.
        self.core.waiting_senders.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why the queue refused an envelope.
pub(crate) enum Refusal {
    Full,
    Closed,
}

/// One mailbox: the queue of envelopes for `A` and the shared [`Core`].
pub(crate) struct Chan<A: Actor> {
    pub(crate) core: Core,
    queue: ConcurrentQueue<Envelope<A>>,
}

impl<A: Actor> Chan<A> {
    /// A channel with one sender. `config` must have been validated.
    pub(crate) fn new(config: MailboxConfig) -> Self {
        debug_assert!(config.validate().is_ok());
        let name = config.name.unwrap_or_else(|| Arc::from("<unnamed>"));
        Chan {
            core: Core {
                name,
                capacity: config.capacity,
                policy: AtomicU8::new(config.policy.to_u8()),
                batch: config.batch,
                hook: config.on_drop,
                counters: Counters::default(),
                blocked_nanos: AtomicU64::new(0),
                room: Event::new(),
                waiting_senders: AtomicUsize::new(0),
                consumer: AtomicWaker::new(),
                consumer_parked: AtomicBool::new(false),
                senders: AtomicUsize::new(1),
                restarting: AtomicBool::new(false),
            },
            queue: ConcurrentQueue::bounded(config.capacity),
        }
    }

    /// Queues `env` under `policy`. `DropOldest` never refuses for lack of room: it evicts.
    pub(crate) fn offer(
        &self,
        env: Envelope<A>,
        policy: OverflowPolicy,
    ) -> Result<(), (Envelope<A>, Refusal)> {
        let evicted = if policy == OverflowPolicy::DropOldest {
            match self.queue.force_push(env) {
                Ok(evicted) => evicted,
                Err(ForcePushError(env)) => return Err((env, Refusal::Closed)),
            }
        } else {
            match self.queue.push(env) {
                Ok(()) => None,
                Err(PushError::Full(env)) => return Err((env, Refusal::Full)),
                Err(PushError::Closed(env)) => return Err((env, Refusal::Closed)),
            }
        };
        self.core.counters.enqueued();
        // SeqCst, after the SeqCst CAS with which `concurrent-queue` (2.5) publishes the
        // message: either this load sees the driver parked, or the driver's look at the queue
        // after parking (behind a SeqCst fence) sees the message. (Store-buffering pattern.)
        if self.core.consumer_parked.load(Ordering::SeqCst)
            && self.core.consumer_parked.swap(false, Ordering::SeqCst)
        {
            self.core.consumer.wake();
        }
        if let Some(evicted) = evicted {
            evicted.fail(DropReason::DropOldest, &self.core);
        }
        Ok(())
    }

    /// Takes the oldest envelope out and tells one waiting sender there is room.
    pub(crate) fn pop(&self) -> Result<Envelope<A>, PopError> {
        let env = self.queue.pop()?;
        // SeqCst, after the SeqCst CAS with which `concurrent-queue` (2.5) frees the slot;
        // pairs with the fence in `Core::wait_for_room`. `settle_room` backs this up
        // without relying on the queue's orderings.
        if self.core.waiting_senders.load(Ordering::SeqCst) != 0 {
            // One more sender for the one freed slot, even if others are already notified.
            self.core.room.notify(1.additional());
        }
        Ok(env)
    }

    /// Called by the driver before it returns, if it took `popped` messages out: makes sure
    /// waiting senders hear of the room whatever orderings the queue uses internally. Pass
    /// `fenced` when a SeqCst fence was issued since the last pop (`park_consumer` issues one).
    pub(crate) fn settle_room(&self, popped: usize, fenced: bool) {
        if popped == 0 {
            return;
        }
        if !fenced {
            fence(Ordering::SeqCst);
        }
        if self.core.waiting_senders.load(Ordering::SeqCst) != 0 {
            self.core.room.notify(popped);
        }
    }

    /// The driver is about to sleep: after this, look at the queue once more before
    /// returning `Pending`.
    pub(crate) fn park_consumer(&self, waker: &Waker) {
        self.core.consumer.register(waker);
        // SeqCst store and fence: pairs with the SeqCst load in `offer` (see there).
        self.core.consumer_parked.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// The driver found a message after parking: senders need not wake it.
    pub(crate) fn unpark_consumer(&self) {
        // Relaxed: a stale `true` only costs a sender one spurious wake-up.
        self.core.consumer_parked.store(false, Ordering::Relaxed);
    }

    pub(crate) fn handled(&self) {
        self.core.counters.handled();
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// The actor is gone: refuse new messages, fail the queued ones as `Stopped`, and wake
    /// every waiting sender so it gets its message back.
    pub(crate) fn close_and_drain(&self) {
        self.queue.close();
        while let Ok(env) = self.queue.pop() {
            env.fail(DropReason::Stopped, &self.core);
        }
        self.core.room.notify(usize::MAX);
    }

    pub(crate) fn add_sender(&self) {
        // Relaxed: a new handle is made from an existing one, which keeps the count above 0.
        self.core.senders.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn remove_sender(&self) {
        // AcqRel: the last handle's drop must see every send made through the other handles.
        if self.core.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // No one can send any more: let the driver drain what is queued, then finish.
            self.queue.close();
            self.core.consumer.wake();
            self.core.room.notify(usize::MAX);
        }
    }
}

/// A mailbox seen through one message type: what `BoundedRecipient<M>` holds.
pub(crate) trait Sink<M: Message>: Send + Sync {
    fn core(&self) -> &Core;

    /// Queues `env` under `policy`, handing it back on refusal.
    fn offer(
        &self,
        env: Box<MsgEnvelope<M>>,
        policy: OverflowPolicy,
    ) -> Result<(), (Box<MsgEnvelope<M>>, Refusal)>;

    fn len(&self) -> usize;

    fn is_closed(&self) -> bool;

    fn add_sender(&self);

    fn remove_sender(&self);
}

impl<A, M> Sink<M> for Chan<A>
where
    A: Actor + Handler<M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    fn core(&self) -> &Core {
        &self.core
    }

    fn offer(
        &self,
        env: Box<MsgEnvelope<M>>,
        policy: OverflowPolicy,
    ) -> Result<(), (Box<MsgEnvelope<M>>, Refusal)> {
        Chan::offer(self, env, policy).map_err(|(env, refusal)| {
            let env = env
                .into_any()
                .downcast::<MsgEnvelope<M>>()
                .unwrap_or_else(|_| unreachable!("the queue handed back a different envelope"));
            (env, refusal)
        })
    }

    fn len(&self) -> usize {
        Chan::len(self)
    }

    fn is_closed(&self) -> bool {
        Chan::is_closed(self)
    }

    fn add_sender(&self) {
        Chan::add_sender(self);
    }

    fn remove_sender(&self) {
        Chan::remove_sender(self);
    }
}
