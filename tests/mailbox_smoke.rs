//! A first end-to-end check: requests and tells through a bounded mailbox.

mod common;

use actix_backpressure::prelude::*;
use actix_backpressure::TrySendError;
use common::*;
use tokio::sync::oneshot;

#[actix_rt::test]
async fn requests_and_tells_reach_the_handler_in_order() {
    within(async {
        let (actor, seen) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(4));
        for n in 0..10 {
            addr.tell(Item(n)).await.unwrap();
        }
        assert_eq!(addr.send(Item(10)).await.unwrap(), 10);
        assert_eq!(*seen.lock().unwrap(), (0..=10).collect::<Vec<_>>());
        let (tx, rx) = oneshot::channel();
        addr.tell(Hold(rx)).await.unwrap();
        until(|| addr.is_empty()).await;
        for n in 0..4 {
            addr.try_send(Item(n)).unwrap();
        }
        assert!(matches!(
            addr.try_send(Item(99)),
            Err(TrySendError::Full(Item(99)))
        ));
        tx.send(()).unwrap();
        until(|| addr.is_empty()).await;
        let stats = addr.stats();
        assert_eq!(stats.rejected, 1);
        assert_eq!(stats.handled, 16);
    })
    .await;
}
