//! Worker pools scaled by the pressure supervisor, on Tokio's paused clock.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_backpressure::supervisor::{
    async_trait, Action, HpaScaling, PoolState, Scale, ScalingPolicy, SupervisorError,
};
use actix_backpressure::{
    BoundedActorExt, MailboxConfig, OverflowPolicy, PauseGate, PolicyError, PressureSupervisor,
    WorkerPool,
};
use common::pipeline::{eventually, on_virtual_time, Handoff, Job, Source, Stage};

const MS: Duration = Duration::from_millis(1);
const LIMIT: Duration = Duration::from_secs(60);

/// A pool of stages taking 10 ms per job: 100 jobs/s per worker.
fn pool(capacity: usize, min: usize, max: usize) -> WorkerPool<Stage> {
    WorkerPool::builder(
        MailboxConfig::new(capacity)
            .name("parse")
            .policy(OverflowPolicy::Block),
        || Stage::new(10 * MS, None),
    )
    .min(min)
    .max(max)
    .start()
}

/// Records the pool's size after each scaling decision, with its time.
fn record_sizes(
    supervisor: &actix_backpressure::SupervisorHandle,
) -> Arc<Mutex<Vec<(tokio::time::Instant, Action, usize)>>> {
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let mut sub = supervisor.subscribe();
    let out = Arc::clone(&sizes);
    actix::spawn(async move {
        while let Some(d) = sub.recv().await {
            if let Some(workers) = d.workers {
                out.lock().unwrap().push((d.at, d.action, workers));
            }
        }
    });
    sizes
}

#[test]
fn a_backlog_grows_the_pool_to_what_the_load_needs_then_it_shrinks_back_to_min() {
    on_virtual_time(LIMIT, || async {
        const TOTAL: u64 = 6000;
        let pool = pool(500, 1, 16);
        let supervisor = PressureSupervisor::start();
        let sizes = record_sizes(&supervisor);
        let rule = HpaScaling::new()
            .cooldown(500 * MS)
            .down_after(Duration::from_secs(2));
        supervisor.manage_pool(&pool, rule).unwrap();

        // 333 jobs/s for 18 s: four workers' worth.
        let start = tokio::time::Instant::now();
        let mut source = Source::new(PauseGate::new(), 3 * MS, TOTAL, pool.addr().clone());
        source.handoff = Handoff::Tell;
        let _source = source.start_bounded(MailboxConfig::new(1));
        eventually(|| pool.stats().handled == TOTAL).await;
        let took = start.elapsed();

        let most = sizes.lock().unwrap().iter().map(|s| s.2).max().unwrap_or(1);
        eprintln!("handled {TOTAL} in {took:?} (virtual); at most {most} workers");
        // One worker would take 60 s; the load alone lasts 18 s.
        assert!(took < Duration::from_secs(30), "took {took:?}");
        assert!(
            (4..=8).contains(&most),
            "grew to {most} workers for a 4-worker load"
        );

        // Idle: back to `min`, one worker at a time, losing nothing.
        eventually(|| pool.workers() == 1).await;
        let downs = sizes
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.1 == Action::ScaleDown)
            .count();
        assert!(downs >= most - 1);
        let stats = pool.stats();
        assert_eq!(stats.handled, TOTAL);
        assert_eq!(stats.settled(), TOTAL, "nothing lost: {stats:?}");
        supervisor.stop();
    });
}

/// Wants `target` workers, asked for all at once, every sample until it has them.
struct Target(usize, Arc<Mutex<usize>>);

#[async_trait]
impl ScalingPolicy for Target {
    async fn decide(&mut self, state: &PoolState) -> Scale {
        *self.1.lock().unwrap() += 1;
        match self.0.checked_sub(state.workers) {
            Some(0) | None => Scale::Hold,
            Some(missing) => Scale::Up(missing),
        }
    }
}

#[test]
fn workers_still_starting_count_so_a_burst_does_not_overshoot() {
    on_virtual_time(LIMIT, || async {
        let pool = pool(1000, 1, 16);
        let supervisor = PressureSupervisor::start();
        let sizes = record_sizes(&supervisor);
        let calls = Arc::new(Mutex::new(0));
        supervisor
            .manage_pool(&pool, Target(5, Arc::clone(&calls)))
            .unwrap();
        for n in 0..1000 {
            pool.try_send(Job(n)).unwrap();
        }
        eventually(|| *calls.lock().unwrap() >= 20).await;
        assert_eq!(pool.workers(), 5);
        assert_eq!(
            *sizes
                .lock()
                .unwrap()
                .iter()
                .map(|s| s.2)
                .collect::<Vec<_>>(),
            [5]
        );

        // The default rule on a burst: it grows while the burst is queued, one step per
        // cooldown, and no further.
        let pool = pool_named("burst", 600, 1, 16);
        let sizes = record_sizes(&supervisor);
        supervisor.manage_pool(&pool, HpaScaling::new()).unwrap();
        let start = tokio::time::Instant::now();
        for n in 0..600 {
            pool.try_send(Job(n)).unwrap();
        }
        eventually(|| pool.stats().handled == 600).await;
        let took = start.elapsed();
        let ups = sizes
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.1 == Action::ScaleUp)
            .count();
        // An up needs 300 ms of pressure and 1 s since the last action: while the burst is
        // queued (`took`), at most 1 + took / 1 s of them.
        let bound = 1 + took.as_secs() as usize;
        eprintln!("burst of 600 drained in {took:?} with {ups} scale-ups");
        assert!(ups >= 1 && ups <= bound, "{ups} scale-ups in {took:?}");
        assert!(pool.workers() <= 1 + ups);
        supervisor.stop();
    });
}

