//! `Chan`: one mailbox, the parts its handles and its driver share, and the protocols that
//! keep them in step:
//!
//! - [`Core`]: settings, counters, drop hook, pause gate (`core.rs`);
//! - the bounded queue (`queue.rs`): permits for the bound (`permits.rs`) over storage
//!   without one; and the control lane (`control.rs`);
//! - **waiting for room** under `Block` ([`Room`], `room.rs`): the driver notifies one waiting
//!   sender per permit it gives back while one waits;
//! - **parking the consumers** ([`Consumers`], `consumers.rs`): a sender that queues a message
//!   wakes the driver (or one pool worker) only if it sleeps;
//! - **counting senders**: the queue closes when the count of strong handles reaches 0, and
//!   a weak handle upgrades only by raising a count that is not 0, so a closed mailbox never
//!   gets a live handle back.
//!
//! All are model-checked with loom in `tests/loom_chan.rs`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::task::Waker;
use std::time::Instant;

use actix::{Actor, Handler, Message};
use concurrent_queue::{PopError, PushError};

use crate::consumers::{Consumers, HasConsumers, WorkRegistration};
use crate::control::ControlLane;
use crate::core::Core;
use crate::demand::{Demanded, Outstanding};
use crate::envelope::{Envelope, MsgEnvelope};
use crate::permits::Refused;
use crate::probe::Observed;
use crate::queue::{ForcePushRefused, MailboxQueue, Popped};
use crate::room::{Room, RoomRegistration};
use crate::stats::Counters;
use crate::sync::{AtomicBool, AtomicUsize};
use crate::{DropReason, MailboxConfig, OverflowPolicy};

/// Why the queue refused an envelope.
pub(crate) enum Refusal {
    Full,
    Closed,
}

/// One mailbox: the queue of envelopes for `A`, its [`Core`] and its waiters.
pub(crate) struct Chan<A: Actor> {
    pub(crate) core: Core,
    queue: MailboxQueue<Envelope<A>>,
    /// The control lane: messages that bypass the bound and the pause, handled before the
    /// queued ones. Not counted in the stats.
    control: ControlLane<Envelope<A>>,
    /// Senders waiting for room under `Block`.
    room: Room,
    /// The driver, or a pool's workers.
    consumers: Consumers,
    /// Live `BoundedAddr`s and `BoundedRecipient`s; the queue closes when the last one goes.
    senders: AtomicUsize,
    /// Set while a supervised actor restarts, so the old driver leaves the queue open.
    restarting: AtomicBool,
    /// Permits held by `SendPermit`s: while any are, a `DropOldest` send that finds nothing
    /// queued to evict refuses instead of waiting for a permit to come back.
    reserved: AtomicUsize,
    /// With demand: the demand outstanding (`demand.rs`). Permits come only from requests.
    demand: Option<Outstanding>,
}

/// See [`Chan::restarting`].
pub(crate) struct RestartGuard<'a> {
    restarting: &'a AtomicBool,
}

impl Drop for RestartGuard<'_> {
    fn drop(&mut self) {
        self.restarting.store(false, Ordering::Relaxed);
    }
}

impl<A: Actor> HasConsumers for Chan<A> {
    fn consumers(&self) -> &Consumers {
        &self.consumers
    }
}

impl<A: Actor> Chan<A> {
    /// The counters, to read after the mailbox is gone.
    pub(crate) fn counters(&self) -> Arc<Counters> {
        self.core.counters()
    }

    /// A channel with one sender, drained by one driver. `config` must have been validated.
    pub(crate) fn new(config: MailboxConfig) -> Self {
        Chan::with_consumers(config, Consumers::single())
    }

    /// A channel consumed by a pool of workers rather than one driver.
    pub(crate) fn new_shared(config: MailboxConfig) -> Self {
        Chan::with_consumers(config, Consumers::pool())
    }

    fn with_consumers(config: MailboxConfig, consumers: Consumers) -> Self {
        debug_assert!(config.validate().is_ok());
        let capacity = config.capacity;
        let demand = config.demand.then(Outstanding::new);
        let queue = match demand {
            Some(_) => MailboxQueue::granted_later(capacity),
            None => MailboxQueue::bounded(capacity),
        };
        Chan {
            core: Core::new(config),
            queue,
            control: ControlLane::new(),
            room: Room::new(),
            consumers,
            senders: AtomicUsize::new(1),
            restarting: AtomicBool::new(false),
            reserved: AtomicUsize::new(0),
            demand,
        }
    }

