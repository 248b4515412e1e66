//! The `PressureSupervisor` actor and its handle.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use actix_backpressure_mailbox::{
    BoundedAddr, MailboxProbe, MailboxStats, PoolScaler, PressureSample, WorkerPool, MAX_CAPACITY,
};
use dashmap::DashMap;
use futures_util::FutureExt;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::detector::{Detector, Transition};
use crate::event::DECISION_BUFFER;
use crate::limit::latency;
use crate::upstream::apply_states;
use crate::{
    metrics, Action, Decision, Decisions, IntoUpstream, LimitController, LimitState, PolicyError,
    PoolState, PressurePolicy, Reading, Scale, ScalingPolicy, Upstream,
};

/// Watches bounded mailboxes and pauses their upstreams while they stay saturated.
///
/// Start it with [`PressureSupervisor::start`] and register through the returned
/// [`SupervisorHandle`]: [`watch`](SupervisorHandle::watch) a mailbox with a
/// [`PressurePolicy`], and declare what feeds it with
/// [`add_upstream`](SupervisorHandle::add_upstream). Every policy interval the supervisor
/// samples each mailbox (a few atomic loads, through a [`MailboxProbe`] that does not keep the
/// actor alive). When a mailbox becomes saturated it pauses every upstream of it; when the
/// mailbox has recovered it resumes those that no other saturated mailbox needs paused.
///
/// Pressure travels up a chain by itself: a paused actor takes nothing out of its own mailbox,
/// which fills, so if that mailbox is watched too, its own upstreams are paused in turn.
///
/// When the supervisor stops (through [`SupervisorHandle::stop`], or with its arbiter), it
/// resumes every upstream it paused.
///
/// Each decision is logged as a `tracing` event (target `actix_backpressure::supervisor`),
/// sent to [subscribers](SupervisorHandle::subscribe), and shown in the metrics of
/// [`crate::metrics`].
///
/// # Examples
///
/// ```
/// use actix::prelude::*;
/// # mod actix_backpressure {
/// #     pub use actix_backpressure_mailbox::*;
/// #     pub use actix_backpressure_supervisor::*;
/// # }
/// use actix_backpressure::{BoundedActorExt, MailboxConfig, OverflowPolicy};
/// use actix_backpressure::{PressurePolicy, PressureSupervisor};
///
/// struct Worker;
/// impl Actor for Worker {
///     type Context = Context<Self>;
/// }
///
/// System::new().block_on(async {
///     let parse = Worker.start_bounded(MailboxConfig::new(100).name("parse"));
///     let store = Worker.start_bounded(
///         MailboxConfig::new(100).name("store").policy(OverflowPolicy::DropNewest),
///     );
///     let supervisor = PressureSupervisor::start();
///     supervisor.watch(&store, PressurePolicy::default()).unwrap();
///     // `parse` feeds `store`: pause it while `store` is saturated.
///     supervisor.add_upstream(&store, &parse).unwrap();
///     assert_eq!(supervisor.is_saturated(&store), Some(false));
///     supervisor.stop();
/// });
/// ```
pub struct PressureSupervisor {
    shared: Arc<Shared>,
    /// One timer per distinct sample interval.
    timers: HashMap<Duration, SpawnHandle>,
}

impl PressureSupervisor {
    /// Starts a supervisor on the current arbiter.
    ///
    /// # Panics
    ///
    /// Outside a running actix `System`.
    pub fn start() -> SupervisorHandle {
        let shared = Arc::new(Shared::new());
        let addr = Actor::start(PressureSupervisor {
            shared: Arc::clone(&shared),
            timers: HashMap::new(),
        });
        SupervisorHandle { shared, addr }
    }

    /// Starts a supervisor on `arbiter`.
    pub fn start_in_arbiter(arbiter: &ArbiterHandle) -> SupervisorHandle {
        let shared = Arc::new(Shared::new());
        let state = Arc::clone(&shared);
        let addr = Self::start_in_arbiter_with(arbiter, state);
        SupervisorHandle { shared, addr }
    }

