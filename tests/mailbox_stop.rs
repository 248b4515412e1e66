//! Stopping: blocked senders get their message back, queued requests resolve `Stopped`,
//! later sends see `Closed`, and dropping every handle lets the actor stop.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_backpressure::prelude::*;
// actix's prelude has a `SendError` too: name ours explicitly.
use actix_backpressure::{SendError, TrySendError};
use common::*;
use tokio::sync::oneshot;

#[actix_rt::test]
async fn stopping_fails_queued_and_waiting_messages_and_closes_the_mailbox() {
    within(async {
        let hooked = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = Arc::clone(&hooked);
        let config = MailboxConfig::new(2).on_drop(move |dropped| {
            let n = dropped.downcast_ref::<Item>().unwrap().0;
            log.lock().unwrap().push((dropped.reason(), n));
        });
        let (actor, seen) = Recorder::new();
        let addr = actor.start_bounded(config);
        let (release, hold) = oneshot::channel();
        addr.tell(HoldThenStop(hold)).await.unwrap();
        until(|| addr.is_empty() && addr.stats().handled == 1).await;

        // Two queued requests, then two senders waiting for room.
        let queued: Vec<_> = (1..=2)
            .map(|n| {
                let addr = addr.clone();
                actix_rt::spawn(async move { addr.send(Item(n)).await })
            })
            .collect();
        until(|| addr.len() == 2).await;
        let waiting: Vec<_> = (3..=4)
            .map(|n| {
                let addr = addr.clone();
                actix_rt::spawn(async move { addr.tell(Item(n)).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            waiting.iter().all(|sender| !sender.is_finished()),
            "the senders wait for room before the stop"
        );

        release.send(()).unwrap();
        for request in queued {
            assert!(matches!(request.await.unwrap(), Err(SendError::Stopped)));
        }
        for (sender, n) in waiting.into_iter().zip(3..) {
            match sender.await.unwrap() {
                Err(SendError::Closed(Item(m))) => assert_eq!(m, n),
                other => panic!("a waiting sender got {other:?}"),
            }
        }
        assert!(addr.is_closed());
        assert!(matches!(
            addr.try_send(Item(5)),
            Err(TrySendError::Closed(Item(5)))
        ));
        assert!(matches!(
            addr.tell(Item(6)).await,
            Err(SendError::Closed(Item(6)))
        ));
        assert!(matches!(
            addr.send(Item(7)).await,
            Err(SendError::Closed(Item(7)))
        ));
        assert!(seen.lock().unwrap().is_empty());
        let stats = addr.stats();
        assert_eq!((stats.stopped, stats.closed), (2, 5));
        assert!(stats.sender_blocked >= Duration::from_millis(10));
        let mut hooked = hooked.lock().unwrap().clone();
        hooked.sort_by_key(|(_, n)| *n);
        let expected: Vec<_> = [(DropReason::Stopped, 1), (DropReason::Stopped, 2)]
            .into_iter()
            .chain((3..=7).map(|n| (DropReason::Closed, n)))
            .collect();
        assert_eq!(hooked, expected);
    })
    .await;
}

/// Tells the test when it stopped.
struct Watched {
    stopped: Option<oneshot::Sender<()>>,
    handled: Arc<AtomicUsize>,
}

impl Actor for Watched {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Context<Self>) {
        if let Some(tx) = self.stopped.take() {
            let _ = tx.send(());
        }
    }
}

impl Handler<Item> for Watched {
    type Result = u64;

    fn handle(&mut self, Item(n): Item, _: &mut Context<Self>) -> u64 {
        self.handled.fetch_add(1, Ordering::SeqCst);
        n
    }
}

#[actix_rt::test]
async fn dropping_every_handle_drains_the_queue_then_stops_the_actor() {
    within(async {
        let (stopped_tx, stopped) = oneshot::channel();
        let handled = Arc::new(AtomicUsize::new(0));
        let actor = Watched {
            stopped: Some(stopped_tx),
            handled: Arc::clone(&handled),
        };
        let addr = actor.start_bounded(MailboxConfig::new(8));
        let recipient = addr.recipient::<Item>();
        let clone = addr.clone();
        for n in 0..8 {
            addr.try_send(Item(n)).unwrap();
        }
        drop(addr);
        drop(clone);
        // The recipient still counts as a sender.
        recipient.tell(Item(8)).await.unwrap();
        drop(recipient);
        stopped.await.expect("the actor stopped");
        assert_eq!(
            handled.load(Ordering::SeqCst),
            9,
            "queued messages are handled, not lost"
        );
    })
    .await;
}
