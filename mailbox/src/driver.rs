//! The driver: a future spawned inside the actor's context that feeds it from the bounded
//! queue, one message at a time.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{self, Poll};

use actix::{Actor, ActorFuture, AsyncContext, Context};
use concurrent_queue::PopError;
use event_listener::EventListener;

use crate::chan::Chan;
use crate::consumers::WorkRegistration;
use crate::envelope::Envelope;
use crate::metrics::Timers;
use crate::shed::Shedder;
use crate::DropReason;

/// Feeds the actor from its bounded queue.
///
/// It runs inside the actor's context, so handlers get `&mut A` and `&mut Context<A>` exactly
/// as with actix's own mailbox. Control messages go first; while the mailbox's
/// [`PauseGate`](crate::PauseGate) is paused, only they are taken. It pops one envelope at a
/// time (a local batch would be a hidden buffer beyond the bound, out of reach of
/// `DropOldest`), holds off while the context waits (`ctx.wait`, stopping), yields to the
/// arbiter after `batch` messages, and finishes once every sender is gone and the queue is
/// empty, which lets the actor stop.
///
/// When it is dropped because the actor stopped, it closes the queue and fails what is left
/// in it as `Stopped`; during a supervised restart it leaves the queue alone. A pool worker's
/// driver leaves the shared queue to the pool, and also finishes when the worker is retired.
pub(crate) struct Driver<A: Actor> {
    chan: Arc<Chan<A>>,
    state: State,
}

/// The driver's own state, apart from the mailbox it drives.
struct State {
    timers: Timers,
    /// Registered for the resume while the mailbox is paused.
    resumed: Option<EventListener>,
    /// A pool worker's registration for work, while it waits for some.
    work: Option<WorkRegistration>,
    /// Set for a pool worker.
    worker: Option<Worker>,
    /// Whether the bypass through the actor's actix address was reported.
    warned_native: bool,
    /// Shedding by time in the mailbox, if the mailbox sheds.
    shed: Option<Shedder>,
    /// With credits: what this driver holds to grant back.
    credits: Option<Credits>,
}

/// The credits a driver holds: messages finished, and the one still being worked on (its
/// handler returned, a `ctx.wait` it started may still run).
#[derive(Debug)]
struct Credits {
    refill: usize,
    finished: usize,
    working: usize,
}

/// A pool worker's side of its driver.
pub(crate) struct Worker {
    /// Set by the pool to retire the worker after its current message.
    pub(crate) retire: Arc<AtomicBool>,
    /// Messages this worker handled.
    pub(crate) handled: Arc<AtomicU64>,
    /// Told when the driver goes, whether the worker was retired, finished or died.
    pub(crate) exited: Option<Box<dyn FnOnce() + Send>>,
}

impl<A: Actor> Driver<A> {
    pub(crate) fn new(chan: Arc<Chan<A>>) -> Self {
        let shed = Shedder::new(chan.core.ttl, chan.core.sojourn);
        let credits = chan.core.refill.map(|refill| Credits {
            refill,
            finished: 0,
            working: 0,
        });
        Driver {
            chan,
            state: State {
                timers: Timers::new(),
                resumed: None,
                work: None,
                worker: None,
                warned_native: false,
                shed,
                credits,
            },
        }
    }

    /// The driver of one worker of a pool sharing `chan`.
    pub(crate) fn worker(chan: Arc<Chan<A>>, worker: Worker) -> Self {
        debug_assert!(chan.is_shared());
        let mut driver = Driver::new(chan);
        driver.state.worker = Some(worker);
        driver
    }

    pub(crate) fn chan(&self) -> &Arc<Chan<A>> {
        &self.chan
    }
}

impl State {
    /// Sleeps until a message may have come: registers the waker (one driver) or a work
    /// registration (pool worker). The caller must look at the queue once more afterwards.
    fn park<A: Actor>(&mut self, chan: &Arc<Chan<A>>, task: &task::Context<'_>) {
        if chan.is_shared() {
            if self.work.is_none() {
                self.work = Some(chan.park_worker());
            }
        } else {
            chan.park_consumer(task.waker());
        }
    }