    fn start_in_arbiter_with(arbiter: &ArbiterHandle, shared: Arc<Shared>) -> Addr<Self> {
        <Self as Actor>::start_in_arbiter(arbiter, move |_| PressureSupervisor {
            shared,
            timers: HashMap::new(),
        })
    }
}

impl Actor for PressureSupervisor {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        metrics::describe();
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.shared.shut_down();
    }
}

impl fmt::Debug for PressureSupervisor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PressureSupervisor")
            .field("watched", &self.shared.watched.len())
            .field("upstreams", &self.shared.upstreams.len())
            .finish()
    }
}

/// Starts sampling the mailboxes watched at `interval`, if nothing does yet.
#[derive(Message)]
#[rtype(result = "()")]
struct SampleEvery(Duration);

impl Handler<SampleEvery> for PressureSupervisor {
    type Result = ();

    fn handle(&mut self, SampleEvery(interval): SampleEvery, ctx: &mut Context<Self>) {
        self.timers.entry(interval).or_insert_with(|| {
            ctx.run_interval(interval, move |act, _| act.shared.sample(Some(interval)))
        });
    }
}

/// Runs an upstream's state changes on the supervisor's arbiter, beyond the actor's life.
#[derive(Message)]
#[rtype(result = "()")]
struct Drive(Arc<dyn Upstream>, watch::Receiver<bool>);

impl Handler<Drive> for PressureSupervisor {
    type Result = ();

    fn handle(&mut self, Drive(upstream, wanted): Drive, _: &mut Context<Self>) {
        // Not `ctx.spawn`: the task must outlive the actor, to resume the upstream.
        actix_rt::spawn(apply_states(upstream, wanted));
    }
}

/// Sizes a pool for as long as the supervisor runs.
#[derive(Message)]
#[rtype(result = "()")]
struct Manage(PoolScaler, Box<dyn ScalingPolicy>);

impl Handler<Manage> for PressureSupervisor {
    type Result = ();

    fn handle(&mut self, Manage(scaler, rule): Manage, ctx: &mut Context<Self>) {
        // `ctx.spawn`: the loop ends with the supervisor.
        let shared = Arc::clone(&self.shared);
        ctx.spawn(actix::fut::wrap_future(manage(shared, scaler, rule)));
    }
}

/// Samples the pool every interval of its rule, and applies what the rule decides.
async fn manage(shared: Arc<Shared>, scaler: PoolScaler, mut rule: Box<dyn ScalingPolicy>) {
    let name: Arc<str> = Arc::from(scaler.probe().name());
    let mut ticks = tokio::time::interval(rule.interval());
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<PressureSample> = None;
    loop {
        ticks.tick().await;
        let (Some(sample), Some(workers)) = (scaler.probe().sample(), scaler.workers()) else {
            return; // the pool is gone
        };
        let reading = Reading::new(&sample, last.as_ref());
        last = Some(sample);
        let state = PoolState {
            at: Instant::now(),
            reading,
            workers,
            min: scaler.min(),
            max: scaler.max(),
        };
        // The rule is user code: if it panics, this pool is no longer managed (it keeps its
        // size), and the supervisor goes on with the rest.
        let Ok(decision) = AssertUnwindSafe(rule.decide(&state)).catch_unwind().await else {
            tracing::error!(
                target: "actix_backpressure::supervisor",
                pool = &*name,
                "the scaling rule panicked: the pool keeps its size and is no longer managed"
            );
            return;
        };
        let (action, target) = match decision {
            Scale::Hold => continue,
            Scale::Up(n) => (Action::ScaleUp, workers.saturating_add(n)),
            Scale::Down(n) => (Action::ScaleDown, workers.saturating_sub(n)),
        };
        let Some(now) = scaler.scale_to(target) else {
            return;
        };
        if now == workers {
            continue; // at a bound already
        }
        metrics::pool_workers(&name, now);
        metrics::action(action.as_str());
        shared.emit(Decision {
            at: state.at,
            action,
            mailbox: Arc::clone(&name),
            upstream: None,
            reading: Some(reading),
            held: Duration::ZERO,
            workers: Some(now),
            capacity: None,
        });
    }
}

