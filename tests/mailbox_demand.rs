//! Demand: the actor grants room with `Demand::request(n)`, as a Reactive Streams subscriber
//! does (`MailboxConfig::demand`).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_backpressure::prelude::*;
use actix_backpressure::{Demand, SendError, TrySendError};
use common::pipeline::{eventually, on_virtual_time};
use common::{until, within};

#[derive(Message)]
#[rtype(result = "()")]
struct Job;

/// Handles jobs and asks for nothing by itself: the test grants the demand.
struct Idle {
    handled: Arc<AtomicU64>,
}

impl Actor for Idle {
    type Context = Context<Self>;
}

impl Handler<Job> for Idle {
    type Result = ();

    fn handle(&mut self, _: Job, _: &mut Context<Self>) {
        self.handled.fetch_add(1, Ordering::SeqCst);
    }
}

fn idle(config: MailboxConfig) -> (BoundedAddr<Idle>, Demand, Arc<AtomicU64>) {
    let handled = Arc::new(AtomicU64::new(0));
    let mailbox = BoundedMailbox::new(config.demand()).unwrap();
    let demand = mailbox.demand().expect("made with demand");
    let addr = mailbox.start(Idle {
        handled: Arc::clone(&handled),
    });
    (addr, demand, handled)
}

#[actix_rt::test]
async fn a_sender_gets_exactly_the_demand_requested() {
    within(async {
        let (addr, demand, handled) = idle(MailboxConfig::new(4));
        let producer = {
            let addr = addr.clone();
            actix_rt::spawn(async move {
                for _ in 0..10 {
                    addr.tell(Job).await.unwrap();
                }
            })
        };
        // No demand yet: the producer waits and nothing is handled.
        until(|| addr.probe().sample().unwrap().waiting_senders == 1).await;
        assert_eq!(handled.load(Ordering::SeqCst), 0);
        assert_eq!(addr.len(), 0);

        assert_eq!(demand.request(3), 3);
        until(|| handled.load(Ordering::SeqCst) == 3).await;
        until(|| addr.probe().sample().unwrap().waiting_senders == 1).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(handled.load(Ordering::SeqCst), 3, "no more than requested");
        assert_eq!(demand.outstanding(), 0);

        // A request beyond the capacity grants up to it.
        assert_eq!(demand.request(100), 4);
        until(|| handled.load(Ordering::SeqCst) == 7).await;
        assert_eq!(demand.request(3), 3);
        producer.await.unwrap();
        until(|| handled.load(Ordering::SeqCst) == 10).await;
        let stats = addr.stats();
        assert_eq!((stats.enqueued, stats.handled), (10, 10));
        assert_eq!(stats.settled(), stats.offered());
        assert!(stats.sender_blocked > Duration::ZERO);
    })
    .await;
}

#[actix_rt::test]
async fn the_outstanding_demand_never_exceeds_the_capacity() {
    within(async {
        let (addr, demand, _) = idle(MailboxConfig::new(4).policy(OverflowPolicy::Reject));
        // Without demand, a send is refused as when full.
        assert!(matches!(addr.try_send(Job), Err(TrySendError::Full(_))));
        addr.pause();
        assert_eq!(demand.request(10), 4);
        assert_eq!(demand.request(1), 0);
        assert_eq!(addr.probe().sample().unwrap().credits, Some(4));
        for _ in 0..4 {
            addr.try_send(Job).unwrap();
        }
        // Granted and used: none left for a sender, all still outstanding.
        assert_eq!(addr.probe().sample().unwrap().credits, Some(0));
        assert!(matches!(addr.try_send(Job), Err(TrySendError::Full(_))));
        assert_eq!(demand.outstanding(), 4);
        assert_eq!(addr.len(), 4);
        // A shrink grants nothing until the outstanding demand is below it.
        addr.set_capacity(2).unwrap();
        addr.resume();
        until(|| addr.is_empty()).await;
        assert_eq!(demand.outstanding(), 0);
        assert_eq!(demand.request(10), 2);
        // Growing it grants nothing by itself.
        addr.set_capacity(8).unwrap();
        assert_eq!(demand.outstanding(), 2);
        assert_eq!(demand.request(10), 6);
        // A shrink takes back the unused demand beyond the new capacity.
        addr.set_capacity(3).unwrap();
        assert_eq!(demand.outstanding(), 3);
        addr.pause();
        for _ in 0..3 {
            addr.try_send(Job).unwrap();
        }
        assert!(matches!(addr.try_send(Job), Err(TrySendError::Full(_))));
        assert_eq!(addr.len(), 3);
        addr.resume();
        until(|| addr.is_empty()).await;
        let stats = addr.stats();
        assert_eq!((stats.enqueued, stats.rejected), (7, 3));
    })
    .await;
}

