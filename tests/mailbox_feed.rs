//! Room before the message: `reserve` hands out a permit, and `feed` pulls a stream only when
//! an item has room waiting for it.

mod common;

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use actix_backpressure::prelude::*;
use actix_backpressure::TrySendError;
use common::*;
use futures_core::Stream;

/// The items `0..end`, counting how many were pulled.
struct Counting {
    next: u64,
    end: u64,
    pulled: Arc<AtomicU64>,
}

impl Stream for Counting {
    type Item = Item;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Option<Item>> {
        if self.next == self.end {
            return Poll::Ready(None);
        }
        self.pulled.fetch_add(1, Ordering::SeqCst);
        self.next += 1;
        Poll::Ready(Some(Item(self.next - 1)))
    }
}

#[actix_rt::test]
async fn feed_pulls_an_item_only_when_it_has_room() {
    within(async {
        let (addr, seen, release) = held_recorder(MailboxConfig::new(4).name("fed")).await;
        let pulled = Arc::new(AtomicU64::new(0));
        let stream = Counting {
            next: 0,
            end: 100,
            pulled: Arc::clone(&pulled),
        };
        let feeder = {
            let addr = addr.clone();
            actix::spawn(async move { addr.feed(stream).await })
        };
        until(|| addr.len() == 4).await;
        // Give the feeder every chance to pull a fifth item it has no room for.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(pulled.load(Ordering::SeqCst), 4, "pulled without room");
        release.send(()).unwrap();
        assert_eq!(feeder.await.unwrap(), 100);
        assert_eq!(pulled.load(Ordering::SeqCst), 100);
        until(|| seen.lock().unwrap().len() == 100).await;
        assert_eq!(*seen.lock().unwrap(), (0..100).collect::<Vec<_>>());
        let stats = addr.stats();
        assert_eq!((stats.enqueued, stats.settled()), (101, 101));
    })
    .await;
}

#[actix_rt::test]
async fn a_permit_holds_room_until_used_or_dropped() {
    within(async {
        let (addr, seen, release) = held_recorder(
            MailboxConfig::new(1)
                .name("reserved")
                .policy(OverflowPolicy::Reject),
        )
        .await;
        let permit = addr.reserve().await.expect("the actor is alive");
        // The room is taken: under `Reject` a send is refused.
        assert!(addr.try_send(Item(1)).is_err());
        drop(permit);
        addr.try_send(Item(2)).expect("the room came back");
        release.send(()).unwrap();
        until(|| seen.lock().unwrap().len() == 1).await;
        let permit = addr.reserve().await.expect("room again");
        permit.send(Item(3)).unwrap();
        until(|| seen.lock().unwrap().len() == 2).await;
        assert_eq!(*seen.lock().unwrap(), vec![2, 3]);
    })
    .await;
}

#[actix_rt::test]
async fn a_reserve_woken_without_room_waits_again() {
    within(async {
        let (addr, _seen, release) = held_recorder(MailboxConfig::new(1).name("rewait")).await;
        let held = addr.reserve().await.expect("room for one");
        let waiter = {
            let addr = addr.clone();
            actix::spawn(async move { addr.reserve().await.is_some() })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        // Wakes every waiting sender; the mailbox is still full.
        addr.set_policy(OverflowPolicy::Block);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !waiter.is_finished(),
            "woken without room, it must wait again"
        );
        drop(held);
        assert!(
            waiter.await.unwrap(),
            "the room given back went to the waiter"
        );
        release.send(()).unwrap();
    })
    .await;
}

#[actix_rt::test]
async fn drop_oldest_refuses_when_every_permit_is_reserved_and_nothing_is_queued() {
    within(async {
        let (addr, _seen, release) = held_recorder(
            MailboxConfig::new(1)
                .name("reserved_drop_oldest")
                .policy(OverflowPolicy::DropOldest),
        )
        .await;
        let held = addr.reserve().await.expect("room for one");
        // Nothing queued to evict: refused, not a spin on the arbiter's only thread.
        assert!(matches!(
            addr.try_send(Item(1)),
            Err(TrySendError::Full(Item(1)))
        ));
        held.send(Item(2)).unwrap();
        // Now there is something to evict.
        addr.try_send(Item(3)).unwrap();
        let stats = addr.stats();
        assert_eq!((stats.rejected, stats.evicted), (1, 1));
        release.send(()).unwrap();
    })
    .await;
}
