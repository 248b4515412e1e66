//! `Outlet`: an actor's output as a stream that lets the actor run at most its window ahead of
//! the reader, so a slow reader holds the actor and, through its bounded mailbox, its senders.

mod common;

use std::time::Duration;

use actix::prelude::*;
use actix_backpressure::prelude::*;
use actix_backpressure::{ConfigError, Outlet, SendError, TrySendError};
use common::{until, within};
use futures_util::StreamExt;

#[derive(Message)]
#[rtype(result = "()")]
struct Measure(u64);

/// Sends a reading per request into its outlet, holding its mailbox while the reader is
/// behind.
struct Sensor {
    out: Outlet<u64>,
}

impl Actor for Sensor {
    type Context = Context<Self>;
}

impl Handler<Measure> for Sensor {
    type Result = ();

    fn handle(&mut self, Measure(n): Measure, ctx: &mut Context<Self>) {
        let send = self.out.send(n);
        ctx.wait(actix::fut::wrap_future(async move {
            send.await.expect("the reader is there");
        }));
    }
}

#[actix_rt::test]
async fn a_slow_reader_holds_the_actor_and_its_senders() {
    within(async {
        let (out, mut readings) = Outlet::new(2).unwrap();
        let sensor = Sensor { out }.start_bounded(MailboxConfig::new(4));
        let producer = {
            let sensor = sensor.clone();
            actix_rt::spawn(async move {
                for n in 0..100 {
                    sensor.tell(Measure(n)).await.unwrap();
                }
            })
        };
        // The reader reads nothing: two readings wait for it, the actor waits to send the
        // third, its mailbox fills, and the producer waits for room.
        until(|| sensor.probe().sample().unwrap().waiting_senders == 1).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(readings.len(), 2);
        assert_eq!(sensor.len(), 4);
        assert_eq!(sensor.stats().handled, 3);
        assert_eq!(readings.window(), 2);

        // Reading lets everything through, in order.
        let mut read = Vec::new();
        for _ in 0..100 {
            read.push(readings.next().await.unwrap());
            // Never more than the window ahead of the reader.
            assert!(readings.len() <= 2);
        }
        assert_eq!(read, (0..100).collect::<Vec<_>>());
        producer.await.unwrap();
        drop(sensor);
        // The actor stops once its senders are gone, which drops the last outlet.
        assert_eq!(readings.next().await, None);
    })
    .await;
}

#[actix_rt::test]
async fn a_closed_reader_hands_items_back() {
    within(async {
        let (out, mut readings) = Outlet::new(1).unwrap();
        out.try_send(1).unwrap();
        assert_eq!(out.demand(), 0);
        assert!(matches!(out.try_send(2), Err(TrySendError::Full(2))));
        let waiting = actix_rt::spawn(out.send(3));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiting.is_finished());
        readings.close();
        assert!(matches!(waiting.await.unwrap(), Err(SendError::Closed(3))));
        assert!(out.is_closed());
        assert!(matches!(out.try_send(4), Err(TrySendError::Closed(4))));
        // What was queued before the close is still read, then the end.
        assert_eq!(readings.next().await, Some(1));
        assert_eq!(readings.next().await, None);
    })
    .await;
}

#[actix_rt::test]
async fn a_waiting_sender_is_let_in_as_the_reader_takes_an_item() {
    within(async {
        let (out, mut readings) = Outlet::new(1).unwrap();
        out.try_send(1).unwrap();
        let waiting = actix_rt::spawn(out.send(2));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiting.is_finished());
        assert_eq!(readings.next().await, Some(1));
        waiting.await.unwrap().unwrap();
        assert_eq!(readings.next().await, Some(2));
        drop(out);
        assert_eq!(readings.next().await, None);
    })
    .await;
}

#[test]
fn a_window_of_zero_is_refused() {
    let err = Outlet::<u8>::new(0).unwrap_err();
    assert!(matches!(err, ConfigError::ZeroCapacity { .. }), "{err}");
}

#[actix_rt::test]
async fn dropping_the_reader_drops_what_it_did_not_read() {
    within(async {
        let (out, readings) = Outlet::new(2).unwrap();
        let item = std::sync::Arc::new(());
        out.try_send(std::sync::Arc::clone(&item)).unwrap();
        assert_eq!(out.demand(), 1);
        drop(readings);
        // Dropped with the reader, not kept until the last outlet goes.
        assert_eq!(std::sync::Arc::strong_count(&item), 1);
        assert!(out.is_closed());
        assert_eq!(out.demand(), 0);
    })
    .await;
}
