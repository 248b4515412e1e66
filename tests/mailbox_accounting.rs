//! Accounting under concurrency: with several producer threads, every policy and a stop in
//! the middle, every message ends in exactly one outcome and is dropped exactly once.

mod common;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use actix_backpressure::prelude::*;
use actix_backpressure::SendError;
use common::*;

const THREADS: u64 = 3;
const PER_THREAD: u64 = 3000;

async fn every_message_is_accounted_for(policy: OverflowPolicy) {
    let hooked = Arc::new(AtomicU64::new(0));
    let hook_count = Arc::clone(&hooked);
    let config = MailboxConfig::new(16)
        .policy(policy)
        .on_drop(move |dropped| {
            assert!(
                dropped.downcast_ref::<Counted>().is_some()
                    || dropped.downcast_ref::<Stop>().is_some()
            );
            hook_count.fetch_add(1, SeqCst);
        });
    let (actor, seen) = Recorder::new();
    let addr = actor.start_bounded(config);
    let drops = Arc::new(AtomicUsize::new(0));
    let created = Arc::new(AtomicU64::new(0));

    let mut done = Vec::new();
    for thread in 0..THREADS {
        let addr = addr.clone();
        let drops = Arc::clone(&drops);
        let created = Arc::clone(&created);
        let (tx, rx) = tokio::sync::oneshot::channel();
        done.push(rx);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            runtime.block_on(async {
                // At least `PER_THREAD` messages, and on until the mailbox has closed.
                let mut i = 0;
                while i < PER_THREAD || !addr.is_closed() {
                    created.fetch_add(1, SeqCst);
                    let msg = Counted {
                        n: thread << 32 | i,
                        drops: Arc::clone(&drops),
                    };
                    // Outcomes are read from the stats; the errors are simply dropped here.
                    match i % 4 {
                        0 => drop(addr.try_send(msg)),
                        1 => drop(addr.tell(msg).await),
                        2 => drop(addr.send(msg).await),
                        _ => drop(addr.send_timeout(msg, Duration::from_micros(100)).await),
                    }
                    i += 1;
                }
            });
            drop(addr);
            let _ = tx.send(());
        });
    }

    // Stop the actor while the producers are still going.
    until(|| addr.stats().handled > 500).await;
    let mut stop_attempts = 0;
    loop {
        stop_attempts += 1;
        match addr.send(Stop).await {
            Ok(()) | Err(SendError::Closed(_)) | Err(SendError::Stopped) => break,
            Err(_) => tokio::task::yield_now().await,
        }
    }
    for rx in done {
        rx.await.expect("a producer thread panicked");
    }
    until(|| addr.is_closed()).await;

    let stats = addr.stats();
    let created = created.load(SeqCst);
    let offered = created + stop_attempts;
    assert_eq!(stats.offered(), offered, "{stats:?}");
    assert_eq!(stats.settled(), offered, "{stats:?}");
    assert!(
        stats.closed > 0,
        "the stop came after every send: {stats:?}"
    );
    assert_eq!(
        hooked.load(SeqCst),
        stats.settled() - stats.handled,
        "the drop hook saw every lost message"
    );
    let handled_items = seen.lock().unwrap().len() as u64;
    assert_eq!(handled_items + 1, stats.handled, "items plus the Stop");
    // Every message was dropped exactly once: nothing leaked in the queue, nothing twice.
    drop(addr);
    assert_eq!(drops.load(SeqCst) as u64, created);
}

#[actix_rt::test]
async fn accounting_under_block() {
    within(every_message_is_accounted_for(OverflowPolicy::Block)).await;
}

#[actix_rt::test]
async fn accounting_under_drop_newest() {
    within(every_message_is_accounted_for(OverflowPolicy::DropNewest)).await;
}

#[actix_rt::test]
async fn accounting_under_drop_oldest() {
    within(every_message_is_accounted_for(OverflowPolicy::DropOldest)).await;
}

#[actix_rt::test]
async fn accounting_under_reject() {
    within(every_message_is_accounted_for(OverflowPolicy::Reject)).await;
}
