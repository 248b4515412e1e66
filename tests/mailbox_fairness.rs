//! Fairness: an actor with a backlog yields to its arbiter after each batch, and a producer
//! whose sends never wait does not starve the actor it floods.

mod common;

use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_backpressure::prelude::*;
use common::*;

/// Spends about `cost` of CPU per message.
struct Busy {
    cost: Duration,
}

impl Actor for Busy {
    type Context = Context<Self>;
}

impl Handler<Item> for Busy {
    type Result = u64;

    fn handle(&mut self, Item(n): Item, _: &mut Context<Self>) -> u64 {
        let start = Instant::now();
        while start.elapsed() < self.cost {
            std::hint::spin_loop();
        }
        n
    }
}

/// A neighbour on the same arbiter: reports how much backlog the busy actor has left when it
/// gets to run.
struct Neighbour {
    busy: BoundedAddr<Busy>,
}

impl Actor for Neighbour {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "usize")]
struct Backlog;

impl Handler<Backlog> for Neighbour {
    type Result = usize;

    fn handle(&mut self, _: Backlog, _: &mut Context<Self>) -> usize {
        self.busy.len()
    }
}

/// Fills a busy actor's mailbox with 1000 messages, then asks its neighbour on the same
/// arbiter how many were still queued when the neighbour got to run.
async fn backlog_left_when_a_neighbour_runs(batch: usize) -> usize {
    let busy = Busy {
        cost: Duration::from_micros(20),
    }
    .start_bounded(MailboxConfig::new(1000).batch(batch));
    let neighbour = Neighbour { busy: busy.clone() }.start_bounded(MailboxConfig::new(1));
    for n in 0..1000 {
        busy.try_send(Item(n)).unwrap();
    }
    neighbour.send(Backlog).await.unwrap()
}

#[actix_rt::test]
async fn a_backlog_yields_to_other_actors_after_each_batch() {
    within(async {
        let left = backlog_left_when_a_neighbour_runs(16).await;
        assert!(
            left > 500,
            "the neighbour waited for {} of 1000 messages",
            1000 - left
        );
    })
    .await;
}

#[actix_rt::test]
async fn without_batches_the_backlog_runs_first() {
    // The counterpart that shows the test above can fail: one huge batch drains it all.
    within(async {
        assert_eq!(backlog_left_when_a_neighbour_runs(usize::MAX).await, 0);
    })
    .await;
}

#[actix_rt::test]
async fn a_producer_looping_on_sends_that_never_wait_does_not_starve_the_actor() {
    within(async {
        let (actor, _) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(64).policy(OverflowPolicy::DropOldest));
        const SENT: u64 = 100_000;
        for n in 0..SENT {
            // Never waits under `DropOldest`.
            addr.tell(Item(n)).await.unwrap();
        }
        // Read before this task yields again: what the actor handled *during* the flood.
        let handled = addr.stats().handled;
        assert!(
            handled > SENT / 20,
            "the actor handled only {handled} of {SENT} during the flood"
        );
    })
    .await;
}
