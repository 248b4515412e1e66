//! `send` and `tell` return owned futures: spawnable, offered at once, `timeout` bounds the
//! whole request.

mod common;

use std::time::Duration;

use actix::prelude::*;
use actix_backpressure::prelude::*;
use actix_backpressure::{BoundedRequest, BoundedTell, SendError};
use common::*;

/// Answers after `0` milliseconds, without holding the actor.
#[derive(Message)]
#[rtype(result = "u64")]
struct Slow(u64);

impl Handler<Slow> for Recorder {
    type Result = ResponseFuture<u64>;

    fn handle(&mut self, Slow(ms): Slow, _: &mut Context<Self>) -> Self::Result {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            ms
        })
    }
}

fn assert_owned<F: std::future::Future + Send + Unpin + 'static>(_: &F) {}

#[actix_rt::test]
async fn a_request_outlives_the_handle_it_came_from_and_can_be_spawned() {
    within(async {
        let (actor, seen) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(4));
        let request: BoundedRequest<Item> = addr.clone().send(Item(7));
        assert_owned(&request);
        let tell: BoundedTell<Item> = addr.clone().tell(Item(8));
        assert_owned(&tell);
        let recipient = addr.clone().recipient::<Item>();
        let from_recipient = actix_rt::spawn(recipient.send(Item(9)));
        assert_eq!(actix_rt::spawn(request).await.unwrap().unwrap(), 7);
        actix_rt::spawn(tell).await.unwrap().unwrap();
        assert_eq!(from_recipient.await.unwrap().unwrap(), 9);
        until(|| seen.lock().unwrap().len() == 3).await;
        assert_eq!(*seen.lock().unwrap(), vec![7, 8, 9], "queued in call order");
    })
    .await;
}

#[actix_rt::test]
async fn the_message_is_offered_when_send_is_called_not_when_first_polled() {
    within(async {
        let (addr, seen, release) = held_recorder(MailboxConfig::new(4)).await;
        let first = addr.send(Item(1));
        let second = addr.tell(Item(2));
        assert_eq!(addr.len(), 2, "both queued before either future was polled");
        // Awaited in the other order: the mailbox order is the call order.
        release.send(()).unwrap();
        second.await.unwrap();
        assert_eq!(first.await.unwrap(), 1);
        assert_eq!(*seen.lock().unwrap(), vec![1, 2]);
    })
    .await;
}

#[actix_rt::test]
async fn a_refusal_is_settled_at_the_call() {
    within(async {
        let config = MailboxConfig::new(1).policy(OverflowPolicy::Reject);
        let (addr, _seen, release) = held_recorder(config).await;
        addr.tell(Item(1)).await.unwrap();
        let refused = addr.send(Item(2));
        assert_eq!(
            addr.stats().rejected,
            1,
            "counted before the future is polled"
        );
        assert!(matches!(refused.await, Err(SendError::Full(Item(2)))));
        release.send(()).unwrap();
    })
    .await;
}

#[actix_rt::test]
async fn timeout_bounds_the_wait_for_the_response() {
    within(async {
        let (actor, _seen) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(4));
        let err = addr
            .send(Slow(5_000))
            .timeout(Duration::from_millis(30))
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::ResponseTimeout), "{err:?}");
        assert!(
            err.into_inner().is_none(),
            "the message was queued: nothing to give back"
        );
        // A request that is answered in time is not affected.
        let fast = addr.send(Slow(1)).timeout(Duration::from_secs(10)).await;
        assert_eq!(fast.unwrap(), 1);
    })
    .await;
}

#[actix_rt::test]
async fn timeout_bounds_the_wait_for_room_and_gives_the_message_back() {
    within(async {
        let (addr, seen, release) = held_recorder(MailboxConfig::new(1)).await;
        addr.tell(Item(1)).await.unwrap();
        let err = addr
            .send(Item(2))
            .timeout(Duration::from_millis(30))
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::Timeout(Item(2))), "{err:?}");
        assert_eq!(addr.stats().timed_out, 1);
        // The shorter of `send_timeout`'s wait for room and `timeout` wins.
        let err = addr
            .send_timeout(Item(3), Duration::from_secs(10))
            .timeout(Duration::from_millis(30))
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::Timeout(Item(3))), "{err:?}");
        release.send(()).unwrap();
        assert_eq!(
            addr.send(Item(4))
                .timeout(Duration::from_secs(10))
                .await
                .unwrap(),
            4
        );
        assert_eq!(*seen.lock().unwrap(), vec![1, 4]);
    })
    .await;
}

#[actix_rt::test]
async fn a_request_waiting_for_room_keeps_the_mailbox_open_for_it() {
    within(async {
        let (addr, seen, release) = held_recorder(MailboxConfig::new(1)).await;
        addr.tell(Item(1)).await.unwrap();
        let waiting = addr.send(Item(2));
        // The only handle is gone; the waiting request still counts as a sender.
        drop(addr);
        release.send(()).unwrap();
        assert_eq!(waiting.await.unwrap(), 2);
        assert_eq!(*seen.lock().unwrap(), vec![1, 2]);
    })
    .await;
}
