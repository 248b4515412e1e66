//! Stopping an actor while other threads flood it under `DropOldest` closes its mailbox for
//! good: `concurrent-queue`'s `force_push` can reopen a queue closed under it, and the drain
//! must notice.

mod common;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

use actix_backpressure::prelude::*;
use actix_backpressure::TrySendError;
use common::*;

#[actix_rt::test]
async fn a_drop_oldest_flood_cannot_reopen_a_stopped_mailbox() {
    within(async {
        for round in 0..200 {
            let (actor, _) = Recorder::new();
            let addr =
                actor.start_bounded(MailboxConfig::new(2).policy(OverflowPolicy::DropOldest));
            let flooding = Arc::new(AtomicBool::new(true));
            // Set once the stop has run to the end (the drain included).
            let stopped = Arc::new(AtomicBool::new(false));
            let floods: Vec<_> = (0..2)
                .map(|_| {
                    let (addr, flooding) = (addr.clone(), Arc::clone(&flooding));
                    let stopped = Arc::clone(&stopped);
                    std::thread::spawn(move || {
                        // Sends accepted after the mailbox was closed and drained.
                        let mut after_close = 0;
                        let mut n = 0;
                        while flooding.load(SeqCst) {
                            let closed = stopped.load(SeqCst);
                            if addr.try_send(Item(n)).is_ok() && closed {
                                after_close += 1;
                            }
                            n += 1;
                        }
                        after_close
                    })
                })
                .collect();
            // Stop the actor mid-flood (the `Stop` itself may be evicted: resend it).
            while !addr.is_closed() {
                let _ = addr.try_send(Stop);
                tokio::task::yield_now().await;
            }
            // The stop ran on this thread, to the end, before `is_closed` could be seen here.
            stopped.store(true, SeqCst);
            // Closed once, closed for good, while the flood goes on: the queue itself refuses
            // (a reopened queue would take these), here and in the flooding threads.
            for _ in 0..100 {
                tokio::task::yield_now().await;
                assert!(
                    matches!(addr.try_send(Item(u64::MAX)), Err(TrySendError::Closed(_))),
                    "round {round}: the mailbox reopened"
                );
            }
            flooding.store(false, SeqCst);
            for flood in floods {
                let after_close = flood.join().unwrap();
                assert_eq!(
                    after_close, 0,
                    "round {round}: sends were queued into a closed mailbox"
                );
            }
            until(|| addr.is_empty()).await;
            let stats = addr.stats();
            assert_eq!(stats.offered(), stats.settled(), "round {round}: {stats:?}");
        }
    })
    .await;
}
