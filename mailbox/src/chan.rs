//! The state a mailbox's handles and its driver share: the bounded queue, the control lane, the
//! waiters and the counters, and the protocols that keep them in step:
//!
//! - **waiting for room** (`Block`): a sender that finds the queue full registers on `room`
//!   and counts itself in `waiting_senders`, looks at the queue once more, then sleeps; the
//!   driver notifies one sender per message it takes out, when the count is not zero;
//! - **parking the driver**: the driver that finds the queue empty registers its waker, sets
//!   `consumer_parked`, looks once more, then sleeps; a sender that queues a message wakes it
//!   only if it is parked.
//!
//! - **the control lane** wakes a parked driver the same way;
//! - **counting senders**: the queue closes when the count of strong handles reaches 0, and
//!   a weak handle upgrades only by raising a count that is not 0, so a closed mailbox never
//!   gets a live handle back.
//!
//! All four are model-checked with loom in `tests/loom_chan.rs`.

use std::any::Any;
use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Waker;
use std::time::{Duration, Instant};

use actix::{Actor, Handler, Message};
use concurrent_queue::{ForcePushError, PopError, PushError};

use crate::envelope::{Envelope, MsgEnvelope};
use crate::hook::DropHook;
use crate::probe::Observed;
use crate::queue::MailboxQueue;
use crate::stats::Counters;
use crate::sync::{
    fence, notify, notify_additional, unbounded, AtomicBool, AtomicUsize, AtomicWaker, Event,
    EventListener, Queue,
};
use crate::{DropReason, Dropped, MailboxConfig, MailboxStats, OverflowPolicy, PauseGate};

/// The part of a mailbox that does not depend on the actor's type.
pub(crate) struct Core {
    pub(crate) name: Arc<str>,
    /// An `OverflowPolicy`, atomic so that a running mailbox can be reconfigured.
    policy: AtomicU8,
    pub(crate) batch: usize,
    hook: Option<DropHook>,
    /// Whether the mailbox reports metrics: sends sampled for the timing histograms, and
    /// every blocked wait.
    timing: bool,
    /// Shared with the metrics refresher, which reads them one last time after the mailbox is
    /// gone.
    counters: Arc<Counters>,
    /// The `instance` metric label, if asked for.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) instance: Option<Arc<str>>,
    /// Senders waiting for room under `Block`, in FIFO order.
    room: Event,
    /// How many senders are registered on `room`: lets the driver skip `notify` (which takes
    /// a lock in `event-listener`) when no one waits.
    waiting_senders: AtomicUsize,
    /// The driver, waiting for a message.
    consumer: AtomicWaker,
    /// Set by the driver before it sleeps on `consumer`: lets senders skip the wake-up (two
    /// atomic read-modify-writes) while the driver is busy anyway.
    consumer_parked: AtomicBool,
    /// Live `BoundedAddr`s and `BoundedRecipient`s; the queue closes when the last one goes.
    senders: AtomicUsize,
    /// Set while a supervised actor restarts, so the old driver leaves the queue open.
    restarting: AtomicBool,
    /// While paused, the driver takes only control messages.
    pub(crate) gate: PauseGate,
    /// For a worker pool's mailbox: its several consumers. `None`: one driver.
    shared: Option<SharedConsumers>,
}

/// The consumers of a mailbox shared by a pool of workers.
///
/// Each worker takes its turn (`turn`) to apply a reconfiguration and take one message out,
/// so that what `queue.rs` requires of "the consumer" holds. Idle workers wait on `work`: a
/// worker registers and counts itself in `parked`, looks at the queue once more, then sleeps;
/// a sender that queues a message notifies one more worker when the count is not zero (the
/// same protocol as waiting for room, model-checked in `tests/loom_chan.rs`).
struct SharedConsumers {
    turn: Mutex<()>,
    work: Event,
    parked: AtomicUsize,
}

/// A pool worker registered as waiting for work; see [`Chan::park_worker`].
pub(crate) struct WorkRegistration {
    listener: EventListener,
    chan_parked: std::sync::Weak<dyn ParkedCount>,
}

