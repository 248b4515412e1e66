//! `WorkerPool`: workers share one exact bound, take the next message when idle, scale within
//! min..=max without losing anything, and a worker that panics is replaced.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_backpressure::{ConfigError, MailboxConfig, TrySendError, WorkerPool};
use common::{until, within};
use tokio::sync::watch;

/// A worker; tracks how many handlers run at once across the pool.
struct Worker {
    busy: Arc<AtomicUsize>,
    most_busy: Arc<AtomicUsize>,
    /// Handlers wait until this is `true`.
    go: watch::Receiver<bool>,
}

#[derive(Message)]
#[rtype(result = "()")]
struct Job;

#[derive(Message)]
#[rtype(result = "()")]
struct Boom;

impl Actor for Worker {
    type Context = Context<Self>;
}

impl Handler<Job> for Worker {
    type Result = ();

    fn handle(&mut self, _: Job, ctx: &mut Context<Self>) {
        let now = self.busy.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_busy.fetch_max(now, Ordering::SeqCst);
        let busy = Arc::clone(&self.busy);
        let mut go = self.go.clone();
        ctx.wait(actix::fut::wrap_future(async move {
            let _ = go.wait_for(|go| *go).await;
            tokio::time::sleep(Duration::from_millis(2)).await;
            busy.fetch_sub(1, Ordering::SeqCst);
        }));
    }
}

impl Handler<Boom> for Worker {
    type Result = ();

    fn handle(&mut self, _: Boom, _: &mut Context<Self>) {
        panic!("a handler panicked (on purpose, in a test)");
    }
}

struct Setup {
    pool: WorkerPool<Worker>,
    busy: Arc<AtomicUsize>,
    most_busy: Arc<AtomicUsize>,
    go: watch::Sender<bool>,
}

fn pool(capacity: usize, min: usize, max: usize) -> Setup {
    let busy = Arc::new(AtomicUsize::new(0));
    let most_busy = Arc::new(AtomicUsize::new(0));
    let (go, rx) = watch::channel(false);
    let (b, m) = (Arc::clone(&busy), Arc::clone(&most_busy));
    let pool = WorkerPool::builder(MailboxConfig::new(capacity).name("pool"), move || Worker {
        busy: Arc::clone(&b),
        most_busy: Arc::clone(&m),
        go: rx.clone(),
    })
    .min(min)
    .max(max)
    .start();
    Setup {
        pool,
        busy,
        most_busy,
        go,
    }
}

#[actix_rt::test]
async fn workers_share_one_exact_bound_and_each_takes_the_next_message() {
    within(async {
        let s = pool(8, 4, 4);
        for _ in 0..12 {
            s.pool.tell(Job).await.unwrap();
        }
        // Four workers each hold one job; eight wait in the shared mailbox, which is full.
        until(|| s.busy.load(Ordering::SeqCst) == 4 && s.pool.len() == 8).await;
        assert!(matches!(s.pool.try_send(Job), Err(TrySendError::Full(Job))));
        s.go.send(true).unwrap();
        until(|| s.pool.stats().handled == 12).await;
        assert_eq!(s.most_busy.load(Ordering::SeqCst), 4);
        let per_worker: Vec<u64> = s.pool.worker_stats().iter().map(|w| w.handled).collect();
        assert_eq!(per_worker.len(), 4);
        assert_eq!(per_worker.iter().sum::<u64>(), 12);
        assert!(per_worker.iter().all(|&n| n >= 1), "{per_worker:?}");
        let stats = s.pool.stats();
        assert_eq!((stats.enqueued, stats.rejected), (12, 1));
    })
    .await;
}

#[actix_rt::test]
async fn scaling_stays_within_bounds_and_a_scale_down_loses_nothing() {
    within(async {
        let s = pool(100, 1, 4);
        assert_eq!(s.pool.workers(), 1);
        assert_eq!(s.pool.scale_to(10), 4);
        assert_eq!(s.pool.workers(), 4);
        for _ in 0..40 {
            s.pool.tell(Job).await.unwrap();
        }
        until(|| s.busy.load(Ordering::SeqCst) == 4).await;
        // Three workers retire, each after the job it holds; the 36 queued jobs stay.
        assert_eq!(s.pool.scale_to(0), 1);
        assert_eq!(s.pool.workers(), 1);
        assert_eq!(s.pool.len(), 36);
        s.go.send(true).unwrap();
        until(|| s.pool.stats().handled == 40).await;
        until(|| s.pool.worker_stats().len() == 1).await;
        let stats = s.pool.stats();
        assert_eq!(stats.settled(), 40, "nothing lost: {stats:?}");
        assert_eq!(s.pool.replaced(), 0);
    })
    .await;
}

