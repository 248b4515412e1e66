//! Live reconfiguration: a running mailbox's capacity and policy change through its handle.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_backpressure::prelude::*;
use actix_backpressure::TrySendError;
use actix_backpressure::{ConfigError, SendError};
use common::*;
use tokio::sync::oneshot;

#[actix_rt::test]
async fn growing_takes_effect_for_every_sender() {
    within(async {
        let (actor, _) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(2).policy(OverflowPolicy::Reject));
        addr.set_capacity(5).unwrap();
        until(|| addr.capacity() == 5).await;
        let (release, hold) = oneshot::channel();
        addr.tell(Hold(hold)).await.unwrap();
        until(|| addr.is_empty() && addr.stats().handled == 1).await;
        for n in 0..5 {
            addr.try_send(Item(n)).unwrap();
        }
        assert!(matches!(addr.try_send(Item(5)), Err(TrySendError::Full(_))));
        release.send(()).unwrap();
    })
    .await;
}

#[actix_rt::test]
async fn shrinking_below_the_depth_keeps_every_message_and_holds_new_sends() {
    within(async {
        let (actor, seen) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(4).policy(OverflowPolicy::Reject));
        let (release_first, hold_first) = oneshot::channel();
        addr.tell(Hold(hold_first)).await.unwrap();
        until(|| addr.is_empty() && addr.stats().handled == 1).await;
        // Queued: a second hold, then three items.
        let (release_second, hold_second) = oneshot::channel();
        addr.tell(Hold(hold_second)).await.unwrap();
        for n in 1..=3 {
            addr.tell(Item(n)).await.unwrap();
        }
        addr.set_capacity(2).unwrap();
        assert_eq!(addr.capacity(), 2, "a new capacity takes effect at once");
        assert_eq!(addr.len(), 4, "nothing was evicted");
        assert!(matches!(addr.try_send(Item(8)), Err(TrySendError::Full(_))));
        release_first.send(()).unwrap();
        until(|| addr.stats().handled == 2).await;
        assert_eq!(addr.len(), 3, "nothing was evicted");
        assert!(matches!(addr.try_send(Item(9)), Err(TrySendError::Full(_))));
        release_second.send(()).unwrap();
        until(|| seen.lock().unwrap().len() == 3).await;
        assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3], "in order");
        // Drained: the new bound applies.
        addr.try_send(Item(4)).unwrap();
        addr.try_send(Item(5)).unwrap();
        until(|| seen.lock().unwrap().len() == 5).await;
        assert_eq!(addr.stats().rejected, 2);
    })
    .await;
}

#[actix_rt::test]
async fn shrinking_under_drop_oldest_evicts_the_oldest_beyond_the_new_capacity() {
    within(async {
        let log = Arc::new(Mutex::new(Vec::new()));
        let hook_log = Arc::clone(&log);
        let config = MailboxConfig::new(4)
            .policy(OverflowPolicy::DropOldest)
            .on_drop(move |dropped| {
                hook_log
                    .lock()
                    .unwrap()
                    .push(dropped.downcast_ref::<Item>().unwrap().0);
            });
        let (addr, seen, release) = held_recorder(config).await;
        for n in 1..=4 {
            addr.tell(Item(n)).await.unwrap();
        }
        addr.set_capacity(2).unwrap();
        release.send(()).unwrap();
        until(|| seen.lock().unwrap().len() == 2).await;
        assert_eq!(*seen.lock().unwrap(), vec![3, 4]);
        assert_eq!(*log.lock().unwrap(), vec![1, 2]);
        assert_eq!((addr.capacity(), addr.stats().evicted), (2, 2));
    })
    .await;
}