/// Sets a mailbox's capacity; `None` once the mailbox is gone.
type Resize = Box<dyn Fn(usize) -> Option<()> + Send>;

/// Adapts a mailbox's capacity for as long as the supervisor runs.
#[derive(Message)]
#[rtype(result = "()")]
struct Adapt {
    probe: MailboxProbe,
    resize: Resize,
    min: usize,
    max: usize,
    controller: Box<dyn LimitController>,
}

impl Handler<Adapt> for PressureSupervisor {
    type Result = ();

    fn handle(&mut self, adapt: Adapt, ctx: &mut Context<Self>) {
        // `ctx.spawn`: the loop ends with the supervisor.
        let shared = Arc::clone(&self.shared);
        ctx.spawn(actix::fut::wrap_future(adapt_loop(shared, adapt)));
    }
}

/// Messages that left the queue: handled, or shed from it.
fn taken_out(stats: &MailboxStats) -> u64 {
    stats.handled + stats.evicted + stats.expired + stats.stopped
}

/// Samples the mailbox every interval of its controller, and sets the capacity it answers.
async fn adapt_loop(shared: Arc<Shared>, adapt: Adapt) {
    let Adapt {
        probe,
        resize,
        min,
        max,
        mut controller,
    } = adapt;
    let name: Arc<str> = Arc::from(probe.name());
    let mut ticks = tokio::time::interval(controller.interval());
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<(Instant, PressureSample)> = None;
    loop {
        ticks.tick().await;
        let Some(sample) = probe.sample() else {
            return; // the mailbox is gone
        };
        let now = Instant::now();
        let Some((then, previous)) = last.replace((now, sample)) else {
            continue;
        };
        let reading = Reading::new(&sample, Some(&previous));
        let state = LimitState {
            at: now,
            reading,
            limit: sample.capacity,
            latency: latency(
                previous.depth,
                sample.depth,
                taken_out(&sample.stats).saturating_sub(taken_out(&previous.stats)),
                now - then,
            ),
            saturated: reading.fill >= 0.9 || reading.blocked || reading.overflowed > 0,
            min,
            max,
        };
        // The controller is user code: if it panics, the mailbox keeps its capacity and is no
        // longer adapted; the supervisor goes on with the rest.
        let Ok(wanted) = std::panic::catch_unwind(AssertUnwindSafe(|| controller.update(&state)))
        else {
            tracing::error!(
                target: "actix_backpressure::supervisor",
                mailbox = &*name,
                "the limit controller panicked: the mailbox keeps its capacity and is no longer adapted"
            );
            return;
        };
        let capacity = wanted.clamp(min, max);
        if capacity == sample.capacity {
            continue;
        }
        if resize(capacity).is_none() {
            return;
        }
        metrics::limit(&name, capacity);
        metrics::action(Action::Resize.as_str());
        shared.emit(Decision {
            at: now,
            action: Action::Resize,
            mailbox: Arc::clone(&name),
            upstream: None,
            reading: Some(reading),
            held: Duration::ZERO,
            workers: None,
            capacity: Some((capacity, state.latency)),
        });
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Stop;

impl Handler<Stop> for PressureSupervisor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// Identifies a watched mailbox within its supervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WatchId(u64);

/// Why the supervisor refused a registration.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    /// The pressure policy given for a mailbox is invalid.
    #[error("invalid pressure policy for mailbox `{mailbox}`: {source}")]
    InvalidPolicy {
        /// The mailbox's name.
        mailbox: String,
        /// What is wrong.
        source: PolicyError,
    },
    /// An upstream was declared for a mailbox the supervisor does not watch.
    #[error("mailbox `{mailbox}` is not watched: watch it before adding its upstreams")]
    NotWatched {
        /// The mailbox's name.
        mailbox: String,
    },
    /// The mailbox is gone (its actor stopped and every handle was dropped).
    #[error("mailbox `{mailbox}` is gone")]
    MailboxGone {
        /// The mailbox's name.
        mailbox: String,
    },
    /// The supervisor has stopped.
    #[error("the pressure supervisor has stopped")]
    Stopped,
}

/// The handle to a running [`PressureSupervisor`]: registers mailboxes and upstreams, and
/// tells what the supervisor decided. Clones share the supervisor.
#[derive(Clone)]
pub struct SupervisorHandle {
    shared: Arc<Shared>,
    addr: Addr<PressureSupervisor>,
}

impl SupervisorHandle {
    /// Watches the mailbox of `addr` under `policy` (watching it again replaces its policy).
    /// The supervisor does not keep the actor alive; once the mailbox is gone it is forgotten,
    /// and the upstreams it held paused are resumed.
    ///
    /// # Errors
    ///
    /// [`SupervisorError::InvalidPolicy`] names the mailbox and what is wrong with the
    /// policy; [`SupervisorError::Stopped`] if the supervisor has stopped.
    pub fn watch<A: Actor>(
        &self,
        addr: &BoundedAddr<A>,
        policy: PressurePolicy,
    ) -> Result<WatchId, SupervisorError> {
        self.watch_probe(addr.probe(), policy)
    }

    /// Watches the mailbox seen through `probe`: see [`watch`](Self::watch).
    ///
    /// # Errors
    ///
    /// As [`watch`](Self::watch), plus [`SupervisorError::MailboxGone`].
    pub fn watch_probe(
        &self,
        probe: MailboxProbe,
        policy: PressurePolicy,
    ) -> Result<WatchId, SupervisorError> {
        let name: Arc<str> = Arc::from(probe.name());
        policy
            .validate()
            .map_err(|source| SupervisorError::InvalidPolicy {
                mailbox: name.to_string(),
                source,
            })?;
        self.check_running()?;
        if probe.sample().is_none() {
            return Err(SupervisorError::MailboxGone {
                mailbox: name.to_string(),
            });
        }
        // One registration at a time: two `watch`es of one mailbox must not both insert it.
        let _registering = self
            .shared
            .registering
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let id = match self.shared.find(&probe) {
            Some(id) => {
                if let Some(mut watched) = self.shared.watched.get_mut(&id.0) {
                    watched.policy = policy;
                }
                id
            }
            None => {
                let id = WatchId(self.shared.next_id.fetch_add(1, Ordering::Relaxed));
                metrics::saturated(&name, false);
                self.shared.watched.insert(
                    id.0,
                    Watched {
                        probe,
                        name,
                        policy,
                        detector: Detector::default(),
                        last: None,
                        upstreams: Vec::new(),
                    },
                );
                id
            }
        };
        self.addr.do_send(SampleEvery(policy.interval));
        Ok(id)
    }

    /// Declares that `upstream` feeds the watched mailbox of `downstream`: the supervisor
    /// pauses it while that mailbox is saturated (at once, if it is saturated now).
    ///
    /// `upstream` is any [`Upstream`], or `&BoundedAddr` of an actor (paused through its
    /// mailbox's [`PauseGate`](actix_backpressure_mailbox::PauseGate), not kept alive).
    /// Upstreams are told apart by [name](Upstream::name): one that feeds several mailboxes is
    /// declared once per mailbox under the same name, stays paused while any of them is
    /// saturated, and the first upstream registered under a name is the one the supervisor
    /// pauses and resumes.
    ///
    /// # Errors
    ///
    /// [`SupervisorError::NotWatched`] if `downstream` is not watched,
    /// [`SupervisorError::Stopped`] if the supervisor has stopped.
    pub fn add_upstream<A: Actor>(
        &self,
        downstream: &BoundedAddr<A>,
        upstream: impl IntoUpstream,
    ) -> Result<(), SupervisorError> {
        let probe = downstream.probe();
        let id = self
            .shared
            .find(&probe)
            .ok_or_else(|| SupervisorError::NotWatched {
                mailbox: probe.name().to_owned(),
            })?;
        self.add_upstream_to(id, upstream)
    }

    /// [`add_upstream`](Self::add_upstream) for the mailbox watched as `downstream`.
    ///
    /// # Errors
    ///
    /// As [`add_upstream`](Self::add_upstream).
    pub fn add_upstream_to(
        &self,
        downstream: WatchId,
        upstream: impl IntoUpstream,
    ) -> Result<(), SupervisorError> {
        self.check_running()?;
        let upstream = upstream.into_upstream();
        let name: Arc<str> = Arc::from(upstream.name());
        if !self.shared.upstreams.contains_key(&name) {
            let (wanted, rx) = watch::channel(false);
            let entry = self.shared.upstreams.entry(Arc::clone(&name));
            if let dashmap::Entry::Vacant(vacant) = entry {
                metrics::paused(&name, false);
                vacant.insert(UpstreamState {
                    holders: HashSet::new(),
                    wanted,
                });
                self.addr.do_send(Drive(upstream, rx));
            }
        }
        // Lock order: a watched mailbox, then an upstream (as when sampling).
        let Some(mut watched) = self.shared.watched.get_mut(&downstream.0) else {
            return Err(SupervisorError::NotWatched {
                mailbox: format!("{downstream:?}"),
            });
        };
        if !watched.upstreams.contains(&name) {
            watched.upstreams.push(Arc::clone(&name));
        }
        if watched.detector.is_saturated() {
            let reading = watched.last.as_ref().map(|last| Reading::new(last, None));
            self.shared
                .hold(&name, downstream.0, &watched.name, reading);
        }
        Ok(())
    }

    /// Stops watching the mailbox of `addr`, resuming the upstreams it held paused. Returns
    /// whether it was watched.
    pub fn unwatch<A: Actor>(&self, addr: &BoundedAddr<A>) -> bool {
        match self.shared.find(&addr.probe()) {
            Some(id) => {
                self.shared.forget(id.0);
                true
            }
            None => false,
        }
    }

    /// Whether the mailbox of `addr` counts as saturated now, or `None` if it is not watched.
    pub fn is_saturated<A: Actor>(&self, addr: &BoundedAddr<A>) -> Option<bool> {
        let id = self.shared.find(&addr.probe())?;
        let watched = self.shared.watched.get(&id.0)?;
        Some(watched.detector.is_saturated())
    }

    /// Whether the supervisor holds the upstream named `upstream` paused now.
    pub fn is_paused(&self, upstream: &str) -> bool {
        self.shared
            .upstreams
            .get(upstream)
            .is_some_and(|state| !state.holders.is_empty())
    }

    /// How many mailboxes are watched.
    pub fn watched(&self) -> usize {
        self.shared.watched.len()
    }

    /// Subscribes to the supervisor's decisions, from now on.
    pub fn subscribe(&self) -> Decisions {
        match &*self.shared.events.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(events) => Decisions::new(events.subscribe()),
            // Stopped: a stream that ends at once.
            None => Decisions::new(broadcast::channel(1).0.subscribe()),
        }
    }

    /// Sizes `pool` with `rule` ([`HpaScaling`](crate::HpaScaling) is the usual one): every
    /// interval of the rule, the supervisor samples the pool's mailbox, asks the rule, and
    /// scales the pool within its `min..=max`. Each change is a decision
    /// ([`Action::ScaleUp`]/[`Action::ScaleDown`]) and shows in
    /// [`SUPERVISOR_POOL_WORKERS`](crate::metrics::SUPERVISOR_POOL_WORKERS). The supervisor does
    /// not keep the pool alive, and stops managing it when the pool is gone or the supervisor
    /// stops (the pool keeps its size then), or if the rule panics (logged).
    ///
    /// # Errors
    ///
    /// [`SupervisorError::InvalidPolicy`] if the rule's settings are invalid,
    /// [`SupervisorError::Stopped`] if the supervisor has stopped.
    pub fn manage_pool<A>(
        &self,
        pool: &WorkerPool<A>,
        rule: impl ScalingPolicy,
    ) -> Result<(), SupervisorError>
    where
        A: Actor<Context = Context<A>>,
    {
        self.manage_scaler(pool.scaler(), rule)
    }

    /// [`manage_pool`](Self::manage_pool) through the pool's [`PoolScaler`].
    ///
    /// # Errors
    ///
    /// As [`manage_pool`](Self::manage_pool).
    pub fn manage_scaler(
        &self,
        scaler: PoolScaler,
        rule: impl ScalingPolicy,
    ) -> Result<(), SupervisorError> {
        let valid = if rule.interval().is_zero() {
            Err(PolicyError::ZeroInterval)
        } else {
            rule.validate()
        };
        valid.map_err(|source| SupervisorError::InvalidPolicy {
            mailbox: scaler.probe().name().to_owned(),
            source,
        })?;
        self.check_running()?;
        if let Some(workers) = scaler.workers() {
            metrics::pool_workers(scaler.probe().name(), workers);
        }
        self.addr.do_send(Manage(scaler, Box::new(rule)));
        Ok(())
    }

    /// Sets the capacity of `addr`'s mailbox with `controller` ([`Aimd`](crate::Aimd) or
    /// [`Gradient`](crate::Gradient)), within `min..=max`: every interval of the controller,
    /// the supervisor samples the mailbox, measures the mean time a message spent in it over
    /// the interval (Little's law: see [`LimitState::latency`]), asks the controller, and sets
    /// the capacity it answers. Each change is a decision ([`Action::Resize`], with the new
    /// capacity and the latency behind it), a `tracing` event and the gauge
    /// [`SUPERVISOR_MAILBOX_LIMIT`](crate::metrics::SUPERVISOR_MAILBOX_LIMIT). A shrink below
    /// the depth keeps the queued messages (see
    /// [`BoundedAddr::set_capacity`](actix_backpressure_mailbox::BoundedAddr::set_capacity)).
    ///
    /// The supervisor does not keep the actor alive; it stops adapting when the mailbox is
    /// gone or the supervisor stops (the mailbox keeps its capacity then), or if the
    /// controller panics (logged).
    ///
    /// # Errors
    ///
    /// [`SupervisorError::InvalidPolicy`] if the controller's settings or the bounds are
    /// invalid ([`PolicyError::LimitBounds`]), [`SupervisorError::Stopped`] if the supervisor
    /// has stopped.
    pub fn adapt_capacity<A: Actor>(
        &self,
        addr: &BoundedAddr<A>,
        min: usize,
        max: usize,
        controller: impl LimitController,
    ) -> Result<(), SupervisorError> {
        let probe = addr.probe();
        let valid = if !(1 <= min && min <= max && max <= MAX_CAPACITY) {
            Err(PolicyError::LimitBounds {
                min,
                max,
                max_capacity: MAX_CAPACITY,
            })
        } else if controller.interval().is_zero() {
            Err(PolicyError::ZeroInterval)
        } else {
            controller.validate()
        };
        valid.map_err(|source| SupervisorError::InvalidPolicy {
            mailbox: probe.name().to_owned(),
            source,
        })?;
        self.check_running()?;
        metrics::limit(probe.name(), addr.capacity());
        let weak = addr.downgrade();
        let resize: Resize = Box::new(move |capacity| {
            // Within `1..=MAX_CAPACITY`, checked above: `set_capacity` cannot refuse it.
            weak.upgrade()?.set_capacity(capacity).ok()
        });
        self.addr.do_send(Adapt {
            probe,
            resize,
            min,
            max,
            controller: Box::new(controller),
        });
        Ok(())
    }

    /// Samples every watched mailbox now, whatever its interval, and acts on what changed, as
    /// the supervisor's timers do. For tests and benchmarks: the hysteresis measures time, so
    /// extra samples add readings but do not make the supervisor act sooner.
    pub fn sample_now(&self) {
        self.shared.sample(None);
    }

    /// Stops the supervisor; it resumes every upstream it paused.
    pub fn stop(&self) {
        self.addr.do_send(Stop);
    }

    /// Whether the supervisor is still running.
    pub fn is_running(&self) -> bool {
        !self.shared.stopped.load(Ordering::SeqCst) && self.addr.connected()
    }

    /// The supervisor actor's address.
    pub fn addr(&self) -> &Addr<PressureSupervisor> {
        &self.addr
    }

    fn check_running(&self) -> Result<(), SupervisorError> {
        if self.is_running() {
            Ok(())
        } else {
            Err(SupervisorError::Stopped)
        }
    }
}