/// Lets a registration uncount itself without knowing the actor type.
trait ParkedCount: Send + Sync {
    fn unpark(&self);
}

impl<A: Actor> ParkedCount for Chan<A> {
    fn unpark(&self) {
        if let Some(shared) = &self.core.shared {
            // Relaxed: a stale count only costs a sender one needless notification.
            shared.parked.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl WorkRegistration {
    /// Polls for a notification that there may be work.
    pub(crate) fn poll_notified(&mut self, task: &mut std::task::Context<'_>) -> bool {
        std::pin::Pin::new(&mut self.listener).poll(task).is_ready()
    }
}

impl Drop for WorkRegistration {
    fn drop(&mut self) {
        if let Some(chan) = self.chan_parked.upgrade() {
            chan.unpark();
        }
    }
}

impl Core {
    pub(crate) fn policy(&self) -> OverflowPolicy {
        // Relaxed: the policy is a setting read on its own; no other memory depends on it.
        OverflowPolicy::from_u8(self.policy.load(Ordering::Relaxed))
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

    /// Registers a sender about to wait for room. The sender must look at the queue once more
    /// before it awaits the returned registration; dropping the registration unregisters it
    /// (passing a notification it got on to the next sender).
    pub(crate) fn register_for_room(&self) -> RoomRegistration<'_> {
        let listener = self.room.listen();
        // SeqCst, then a SeqCst fence before the sender's last look at the queue: either that
        // look sees the slot the driver freed, or the driver's SeqCst load of the count (after
        // its SeqCst pop, or after the fence in `settle_room`) sees this registration and
        // notifies. (Store-buffering pattern.)
        self.waiting_senders.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        RoomRegistration {
            core: self,
            listener,
        }
    }

    /// Consumers waiting for a message now: the driver, if parked, or a pool's idle workers.
    pub(crate) fn idle_consumers(&self) -> usize {
        // Relaxed: statistics.
        match &self.shared {
            None => usize::from(self.consumer_parked.load(Ordering::Relaxed)),
            Some(shared) => shared.parked.load(Ordering::Relaxed),
        }
    }

    /// Senders waiting for room now.
    pub(crate) fn waiting_senders(&self) -> usize {
        // Relaxed: a statistic.
        self.waiting_senders.load(Ordering::Relaxed)
    }

    pub(crate) fn add_blocked(&self, waited: Duration) {
        self.counters.add_blocked(waited);
        if self.timing {
            crate::metrics::record_blocked(self, waited);
        }
    }

    pub(crate) fn stats(&self) -> MailboxStats {
        self.counters.snapshot()
    }

    /// The counters, to read after the mailbox is gone.
    pub(crate) fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }

    /// Marks a supervised restart in progress until the guard is dropped (also on unwind).
    pub(crate) fn restarting(&self) -> RestartGuard<'_> {
        // Relaxed: set and read on the thread that runs the actor.
        self.restarting.store(true, Ordering::Relaxed);
        RestartGuard { core: self }
    }
}

/// A sender registered as waiting for room; see [`Core::register_for_room`].
pub(crate) struct RoomRegistration<'a> {
    core: &'a Core,
    listener: EventListener,
}

impl RoomRegistration<'_> {
    /// Waits for a notification that there may be room.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future (or the registration) passes a notification it got
    /// on to another waiting sender.
    pub(crate) async fn notified(&mut self) {
        (&mut self.listener).await;
    }
}

impl Drop for RoomRegistration<'_> {
    fn drop(&mut self) {
        // Relaxed: a briefly stale count only costs the driver one needless notification.
        self.core.waiting_senders.fetch_sub(1, Ordering::Relaxed);
    }
}

/// See [`Core::restarting`].
pub(crate) struct RestartGuard<'a> {
    core: &'a Core,
}

