//! What each overflow policy does at the bound, through every send method.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_backpressure::prelude::*;
use actix_backpressure::BoundedRecipient;
use actix_backpressure::{SendError, TrySendError};
use common::*;

/// What the drop hook saw: (reason, item number) pairs.
type DropLog = Arc<Mutex<Vec<(DropReason, u64)>>>;

/// A drop hook that records (reason, item number) pairs.
fn recording_hook(config: MailboxConfig) -> (MailboxConfig, DropLog) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    let config = config.on_drop(move |dropped| {
        let n = dropped
            .downcast_ref::<Item>()
            .map_or(u64::MAX, |item| item.0);
        sink.lock().unwrap().push((dropped.reason(), n));
    });
    (config, log)
}

#[actix_rt::test]
async fn block_holds_a_sender_until_there_is_room() {
    within(async {
        let (addr, seen, release) = held_recorder(MailboxConfig::new(2)).await;
        addr.tell(Item(1)).await.unwrap();
        addr.tell(Item(2)).await.unwrap();
        let waiting = addr.clone();
        let (done_tx, mut done) = tokio::sync::oneshot::channel();
        actix_rt::spawn(async move {
            let result = waiting.tell(Item(3)).await;
            let _ = done_tx.send(result.is_ok());
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(done.try_recv().is_err(), "the sender was not held");
        assert_eq!(addr.len(), 2);
        release.send(()).unwrap();
        assert!(done.await.unwrap());
        until(|| seen.lock().unwrap().len() == 3).await;
        assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3]);
        assert!(addr.stats().sender_blocked > Duration::from_millis(30));
    })
    .await;
}

#[actix_rt::test]
async fn block_try_send_and_do_send_refuse_with_accounting() {
    within(async {
        let (config, log) = recording_hook(MailboxConfig::new(1));
        let (addr, seen, release) = held_recorder(config).await;
        addr.try_send(Item(1)).unwrap();
        assert!(matches!(
            addr.try_send(Item(2)),
            Err(TrySendError::Full(Item(2)))
        ));
        addr.do_send(Item(3));
        assert_eq!(addr.stats().rejected, 2);
        assert_eq!(
            *log.lock().unwrap(),
            vec![(DropReason::Rejected, 2), (DropReason::Rejected, 3)]
        );
        release.send(()).unwrap();
        until(|| addr.stats().handled == 2).await;
        assert_eq!(*seen.lock().unwrap(), vec![1]);
    })
    .await;
}

#[actix_rt::test]
async fn send_timeout_hands_back_a_message_that_was_never_queued() {
    within(async {
        let (config, log) = recording_hook(MailboxConfig::new(1));
        let (addr, seen, release) = held_recorder(config).await;
        addr.tell(Item(1)).await.unwrap();
        let started = std::time::Instant::now();
        let err = addr
            .send_timeout(Item(2), Duration::from_millis(40))
            .await
            .unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(40));
        assert!(matches!(err, SendError::Timeout(Item(2))));
        assert_eq!(addr.len(), 1);
        assert_eq!(*log.lock().unwrap(), vec![(DropReason::Timeout, 2)]);
        release.send(()).unwrap();
        // With room, the same call queues the message and returns the response.
        assert_eq!(
            addr.send_timeout(Item(3), Duration::from_secs(5))
                .await
                .unwrap(),
            3
        );
        assert_eq!(
            *seen.lock().unwrap(),
            vec![1, 3],
            "the timed-out message was handled"
        );
        let stats = addr.stats();
        assert_eq!((stats.timed_out, stats.enqueued), (1, 3));
    })
    .await;
}

#[actix_rt::test]
async fn drop_newest_discards_the_incoming_message() {
    within(async {
        let config = MailboxConfig::new(2).policy(OverflowPolicy::DropNewest);
        let (config, log) = recording_hook(config);
        let (addr, seen, release) = held_recorder(config).await;
        addr.tell(Item(1)).await.unwrap();
        addr.try_send(Item(2)).unwrap();
        assert!(matches!(
            addr.try_send(Item(3)),
            Err(TrySendError::Dropped(Item(3)))
        ));
        assert!(matches!(
            addr.tell(Item(4)).await,
            Err(SendError::Dropped(Item(4)))
        ));
        assert!(matches!(
            addr.send(Item(5)).await,
            Err(SendError::Dropped(Item(5)))
        ));
        addr.do_send(Item(6));
        assert_eq!(addr.len(), 2);
        release.send(()).unwrap();
        until(|| addr.stats().handled == 3).await;
        assert_eq!(*seen.lock().unwrap(), vec![1, 2]);
        let reasons: Vec<_> = log.lock().unwrap().clone();
        assert_eq!(
            reasons,
            [3, 4, 5, 6].map(|n| (DropReason::DropNewest, n)).to_vec()
        );
        assert_eq!(addr.stats().dropped_newest, 4);
    })
    .await;
}