impl fmt::Debug for SupervisorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorHandle")
            .field("watched", &self.shared.watched.len())
            .field("upstreams", &self.shared.upstreams.len())
            .field("running", &self.is_running())
            .finish()
    }
}

/// The registry, shared by the actor and its handles.
struct Shared {
    watched: DashMap<u64, Watched>,
    upstreams: DashMap<Arc<str>, UpstreamState>,
    next_id: AtomicU64,
    /// Taken when the supervisor stops, which ends the subscriptions.
    events: Mutex<Option<broadcast::Sender<Decision>>>,
    /// Held while a mailbox is registered.
    registering: Mutex<()>,
    stopped: AtomicBool,
}

struct Watched {
    probe: MailboxProbe,
    name: Arc<str>,
    policy: PressurePolicy,
    detector: Detector,
    /// The previous sample, to see what happened in between.
    last: Option<PressureSample>,
    upstreams: Vec<Arc<str>>,
}

struct UpstreamState {
    /// The watched mailboxes that hold it paused (saturated ones it feeds).
    holders: HashSet<u64>,
    /// Whether it should be paused, for its `apply_states` task.
    wanted: watch::Sender<bool>,
}

impl Shared {
    fn new() -> Self {
        Shared {
            watched: DashMap::new(),
            upstreams: DashMap::new(),
            next_id: AtomicU64::new(0),
            events: Mutex::new(Some(broadcast::channel(DECISION_BUFFER).0)),
            registering: Mutex::new(()),
            stopped: AtomicBool::new(false),
        }
    }

