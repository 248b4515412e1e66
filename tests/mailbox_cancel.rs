//! Cancellation: dropping a pending `send`/`tell` future loses nothing and duplicates nothing.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_backpressure::prelude::*;
use common::*;

#[actix_rt::test]
async fn a_send_dropped_while_waiting_for_room_was_never_queued() {
    within(async {
        let (addr, seen, release) = held_recorder(MailboxConfig::new(1)).await;
        addr.tell(Item(1)).await.unwrap();
        // Both futures wait for room, then are dropped by the timeout.
        assert!(
            tokio::time::timeout(Duration::from_millis(20), addr.tell(Item(2)))
                .await
                .is_err()
        );
        assert!(
            tokio::time::timeout(Duration::from_millis(20), addr.send(Item(3)))
                .await
                .is_err()
        );
        assert_eq!(addr.len(), 1);
        release.send(()).unwrap();
        assert_eq!(addr.send(Item(4)).await.unwrap(), 4);
        assert_eq!(*seen.lock().unwrap(), vec![1, 4]);
        let stats = addr.stats();
        assert_eq!(stats.enqueued, 3, "the Hold, 1 and 4");
        assert_eq!(
            stats.settled(),
            3,
            "the cancelled sends are counted nowhere"
        );
    })
    .await;
}

#[actix_rt::test]
async fn a_request_dropped_after_queueing_is_still_handled_once() {
    within(async {
        let (addr, seen, release) = held_recorder(MailboxConfig::new(4)).await;
        assert!(
            tokio::time::timeout(Duration::from_millis(20), addr.send(Item(1)))
                .await
                .is_err()
        );
        assert_eq!(
            addr.len(),
            1,
            "the request was queued before its future was dropped"
        );
        release.send(()).unwrap();
        until(|| addr.stats().handled == 2).await;
        assert_eq!(*seen.lock().unwrap(), vec![1]);
    })
    .await;
}

#[actix_rt::test]
async fn racing_cancellations_neither_lose_nor_duplicate_messages() {
    within(async {
        let (actor, seen) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(4));
        let drops = Arc::new(AtomicUsize::new(0));
        let completed = Arc::new(std::sync::Mutex::new(Vec::new()));
        const N: u64 = 2000;
        let tasks: Vec<_> = (0..N)
            .map(|n| {
                let addr = addr.clone();
                let drops = Arc::clone(&drops);
                let completed = Arc::clone(&completed);
                actix_rt::spawn(async move {
                    // Deadlines from 0 to 30 ms cut futures off at every stage.
                    let deadline = Duration::from_micros((n * 37) % 30_000);
                    let msg = Counted { n, drops };
                    let outcome = if n % 2 == 0 {
                        tokio::time::timeout(deadline, addr.send(msg))
                            .await
                            .map(|r| r.map(|_| ()))
                    } else {
                        tokio::time::timeout(deadline, addr.tell(msg)).await
                    };
                    if let Ok(result) = outcome {
                        result.unwrap();
                        completed.lock().unwrap().push(n);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        until(|| addr.is_empty()).await;
        // Every message was dropped exactly once: by the handler's caller, or by a cancelled future.
        assert_eq!(drops.load(Ordering::SeqCst), N as usize);
        let seen = seen.lock().unwrap().clone();
        let unique: HashSet<_> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "a message was handled twice");
        // Whatever completed was queued, so it was handled.
        for n in completed.lock().unwrap().iter() {
            assert!(
                unique.contains(n),
                "message {n} completed but was never handled"
            );
        }
        let completed_count = completed.lock().unwrap().len() as u64;
        assert!(
            0 < completed_count && completed_count < N,
            "the race was not exercised: {completed_count} of {N} completed"
        );
        let stats = addr.stats();
        assert_eq!(stats.enqueued, seen.len() as u64);
        assert_eq!(stats.handled, seen.len() as u64);
    })
    .await;
}
