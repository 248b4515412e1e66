//! A JetStream source feeding a slow actor under each overflow policy, with the pressure
//! supervisor pausing the source: every message handled exactly once, none lost, pauses seen.

mod common;

use std::time::{Duration, Instant};

use actix_backpressure_mailbox::{BoundedActorExt, MailboxConfig, OverflowPolicy, WorkerPool};
use actix_backpressure_nats::{JetStreamSource, SourceConfig};
use actix_backpressure_supervisor::{Action, Decisions, PressurePolicy, PressureSupervisor};
use common::{counts, eventually, in_system, publish, server, until_consumer_settled, Slow};

const N: u64 = 300;
const LIMIT: Duration = Duration::from_secs(60);

/// Counts the supervisor's pauses of `upstream` until the subscription ends (the supervisor
/// stopped).
fn count_pauses(mut decisions: Decisions, upstream: String) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut pauses = 0;
        while let Some(decision) = decisions.recv().await {
            if decision.action == Action::Pause && decision.upstream.as_deref() == Some(&*upstream)
            {
                pauses += 1;
            }
        }
        pauses
    })
}

fn all_handled_once_with_pauses(policy: OverflowPolicy) {
    let server = server();
    let url = server.url();
    let name = format!("jobs-{}", policy.as_str());
    in_system(LIMIT, move || async move {
        publish(&url, N).await;
        let started = Instant::now();
        // 2 ms a message, a mailbox of 8: the source (up to 32 in flight) outruns it.
        let (actor, handled) = Slow::new(Duration::from_millis(2));
        let addr = actor.start_bounded(MailboxConfig::new(8).policy(policy).name(&name));
        let config = SourceConfig::new(common::STREAM, "workers")
            .name(&name)
            .batch(16)
            .max_in_flight(32)
            .refused_delay(Duration::from_millis(20))
            .expires(Duration::from_millis(200));
        let source = JetStreamSource::connect(&url, config)
            .await
            .unwrap()
            .start(addr.clone());

        let supervisor = PressureSupervisor::start();
        let pauses = count_pauses(supervisor.subscribe(), name.clone());
        let pressure = PressurePolicy::new()
            .interval(Duration::from_millis(10))
            .high_watermark(0.75)
            .low_watermark(0.25)
            .saturated_after(Duration::ZERO)
            .recovered_after(Duration::from_millis(100));
        supervisor.watch(&addr, pressure).unwrap();
        supervisor.add_upstream(&addr, source.clone()).unwrap();

        eventually(Duration::from_secs(40), "every message handled", || {
            counts(&handled).len() as u64 == N
        })
        .await;
        until_consumer_settled(&url, "workers", Duration::from_secs(10)).await;
        source.stop();
        let stats = tokio::time::timeout(Duration::from_secs(10), source.stopped())
            .await
            .expect("the source stops");
        supervisor.stop();
        let elapsed = started.elapsed();

        let pauses = tokio::time::timeout(Duration::from_secs(5), pauses)
            .await
            .expect("the decisions end with the supervisor")
            .unwrap();
        let counts = counts(&handled);
        let duplicates: usize = counts.values().map(|c| c - 1).sum();
        let mailbox = addr.stats();
        eprintln!(
            "{policy:?}: {N} published, {} handled ({duplicates} duplicates) in {elapsed:?}; \
             {pauses} pauses; source {stats:?}; mailbox {mailbox:?}",
            counts.len()
        );
        assert_eq!(
            counts.keys().copied().collect::<Vec<_>>(),
            (1..=N).collect::<Vec<_>>()
        );
        assert_eq!(
            duplicates, 0,
            "no crash, no timeout: nothing is handled twice"
        );
        assert_eq!(stats.acked, N, "acked exactly the handled messages");
        assert_eq!(
            stats.pulled,
            stats.settled(),
            "every pulled message settled"
        );
        assert_eq!(stats.in_flight(), 0);
        assert_eq!(stats.ack_errors, 0);
        assert!(
            pauses >= 1,
            "the supervisor paused the source ({pauses} pauses)"
        );
        // A pause and a resume decided in quick succession may reach the source as neither.
        assert!(
            stats.pauses >= 1 && stats.pauses as usize <= pauses,
            "source paused {} times",
            stats.pauses
        );
        match policy {
            // Block holds the sender: nothing is refused.
            OverflowPolicy::Block => assert_eq!(stats.refused, 0),
            // The lossy policies refuse or evict; each such message was nak'ed and came back.
            _ => assert_eq!(
                stats.refused,
                stats.pulled - N,
                "each refusal is a redelivery, not a loss"
            ),
        }
        assert_eq!(
            stats.refused, stats.redelivered,
            "every refused message came back"
        );
    });
    drop(server);
}

#[test]
fn block_all_handled_once_with_pauses() {
    all_handled_once_with_pauses(OverflowPolicy::Block);
}

#[test]
fn reject_all_handled_once_with_pauses() {
    all_handled_once_with_pauses(OverflowPolicy::Reject);
}

#[test]
fn drop_newest_all_handled_once_with_pauses() {
    all_handled_once_with_pauses(OverflowPolicy::DropNewest);
}

#[test]
fn drop_oldest_all_handled_once_with_pauses() {
    all_handled_once_with_pauses(OverflowPolicy::DropOldest);
}

#[test]
fn a_worker_pool_is_fed_like_one_actor() {
    let server = server();
    let url = server.url();
    in_system(LIMIT, move || async move {
        publish(&url, N).await;
        let (template, handled) = Slow::new(Duration::from_millis(2));
        let delay = template.delay;
        let pool = WorkerPool::builder(MailboxConfig::new(16).name("pool"), move || Slow {
            delay,
            handled: handled.clone(),
        })
        .min(3)
        .max(3)
        .start();
        let handled = template.handled;
        let config = SourceConfig::new(common::STREAM, "pooled")
            .batch(16)
            .max_in_flight(32);
        let source = JetStreamSource::connect(&url, config)
            .await
            .unwrap()
            .start(pool.clone());
        eventually(Duration::from_secs(30), "every message handled", || {
            counts(&handled).len() as u64 == N
        })
        .await;
        source.stop();
        let stats = source.stopped().await;
        let per_worker: Vec<u64> = pool.worker_stats().iter().map(|w| w.handled).collect();
        eprintln!("pool of 3: {per_worker:?} handled; {stats:?}");
        assert_eq!(stats.acked, N);
        assert!(counts(&handled).values().all(|&c| c == 1));
        assert_eq!(per_worker.iter().sum::<u64>(), N);
        assert!(
            per_worker.iter().all(|&n| n > 0),
            "every worker took messages"
        );
    });
    drop(server);
}
