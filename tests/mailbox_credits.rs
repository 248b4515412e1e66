//! Credits: the capacity as a window of messages in flight, granted back by the actor as it
//! finishes them (`MailboxConfig::credits`).

mod common;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_backpressure::prelude::*;
use common::pipeline::{eventually, on_virtual_time};
use common::within;

#[derive(Message)]
#[rtype(result = "()")]
struct Job;

/// Counts what the producer queued and what the worker finished, and the most in flight
/// (queued or being worked on) ever seen.
#[derive(Default)]
struct Flight {
    queued: AtomicU64,
    finished: AtomicU64,
    most: AtomicU64,
}

impl Flight {
    fn observe(&self) {
        let in_flight = self.queued.load(Ordering::SeqCst) - self.finished.load(Ordering::SeqCst);
        self.most.fetch_max(in_flight, Ordering::SeqCst);
    }
}

/// Takes 10 ms of virtual time per job.
struct Slow {
    flight: Arc<Flight>,
}

impl Actor for Slow {
    type Context = Context<Self>;
}

impl Handler<Job> for Slow {
    type Result = ();

    fn handle(&mut self, _: Job, ctx: &mut Context<Self>) {
        self.flight.observe();
        let flight = Arc::clone(&self.flight);
        ctx.wait(actix::fut::wrap_future(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            flight.finished.fetch_add(1, Ordering::SeqCst);
        }));
    }
}

/// A producer ten times faster than the worker (a job a millisecond, for 2 s) through
/// `config`; returns the most jobs in flight and the mailbox's stats.
async fn flood(config: MailboxConfig) -> (u64, MailboxStats) {
    let flight = Arc::new(Flight::default());
    let addr = Slow {
        flight: Arc::clone(&flight),
    }
    .start_bounded(config);
    let mut ticks = tokio::time::interval(Duration::from_millis(1));
    for _ in 0..2000 {
        ticks.tick().await;
        addr.tell(Job).await.expect("Block waits");
        flight.queued.fetch_add(1, Ordering::SeqCst);
        flight.observe();
    }
    let queued = flight.queued.load(Ordering::SeqCst);
    eventually(|| flight.finished.load(Ordering::SeqCst) == queued).await;
    (flight.most.load(Ordering::SeqCst), addr.stats())
}

#[test]
fn a_window_of_8_keeps_at_most_8_in_flight_where_a_mailbox_of_8_lets_9() {
    on_virtual_time(Duration::from_secs(30), || async {
        let (most, stats) = flood(MailboxConfig::new(8).credits(4)).await;
        eprintln!("credits window 8, refill 4: at most {most} in flight; {stats:?}");
        assert!(most <= 8, "{most} in flight");
        assert_eq!(most, 8, "the window is used");
        assert!(stats.sender_blocked > Duration::ZERO);
        assert_eq!(stats.handled, stats.offered());
        assert_eq!(stats.settled(), stats.offered());

        // The same through a plain mailbox of 8: the job being worked on is not counted.
        let (most, _) = flood(MailboxConfig::new(8)).await;
        eprintln!("plain mailbox of 8: at most {most} in flight");
        assert_eq!(most, 9);
    });
}

/// Fails (stops, to be restarted by its supervisor) on every fifth item.
struct Fragile {
    handled: Arc<AtomicUsize>,
}

impl Actor for Fragile {
    type Context = Context<Self>;
}

impl Supervised for Fragile {}

impl Handler<common::Item> for Fragile {
    type Result = u64;

    fn handle(&mut self, common::Item(n): common::Item, ctx: &mut Context<Self>) -> u64 {
        self.handled.fetch_add(1, Ordering::SeqCst);
        if n % 5 == 0 {
            ctx.stop();
        }
        n
    }
}

#[actix_rt::test]
async fn credits_survive_supervised_restarts() {
    within(async {
        let handled = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&handled);
        // A window of 2: two credits lost on a restart would hold the producer for good.
        let addr = BoundedMailbox::new(MailboxConfig::new(2).credits(1))
            .unwrap()
            .start_supervised(move |_| Fragile {
                handled: Arc::clone(&counter),
            });
        for n in 1..=40 {
            addr.tell(common::Item(n)).await.unwrap();
        }
        eventually(|| handled.load(Ordering::SeqCst) == 40).await;
        let stats = addr.stats();
        assert_eq!((stats.enqueued, stats.handled), (40, 40));
        assert_eq!(addr.capacity(), 2);
    })
    .await;
}