    /// Found a message after parking.
    fn unpark<A: Actor>(&mut self, chan: &Chan<A>) {
        if chan.is_shared() {
            self.work = None;
        } else {
            chan.unpark_consumer();
        }
    }

    /// Parked, and found nothing on the last look: whether a pool worker was notified in the
    /// meantime (look again) or should sleep.
    fn notified(&mut self, task: &mut task::Context<'_>) -> bool {
        let notified = self
            .work
            .as_mut()
            .is_some_and(|work| work.poll_notified(task));
        if notified {
            self.work = None;
        }
        notified
    }

    fn handle<A>(&mut self, chan: &Chan<A>, env: Envelope<A>, act: &mut A, ctx: &mut Context<A>)
    where
        A: Actor<Context = Context<A>>,
    {
        env.handle(act, ctx, &mut self.timers, &chan.core);
    }

    /// Handles a data message and counts it.
    fn handle_data<A>(
        &mut self,
        chan: &Chan<A>,
        env: Envelope<A>,
        act: &mut A,
        ctx: &mut Context<A>,
    ) where
        A: Actor<Context = Context<A>>,
    {
        match &self.worker {
            None => {
                self.handle(chan, env, act, ctx);
                chan.handled();
            }
            Some(worker) => {
                // Counted as the handler starts: a message whose handler panics (and takes its
                // worker down) still counts as handled, not as lost.
                worker.handled.fetch_add(1, Ordering::Relaxed);
                chan.handled();
                self.handle(chan, env, act, ctx);
            }
        }
    }

    /// Whether `env`, just taken out, waited too long and is to be shed.
    fn expired<A: Actor>(&mut self, chan: &Chan<A>, env: &Envelope<A>) -> bool {
        // The shedder first: without one, no call through the envelope's vtable.
        let Some(shed) = &mut self.shed else {
            return false;
        };
        env.queued_at()
            .is_some_and(|queued_at| shed.sheds(queued_at, tokio::time::Instant::now(), chan.len()))
    }

    /// The context is ready for the next message: the one worked on is finished. Grants a
    /// batch of credits back once `refill` are.
    fn finished_work<A: Actor>(&mut self, chan: &Chan<A>) {
        if let Some(credits) = &mut self.credits {
            credits.finished += std::mem::take(&mut credits.working);
            if credits.finished >= credits.refill {
                chan.grant(std::mem::take(&mut credits.finished));
            }
        }
    }

    /// A data message was taken out: with credits, it is worked on now (`done`: it was shed,
    /// and is finished already).
    fn took(&mut self, done: bool) {
        if let Some(credits) = &mut self.credits {
            if done {
                credits.finished += 1;
            } else {
                credits.working += 1;
            }
        }
    }

    /// Grants back every credit held: before waiting for work, and when the driver goes.
    fn grant_all<A: Actor>(&mut self, chan: &Chan<A>) {
        if let Some(credits) = &mut self.credits {
            let held = std::mem::take(&mut credits.finished) + std::mem::take(&mut credits.working);
            chan.grant(held);
        }
    }

    /// The queue was found empty.
    fn emptied(&mut self) {
        if let Some(shed) = &mut self.shed {
            shed.emptied();
        }
    }

    #[inline]
    fn retiring(&self) -> bool {
        self.worker
            .as_ref()
            .is_some_and(|worker| worker.retire.load(Ordering::Acquire))
    }
}

