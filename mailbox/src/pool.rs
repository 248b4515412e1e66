//! `WorkerPool`: identical actors sharing one bounded mailbox.

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use actix::{Actor, Arbiter, ArbiterHandle, AsyncContext, Context};

use crate::chan::Chan;
use crate::config::short_type_name;
use crate::driver::{Driver, Worker};
use crate::{BoundedAddr, ConfigError, MailboxConfig, MailboxProbe};

/// A pool of identical actors (workers) sharing **one** bounded mailbox.
///
/// Workers pull from the shared queue: an idle worker takes the next message, and the bound
/// is exact for the whole pool, as for one actor. The pool sends through a [`BoundedAddr`]
/// (it derefs to one): the same methods, policies, errors and stats, with `handled` counting
/// every worker's messages ([`worker_stats`](Self::worker_stats) has them one by one).
///
/// The pool keeps between `min` and `max` workers. [`scale_to`](Self::scale_to) changes the
/// size (the pressure supervisor does it from the mailbox's pressure). A new worker counts
/// toward the size from the moment it is asked for, so two quick scale-ups never overshoot. A
/// worker retired by a scale-down finishes its current message and takes no other; nothing
/// queued is lost. A worker that dies (a handler panicked) is replaced, and the pool keeps
/// serving; workers that keep dying before handling anything are replaced after a growing
/// delay (up to 1 s). When every address is dropped, the workers handle what is queued and
/// stop. If the pool's arbiters stop, the pool closes its mailbox as an actor's would.
///
/// Messages are handled in parallel only across arbiters: workers started on one arbiter (the
/// default: the current one) take turns on its thread, which still helps when handlers wait
/// (`ctx.wait`, async responses). Give [`WorkerPoolBuilder::arbiters`] to spread them.
///
/// # Examples
///
/// ```
/// use actix::prelude::*;
/// # use actix_backpressure_mailbox as actix_backpressure;
/// use actix_backpressure::{MailboxConfig, WorkerPool};
///
/// struct Parser;
/// impl Actor for Parser {
///     type Context = Context<Self>;
/// }
///
/// #[derive(Message)]
/// #[rtype(result = "usize")]
/// struct Parse(String);
///
/// impl Handler<Parse> for Parser {
///     type Result = usize;
///     fn handle(&mut self, Parse(line): Parse, _: &mut Context<Self>) -> usize {
///         line.split_whitespace().count()
///     }
/// }
///
/// System::new().block_on(async {
///     let pool = WorkerPool::builder(MailboxConfig::new(64).name("parse"), || Parser)
///         .min(2)
///         .max(8)
///         .start();
///     assert_eq!(pool.workers(), 2);
///     assert_eq!(pool.send(Parse("a b c".into())).await.unwrap(), 3);
///     assert_eq!(pool.scale_to(4), 4);
///     assert_eq!(pool.scale_to(100), 8, "never beyond max");
/// });
/// ```
pub struct WorkerPool<A: Actor> {
    addr: BoundedAddr<A>,
    pool: Arc<Pool<A>>,
}

/// Builds a [`WorkerPool`]: see [`WorkerPool::builder`].
#[must_use]
pub struct WorkerPoolBuilder<A: Actor> {
    config: MailboxConfig,
    factory: Arc<dyn Fn() -> A + Send + Sync>,
    min: usize,
    max: usize,
    initial: Option<usize>,
    arbiters: Vec<ArbiterHandle>,
}

/// One worker's figures, from [`WorkerPool::worker_stats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// The worker's number in its pool (in start order, from 0).
    pub id: u64,
    /// Messages it handled.
    pub handled: u64,
    /// Whether it was retired and is finishing its current message.
    pub retiring: bool,
}

struct Pool<A: Actor> {
    chan: Weak<Chan<A>>,
    factory: Arc<dyn Fn() -> A + Send + Sync>,
    min: usize,
    max: usize,
    arbiters: Vec<ArbiterHandle>,
    next_arbiter: AtomicUsize,
    state: Mutex<PoolState>,
    /// Workers that died and were replaced.
    replaced: AtomicU64,
}

#[derive(Default)]
struct PoolState {
    workers: Vec<WorkerEntry>,
    next_id: u64,
    /// Replaced workers in a row that died without handling a message.
    failures: u32,
}

