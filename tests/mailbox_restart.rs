//! A supervised actor restarted after a failure keeps its queue and keeps serving.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use actix_backpressure::prelude::*;
use common::*;
use tokio::sync::oneshot;

struct Fragile {
    seen: Arc<Mutex<Vec<u64>>>,
    restarts: Arc<AtomicUsize>,
    stopped: Option<oneshot::Sender<()>>,
}

impl Actor for Fragile {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Context<Self>) {
        // Called on every stop, restarts included; only the last one finds every sender gone.
        if self.restarts.load(Ordering::SeqCst) > 0 {
            if let Some(tx) = self.stopped.take() {
                let _ = tx.send(());
            }
        }
    }
}

impl Supervised for Fragile {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.restarts.fetch_add(1, Ordering::SeqCst);
    }
}

impl Handler<Item> for Fragile {
    type Result = u64;

    fn handle(&mut self, Item(n): Item, ctx: &mut Context<Self>) -> u64 {
        self.seen.lock().unwrap().push(n);
        if n == 0 {
            // Item 0 makes the actor fail: it stops, and the supervisor restarts it.
            ctx.stop();
        }
        n
    }
}

impl Handler<Hold> for Fragile {
    type Result = ();

    fn handle(&mut self, Hold(release): Hold, ctx: &mut Context<Self>) {
        ctx.wait(actix::fut::wrap_future(async move {
            let _ = release.await;
        }));
    }
}

#[actix_rt::test]
async fn a_restart_keeps_the_queue_and_the_actor_keeps_serving() {
    within(async {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let restarts = Arc::new(AtomicUsize::new(0));
        let (stopped_tx, stopped) = oneshot::channel();
        let actor = Fragile {
            seen: Arc::clone(&seen),
            restarts: Arc::clone(&restarts),
            stopped: Some(stopped_tx),
        };
        let addr = BoundedMailbox::new(MailboxConfig::new(8))
            .unwrap()
            .start_supervised(move |_| actor);
        let (release, hold) = oneshot::channel();
        addr.tell(Hold(hold)).await.unwrap();
        for n in [1, 0, 2, 3] {
            addr.tell(Item(n)).await.unwrap();
        }
        release.send(()).unwrap();
        until(|| seen.lock().unwrap().len() == 4).await;
        assert_eq!(*seen.lock().unwrap(), vec![1, 0, 2, 3]);
        assert_eq!(restarts.load(Ordering::SeqCst), 1);
        // Still serving after the restart, through the same handle.
        assert_eq!(addr.send(Item(4)).await.unwrap(), 4);
        assert!(!addr.is_closed());
        let stats = addr.stats();
        assert_eq!((stats.handled, stats.stopped), (6, 0));
        // With every handle gone it stops for good instead of restarting forever.
        drop(addr);
        stopped.await.expect("the supervised actor stopped");
        assert_eq!(restarts.load(Ordering::SeqCst), 1);
    })
    .await;
}

#[actix_rt::test]
async fn a_supervised_actor_in_another_arbiter_restarts_too() {
    within(async {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let restarts = Arc::new(AtomicUsize::new(0));
        let actor = Fragile {
            seen: Arc::clone(&seen),
            restarts: Arc::clone(&restarts),
            stopped: None,
        };
        let arbiter = Arbiter::new();
        let addr = BoundedMailbox::new(MailboxConfig::new(4))
            .unwrap()
            .start_supervised_in_arbiter(&arbiter.handle(), move |_| actor);
        assert_eq!(addr.send(Item(0)).await.unwrap(), 0);
        assert_eq!(addr.send(Item(1)).await.unwrap(), 1);
        assert_eq!(restarts.load(Ordering::SeqCst), 1);
        arbiter.stop();
    })
    .await;
}

#[actix_rt::test]
async fn waiting_senders_and_queued_requests_survive_a_restart() {
    within(async {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let restarts = Arc::new(AtomicUsize::new(0));
        let actor = Fragile {
            seen: Arc::clone(&seen),
            restarts: Arc::clone(&restarts),
            stopped: None,
        };
        let addr = BoundedMailbox::new(MailboxConfig::new(2))
            .unwrap()
            .start_supervised(move |_| actor);
        let (release, hold) = oneshot::channel();
        addr.tell(Hold(hold)).await.unwrap();
        until(|| addr.is_empty() && addr.stats().handled == 1).await;
        addr.tell(Item(1)).await.unwrap();
        // A queued request whose handler stops the actor, then a sender waiting for room.
        let requester = addr.clone();
        let request = actix_rt::spawn(async move { requester.send(Item(0)).await });
        until(|| addr.len() == 2).await;
        let waiter = addr.clone();
        let waiting = actix_rt::spawn(async move { waiter.tell(Item(5)).await });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "the sender waits for room");

        release.send(()).unwrap();
        assert_eq!(
            request.await.unwrap().unwrap(),
            0,
            "the request was answered before the stop"
        );
        waiting.await.unwrap().unwrap();
        until(|| seen.lock().unwrap().len() == 3).await;
        assert_eq!(*seen.lock().unwrap(), vec![1, 0, 5]);
        assert_eq!(restarts.load(Ordering::SeqCst), 1);
        assert_eq!(addr.stats().stopped, 0);
    })
    .await;
}