    /// Whether permits stay held after a message is taken out (credits, demand): then a
    /// `DropOldest` send may find every permit held and nothing queued to evict.
    fn holds_permits(&self) -> bool {
        self.core.refill.is_some() || self.demand.is_some()
    }

    /// Whether a pool of workers consumes this mailbox.
    pub(crate) fn is_shared(&self) -> bool {
        self.consumers.is_pool()
    }

    /// Queues `env` under `policy`. `DropOldest` never refuses for lack of room: it evicts.
    pub(crate) fn offer(
        &self,
        mut env: Envelope<A>,
        policy: OverflowPolicy,
    ) -> Result<(), (Envelope<A>, Refusal)> {
        self.stamp(&mut env);
        // With credits or demand, every permit may be held by a message being worked on (or
        // none granted), with nothing queued to evict: `DropOldest` refuses as `Reject` does.
        let evicted = if policy == OverflowPolicy::DropOldest && !self.holds_permits() {
            let reserved = || self.reserved.load(Ordering::Relaxed) > 0;
            match self.queue.force_push(env, reserved) {
                Ok(evicted) => evicted,
                // Every permit is held by a `SendPermit`, nothing queued to evict.
                Err(ForcePushRefused {
                    value,
                    closed: false,
                    ..
                }) => return Err((value, Refusal::Full)),
                Err(ForcePushRefused { value, evicted, .. }) => {
                    // Taken out to make room just before the mailbox closed: it would have
                    // been drained as `Stopped`.
                    if let Some(evicted) = evicted {
                        evicted.fail(DropReason::Stopped, &self.core);
                    }
                    return Err((value, Refusal::Closed));
                }
            }
        } else {
            match self.queue.push(env) {
                Ok(()) => None,
                Err(PushError::Full(env)) => return Err((env, Refusal::Full)),
                Err(PushError::Closed(env)) => return Err((env, Refusal::Closed)),
            }
        };
        self.core.counters.enqueued();
        // Issues the SeqCst fence after the push that `consumers.rs` pairs with the parking
        // consumer's.
        self.wake_parked_consumer();
        if let Some(evicted) = evicted {
            evicted.fail(DropReason::DropOldest, &self.core);
        }
        Ok(())
    }

    /// Stamps `env` as queued now, for the timing histograms (one in a sample) and shedding.
    fn stamp(&self, env: &mut Envelope<A>) {
        if self.core.timing && crate::metrics::sample_tick() {
            env.stamp(Instant::now());
        }
        if self.core.sheds() {
            env.stamp_queued(tokio::time::Instant::now());
        }
    }