/// How long to wait before replacing a worker, after `failures` workers in a row died without
/// handling a message: at once for the first, then 10 ms, doubling up to 1 s.
fn replacement_delay(failures: u32) -> Duration {
    match failures {
        0 | 1 => Duration::ZERO,
        n => Duration::from_millis(10u64 << (n - 2).min(7)).min(Duration::from_secs(1)),
    }
}

struct WorkerEntry {
    id: u64,
    retire: Arc<AtomicBool>,
    handled: Arc<AtomicU64>,
    /// Set once the worker runs on its arbiter.
    started: Arc<AtomicBool>,
}

impl<A> WorkerPool<A>
where
    A: Actor<Context = Context<A>>,
{
    /// A builder for a pool whose workers `factory` makes, behind a mailbox configured by
    /// `config`. By default the pool has one worker (`min` = `max` = 1).
    pub fn builder<F>(config: MailboxConfig, factory: F) -> WorkerPoolBuilder<A>
    where
        F: Fn() -> A + Send + Sync + 'static,
    {
        WorkerPoolBuilder {
            config,
            factory: Arc::new(factory),
            min: 1,
            max: 1,
            initial: None,
            arbiters: Vec::new(),
        }
    }

    /// The address the pool receives on (also reachable through `Deref`).
    pub fn addr(&self) -> &BoundedAddr<A> {
        &self.addr
    }

    /// Workers in the pool: running, or asked for and starting; not those retiring.
    pub fn workers(&self) -> usize {
        PoolOps::workers(&*self.pool)
    }

    /// The fewest workers the pool keeps.
    pub fn min(&self) -> usize {
        self.pool.min
    }

    /// The most workers the pool keeps.
    pub fn max(&self) -> usize {
        self.pool.max
    }

    /// Sets the number of workers to `workers`, within `min..=max`, and returns the number
    /// set. Growing starts workers at once (they count from now on); shrinking retires the
    /// newest workers, each after its current message.
    pub fn scale_to(&self, workers: usize) -> usize {
        Pool::scale_to(&self.pool, workers)
    }

    /// A handle that resizes the pool and reads its size, without keeping it alive: what the
    /// pressure supervisor holds.
    pub fn scaler(&self) -> PoolScaler {
        let pool: Weak<dyn PoolOps> = Arc::downgrade(&self.pool) as _;
        PoolScaler {
            pool,
            probe: self.addr.probe(),
            min: self.pool.min,
            max: self.pool.max,
        }
    }

    /// Each live worker's figures, oldest first.
    pub fn worker_stats(&self) -> Vec<WorkerStats> {
        self.pool
            .state()
            .workers
            .iter()
            .map(|w| WorkerStats {
                id: w.id,
                handled: w.handled.load(Ordering::Relaxed),
                retiring: w.retire.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Workers that died (a handler panicked) and were replaced.
    pub fn replaced(&self) -> u64 {
        self.pool.replaced.load(Ordering::Relaxed)
    }
}

impl<A> WorkerPoolBuilder<A>
where
    A: Actor<Context = Context<A>>,
{
    /// The fewest workers (at least 1; default 1).
    pub fn min(mut self, min: usize) -> Self {
        self.min = min;
        self.max = self.max.max(min);
        self
    }

    /// The most workers (at least `min`; default `min`).
    pub fn max(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    /// The workers to start with (default `min`).
    pub fn initial(mut self, initial: usize) -> Self {
        self.initial = Some(initial);
        self
    }

    /// Starts workers on these arbiters, in turn (default: the current arbiter).
    pub fn arbiters(mut self, arbiters: Vec<ArbiterHandle>) -> Self {
        self.arbiters = arbiters;
        self
    }

    /// Starts the pool.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for an invalid mailbox configuration or pool size
    /// ([`ConfigError::PoolSize`]: it needs `1 <= min <= initial <= max`).
    ///
    /// # Panics
    ///
    /// Outside a running actix `System` when no arbiters were given.
    pub fn try_start(self) -> Result<WorkerPool<A>, ConfigError> {
        let config = match self.config.name {
            Some(_) => self.config,
            None => self.config.name(&short_type_name::<A>()),
        };
        config.validate()?;
        let initial = self.initial.unwrap_or(self.min);
        if !(1 <= self.min && self.min <= initial && initial <= self.max) {
            return Err(ConfigError::PoolSize {
                mailbox: config.get_name().unwrap_or_default().to_owned(),
                min: self.min,
                initial,
                max: self.max,
            });
        }
        let metrics = config.metrics;
        let chan = Arc::new(Chan::new_shared(config));
        if metrics {
            crate::metrics::register(crate::start::register_handle(&chan), chan.counters());
        }
        let arbiters = if self.arbiters.is_empty() {
            vec![Arbiter::current()]
        } else {
            self.arbiters
        };
        let pool = Arc::new(Pool {
            chan: Arc::downgrade(&chan),
            factory: self.factory,
            min: self.min,
            max: self.max,
            arbiters,
            next_arbiter: AtomicUsize::new(0),
            state: Mutex::default(),
            replaced: AtomicU64::new(0),
        });
        let starts: Vec<_> = {
            let mut state = pool.state();
            (0..initial)
                .map(|_| Pool::prepare(&pool, &mut state, Arc::clone(&chan)))
                .collect()
        };
        starts.into_iter().for_each(Start::run);
        Ok(WorkerPool {
            addr: BoundedAddr::from_chan(chan),
            pool,
        })
    }

    /// Starts the pool.
    ///
    /// # Panics
    ///
    /// If the configuration or the sizes are invalid (see [`try_start`](Self::try_start)), or
    /// outside a running actix `System` when no arbiters were given.
    pub fn start(self) -> WorkerPool<A> {
        self.try_start()
            .unwrap_or_else(|err| panic!("actix-backpressure: {err}"))
    }
}

impl<A> Pool<A>
where
    A: Actor<Context = Context<A>>,
{
    fn state(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn live(&self, state: &PoolState) -> usize {
        state
            .workers
            .iter()
            .filter(|w| !w.retire.load(Ordering::Relaxed))
            .count()
    }

    fn scale_to(pool: &Arc<Self>, workers: usize) -> usize {
        let target = workers.clamp(pool.min, pool.max);
        let Some(chan) = pool.chan.upgrade() else {
            return target;
        };
        let mut state = pool.state();
        let live = pool.live(&state);
        if target > live {
            let starts: Vec<_> = (live..target)
                .map(|_| Pool::prepare(pool, &mut state, Arc::clone(&chan)))
                .collect();
            drop(state);
            starts.into_iter().for_each(Start::run);
        } else if target < live {
            let mut excess = live - target;
            for worker in state.workers.iter().rev() {
                if excess == 0 {
                    break;
                }
                if !worker.retire.swap(true, Ordering::AcqRel) {
                    excess -= 1;
                }
            }
            drop(state);
            // Idle workers look again, and the retired ones finish.
            chan.wake_consumers();
        }
        target
    }

    /// Counts one more worker, to start with [`Start::run`] once `state` is unlocked (a worker
    /// that cannot start exits at once, which locks it).
    fn prepare(pool: &Arc<Self>, state: &mut PoolState, chan: Arc<Chan<A>>) -> Start {
        let id = state.next_id;
        state.next_id += 1;
        let entry = WorkerEntry {
            id,
            retire: Arc::default(),
            handled: Arc::default(),
            started: Arc::default(),
        };
        // The worker keeps the pool alive (to be replaced if it dies); the pool holds no
        // worker, so there is no cycle.
        let pool_of_worker = Arc::clone(pool);
        let worker = Worker {
            retire: Arc::clone(&entry.retire),
            handled: Arc::clone(&entry.handled),
            exited: Some(Box::new(move || pool_of_worker.exited(id))),
        };
        let started = Arc::clone(&entry.started);
        state.workers.push(entry);
        let driver = Driver::worker(chan, worker);
        let factory = Arc::clone(&pool.factory);
        let n = pool.next_arbiter.fetch_add(1, Ordering::Relaxed) % pool.arbiters.len();
        Start {
            arbiter: pool.arbiters[n].clone(),
            delay: Duration::ZERO,
            start: Box::new(move || {
                started.store(true, Ordering::Release);
                let mut ctx = Context::new();
                let act = factory();
                ctx.spawn(driver);
                actix_rt::spawn(ctx.into_future(act));
            }),
        }
    }

    /// Worker `id`'s driver is gone: retired, finished (the mailbox closed and drained), or
    /// died with its actor. A worker that died while the mailbox is open is replaced.
    fn exited(self: &Arc<Self>, id: u64) {
        let Some(chan) = self.chan.upgrade() else {
            return;
        };
        let mut state = self.state();
        let Some(at) = state.workers.iter().position(|w| w.id == id) else {
            return;
        };
        let worker = state.workers.remove(at);
        let retired = worker.retire.load(Ordering::Acquire);
        let started = worker.started.load(Ordering::Acquire);
        let open = !chan.is_closed() || !chan.is_empty();
        if !retired && started && open {
            // A worker that dies before handling anything (it stops itself in `started`, say)
            // is replaced after a growing delay, not in a hot loop.
            if worker.handled.load(Ordering::Relaxed) == 0 {
                state.failures = state.failures.saturating_add(1);
            } else {
                state.failures = 0;
            }
            let delay = replacement_delay(state.failures);
            self.replaced.fetch_add(1, Ordering::Relaxed);
            let mut start = Pool::prepare(self, &mut state, chan);
            start.delay = delay;
            drop(state);
            start.run();
        } else if state.workers.is_empty() {
            // No worker is left to serve, and none will be started (the mailbox is done, or
            // the arbiters are gone): senders learn it rather than wait for ever.
            drop(state);
            chan.close_and_drain();
        }
    }
}

/// What a [`PoolScaler`] needs from a pool, whatever its actor type.
trait PoolOps: Send + Sync {
    fn workers(&self) -> usize;
    fn scale_to(self: Arc<Self>, workers: usize) -> usize;
}

impl<A> PoolOps for Pool<A>
where
    A: Actor<Context = Context<A>>,
{
    fn workers(&self) -> usize {
        self.live(&self.state())
    }

    fn scale_to(self: Arc<Self>, workers: usize) -> usize {
        Pool::scale_to(&self, workers)
    }
}

/// Resizes a [`WorkerPool`] and reads its size and pressure, without keeping it alive: from
/// [`WorkerPool::scaler`].
#[derive(Clone)]
pub struct PoolScaler {
    pool: Weak<dyn PoolOps>,
    probe: MailboxProbe,
    min: usize,
    max: usize,
}

impl PoolScaler {
    /// The pool's workers (see [`WorkerPool::workers`]), or `None` once the pool is gone.
    pub fn workers(&self) -> Option<usize> {
        Some(self.pool.upgrade()?.workers())
    }

    /// Resizes the pool (see [`WorkerPool::scale_to`]); `None` once the pool is gone.
    pub fn scale_to(&self, workers: usize) -> Option<usize> {
        Some(self.pool.upgrade()?.scale_to(workers))
    }

    /// The fewest workers the pool keeps.
    pub fn min(&self) -> usize {
        self.min
    }

    /// The most workers the pool keeps.
    pub fn max(&self) -> usize {
        self.max
    }

    /// The pool's mailbox.
    pub fn probe(&self) -> &MailboxProbe {
        &self.probe
    }
}

impl fmt::Debug for PoolScaler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolScaler")
            .field("pool", &self.probe.name())
            .field("workers", &self.workers())
            .field("min", &self.min)
            .field("max", &self.max)
            .finish()
    }
}

/// A worker counted in the pool, to start on its arbiter.
struct Start {
    arbiter: ArbiterHandle,
    start: Box<dyn FnOnce() + Send>,
    delay: Duration,
}

impl Start {
    fn run(self) {
        // If the arbiter is gone, the closure is dropped unrun, and with it the driver: the
        // worker exits without having started, and is not replaced.
        let Start {
            arbiter,
            start,
            delay,
        } = self;
        if delay.is_zero() {
            arbiter.spawn_fn(start);
        } else {
            arbiter.spawn(async move {
                actix_rt::time::sleep(delay).await;
                start();
            });
        }
    }
}

impl<A: Actor> Deref for WorkerPool<A> {
    type Target = BoundedAddr<A>;

    fn deref(&self) -> &BoundedAddr<A> {
        &self.addr
    }
}

impl<A: Actor> Clone for WorkerPool<A> {
    fn clone(&self) -> Self {
        WorkerPool {
            addr: self.addr.clone(),
            pool: Arc::clone(&self.pool),
        }
    }
}

impl<A: Actor> fmt::Debug for WorkerPool<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerPool")
            .field("addr", &self.addr)
            .field("min", &self.pool.min)
            .field("max", &self.pool.max)
            .finish()
    }
}