#[actix_rt::test]
async fn drop_oldest_evicts_the_oldest_queued_message() {
    within(async {
        let config = MailboxConfig::new(3).policy(OverflowPolicy::DropOldest);
        let (config, log) = recording_hook(config);
        let (addr, seen, release) = held_recorder(config).await;
        // A request that will be evicted resolves to `Evicted`.
        let requester = addr.clone();
        let evicted_request = actix_rt::spawn(async move { requester.send(Item(0)).await });
        until(|| addr.len() == 1).await;
        for n in 1..=5 {
            addr.try_send(Item(n)).unwrap();
            assert!(addr.len() <= 3);
        }
        assert!(matches!(
            evicted_request.await.unwrap(),
            Err(SendError::Evicted)
        ));
        assert_eq!(
            *log.lock().unwrap(),
            [0, 1, 2].map(|n| (DropReason::DropOldest, n)).to_vec()
        );
        release.send(()).unwrap();
        until(|| seen.lock().unwrap().len() == 3).await;
        assert_eq!(
            *seen.lock().unwrap(),
            vec![3, 4, 5],
            "the newest messages survive, in order"
        );
        let stats = addr.stats();
        assert_eq!((stats.enqueued, stats.evicted), (7, 3));
    })
    .await;
}

#[actix_rt::test]
async fn reject_fails_at_once_and_hands_the_message_back() {
    within(async {
        let config = MailboxConfig::new(1).policy(OverflowPolicy::Reject);
        let (config, log) = recording_hook(config);
        let (addr, seen, release) = held_recorder(config).await;
        addr.tell(Item(1)).await.unwrap();
        assert!(matches!(
            addr.try_send(Item(2)),
            Err(TrySendError::Full(Item(2)))
        ));
        assert!(matches!(
            addr.tell(Item(3)).await,
            Err(SendError::Full(Item(3)))
        ));
        let err = addr.send(Item(4)).await.unwrap_err();
        assert_eq!(err.into_inner(), Some(Item(4)));
        let recipient = addr.recipient::<Item>();
        assert!(matches!(
            recipient.try_send(Item(5)),
            Err(TrySendError::Full(Item(5)))
        ));
        release.send(()).unwrap();
        until(|| seen.lock().unwrap().len() == 1).await;
        assert_eq!(log.lock().unwrap().len(), 4);
        assert!(log
            .lock()
            .unwrap()
            .iter()
            .all(|(reason, _)| *reason == DropReason::Rejected));
        assert_eq!(addr.stats().rejected, 4);
        // Room again: the next send goes through.
        assert_eq!(recipient.send(Item(6)).await.unwrap(), 6);
    })
    .await;
}

#[actix_rt::test]
async fn handles_report_their_mailbox() {
    within(async {
        let (actor, _) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(7).policy(OverflowPolicy::Reject));
        let recipient = addr.recipient::<Item>();
        assert_eq!(
            (addr.capacity(), addr.policy(), addr.name()),
            (7, OverflowPolicy::Reject, "Recorder")
        );
        assert_eq!(
            (recipient.capacity(), recipient.policy(), recipient.name()),
            (7, OverflowPolicy::Reject, "Recorder")
        );
        assert!(!addr.is_closed() && !recipient.is_closed());
        let named = Recorder::default().start_bounded(MailboxConfig::new(1).name("ingest"));
        assert_eq!(named.name(), "ingest");
    })
    .await;
}

