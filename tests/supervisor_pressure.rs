//! The pressure supervisor, on Tokio's paused clock: hysteresis, flapping, the end-to-end case
//! (a fast producer and a slow `DropNewest` consumer), a three-stage chain, and stop.

mod common;

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::Poll;

use futures_core::Stream;
use std::time::Duration;

use actix_backpressure::supervisor::{Action, Decision, GateUpstream, SupervisorError};
use actix_backpressure::{
    BoundedActorExt, BoundedAddr, MailboxConfig, OverflowPolicy, PauseGate, PolicyError,
    PressurePolicy, PressureSupervisor,
};
use common::pipeline::{eventually, on_virtual_time, Handoff, Job, Source, Stage};

const MS: Duration = Duration::from_millis(1);
/// Real time each test may take.
const LIMIT: Duration = Duration::from_secs(60);

fn stage(
    capacity: usize,
    policy: OverflowPolicy,
    name: &str,
    delay: Duration,
) -> BoundedAddr<Stage> {
    Stage::new(delay, None).start_bounded(MailboxConfig::new(capacity).policy(policy).name(name))
}

fn decisions_of(decisions: &[Decision], action: Action) -> Vec<&Decision> {
    decisions.iter().filter(|d| d.action == action).collect()
}

/// Collects the decisions made so far (outside Tokio's cooperative budget, which would
/// otherwise cut the collection short).
async fn drain(sub: &mut actix_backpressure::Decisions) -> Vec<Decision> {
    tokio::task::unconstrained(std::future::poll_fn(|cx| {
        let mut out = Vec::new();
        while let Poll::Ready(Some(d)) = Pin::new(&mut *sub).poll_next(cx) {
            out.push(d);
        }
        Poll::Ready(out)
    }))
    .await
}

#[test]
fn pressure_must_persist_before_pause_and_recovery_before_resume() {
    on_virtual_time(LIMIT, || async {
        // The consumer is paused by the test itself, so the test sets its depth exactly.
        let consumer = stage(10, OverflowPolicy::Reject, "consumer", Duration::ZERO);
        consumer.pause();
        let supervisor = PressureSupervisor::start();
        let policy = PressurePolicy::new()
            .interval(100 * MS)
            .saturated_after(500 * MS)
            .recovered_after(1000 * MS);
        supervisor.watch(&consumer, policy).unwrap();
        let producer = PauseGate::new();
        supervisor
            .add_upstream(&consumer, GateUpstream::new("producer", producer.clone()))
            .unwrap();
        let mut sub = supervisor.subscribe();

        // A blip: 90 % full for 300 ms, then 50 %: no action.
        for n in 0..9 {
            consumer.try_send(Job(n)).unwrap();
        }
        tokio::time::sleep(300 * MS).await;
        consumer.resume();
        eventually(|| consumer.is_empty()).await;
        consumer.pause();
        for n in 0..5 {
            consumer.try_send(Job(n)).unwrap();
        }
        tokio::time::sleep(2000 * MS).await;
        assert!(
            drain(&mut sub).await.is_empty(),
            "a 300 ms blip must not pause anything"
        );
        assert!(!producer.is_paused());

        // Sustained: 90 % full from `start` on.
        for n in 5..9 {
            consumer.try_send(Job(n)).unwrap();
        }
        let start = tokio::time::Instant::now();
        let saturated = sub.recv().await.unwrap();
        assert_eq!(saturated.action, Action::Saturated);
        let waited = saturated.at - start;
        assert!(
            (500 * MS..=600 * MS).contains(&waited),
            "saturated {waited:?} after the pressure began; wanted 500 ms plus at most one interval"
        );
        assert!(saturated.held >= 500 * MS);
        assert_eq!(saturated.reading.unwrap().depth, 9);
        let pause = sub.recv().await.unwrap();
        assert_eq!(pause.action, Action::Pause);
        assert_eq!(pause.upstream.as_deref(), Some("producer"));
        eventually(|| producer.is_paused()).await;
        assert_eq!(supervisor.is_saturated(&consumer), Some(true));
        assert!(supervisor.is_paused("producer"));

        // Drain to 0: resumed no sooner than 1 s later.
        consumer.resume();
        eventually(|| consumer.is_empty()).await;
        let drained = tokio::time::Instant::now();
        let recovered = sub.recv().await.unwrap();
        assert_eq!(recovered.action, Action::Recovered);
        let waited = recovered.at - drained;
        assert!(
            (1000 * MS..=1100 * MS).contains(&waited),
            "recovered {waited:?} after the drain; wanted 1 s plus at most one interval"
        );
        assert_eq!(sub.recv().await.unwrap().action, Action::Resume);
        eventually(|| !producer.is_paused()).await;
        supervisor.stop();
    });
}