impl Drop for RestartGuard<'_> {
    fn drop(&mut self) {
        self.core.restarting.store(false, Ordering::Relaxed);
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
    queue: MailboxQueue<Envelope<A>>,
    /// The control lane: messages that bypass the bound and the pause, handled before the
    /// queued ones. Not counted in the stats.
    control: Queue<Envelope<A>>,
    /// Control messages queued or being queued: lets the driver skip looking at the control
    /// queue (whose empty check issues a full fence) on every message.
    control_len: AtomicUsize,
}

impl<A: Actor> Chan<A> {
    /// The counters, to read after the mailbox is gone.
    pub(crate) fn counters(&self) -> Arc<Counters> {
        self.core.counters()
    }

    /// A channel with one sender. `config` must have been validated.
    pub(crate) fn new(config: MailboxConfig) -> Self {
        debug_assert!(config.validate().is_ok());
        let name = config.name.unwrap_or_else(|| Arc::from("<unnamed>"));
        Chan {
            core: Core {
                name,
                policy: AtomicU8::new(config.policy.to_u8()),
                batch: config.batch,
                hook: config.on_drop,
                timing: config.metrics && cfg!(feature = "metrics"),
                counters: Arc::default(),
                instance: config.instance,
                room: Event::new(),
                waiting_senders: AtomicUsize::new(0),
                consumer: AtomicWaker::new(),
                consumer_parked: AtomicBool::new(false),
                senders: AtomicUsize::new(1),
                restarting: AtomicBool::new(false),
                gate: config.gate.unwrap_or_default(),
                shared: None,
            },
            queue: MailboxQueue::bounded(config.capacity),
            control: unbounded(),
            control_len: AtomicUsize::new(0),
        }
    }

    /// A channel consumed by a pool of workers rather than one driver.
    pub(crate) fn new_shared(config: MailboxConfig) -> Self {
        let mut chan = Chan::new(config);
        chan.core.shared = Some(SharedConsumers {
            turn: Mutex::new(()),
            work: Event::new(),
            parked: AtomicUsize::new(0),
        });
        chan
    }

    /// Whether a pool of workers consumes this mailbox.
    pub(crate) fn is_shared(&self) -> bool {
        self.core.shared.is_some()
    }

    /// Queues `env` under `policy`. `DropOldest` never refuses for lack of room: it evicts.
    pub(crate) fn offer(
        &self,
        mut env: Envelope<A>,
        policy: OverflowPolicy,
    ) -> Result<(), (Envelope<A>, Refusal)> {
        if self.core.timing && crate::metrics::sample_tick() {
            env.stamp(Instant::now());
        }
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
        // SeqCst, after the SeqCst CAS with which `concurrent-queue` 2.5 publishes a message:
        // either this load sees the driver parked, or the driver's look at the queue after
        // parking (behind the SeqCst fence in `park_consumer`) sees the message.
        // (Store-buffering pattern; the loom model checks it with a mutex-based queue.)
        self.wake_parked_consumer();
        if let Some(evicted) = evicted {
            evicted.fail(DropReason::DropOldest, &self.core);
        }
        Ok(())
    }

    fn wake_parked_consumer(&self) {
        match &self.core.shared {
            None => {
                if self.core.consumer_parked.load(Ordering::SeqCst)
                    && self.core.consumer_parked.swap(false, Ordering::SeqCst)
                {
                    self.core.consumer.wake();
                }
            }
            // SeqCst: pairs with the fence in `park_worker`, as above.
            Some(shared) => {
                if shared.parked.load(Ordering::SeqCst) != 0 {
                    notify_additional(&shared.work, 1);
                }
            }
        }
    }

    /// Wakes every consumer (every pool worker), to look at the mailbox again: a
    /// reconfiguration, closing, a worker to retire.
    pub(crate) fn wake_consumers(&self) {
        match &self.core.shared {
            None => self.core.consumer.wake(),
            Some(shared) => notify(&shared.work, usize::MAX),
        }
    }

