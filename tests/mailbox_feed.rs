//! Room before the message: `reserve` hands out a permit, and `feed` pulls a stream only when
//! an item has room waiting for it.

mod common;

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use actix_backpressure::prelude::*;
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