#[test]
fn a_shed_message_gives_its_demand_back() {
    on_virtual_time(Duration::from_secs(30), || async {
        let finished = Arc::new(AtomicU64::new(0));
        // A window of 2 and a ttl shorter than the handler: the second message of each pair
        // waits 10 ms behind the first and expires. Were its unit of demand spent, the
        // subscriber (which asks for one more per message it finishes) would run dry.
        let mailbox =
            BoundedMailbox::new(MailboxConfig::new(2).demand().ttl(Duration::from_millis(5)))
                .unwrap();
        let demand = mailbox.demand().unwrap();
        let addr = mailbox.start(Subscriber {
            demand: demand.clone(),
            window: 2,
            finished: Arc::clone(&finished),
        });
        for _ in 0..40 {
            addr.tell(Job).await.unwrap();
        }
        // Every message handled (and its work finished) or shed, and the window back in full.
        eventually(|| {
            let stats = addr.stats();
            stats.settled() == 40
                && finished.load(Ordering::SeqCst) == stats.handled
                && demand.outstanding() == 2
        })
        .await;
        let stats = addr.stats();
        eprintln!("demand with a ttl: {stats:?}");
        assert!(stats.expired > 0, "{stats:?}");
        assert_eq!(stats.handled + stats.expired, 40);
    });
}

#[actix_rt::test]
async fn drop_oldest_switched_to_live_refuses_without_demand() {
    within(async {
        let (addr, demand, handled) = idle(MailboxConfig::new(2));
        addr.set_policy(OverflowPolicy::DropOldest);
        assert!(matches!(addr.try_send(Job), Err(TrySendError::Full(_))));
        assert_eq!(demand.request(1), 1);
        addr.try_send(Job).unwrap();
        until(|| handled.load(Ordering::SeqCst) == 1).await;
        assert_eq!(addr.stats().rejected, 1);
    })
    .await;
}

#[actix_rt::test]
async fn stopping_the_consumer_hands_waiting_messages_back() {
    within(async {
        let (addr, demand, _) = idle(MailboxConfig::new(2));
        let waiting = {
            let addr = addr.clone();
            actix_rt::spawn(async move { addr.tell(Job).await })
        };
        until(|| addr.probe().sample().unwrap().waiting_senders == 1).await;
        let weak = addr.downgrade();
        drop(addr);
        // The last strong handle is the waiting sender's: the mailbox stays open for it.
        assert!(!demand.is_closed());
        let stopper = weak.upgrade().unwrap();
        stopper.control(common::Stop).ok();
        drop(stopper);
        let refused = waiting.await.unwrap();
        assert!(
            matches!(refused, Err(SendError::Closed(Job))),
            "{refused:?}"
        );
        until(|| demand.is_closed()).await;
        assert_eq!(demand.request(5), 0);
        assert_eq!(demand.outstanding(), 0);
    })
    .await;
}

impl Handler<common::Stop> for Idle {
    type Result = ();

    fn handle(&mut self, _: common::Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// Takes 10 ms of virtual time per job and asks for one more as each is finished, after a
/// first request of `window`: the Reactive Streams pattern.
struct Subscriber {
    demand: Demand,
    window: usize,
    finished: Arc<AtomicU64>,
}

impl Actor for Subscriber {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        self.demand.request(self.window);
    }
}

impl Handler<Job> for Subscriber {
    type Result = ();

    fn handle(&mut self, _: Job, ctx: &mut Context<Self>) {
        let finished = Arc::clone(&self.finished);
        let demand = self.demand.clone();
        ctx.wait(actix::fut::wrap_future(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            finished.fetch_add(1, Ordering::SeqCst);
            demand.request(1);
        }));
    }
}

#[test]
fn a_producer_ten_times_faster_keeps_at_most_the_window_in_flight() {
    on_virtual_time(Duration::from_secs(30), || async {
        let finished = Arc::new(AtomicU64::new(0));
        let mailbox = BoundedMailbox::new(MailboxConfig::new(8).demand()).unwrap();
        let demand = mailbox.demand().unwrap();
        let addr = mailbox.start(Subscriber {
            demand,
            window: 8,
            finished: Arc::clone(&finished),
        });
        let mut ticks = tokio::time::interval(Duration::from_millis(1));
        let (mut queued, mut most) = (0u64, 0u64);
        for _ in 0..2000 {
            ticks.tick().await;
            addr.tell(Job).await.unwrap();
            queued += 1;
            most = most.max(queued - finished.load(Ordering::SeqCst));
        }
        eventually(|| finished.load(Ordering::SeqCst) == queued).await;
        eprintln!("demand window 8: at most {most} in flight");
        assert_eq!(most, 8);
        let stats = addr.stats();
        assert_eq!(stats.handled, 2000);
        assert_eq!(stats.settled(), stats.offered());
    });
}