    /// Takes a permit now for a message to queue later ([`SendPermit`](crate::SendPermit)),
    /// whatever the policy.
    pub(crate) fn try_reserve(&self) -> Result<(), Refusal> {
        match self.queue.permits().try_acquire() {
            Ok(()) => {
                // Relaxed: an evictor looks again on every turn of its loop.
                self.reserved.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(Refused::Full) => Err(Refusal::Full),
            Err(Refused::Closed) => Err(Refusal::Closed),
        }
    }

    /// Queues `env` with a permit taken by [`try_reserve`](Self::try_reserve); hands it back
    /// if the mailbox closed meanwhile (the permit goes with the mailbox).
    pub(crate) fn send_reserved(&self, mut env: Envelope<A>) -> Result<(), Envelope<A>> {
        self.stamp(&mut env);
        let queued = self.queue.queue(env).map_err(PushError::into_inner);
        self.reserved.fetch_sub(1, Ordering::Relaxed);
        queued?;
        self.core.counters.enqueued();
        self.wake_parked_consumer();
        Ok(())
    }

    fn wake_parked_consumer(&self) {
        self.consumers.wake_one();
    }

    /// Wakes every consumer (every pool worker), to look at the mailbox again: a
    /// reconfiguration, closing, a worker to retire.
    pub(crate) fn wake_consumers(&self) {
        self.consumers.wake_all();
    }

    /// Applies a pending capacity or policy change: under `DropOldest`, evicts the oldest
    /// messages held beyond the capacity after a shrink. Any consumer, between two messages;
    /// pool workers may do it at the same time (each eviction claims its own excess permit).
    pub(crate) fn reconfigure(&self) {
        // Called before every message: one relaxed load when nothing is held beyond.
        if self.queue.excess() == 0
            || self.core.policy() != OverflowPolicy::DropOldest
            || self.holds_permits()
        {
            return;
        }
        // `DropOldest` keeps the newest `capacity` messages.
        while let Some(env) = self.queue.pop_excess() {
            env.fail(DropReason::DropOldest, &self.core);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A pool worker about to sleep: after this, it must look at the queue once more before it
    /// waits on the registration.
    pub(crate) fn park_worker(self: &Arc<Self>) -> WorkRegistration {
        let owner: Weak<dyn HasConsumers> = Arc::downgrade(self) as _;
        self.consumers.park_worker(owner)
    }

    /// Queues `env` on the control lane, whatever the bound and the pause; hands it back if
    /// the actor is gone.
    pub(crate) fn offer_control(&self, env: Envelope<A>) -> Result<(), Envelope<A>> {
        // The lane issues a SeqCst fence after the push: pairs with the fence of a parking
        // consumer, after which the consumer looks at the control lane itself.
        self.control.push(env)?;
        self.wake_parked_consumer();
        Ok(())
    }

    /// Takes the oldest control message out, if any; cheap when none was queued.
    pub(crate) fn pop_control(&self) -> Option<Envelope<A>> {
        self.control.pop()
    }

    /// Takes the oldest control message out, if any, looking at the queue itself: after
    /// parking.
    pub(crate) fn pop_control_fenced(&self) -> Option<Envelope<A>> {
        self.control.pop_fenced()
    }

    /// Takes the oldest envelope out and, if a sender waits for room, tells one more. Any
    /// number of consumers at once.
    pub(crate) fn pop(&self) -> Result<Envelope<A>, PopError> {
        if self.holds_permits() {
            // The permit stays held: with credits the driver grants it back once the message
            // is finished; with demand the consumer decides (see `delivering`).
            return self.queue.take();
        }
        let Popped { value, notify } = self.queue.pop()?;
        if notify {
            self.room.freed();
        }
        Ok(value)
    }

    /// A data message taken out goes to its handler (`handled`) or was shed. With demand, a
    /// delivered message spends its unit, and a shed one gives it back to the senders: demand
    /// counts deliveries, so shedding never leaves a consumer that asks for more as it handles
    /// messages without demand.
    pub(crate) fn delivering(&self, handled: bool) {
        if let Some(demand) = &self.demand {
            if handled {
                demand.spent();
            } else {
                self.grant(1);
            }
        }
    }

    /// A `SendPermit` dropped unused: its permit goes back.
    pub(crate) fn release_reserved(&self) {
        self.reserved.fetch_sub(1, Ordering::Relaxed);
        self.grant(1);
    }

    /// Grants `n` credits back (messages finished, with credits), telling waiting senders.
    pub(crate) fn grant(&self, n: usize) {
        if n > 0 && self.queue.grant(n) {
            self.room.freed_n(n);
        }
    }

    /// Registers a sender about to wait for room (see `room.rs`).
    pub(crate) fn wait_for_room(&self) -> RoomRegistration<'_> {
        self.room.register(self.queue.permits())
    }

    /// The driver is about to sleep: after this, it must look at the queue once more before
    /// returning `Pending`.
    pub(crate) fn park_consumer(&self, waker: &Waker) {
        self.consumers.park(waker);
    }

    /// The driver found a message after parking: senders need not wake it.
    pub(crate) fn unpark_consumer(&self) {
        self.consumers.unpark();
    }

    pub(crate) fn handled(&self) {
        if self.is_shared() {
            self.core.counters.handled_shared();
        } else {
            self.core.counters.handled();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// The capacity in effect.
    pub(crate) fn capacity(&self) -> usize {
        self.queue.capacity()
    }

    /// Sets the capacity at once. Growing lets waiting senders in; shrinking below the depth
    /// keeps the queued messages (handled as usual) and refuses or holds new sends until the
    /// depth is below the new capacity, except under `DropOldest`, whose driver evicts the
    /// oldest beyond it before its next message.
    ///
    /// With demand, the capacity bounds the demand outstanding: growing it grants nothing; a
    /// shrink takes back the unused demand beyond it, and requests grant nothing until the
    /// outstanding demand is below it.
    pub(crate) fn set_capacity(&self, capacity: usize) {
        if let Some(demand) = &self.demand {
            self.queue.permits().set_limit(capacity);
            // Takes back the demand granted beyond the new capacity that no sender used yet;
            // what is queued beyond it is handled as usual.
            let mut excess = demand.get().saturating_sub(capacity);
            while excess > 0 && self.queue.permits().try_acquire().is_ok() {
                demand.spent();
                excess -= 1;
            }
            return;
        }
        let grown = self.queue.set_capacity(capacity);
        if grown > 0 {
            self.room.wake_all();
        } else if grown < 0 {
            self.wake_consumers();
        }
    }

    /// Changes the policy at once; waiting senders look again under the new one.
    pub(crate) fn set_policy(&self, policy: OverflowPolicy) {
        self.core.set_policy(policy);
        self.room.wake_all();
        // Under `DropOldest`, the driver evicts what a shrink left over the capacity.
        self.wake_consumers();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// Marks a supervised restart in progress until the guard is dropped (also on unwind).
    pub(crate) fn restarting(&self) -> RestartGuard<'_> {
        // Relaxed: set and read on the thread that runs the actor.
        self.restarting.store(true, Ordering::Relaxed);
        RestartGuard {
            restarting: &self.restarting,
        }
    }

    /// Whether a supervised restart is in progress (see [`restarting`](Self::restarting)).
    pub(crate) fn is_restarting(&self) -> bool {
        self.restarting.load(Ordering::Relaxed)
    }

    /// The actor is gone: refuse new messages, wake every waiting sender so it gets its
    /// message back, and fail the queued ones as `Stopped`. Idempotent.
    pub(crate) fn close_and_drain(&self) {
        // Wake waiting senders first: a drop hook that panics below must not leave them
        // waiting forever.
        self.queue.close();
        self.room.wake_all();
        // A control message the actor never got: dropping it tells a requester `Stopped`.
        self.control.close();
        // A push racing the close lands before the storage's close (and is drained here) or
        // fails (and its sender gets the message back); see `MailboxQueue::close`.
        while let Ok(Popped { value, .. }) = self.queue.pop() {
            value.fail(DropReason::Stopped, &self.core);
        }
    }

    pub(crate) fn add_sender(&self) {
        // Relaxed: a new handle is made from an existing one, which keeps the count above 0.
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one more handle if one is still alive (the count is above 0), for
    /// `WeakBoundedAddr::upgrade`. Once the count has reached 0 the queue is closed for good:
    /// it never goes back up.
    pub(crate) fn try_add_sender(&self) -> bool {
        // Relaxed: as in `add_sender`, the count is only a count. The CAS takes part in the
        // count's single modification order: either it comes before the last handle's
        // decrement, which then sees this handle and does not close, or after it, and it sees
        // 0 and fails. The new handle's sends happen before its own (AcqRel) decrement.
        let mut count = self.senders.load(Ordering::Relaxed);
        while count != 0 {
            match self.senders.compare_exchange_weak(
                count,
                count + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => count = actual,
            }
        }
        false
    }

    pub(crate) fn remove_sender(&self) {
        // AcqRel: the last handle's drop must see every send made through the other handles.
        if self.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // No one can send any more: let the driver drain what is queued, then finish.
            self.queue.close();
            self.wake_consumers();
            self.room.wake_all();
        }
    }
}

/// A mailbox seen through one message type: what `BoundedRecipient<M>` holds. What does not
/// depend on `M` comes from [`Observed`].
pub(crate) trait Sink<M: Message>: Observed {
    /// Queues `env` under `policy`, handing it back on refusal.
    fn offer(
        &self,
        env: Box<MsgEnvelope<M>>,
        policy: OverflowPolicy,
    ) -> Result<(), (Box<MsgEnvelope<M>>, Refusal)>;

    /// Queues `env` on the control lane, handing it back if the actor is gone.
    fn offer_control(&self, env: Box<MsgEnvelope<M>>) -> Result<(), Box<MsgEnvelope<M>>>;

    fn set_policy(&self, policy: OverflowPolicy);

    fn set_capacity(&self, capacity: usize);

    fn add_sender(&self);

    fn try_add_sender(&self) -> bool;

    fn remove_sender(&self);

    /// The mailbox as an [`Observed`], for a probe (no trait upcasting before Rust 1.86).
    fn observed(self: Arc<Self>) -> Weak<dyn Observed>;

    /// The mailbox's address, to tell whether two handles send to the same one.
    fn mailbox(&self) -> *const ();

    /// A rate limit of the sending handle's own, taken before the mailbox's (`limited.rs`).
    fn sender_rate(&self) -> Option<&crate::rate::Limiter> {
        None
    }
}

impl<A, M> Sink<M> for Chan<A>
where
    A: Actor + Handler<M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    fn offer(
        &self,
        env: Box<MsgEnvelope<M>>,
        policy: OverflowPolicy,
    ) -> Result<(), (Box<MsgEnvelope<M>>, Refusal)> {
        Chan::offer(self, env, policy).map_err(|(env, refusal)| (downcast(env), refusal))
    }

    fn offer_control(&self, env: Box<MsgEnvelope<M>>) -> Result<(), Box<MsgEnvelope<M>>> {
        Chan::offer_control(self, env).map_err(downcast)
    }

    fn set_policy(&self, policy: OverflowPolicy) {
        Chan::set_policy(self, policy);
    }

    fn set_capacity(&self, capacity: usize) {
        Chan::set_capacity(self, capacity);
    }

    fn add_sender(&self) {
        Chan::add_sender(self);
    }

    fn try_add_sender(&self) -> bool {
        Chan::try_add_sender(self)
    }

    fn remove_sender(&self) {
        Chan::remove_sender(self);
    }

    fn observed(self: Arc<Self>) -> Weak<dyn Observed> {
        Arc::downgrade(&self) as _
    }

    fn mailbox(&self) -> *const () {
        std::ptr::from_ref(self).cast()
    }
}

/// The envelope a queue handed back, as the message type it was made with.
pub(crate) fn downcast<A, M>(env: Envelope<A>) -> Box<MsgEnvelope<M>>
where
    A: Actor + Handler<M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    env.into_any()
        .downcast::<MsgEnvelope<M>>()
        .unwrap_or_else(|_| unreachable!("the queue hands back the envelope it was given"))
}

impl<A: Actor> Demanded for Chan<A> {
    fn request(&self, n: usize) -> usize {
        let Some(demand) = &self.demand else {
            return 0;
        };
        if self.is_closed() {
            return 0;
        }
        let granted = demand.raise(n, self.capacity());
        self.grant(granted);
        granted
    }

    fn outstanding(&self) -> usize {
        match &self.demand {
            Some(demand) if !self.is_closed() => demand.get(),
            _ => 0,
        }
    }

    fn is_closed(&self) -> bool {
        Chan::is_closed(self)
    }
}

/// The [`Demand`](crate::Demand) of `chan`, if it was made with demand.
pub(crate) fn demand_of<A: Actor>(chan: &Arc<Chan<A>>) -> Option<crate::Demand> {
    chan.has_demand().then(|| {
        let mailbox: Weak<dyn Demanded> = Arc::downgrade(chan) as _;
        crate::Demand::new(mailbox, Arc::clone(&chan.core.name))
    })
}

impl<A: Actor> Chan<A> {
    /// Whether the mailbox was made with demand (`MailboxConfig::demand`).
    pub(crate) fn has_demand(&self) -> bool {
        self.demand.is_some()
    }

    /// Credits a sender may use now, for a mailbox with credits or demand (none once closed).
    pub(crate) fn credits(&self) -> Option<usize> {
        self.holds_permits().then(|| match self.is_closed() {
            true => 0,
            false => usize::try_from(self.queue.permits().available()).unwrap_or(0),
        })
    }
}

impl<A: Actor> Observed for Chan<A> {
    fn core(&self) -> &Core {
        &self.core
    }

    fn len(&self) -> usize {
        Chan::len(self)
    }

    fn capacity(&self) -> usize {
        Chan::capacity(self)
    }

    fn is_closed(&self) -> bool {
        Chan::is_closed(self)
    }

    fn waiting_senders(&self) -> usize {
        self.queue.permits().waiters()
    }

    fn idle_consumers(&self) -> usize {
        self.consumers.idle()
    }

    fn credits(&self) -> Option<usize> {
        Chan::credits(self)
    }

    fn wait_for_room(&self) -> RoomRegistration<'_> {
        Chan::wait_for_room(self)
    }
}