impl<A> ActorFuture<A> for Driver<A>
where
    A: Actor<Context = Context<A>>,
{
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut A,
        ctx: &mut Context<A>,
        task: &mut task::Context<'_>,
    ) -> Poll<()> {
        let Driver { chan, state: this } = self.get_mut();
        let chan: &Arc<Chan<A>> = chan;
        // Messages handled in this poll (for the batch).
        let mut handled = 0;
        let poll = loop {
            // A handler called `ctx.wait(..)` or `ctx.stop()`: the context polls us again
            // once it is ready for more messages.
            if ctx.waiting() {
                break Poll::Pending;
            }
            this.finished_work(chan);
            if handled == chan.core.batch {
                task.waker().wake_by_ref();
                break Poll::Pending;
            }
            // A retired pool worker finishes between two messages, leaving the rest queued.
            if this.retiring() {
                break Poll::Ready(());
            }
            // A capacity or policy change takes effect before the next message.
            chan.reconfigure();
            // The control lane goes first, paused or not.
            if let Some(env) = chan.pop_control() {
                this.handle(chan, env, act, ctx);
                handled += 1;
                continue;
            }
            if paused(chan, &mut this.resumed, task) {
                // Sleep until the gate opens (registered above) or a control message comes; the
                // credits of finished messages go back meanwhile.
                this.grant_all(chan);
                this.park(chan, task);
                match chan.pop_control_fenced() {
                    Some(env) => {
                        this.unpark(chan);
                        this.handle(chan, env, act, ctx);
                        handled += 1;
                        continue;
                    }
                    None if this.notified(task) => continue,
                    None => break Poll::Pending,
                }
            }
            let env = match chan.pop() {
                Ok(env) => {
                    // A pool worker busy again leaves the idle ones to be notified.
                    this.work = None;
                    env
                }
                Err(PopError::Closed) => break Poll::Ready(()),
                Err(PopError::Empty) => {
                    this.emptied();
                    // Nothing to work on: every credit held goes back, or a producer waiting
                    // for one would wait on an idle actor.
                    this.grant_all(chan);
                    // Park, then look again: a message pushed in between wakes us.
                    this.park(chan, task);
                    if let Some(env) = chan.pop_control_fenced() {
                        this.unpark(chan);
                        this.handle(chan, env, act, ctx);
                        handled += 1;
                        continue;
                    }
                    match chan.pop() {
                        Ok(env) => {
                            this.unpark(chan);
                            env
                        }
                        Err(PopError::Closed) => break Poll::Ready(()),
                        Err(PopError::Empty) if this.notified(task) => continue,
                        Err(PopError::Empty) => break Poll::Pending,
                    }
                }
            };
            if this.expired(chan, &env) {
                this.took(true);
                chan.delivering(false);
                env.fail(DropReason::Expired, &chan.core);
            } else {
                this.took(false);
                chan.delivering(true);
                this.handle_data(chan, env, act, ctx);
            }
            handled += 1;
        };
        if !this.warned_native && ctx.connected() {
            this.warned_native = true;
            warn_native_address(&chan.core.name);
        }
        poll
    }
}

/// Someone holds the actor's actix address (`ctx.address()`): what is sent there goes to
/// actix's unbounded native mailbox, past this one's bound, policy and counters. Said once per
/// actor (and per restart), as `tracing` warning.
#[cold]
fn warn_native_address(mailbox: &str) {
    tracing::warn!(
        mailbox,
        "the actor's actix address (ctx.address()) is in use: messages sent through it bypass \
         the bounded mailbox (no bound, no policy, not counted); send through a BoundedAddr, \
         or a WeakBoundedAddr of itself (BoundedMailbox::downgrade)"
    );
}

/// Whether the mailbox is paused; if so, `task` is woken when it resumes.
///
/// A pause that no one can lift any more (the mailbox closed because every sender is gone, and
/// no one else holds its gate) is ignored, so that the actor can drain its queue and stop.
fn paused<A: Actor>(
    chan: &Chan<A>,
    resumed: &mut Option<EventListener>,
    task: &mut task::Context<'_>,
) -> bool {
    let gate = &chan.core.gate;
    if !gate.is_paused() {
        *resumed = None;
        return false;
    }
    // Looked at again after registering: a handle dropped in between notifies.
    let orphaned = || chan.is_closed() && !gate.is_shared();
    gate.poll_open_unless(resumed, task, orphaned).is_pending()
}

impl<A: Actor> Drop for Driver<A> {
    fn drop(&mut self) {
        // Whatever becomes of the mailbox (a restart keeps it), the credits held go back.
        self.state.grant_all(&self.chan);
        match &mut self.state.worker {
            // The pool decides what becomes of the shared queue.
            Some(worker) => {
                if let Some(exited) = worker.exited.take() {
                    exited();
                }
            }
            None => {
                if !self.chan.is_restarting() {
                    self.chan.close_and_drain();
                }
            }
        }
    }
}