#[actix_rt::test]
async fn a_worker_that_panics_is_replaced_and_the_pool_keeps_serving() {
    within(async {
        let s = pool(16, 2, 2);
        s.go.send(true).unwrap();
        s.pool.tell(Boom).await.unwrap();
        for _ in 0..10 {
            s.pool.tell(Job).await.unwrap();
        }
        until(|| s.pool.stats().handled == 11).await;
        until(|| s.pool.replaced() == 1).await;
        assert_eq!(s.pool.workers(), 2);
        // The replacement serves too.
        for _ in 0..10 {
            s.pool.send(Job).await.unwrap();
        }
        assert_eq!(s.pool.stats().handled, 21);
    })
    .await;
}

#[actix_rt::test]
async fn dropping_the_pool_drains_it_and_stops_every_worker() {
    within(async {
        let s = pool(16, 3, 3);
        for _ in 0..10 {
            s.pool.tell(Job).await.unwrap();
        }
        let probe = s.pool.probe();
        let stats_of = s.pool.clone();
        drop(s.pool);
        s.go.send(true).unwrap();
        until(|| stats_of.stats().handled == 10).await;
        drop(stats_of);
        until(|| probe.sample().is_none()).await;
    })
    .await;
}

#[actix_rt::test]
async fn pool_sizes_out_of_order_are_refused() {
    within(async {
        let make = || {
            WorkerPool::builder(MailboxConfig::new(4).name("sizes"), || Worker {
                busy: Arc::default(),
                most_busy: Arc::default(),
                go: watch::channel(true).1,
            })
        };
        let err = make().min(3).max(2).try_start().unwrap_err();
        assert_eq!(
            err,
            ConfigError::PoolSize {
                mailbox: "sizes".into(),
                min: 3,
                initial: 3,
                max: 2
            }
        );
        assert!(
            err.to_string().contains("1 <= min <= initial <= max"),
            "{err}"
        );
        assert!(make().min(0).try_start().is_err());
        assert!(make().min(1).max(2).initial(3).try_start().is_err());
        assert!(matches!(
            WorkerPool::builder(MailboxConfig::new(0), || Worker {
                busy: Arc::default(),
                most_busy: Arc::default(),
                go: watch::channel(true).1,
            })
            .try_start(),
            Err(ConfigError::ZeroCapacity { .. })
        ));
    })
    .await;
}

/// A worker that stops as soon as it starts.
struct Quitter;

impl Actor for Quitter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Handler<Job> for Quitter {
    type Result = ();

    fn handle(&mut self, _: Job, _: &mut Context<Self>) {}
}

#[actix_rt::test]
async fn workers_that_keep_dying_are_replaced_with_a_growing_delay() {
    within(async {
        let pool = WorkerPool::builder(MailboxConfig::new(4).name("quitters"), || Quitter).start();
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Without a delay this is tens of thousands; with 0, 0, 10, 20, 40, 80, 160 ms ...
        let replaced = pool.replaced();
        assert!(
            (3..=12).contains(&replaced),
            "{replaced} replacements in 300 ms"
        );
        assert_eq!(pool.workers(), 1);
    })
    .await;
}

#[actix_rt::test]
async fn a_pool_whose_arbiter_stops_closes_its_mailbox() {
    within(async {
        let arbiter = Arbiter::new();
        let s = {
            let (go, rx) = watch::channel(true);
            let pool = WorkerPool::builder(MailboxConfig::new(4).name("orphans"), move || Worker {
                busy: Arc::default(),
                most_busy: Arc::default(),
                go: rx.clone(),
            })
            .min(2)
            .max(2)
            .arbiters(vec![arbiter.handle()])
            .start();
            (pool, go)
        };
        s.0.send(Job).await.unwrap();
        arbiter.stop();
        let pool = s.0.clone();
        tokio::task::spawn_blocking(move || arbiter.join())
            .await
            .unwrap()
            .unwrap();
        // No worker can run any more: senders are told, not left waiting.
        until(|| pool.is_closed()).await;
        assert!(matches!(
            pool.send(Job).await,
            Err(actix_backpressure::SendError::Closed(Job))
        ));
        assert_eq!(pool.workers(), 0);
    })
    .await;
}