    fn find(&self, probe: &MailboxProbe) -> Option<WatchId> {
        self.watched
            .iter()
            .find(|watched| watched.probe.same_mailbox(probe))
            .map(|watched| WatchId(*watched.key()))
    }

    /// Samples every mailbox watched at `interval` (every one, for `None`), and acts on what
    /// changed.
    fn sample(&self, interval: Option<Duration>) {
        let now = Instant::now();
        // Sampled outside the registry's locks: a mailbox whose last handle goes while it is
        // sampled is freed by the sampler, running its messages' destructors (user code).
        let probes: Vec<(u64, MailboxProbe)> = self
            .watched
            .iter()
            .filter(|w| interval.map_or(true, |interval| w.policy.interval == interval))
            .map(|w| (*w.key(), w.probe.clone()))
            .collect();
        let mut gone = Vec::new();
        for (id, probe) in probes {
            let Some(sample) = probe.sample() else {
                gone.push(id);
                continue;
            };
            let Some(mut watched) = self.watched.get_mut(&id) else {
                continue; // unwatched meanwhile
            };
            let watched = &mut *watched;
            let reading = Reading::new(&sample, watched.last.as_ref());
            watched.last = Some(sample);
            let Some(transition) = watched.detector.observe(&watched.policy, now, &reading) else {
                continue;
            };
            let (action, held) = match transition {
                Transition::Saturated { held } => (Action::Saturated, held),
                Transition::Recovered { held } => (Action::Recovered, held),
            };
            let saturated = action == Action::Saturated;
            metrics::saturated(&watched.name, saturated);
            self.emit(Decision {
                at: now,
                action,
                mailbox: Arc::clone(&watched.name),
                upstream: None,
                reading: Some(reading),
                held,
                workers: None,
                capacity: None,
            });
            // Lock order: this watched mailbox, then each upstream.
            for upstream in &watched.upstreams {
                if saturated {
                    self.hold(upstream, id, &watched.name, Some(reading));
                } else {
                    self.release(upstream, id, &watched.name, Some(reading));
                }
            }
        }
        for id in gone {
            self.forget(id);
        }
    }