    /// Applies a pending capacity or policy change. In a pool, one worker at a time.
    pub(crate) fn reconfigure(&self) {
        match &self.core.shared {
            None => self.apply_reconfiguration(),
            Some(shared) => {
                if self.queue.has_overflow() || self.queue.capacity_requested() {
                    let _turn = shared.turn.lock().unwrap_or_else(|e| e.into_inner());
                    self.apply_reconfiguration();
                }
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the oldest envelope out (see `pop`). In a pool, one worker at a time.
    pub(crate) fn take(&self) -> Result<Envelope<A>, PopError> {
        match &self.core.shared {
            None => self.pop(),
            Some(shared) => {
                let _turn = shared.turn.lock().unwrap_or_else(|e| e.into_inner());
                self.pop()
            }
        }
    }

    /// A pool worker about to sleep: after this, it must look at the queue once more before it
    /// waits on the registration.
    pub(crate) fn park_worker(self: &Arc<Self>) -> WorkRegistration {
        let shared = self
            .core
            .shared
            .as_ref()
            .unwrap_or_else(|| unreachable!("only pool workers park this way"));
        let listener = shared.work.listen();
        // SeqCst and a fence before the worker's last look: see `wake_parked_consumer`.
        shared.parked.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let weak: std::sync::Weak<dyn ParkedCount> = Arc::downgrade(self) as _;
        WorkRegistration {
            listener,
            chan_parked: weak,
        }
    }

    /// Queues `env` on the control lane, whatever the bound and the pause; hands it back if
    /// the actor is gone.
    pub(crate) fn offer_control(&self, env: Envelope<A>) -> Result<(), Envelope<A>> {
        // Counted before it is queued, so the count is never below the queue's length.
        self.control_len.fetch_add(1, Ordering::SeqCst);
        if let Err(refused) = self.control.push(env) {
            self.control_len.fetch_sub(1, Ordering::Relaxed);
            return Err(refused.into_inner());
        }
        // The same protocol as `offer`, with an explicit fence rather than relying on the
        // unbounded queue's internal orderings: pairs with the fence in `park_consumer` (and
        // `park_worker`), after which the driver looks at the control queue itself.
        fence(Ordering::SeqCst);
        self.wake_parked_consumer();
        Ok(())
    }

    /// Takes the oldest control message out, if any. Cheap when none was queued: a relaxed
    /// load (a message being queued right now is found by the next look, or by the look after
    /// parking, which uses [`pop_control_fenced`](Self::pop_control_fenced)).
    pub(crate) fn pop_control(&self) -> Option<Envelope<A>> {
        // Relaxed: only a hint; see above.
        if self.control_len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.pop_control_fenced()
    }

    /// Takes the oldest control message out, if any, looking at the queue itself: after
    /// parking.
    pub(crate) fn pop_control_fenced(&self) -> Option<Envelope<A>> {
        let env = self.control.pop().ok()?;
        // Relaxed: the count is a hint for `pop_control`; the queue is the truth.
        self.control_len.fetch_sub(1, Ordering::Relaxed);
        Some(env)
    }

    /// Takes the oldest envelope out and tells one more waiting sender there is room.
    pub(crate) fn pop(&self) -> Result<Envelope<A>, PopError> {
        let env = self.queue.pop()?;
        // SeqCst, after the SeqCst CAS with which `concurrent-queue` 2.5 takes a message out
        // of a queue of capacity 2 or more; pairs with `register_for_room`. For capacity 1 the
        // slot is released with a Release store, so this notification may come only from
        // `settle_room`, at the end of the batch. `settle_room` backs this up in every case.
        if self.core.waiting_senders.load(Ordering::SeqCst) != 0 {
            notify_additional(&self.core.room, 1);
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
            notify(&self.core.room, popped);
        }
    }

    /// The driver is about to sleep: after this, it must look at the queue once more before
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

    /// Asks for a new capacity; the driver switches to it before it handles another message.
    pub(crate) fn set_capacity(&self, capacity: usize) {
        self.queue.request_capacity(capacity);
        self.wake_consumers();
    }

    /// Changes the policy at once; waiting senders look again under the new one.
    pub(crate) fn set_policy(&self, policy: OverflowPolicy) {
        // Relaxed: see `Core::policy`; the notification below makes waiters look again.
        self.core.policy.store(policy.to_u8(), Ordering::Relaxed);
        notify(&self.core.room, usize::MAX);
        // Under `DropOldest`, the driver evicts what a shrink left over the capacity.
        self.wake_consumers();
    }

    /// Applies a requested capacity change. Driver only (in a pool, the worker whose turn it
    /// is), between two messages.
    pub(crate) fn apply_reconfiguration(&self) {
        // Called before every message: two relaxed loads when nothing is pending.
        if !self.queue.has_overflow() && !self.queue.capacity_requested() {
            return;
        }
        let evict = self.core.policy() == OverflowPolicy::DropOldest;
        // `DropOldest` keeps the newest `capacity` messages: the ones a shrink left over the
        // capacity (under another policy) are the oldest, and go first.
        if evict && self.queue.has_overflow() {
            for env in self.queue.take_overflow() {
                env.fail(DropReason::DropOldest, &self.core);
            }
        }
        if !self.queue.capacity_requested() {
            return;
        }
        // Shrinking below the depth under `DropOldest` evicts the oldest messages beyond the
        // new capacity; under the other policies they stay queued (handled first) and new
        // sends see the new bound until the queue has drained below it.
        for env in self.queue.apply_requested_capacity(evict) {
            env.fail(DropReason::DropOldest, &self.core);
        }
        // A larger capacity may have room for waiting senders.
        notify(&self.core.room, usize::MAX);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// Whether a supervised restart is in progress (see [`Core::restarting`]).
    pub(crate) fn is_restarting(&self) -> bool {
        self.core.restarting.load(Ordering::Relaxed)
    }

    /// The actor is gone: refuse new messages, wake every waiting sender so it gets its
    /// message back, and fail the queued ones as `Stopped`. Idempotent.
    pub(crate) fn close_and_drain(&self) {
        // Wake waiting senders first: a drop hook that panics below must not leave them
        // waiting forever.
        self.queue.close();
        notify(&self.core.room, usize::MAX);
        self.control.close();
        // A control message the actor never got: dropping it tells a requester `Stopped`.
        while self.control.pop().is_ok() {}
        loop {
            while let Ok(env) = self.queue.pop() {
                env.fail(DropReason::Stopped, &self.core);
            }
            // `concurrent-queue` 2.5's `force_push` on a full queue stores the tail without
            // the closed mark, so a `DropOldest` send racing with `close` can reopen the queue.
            // Such a send's message is the newest, so the drain above waits for it and then
            // sees the queue reopened: close and drain again until it stays closed.
            if self.queue.current_is_closed() {
                break;
            }
            self.queue.close();
            notify(&self.core.room, usize::MAX);
        }
    }

    pub(crate) fn add_sender(&self) {
        // Relaxed: a new handle is made from an existing one, which keeps the count above 0.
        self.core.senders.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one more handle if one is still alive (the count is above 0), for
    /// `WeakBoundedAddr::upgrade`. Once the count has reached 0 the queue is closed for good:
    /// it never goes back up.
    pub(crate) fn try_add_sender(&self) -> bool {
        // Relaxed: as in `add_sender`, the count is only a count. The CAS takes part in the
        // count's single modification order: either it comes before the last handle's
        // decrement, which then sees this handle and does not close, or after it, and it sees
        // 0 and fails. The new handle's sends happen before its own (AcqRel) decrement.
        let mut count = self.core.senders.load(Ordering::Relaxed);
        while count != 0 {
            match self.core.senders.compare_exchange_weak(
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
        if self.core.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // No one can send any more: let the driver drain what is queued, then finish.
            self.queue.close();
            self.wake_consumers();
            notify(&self.core.room, usize::MAX);
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
}

/// The envelope a queue handed back, as the message type it was made with.
fn downcast<A, M>(env: Envelope<A>) -> Box<MsgEnvelope<M>>
where
    A: Actor + Handler<M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    env.into_any()
        .downcast::<MsgEnvelope<M>>()
        .unwrap_or_else(|_| unreachable!("the queue hands back the envelope it was given"))
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
}