fn pool_named(name: &str, capacity: usize, min: usize, max: usize) -> WorkerPool<Stage> {
    WorkerPool::builder(MailboxConfig::new(capacity).name(name), || {
        Stage::new(10 * MS, None)
    })
    .min(min)
    .max(max)
    .start()
}

/// Runs 60 s of a load alternating 500 and 125 jobs/s every 2 s into a pool of 1..=8
/// workers managed by `rule`; returns the scale-ups and scale-downs.
fn scale_actions_under_an_oscillating_load(rule: HpaScaling) -> (usize, usize) {
    let (tx, rx) = std::sync::mpsc::channel();
    on_virtual_time(LIMIT, move || async move {
        let pool = pool(200, 1, 8);
        let supervisor = PressureSupervisor::start();
        let sizes = record_sizes(&supervisor);
        supervisor.manage_pool(&pool, rule).unwrap();
        let mut source = Source::new(PauseGate::new(), 2 * MS, u64::MAX, pool.addr().clone());
        source.handoff = Handoff::Tell;
        source.skip = |tick| (tick / 1000) % 2 == 1 && tick % 4 != 0;
        let _source = source.start_bounded(MailboxConfig::new(1));
        tokio::time::sleep(Duration::from_secs(60)).await;
        let sizes = sizes.lock().unwrap().clone();
        let downs = sizes.iter().filter(|s| s.1 == Action::ScaleDown).count();
        let stats = pool.stats();
        assert_eq!(
            stats.settled() - stats.handled,
            0,
            "nothing lost: {stats:?}"
        );
        tx.send((sizes.len() - downs, downs)).unwrap();
        supervisor.stop();
        actix::System::current().stop();
    });
    rx.recv().unwrap()
}

#[test]
fn an_oscillating_load_causes_a_bounded_number_of_scale_actions() {
    let down_after = Duration::from_secs(3);
    let (ups, downs) =
        scale_actions_under_an_oscillating_load(HpaScaling::new().down_after(down_after));
    // Each down needs 3 s of calm; each up beyond the first `max - min` follows a down.
    let down_bound = (60.0 / down_after.as_secs_f64()).ceil() as usize;
    assert!(downs <= down_bound, "{downs} downs");
    assert!(ups <= downs + (8 - 1), "{ups} ups for {downs} downs");
    assert!(ups >= 1, "the load needs more than one worker");

    // Without the stabilization window and the cooldown, the same load moves the pool far
    // more often: the bound above is the rule's doing.
    let twitchy = HpaScaling::new()
        .up_after(Duration::ZERO)
        .down_after(Duration::ZERO)
        .cooldown(Duration::ZERO);
    let (twitchy_ups, twitchy_downs) = scale_actions_under_an_oscillating_load(twitchy);
    eprintln!(
        "oscillating load, 60 s: {ups} ups and {downs} downs; without hysteresis \
         {twitchy_ups} and {twitchy_downs}"
    );
    assert!(twitchy_ups + twitchy_downs > 3 * (ups + downs));
}

#[test]
fn invalid_scaling_rules_are_refused() {
    on_virtual_time(LIMIT, || async {
        let pool = pool(10, 1, 2);
        let supervisor = PressureSupervisor::start();
        let err = supervisor
            .manage_pool(&pool, HpaScaling::new().step(0))
            .unwrap_err();
        assert_eq!(
            err,
            SupervisorError::InvalidPolicy {
                mailbox: "parse".into(),
                source: PolicyError::ZeroStep
            }
        );
        assert_eq!(
            err.to_string(),
            "invalid pressure policy for mailbox `parse`: the scaling step must be at least 1 worker"
        );
        // A rule of one's own with a zero interval is refused too, not a panic later.
        struct Restless;
        #[async_trait]
        impl ScalingPolicy for Restless {
            fn interval(&self) -> Duration {
                Duration::ZERO
            }
            async fn decide(&mut self, _: &PoolState) -> Scale {
                Scale::Hold
            }
        }
        let err = supervisor.manage_pool(&pool, Restless).unwrap_err();
        assert!(
            matches!(
                err,
                SupervisorError::InvalidPolicy {
                    source: PolicyError::ZeroInterval,
                    ..
                }
            ),
            "{err}"
        );
        assert!(supervisor.is_running());
        supervisor.stop();
    });
}

/// A scaling rule with a bug.
struct Panicky;

#[async_trait]
impl ScalingPolicy for Panicky {
    async fn decide(&mut self, _: &PoolState) -> Scale {
        panic!("a scaling rule panicked (on purpose, in a test)");
    }
}

#[test]
fn a_scaling_rule_that_panics_leaves_the_supervisor_running() {
    on_virtual_time(LIMIT, || async {
        let broken = pool_named("broken", 10, 1, 4);
        let healthy = pool_named("healthy", 100, 1, 4);
        let supervisor = PressureSupervisor::start();
        let sizes = record_sizes(&supervisor);
        supervisor.manage_pool(&broken, Panicky).unwrap();
        supervisor
            .manage_pool(&healthy, HpaScaling::new().up_after(Duration::ZERO))
            .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(supervisor.is_running());
        assert_eq!(broken.workers(), 1, "the broken rule's pool keeps its size");
        // The other pool is still managed.
        for n in 0..100 {
            healthy.try_send(Job(n)).unwrap();
        }
        eventually(|| !sizes.lock().unwrap().is_empty()).await;
        assert!(healthy.workers() > 1);
        supervisor.stop();
    });
}