#[test]
fn oscillating_load_causes_a_bounded_number_of_actions() {
    /// Runs 60 virtual seconds of a load that swings around the consumer's rate, and returns
    /// the pause and resume actions taken.
    fn actions_over_a_minute(policy: PressurePolicy) -> usize {
        let (tx, rx) = std::sync::mpsc::channel();
        on_virtual_time(LIMIT, move || async move {
            // The consumer handles 100 jobs/s; the producer alternates 250 jobs/s and
            // 62.5 jobs/s every 500 ms: the depth swings around the high watermark.
            let consumer = stage(100, OverflowPolicy::DropNewest, "consumer", 10 * MS);
            let gate = PauseGate::new();
            let mut source = Source::new(gate.clone(), 4 * MS, u64::MAX, consumer.clone());
            source.skip = |tick| (tick / 125) % 2 == 1 && tick % 4 != 0;
            let _source = source.start_bounded(MailboxConfig::new(1));
            let supervisor = PressureSupervisor::start();
            supervisor.watch(&consumer, policy).unwrap();
            supervisor
                .add_upstream(&consumer, GateUpstream::new("producer", gate))
                .unwrap();
            let mut sub = supervisor.subscribe();
            tokio::time::sleep(Duration::from_secs(60)).await;
            let decisions = drain(&mut sub).await;
            assert_eq!(sub.missed(), 0);
            let actions = decisions
                .iter()
                .filter(|d| matches!(d.action, Action::Pause | Action::Resume))
                .count();
            tx.send(actions).unwrap();
            supervisor.stop();
            System::current().stop();
        });
        rx.recv().unwrap()
    }

    let policy = PressurePolicy::new()
        .interval(100 * MS)
        .high_watermark(0.8)
        .low_watermark(0.3)
        .saturated_after(300 * MS)
        .recovered_after(1000 * MS);
    let with_hysteresis = actions_over_a_minute(policy);
    // A pause needs 300 ms of pressure and a resume 1 s of calm, so a pause-resume cycle
    // takes at least 1.3 s: at most 2 * ceil(60 / 1.3) = 94 actions in a minute.
    let bound = 2 * (60_000_f64 / 1300.0).ceil() as usize;
    assert!(
        (2..=bound).contains(&with_hysteresis),
        "{with_hysteresis} actions in 60 s; wanted some, and at most {bound}"
    );

    // The same load with no hysteresis at all flaps far more: the bound above is the
    // policy's doing.
    let twitchy = PressurePolicy::new()
        .interval(100 * MS)
        .high_watermark(0.8)
        .low_watermark(0.79)
        .saturated_after(Duration::ZERO)
        .recovered_after(Duration::ZERO);
    let without = actions_over_a_minute(twitchy);
    eprintln!("actions in 60 s: {with_hysteresis} with hysteresis, {without} without");
    assert!(
        without > 2 * with_hysteresis,
        "without hysteresis: {without} actions; with: {with_hysteresis}"
    );
}

use actix::System;

/// Runs the end-to-end case, returns (produced, handled, dropped, pauses).
fn fast_producer_slow_consumer(supervised: bool) -> (u64, u64, u64, usize) {
    let (tx, rx) = std::sync::mpsc::channel();
    on_virtual_time(LIMIT, move || async move {
        // 500 jobs/s into a consumer of 100 jobs/s with room for 1000.
        const TOTAL: u64 = 3000;
        let consumer = stage(1000, OverflowPolicy::DropNewest, "consumer", 10 * MS);
        let gate = PauseGate::new();
        let source = Source::new(gate.clone(), 2 * MS, TOTAL, consumer.clone());
        let produced = std::sync::Arc::clone(&source.produced);
        let source = source.start_bounded(MailboxConfig::new(1).name("source"));
        let supervisor = PressureSupervisor::start();
        let mut sub = supervisor.subscribe();
        if supervised {
            // The depth grows by 400 jobs/s. The supervisor sees 80 % at most one interval
            // (100 ms) after it is reached and pauses 200 ms later: 300 ms * 400 jobs/s = 120
            // more jobs, which fit in the 200 slots above 80 %. So no job may be dropped.
            let policy = PressurePolicy::new()
                .interval(100 * MS)
                .high_watermark(0.8)
                .low_watermark(0.3)
                .saturated_after(200 * MS)
                .recovered_after(500 * MS);
            supervisor.watch(&consumer, policy).unwrap();
            supervisor
                .add_upstream(&consumer, GateUpstream::new("source", gate))
                .unwrap();
        }
        let probe = source.probe();
        drop(source);
        // The source stops after its last job; every job is then handled or dropped.
        eventually(|| probe.sample().is_none()).await;
        eventually(|| {
            let s = consumer.stats();
            s.handled + s.dropped_newest == TOTAL
        })
        .await;
        let stats = consumer.stats();
        let pauses = decisions_of(&drain(&mut sub).await, Action::Pause).len();
        tx.send((
            produced.load(Ordering::SeqCst),
            stats.handled,
            stats.dropped_newest,
            pauses,
        ))
        .unwrap();
        supervisor.stop();
    });
    rx.recv().unwrap()
}