    /// Stops watching `id` and lets go of the upstreams it held.
    fn forget(&self, id: u64) {
        let Some((_, watched)) = self.watched.remove(&id) else {
            return;
        };
        metrics::saturated(&watched.name, false);
        for upstream in &watched.upstreams {
            self.release(upstream, id, &watched.name, None);
        }
    }

    /// The mailbox `holder` (named `mailbox`) needs `upstream` paused.
    fn hold(&self, upstream: &Arc<str>, holder: u64, mailbox: &Arc<str>, reading: Option<Reading>) {
        let Some(mut state) = self.upstreams.get_mut(upstream) else {
            return;
        };
        if state.holders.insert(holder) && state.holders.len() == 1 {
            state.wanted.send_replace(true);
            self.acted(Action::Pause, upstream, mailbox, reading);
        }
    }

    /// The mailbox `holder` no longer needs `upstream` paused.
    fn release(
        &self,
        upstream: &Arc<str>,
        holder: u64,
        mailbox: &Arc<str>,
        reading: Option<Reading>,
    ) {
        let Some(mut state) = self.upstreams.get_mut(upstream) else {
            return;
        };
        if state.holders.remove(&holder) && state.holders.is_empty() {
            state.wanted.send_replace(false);
            self.acted(Action::Resume, upstream, mailbox, reading);
        }
    }

