//! Stopping an actor while other threads flood it under `DropOldest` closes its mailbox for
//! good: `concurrent-queue`'s `force_push` can reopen a queue closed under it, and the drain
//! must notice.

mod common;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

use actix_backpressure::prelude::*;
use common::*;

#[actix_rt::test]
async fn a_drop_oldest_flood_cannot_reopen_a_stopped_mailbox() {
    within(async {
        for round in 0..200 {
            let (actor, _) = Recorder::new();
            let addr =
                actor.start_bounded(MailboxConfig::new(2).policy(OverflowPolicy::DropOldest));
            let flooding = Arc::new(AtomicBool::new(true));
            let floods: Vec<_> = (0..2)
                .map(|_| {
                    let (addr, flooding) = (addr.clone(), Arc::clone(&flooding));
                    std::thread::spawn(move || {
                        let mut n = 0;
                        while flooding.load(SeqCst) {
                            let _ = addr.try_send(Item(n));
                            n += 1;
                        }
                    })
                })
                .collect();
            // Stop the actor mid-flood (the `Stop` itself may be evicted: resend it).
            while !addr.is_closed() {
                let _ = addr.try_send(Stop);
                tokio::task::yield_now().await;
            }
            // Closed once, closed for good, while the flood goes on.
            for _ in 0..100 {
                tokio::task::yield_now().await;
                assert!(addr.is_closed(), "round {round}: the mailbox reopened");
            }
            flooding.store(false, SeqCst);
            for flood in floods {
                flood.join().unwrap();
            }
            until(|| addr.is_empty()).await;
            let stats = addr.stats();
            assert_eq!(stats.offered(), stats.settled(), "round {round}: {stats:?}");
        }
    })
    .await;
}