#[test]
fn without_the_supervisor_a_fast_producer_overflows_a_drop_newest_consumer() {
    let (produced, handled, dropped, _) = fast_producer_slow_consumer(false);
    eprintln!("unsupervised: produced {produced}, handled {handled}, dropped {dropped}");
    assert_eq!(produced, 3000);
    assert!(dropped > 1000, "dropped {dropped}");
    assert_eq!(handled + dropped, produced);
}

#[test]
fn the_supervisor_pauses_the_producer_in_time_and_nothing_is_dropped() {
    let (produced, handled, dropped, pauses) = fast_producer_slow_consumer(true);
    eprintln!(
        "supervised: produced {produced}, handled {handled}, dropped {dropped}, {pauses} pauses"
    );
    assert_eq!(produced, 3000);
    assert_eq!(
        dropped, 0,
        "the pause must come before the mailbox overflows"
    );
    assert_eq!(handled, 3000, "every produced job is handled");
    assert!(pauses >= 2, "the producer was paused {pauses} times");
}

#[test]
fn pressure_propagates_up_a_chain_and_everything_resumes_after_the_load() {
    on_virtual_time(LIMIT, || async {
        const TOTAL: u64 = 2000;
        // source -> a (fast) -> b (slow). All `Block`: nothing can be lost; what matters is
        // who gets paused, in which order, and that everything resumes.
        let b = stage(100, OverflowPolicy::Block, "b", 10 * MS);
        let a = Stage::new(MS, Some(b.clone())).start_bounded(MailboxConfig::new(100).name("a"));
        let gate = PauseGate::new();
        let mut source = Source::new(gate.clone(), 2 * MS, TOTAL, a.clone());
        source.handoff = Handoff::Tell;
        let _source = source.start_bounded(MailboxConfig::new(1).name("source"));

        let start = tokio::time::Instant::now();
        let supervisor = PressureSupervisor::start();
        let mut sub = supervisor.subscribe();
        let policy = PressurePolicy::new()
            .saturated_after(200 * MS)
            .recovered_after(500 * MS);
        supervisor.watch(&b, policy).unwrap();
        supervisor.watch(&a, policy).unwrap();
        supervisor.add_upstream(&b, &a).unwrap(); // a feeds b: pausing a stops its handling
        supervisor
            .add_upstream(&a, GateUpstream::new("source", gate.clone()))
            .unwrap();

        eventually(|| b.stats().handled == TOTAL).await;
        // After the load: everything resumes.
        eventually(|| !supervisor.is_paused("a") && !supervisor.is_paused("source")).await;
        eventually(|| !a.is_paused() && !gate.is_paused()).await;
        let decisions = drain(&mut sub).await;
        let first = |action: Action, upstream: &str| {
            decisions
                .iter()
                .position(|d| d.action == action && d.upstream.as_deref() == Some(upstream))
                .unwrap_or_else(|| panic!("no {action} of {upstream} in {decisions:#?}"))
        };
        // b saturates first and pauses a; a then fills and pauses the source.
        assert!(first(Action::Pause, "a") < first(Action::Pause, "source"));
        assert!(first(Action::Pause, "source") < first(Action::Resume, "source"));
        assert!(first(Action::Pause, "a") < first(Action::Resume, "a"));
        for d in &decisions {
            eprintln!("{:>8.3}s {d}", (d.at - start).as_secs_f64());
        }
        let (a_stats, b_stats) = (a.stats(), b.stats());
        assert_eq!((a_stats.handled, b_stats.handled), (TOTAL, TOTAL));
        assert_eq!(a_stats.settled() - a_stats.handled, 0);
        assert_eq!(b_stats.settled() - b_stats.handled, 0);
        supervisor.stop();
    });
}