    fn acted(
        &self,
        action: Action,
        upstream: &Arc<str>,
        mailbox: &Arc<str>,
        reading: Option<Reading>,
    ) {
        metrics::paused(upstream, action == Action::Pause);
        metrics::action(action.as_str());
        self.emit(Decision {
            at: Instant::now(),
            action,
            mailbox: Arc::clone(mailbox),
            upstream: Some(Arc::clone(upstream)),
            reading,
            held: Duration::ZERO,
            workers: None,
            capacity: None,
        });
    }

    fn emit(&self, decision: Decision) {
        let r = decision.reading;
        tracing::info!(
            target: "actix_backpressure::supervisor",
            action = decision.action.as_str(),
            mailbox = &*decision.mailbox,
            upstream = decision.upstream.as_deref(),
            depth = r.map(|r| r.depth),
            capacity = r.map(|r| r.capacity),
            fill = r.map(|r| r.fill),
            overflowed = r.map(|r| r.overflowed),
            blocked = r.map(|r| r.blocked),
            held_ms = u64::try_from(decision.held.as_millis()).unwrap_or(u64::MAX),
            "{decision}"
        );
        if let Some(events) = &*self.events.lock().unwrap_or_else(|e| e.into_inner()) {
            // No subscriber is fine.
            let _ = events.send(decision);
        }
    }

    /// The supervisor stopped: resume everything it holds paused, end the subscriptions.
    fn shut_down(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let none: Arc<str> = Arc::from("");
        for mut state in self.upstreams.iter_mut() {
            if !state.holders.is_empty() {
                state.holders.clear();
                state.wanted.send_replace(false);
                let upstream = Arc::clone(state.key());
                self.acted(Action::Resume, &upstream, &none, None);
            }
        }
        for watched in self.watched.iter() {
            metrics::saturated(&watched.name, false);
        }
        // Dropping the senders lets each upstream's task finish (after its resume).
        self.upstreams.clear();
        self.watched.clear();
        self.events.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}
