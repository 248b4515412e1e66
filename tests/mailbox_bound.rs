//! The bound is exact: however many clones, recipients, threads and send methods, at most
//! `capacity` messages are ever queued, and every outcome is accounted for.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use actix_backpressure::prelude::*;
use actix_backpressure::{SendError, TrySendError};
use common::*;

const THREADS: u64 = 4;
const PER_THREAD: u64 = 700;

/// Outcomes as the senders saw them.
#[derive(Default)]
struct Outcomes {
    queued: AtomicU64,
    full: AtomicU64,
    dropped: AtomicU64,
    timeout: AtomicU64,
    evicted: AtomicU64,
    other: AtomicU64,
    do_send: AtomicU64,
}

impl Outcomes {
    fn record<T>(&self, result: Result<T, SendError<Item>>) {
        let counter = match result {
            Ok(_) => &self.queued,
            Err(SendError::Full(_)) => &self.full,
            Err(SendError::Dropped(_)) => &self.dropped,
            Err(SendError::Timeout(_)) => &self.timeout,
            Err(SendError::Evicted) => &self.evicted,
            Err(_) => &self.other,
        };
        counter.fetch_add(1, SeqCst);
    }

    fn record_try(&self, result: Result<(), TrySendError<Item>>) {
        self.record(result.map_err(SendError::from));
    }
}

/// Runs `PER_THREAD` sends on each of `THREADS` threads, each thread with its own clones and
/// recipients, rotating over every send method. `waiting` allows the methods that wait for
/// room under `Block`.
async fn hammer(addr: &BoundedAddr<Recorder>, outcomes: &Arc<Outcomes>, phase: u64, waiting: bool) {
    let mut done = Vec::new();
    for thread in 0..THREADS {
        let clones: Vec<_> = (0..25).map(|_| addr.clone()).collect();
        let recipients: Vec<_> = (0..5).map(|_| addr.recipient::<Item>()).collect();
        let outcomes = Arc::clone(outcomes);
        let (tx, rx) = tokio::sync::oneshot::channel();
        done.push(rx);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            runtime.block_on(async {
                for i in 0..PER_THREAD {
                    let n = (phase * THREADS + thread) * PER_THREAD + i;
                    let addr = &clones[i as usize % clones.len()];
                    let recipient = &recipients[i as usize % recipients.len()];
                    match (i % 8, waiting) {
                        (0, _) => outcomes.record_try(addr.try_send(Item(n))),
                        (1, _) => {
                            addr.do_send(Item(n));
                            outcomes.do_send.fetch_add(1, SeqCst);
                        }
                        (2, _) => outcomes.record_try(recipient.try_send(Item(n))),
                        (3, _) => {
                            // Waits at most 200 µs for room, then (if queued) for the
                            // response; the outer timeout cuts off only that second wait.
                            let request = addr.send_timeout(Item(n), Duration::from_micros(200));
                            match tokio::time::timeout(Duration::from_millis(5), request).await {
                                Ok(result) => outcomes.record(result),
                                Err(_) => outcomes.record(Ok::<(), _>(())),
                            }
                        }
                        (4, true) => outcomes.record(addr.tell(Item(n)).await),
                        (5, true) => outcomes.record(addr.send(Item(n)).await),
                        (6, true) => outcomes.record(recipient.tell(Item(n)).await),
                        (7, true) => outcomes.record(recipient.send(Item(n)).await),
                        _ => outcomes.record_try(addr.try_send(Item(n))),
                    }
                }
            });
            drop((clones, recipients));
            let _ = tx.send(());
        });
    }
    for rx in done {
        rx.await.expect("a producer thread panicked");
    }
}