#[test]
fn stopping_the_supervisor_resumes_what_it_paused() {
    on_virtual_time(LIMIT, || async {
        let consumer = stage(10, OverflowPolicy::Reject, "consumer", Duration::ZERO);
        consumer.pause();
        let upstream = stage(10, OverflowPolicy::Block, "upstream", Duration::ZERO);
        let gate = PauseGate::new();
        let supervisor = PressureSupervisor::start();
        let policy = PressurePolicy::new().saturated_after(Duration::ZERO);
        supervisor.watch(&consumer, policy).unwrap();
        supervisor.add_upstream(&consumer, &upstream).unwrap();
        supervisor
            .add_upstream(&consumer, GateUpstream::new("gate", gate.clone()))
            .unwrap();
        let mut sub = supervisor.subscribe();
        for n in 0..10 {
            consumer.try_send(Job(n)).unwrap();
        }
        eventually(|| upstream.is_paused() && gate.is_paused()).await;

        supervisor.stop();
        eventually(|| !upstream.is_paused() && !gate.is_paused()).await;
        let decisions = drain(&mut sub).await;
        let resumed: Vec<_> = decisions_of(&decisions, Action::Resume)
            .iter()
            .filter_map(|d| d.upstream.as_deref().map(str::to_owned))
            .collect();
        assert_eq!(resumed.len(), 2, "{decisions:#?}");
        // The subscription ends with the supervisor.
        assert!(sub.recv().await.is_none());
        assert!(!supervisor.is_running());
        assert_eq!(
            supervisor.watch(&consumer, PressurePolicy::new()),
            Err(SupervisorError::Stopped)
        );
    });
}

#[test]
fn invalid_registrations_are_refused_with_a_clear_error() {
    on_virtual_time(LIMIT, || async {
        let consumer = stage(10, OverflowPolicy::Block, "orders", Duration::ZERO);
        let supervisor = PressureSupervisor::start();
        let err = supervisor
            .watch(&consumer, PressurePolicy::new().low_watermark(0.9))
            .unwrap_err();
        assert_eq!(
            err,
            SupervisorError::InvalidPolicy {
                mailbox: "orders".into(),
                source: PolicyError::InvertedWatermarks {
                    low: 0.9,
                    high: 0.8
                },
            }
        );
        assert_eq!(
            err.to_string(),
            "invalid pressure policy for mailbox `orders`: the low watermark (0.9) must be below the high watermark (0.8)"
        );
        let err = supervisor
            .watch(&consumer, PressurePolicy::new().interval(Duration::ZERO))
            .unwrap_err();
        assert!(
            err.to_string().contains("interval must not be zero"),
            "{err}"
        );
        let err = supervisor
            .add_upstream(&consumer, GateUpstream::new("x", PauseGate::new()))
            .unwrap_err();
        assert_eq!(
            err,
            SupervisorError::NotWatched {
                mailbox: "orders".into()
            }
        );
        assert_eq!(supervisor.watched(), 0);
        supervisor.stop();
    });
}

#[actix_rt::test]
async fn an_upstream_is_resumed_when_the_supervisors_arbiter_stops() {
    common::within(async {
        let consumer = stage(4, OverflowPolicy::Reject, "consumer", Duration::ZERO);
        consumer.pause();
        let gate = PauseGate::new();
        let arbiter = actix::Arbiter::new();
        let supervisor = PressureSupervisor::start_in_arbiter(&arbiter.handle());
        let policy = PressurePolicy::new()
            .interval(10 * MS)
            .saturated_after(Duration::ZERO);
        supervisor.watch(&consumer, policy).unwrap();
        supervisor
            .add_upstream(&consumer, GateUpstream::new("producer", gate.clone()))
            .unwrap();
        for n in 0..4 {
            consumer.try_send(Job(n)).unwrap();
        }
        common::until(|| gate.is_paused()).await;
        arbiter.stop();
        tokio::task::spawn_blocking(move || arbiter.join())
            .await
            .unwrap()
            .unwrap();
        // The supervisor went with its arbiter; what it paused is resumed all the same.
        common::until(|| !gate.is_paused()).await;
    })
    .await;
}