#[test]
fn bad_credit_settings_are_refused_with_what_is_wrong() {
    let err = MailboxConfig::new(4)
        .name("q")
        .credits(5)
        .validate()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "mailbox `q`: credits need 1 <= refill <= capacity and a policy other than drop_oldest, got refill 5, capacity 4, policy block"
    );
    assert!(MailboxConfig::new(4).credits(0).validate().is_err());
    let drop_oldest = MailboxConfig::new(4)
        .policy(OverflowPolicy::DropOldest)
        .credits(2);
    assert!(drop_oldest.validate().is_err());
}

/// A pool worker of its own speed: it takes `cost` of virtual time per job, and counts its
/// jobs and the time it spent on them.
struct Puller {
    slot: Arc<(AtomicU64, AtomicU64)>,
    cost: Duration,
}

impl Actor for Puller {
    type Context = Context<Self>;
}

impl Handler<Job> for Puller {
    type Result = ();

    fn handle(&mut self, _: Job, ctx: &mut Context<Self>) {
        let slot = Arc::clone(&self.slot);
        let cost = self.cost;
        ctx.wait(actix::fut::wrap_future(async move {
            let started = tokio::time::Instant::now();
            tokio::time::sleep(cost).await;
            slot.0.fetch_add(1, Ordering::SeqCst);
            let busy = u64::try_from(started.elapsed().as_nanos()).unwrap();
            slot.1.fetch_add(busy, Ordering::SeqCst);
        }));
    }
}

#[test]
fn a_pool_of_four_speeds_pulls_work_in_proportion_to_each_worker_s_speed() {
    on_virtual_time(Duration::from_secs(60), || async {
        const COSTS_MS: [u64; 4] = [2, 4, 8, 16];
        let slots: Arc<Vec<Arc<(AtomicU64, AtomicU64)>>> = Arc::new(
            (0..4)
                .map(|_| Arc::new((AtomicU64::new(0), AtomicU64::new(0))))
                .collect(),
        );
        let next = Arc::new(AtomicUsize::new(0));
        let factory_slots = Arc::clone(&slots);
        let pool = WorkerPool::builder(MailboxConfig::new(8).credits(1), move || {
            let i = next.fetch_add(1, Ordering::SeqCst) % 4;
            Puller {
                slot: Arc::clone(&factory_slots[i]),
                cost: Duration::from_millis(COSTS_MS[i]),
            }
        })
        .min(4)
        .max(4)
        .start();
        let run = Duration::from_secs(4);
        let start = tokio::time::Instant::now();
        while start.elapsed() < run {
            pool.addr().tell(Job).await.expect("Block waits");
        }
        let sent = pool.addr().stats().enqueued;
        eventually(|| {
            slots
                .iter()
                .map(|s| s.0.load(Ordering::SeqCst))
                .sum::<u64>()
                == sent
        })
        .await;
        let elapsed = start.elapsed();

        let counts: Vec<f64> = slots
            .iter()
            .map(|s| s.0.load(Ordering::SeqCst) as f64)
            .collect();
        let busy: Vec<f64> = slots
            .iter()
            .map(|s| Duration::from_nanos(s.1.load(Ordering::SeqCst)).as_secs_f64())
            .collect();
        // Speed: jobs per second of work, as measured (Tokio's timer rounds each sleep up).
        let speeds: Vec<f64> = counts.iter().zip(&busy).map(|(c, b)| c / b).collect();
        let total: f64 = counts.iter().sum();
        let total_speed: f64 = speeds.iter().sum();
        for i in 0..4 {
            let share = counts[i] / total;
            let expected = speeds[i] / total_speed;
            eprintln!(
                "worker of {} ms: {} jobs, share {share:.3}, its speed's share {expected:.3}, busy {:.2} of {:.2} s",
                COSTS_MS[i], counts[i], busy[i], elapsed.as_secs_f64()
            );
            assert!(
                (share - expected).abs() <= 0.02,
                "worker {i}: {share:.3} vs {expected:.3}"
            );
            // Pulling: no worker waits for work while the producer has more.
            assert!(
                busy[i] >= 0.95 * run.as_secs_f64(),
                "worker {i} busy {:.2} s",
                busy[i]
            );
        }
        assert!(counts[0] > 3.0 * counts[3], "{counts:?}");
        let stats = pool.addr().stats();
        assert_eq!(stats.settled(), stats.offered());
    });
}