async fn bound_holds(policy: OverflowPolicy, capacity: usize) {
    let hooked = Arc::new(AtomicU64::new(0));
    let hook_count = Arc::clone(&hooked);
    let config = MailboxConfig::new(capacity)
        .policy(policy)
        .on_drop(move |_| {
            hook_count.fetch_add(1, SeqCst);
        });
    let (addr, seen, release) = held_recorder(config).await;

    let max_len = Arc::new(AtomicUsize::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (addr, max_len, sampling) = (addr.clone(), Arc::clone(&max_len), Arc::clone(&sampling));
        std::thread::spawn(move || {
            while sampling.load(SeqCst) {
                max_len.fetch_max(addr.len(), SeqCst);
            }
        })
    };
    let outcomes = Arc::new(Outcomes::default());

    // Phase 1, actor held: only the methods that cannot wait forever.
    hammer(&addr, &outcomes, 0, false).await;
    assert_eq!(
        addr.len(),
        capacity,
        "100 clones filled exactly `capacity` slots"
    );
    if policy != OverflowPolicy::DropOldest {
        assert_eq!(
            addr.stats().enqueued,
            capacity as u64 + 1,
            "the Hold and `capacity` items"
        );
    }

    // Phase 2, actor running: every method, including those that wait for room.
    release.send(()).unwrap();
    hammer(&addr, &outcomes, 1, true).await;
    until(|| {
        let stats = addr.stats();
        addr.is_empty() && stats.handled + stats.evicted == stats.enqueued
    })
    .await;
    sampling.store(false, SeqCst);
    sampler.join().unwrap();

    let max = max_len.load(SeqCst);
    assert!(
        max <= capacity,
        "{max} messages were queued at once (capacity {capacity})"
    );
    assert_eq!(max, capacity, "the sampler saw the full mailbox");

    let stats = addr.stats();
    let sent = 2 * THREADS * PER_THREAD;
    assert_eq!(stats.offered(), sent + 1, "{stats:?}");
    assert_eq!(stats.settled(), sent + 1, "{stats:?}");
    assert_eq!(stats.stopped + stats.closed, 0);
    let o = &*outcomes;
    let refused_by_callers = o.full.load(SeqCst) + o.dropped.load(SeqCst);
    let refused = stats.rejected + stats.dropped_newest;
    assert!(
        refused_by_callers <= refused && refused <= refused_by_callers + o.do_send.load(SeqCst),
        "{stats:?}"
    );
    assert_eq!(o.timeout.load(SeqCst), stats.timed_out);
    assert!(o.evicted.load(SeqCst) <= stats.evicted);
    assert_eq!(o.other.load(SeqCst), 0);
    assert_eq!(
        hooked.load(SeqCst),
        stats.dropped_newest + stats.evicted + stats.rejected + stats.timed_out
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len() as u64 + 1, stats.handled);
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        seen.len(),
        "an item was handled twice"
    );
    match policy {
        OverflowPolicy::Block => assert_eq!(stats.evicted + stats.dropped_newest, 0),
        OverflowPolicy::DropNewest => assert!(stats.dropped_newest > 0 && stats.evicted == 0),
        OverflowPolicy::DropOldest => {
            assert!(stats.evicted > 0 && stats.rejected + stats.dropped_newest == 0)
        }
        _ => assert!(stats.rejected > 0 && stats.evicted + stats.dropped_newest == 0),
    }
}

#[actix_rt::test]
async fn bound_is_exact_under_block() {
    within(bound_holds(OverflowPolicy::Block, 8)).await;
}

#[actix_rt::test]
async fn bound_is_exact_under_drop_newest() {
    within(bound_holds(OverflowPolicy::DropNewest, 8)).await;
}

#[actix_rt::test]
async fn bound_is_exact_under_drop_oldest() {
    within(bound_holds(OverflowPolicy::DropOldest, 8)).await;
}

#[actix_rt::test]
async fn bound_is_exact_under_reject() {
    within(bound_holds(OverflowPolicy::Reject, 8)).await;
}

// Capacity 1 takes another code path in `concurrent-queue` (a single slot).

#[actix_rt::test]
async fn bound_is_exact_at_capacity_one_under_block() {
    within(bound_holds(OverflowPolicy::Block, 1)).await;
}

#[actix_rt::test]
async fn bound_is_exact_at_capacity_one_under_drop_oldest() {
    within(bound_holds(OverflowPolicy::DropOldest, 1)).await;
}