#[actix_rt::test]
async fn capacity_zero_is_refused_at_start() {
    let err = Recorder::default()
        .try_start_bounded(MailboxConfig::new(0))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "mailbox `Recorder`: capacity must be at least 1, got 0"
    );
    let err = Recorder::default()
        .try_start_bounded(MailboxConfig::new(4).name("ingest").batch(0))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "mailbox `ingest`: batch must be at least 1, got 0"
    );
    let panic = std::panic::catch_unwind(|| {
        Recorder::default().start_bounded(MailboxConfig::new(0));
    })
    .unwrap_err();
    let text = panic.downcast_ref::<String>().unwrap();
    assert_eq!(
        text,
        "actix-backpressure: mailbox `Recorder`: capacity must be at least 1, got 0"
    );
}

#[actix_rt::test]
async fn send_timeout_with_a_huge_timeout_waits_without_panicking() {
    within(async {
        let (addr, _, release) = held_recorder(MailboxConfig::new(1)).await;
        addr.tell(Item(1)).await.unwrap();
        let waiting = addr.clone();
        let request =
            actix_rt::spawn(async move { waiting.send_timeout(Item(2), Duration::MAX).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!request.is_finished());
        release.send(()).unwrap();
        assert_eq!(request.await.unwrap().unwrap(), 2);
    })
    .await;
}

#[actix_rt::test]
async fn the_drop_hook_runs_outside_any_lock_and_may_use_the_mailbox() {
    within(async {
        // The hook re-sends each evicted item (once) through the same mailbox and reads its
        // length: under a lock held by the mailbox this would deadlock.
        let slot: Arc<Mutex<Option<BoundedRecipient<Item>>>> = Arc::new(Mutex::new(None));
        let lens = Arc::new(Mutex::new(Vec::new()));
        let (hook_slot, hook_lens) = (Arc::clone(&slot), Arc::clone(&lens));
        let config = MailboxConfig::new(2)
            .policy(OverflowPolicy::DropOldest)
            .on_drop(move |dropped| {
                let n = dropped.downcast_ref::<Item>().unwrap().0;
                let recipient = hook_slot.lock().unwrap().clone();
                if let Some(recipient) = recipient {
                    hook_lens.lock().unwrap().push(recipient.len());
                    if n < 1000 {
                        recipient.try_send(Item(n + 1000)).unwrap();
                    }
                }
            });
        let (addr, seen, release) = held_recorder(config).await;
        *slot.lock().unwrap() = Some(addr.recipient());
        for n in 1..=3 {
            addr.try_send(Item(n)).unwrap();
        }
        // 3 evicts 1; the hook re-sends 1001, evicting 2; 1002 evicts 3; 1003 evicts 1001.
        assert_eq!(*lens.lock().unwrap(), vec![2, 2, 2, 2]);
        slot.lock().unwrap().take();
        release.send(()).unwrap();
        until(|| seen.lock().unwrap().len() == 2).await;
        assert_eq!(*seen.lock().unwrap(), vec![1002, 1003]);
        assert_eq!(addr.stats().evicted, 4);
    })
    .await;
}

#[actix_rt::test]
async fn a_send_cancelled_after_its_outcome_loses_nothing() {
    within(async {
        let (actor, seen) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(4).policy(OverflowPolicy::Reject));
        let sender = addr.clone();
        // In a spawned task, which runs under Tokio's cooperative budget. Futures are polled
        // once by hand (`select!` would itself yield once the budget is gone).
        let completed = actix_rt::spawn(async move {
            // Exhaust the task's budget, so that the next send has to yield.
            let mut exhausted = false;
            for _ in 0..10_000 {
                exhausted = poll_once(tokio::task::consume_budget()).await.is_pending();
                if exhausted {
                    break;
                }
            }
            assert!(exhausted, "the budget never ran out");
            // The `tell` settles its outcome first, then yields to spend its budget, and is
            // dropped there. The message must be queued all the same.
            poll_once(sender.tell(Item(7))).await.is_ready()
        })
        .await
        .unwrap();
        assert!(!completed, "the send did not yield");
        assert_eq!(addr.stats().enqueued, 1);
        until(|| seen.lock().unwrap().len() == 1).await;
        assert_eq!(*seen.lock().unwrap(), vec![7]);
    })
    .await;
}

/// Polls `fut` once, then drops it.
async fn poll_once<F: std::future::Future>(fut: F) -> std::task::Poll<F::Output> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx))).await
}