#[actix_rt::test]
async fn a_new_policy_applies_at_once_even_to_waiting_senders() {
    within(async {
        let (addr, _, release) = held_recorder(MailboxConfig::new(1)).await;
        addr.tell(Item(1)).await.unwrap();
        let waiter = addr.clone();
        let waiting = actix_rt::spawn(async move { waiter.tell(Item(2)).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        addr.set_policy(OverflowPolicy::DropNewest);
        assert_eq!(addr.policy(), OverflowPolicy::DropNewest);
        assert!(matches!(
            waiting.await.unwrap(),
            Err(SendError::Dropped(Item(2)))
        ));
        assert!(matches!(
            addr.try_send(Item(3)),
            Err(TrySendError::Dropped(_))
        ));
        release.send(()).unwrap();
    })
    .await;
}

#[actix_rt::test]
async fn capacity_zero_is_refused_and_changes_nothing() {
    within(async {
        let (actor, _) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(3).name("ingest"));
        let err = addr.set_capacity(0).unwrap_err();
        assert_eq!(
            err,
            ConfigError::ZeroCapacity {
                mailbox: "ingest".into()
            }
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(addr.capacity(), 3);
    })
    .await;
}

#[actix_rt::test]
async fn resizing_under_a_flood_loses_nothing() {
    within(async {
        let (actor, seen) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(8));
        let producers: Vec<_> = (0..3u64)
            .map(|thread| {
                let addr = addr.clone();
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    runtime.block_on(async {
                        for i in 0..2000 {
                            addr.tell(Item(thread << 32 | i)).await.unwrap();
                        }
                    });
                })
            })
            .collect();
        for capacity in [1, 16, 3, 64, 2, 8].into_iter().cycle().take(60) {
            addr.set_capacity(capacity).unwrap();
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        for producer in producers {
            let _ = tokio::task::spawn_blocking(move || producer.join())
                .await
                .unwrap();
        }
        until(|| seen.lock().unwrap().len() == 6000).await;
        let seen = seen.lock().unwrap();
        // Per producer, in order: FIFO held across every switch.
        for thread in 0..3u64 {
            let mine: Vec<u64> = seen
                .iter()
                .filter(|n| *n >> 32 == thread)
                .map(|n| n & 0xffff_ffff)
                .collect();
            assert_eq!(mine, (0..2000).collect::<Vec<_>>());
        }
        let stats = addr.stats();
        assert_eq!((stats.enqueued, stats.handled), (6000, 6000));
    })
    .await;
}

#[actix_rt::test]
async fn capacities_beyond_the_maximum_are_refused() {
    within(async {
        let (actor, _) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(3).name("ingest"));
        let too_large = actix_backpressure::MAX_CAPACITY + 1;
        assert_eq!(
            addr.set_capacity(too_large).unwrap_err(),
            ConfigError::CapacityTooLarge {
                mailbox: "ingest".into(),
                capacity: too_large
            }
        );
        let err = Recorder::default()
            .try_start_bounded(MailboxConfig::new(usize::MAX))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("mailbox `Recorder`: capacity must be at most "),
            "{err}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(addr.capacity(), 3);
    })
    .await;
}

#[actix_rt::test]
async fn switching_to_drop_oldest_after_a_shrink_keeps_the_newest() {
    within(async {
        let (actor, seen) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(4));
        let (release_first, hold_first) = oneshot::channel();
        addr.tell(Hold(hold_first)).await.unwrap();
        until(|| addr.is_empty() && addr.stats().handled == 1).await;
        let (release_second, hold_second) = oneshot::channel();
        addr.tell(Hold(hold_second)).await.unwrap();
        for n in 1..=3 {
            addr.tell(Item(n)).await.unwrap();
        }
        // Shrink to 2 under Block: the second hold and item 1 wait over the capacity.
        addr.set_capacity(2).unwrap();
        release_first.send(()).unwrap();
        until(|| addr.capacity() == 2 && addr.stats().handled == 2).await;
        // Now DropOldest, which keeps the newest messages: at the actor's next turn what the
        // shrink left over goes too.
        addr.set_policy(OverflowPolicy::DropOldest);
        addr.tell(Item(4)).await.unwrap();
        release_second.send(()).unwrap();
        until(|| seen.lock().unwrap().len() == 2).await;
        assert_eq!(*seen.lock().unwrap(), vec![3, 4]);
        assert_eq!(addr.stats().evicted, 2, "items 1 and 2");
    })
    .await;
}
