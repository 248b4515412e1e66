//! Test actors and helpers shared by the integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

pub mod pipeline;

/// Every test body runs under this limit: a hang is a failure, not a wait.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Runs `fut`, failing the test if it takes longer than [`LIMIT`].
pub async fn within<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(LIMIT, fut)
        .await
        .expect("test timed out")
}

/// An actor that records the items it handles, in order.
#[derive(Default)]
pub struct Recorder {
    pub seen: Arc<Mutex<Vec<u64>>>,
}

impl Recorder {
    pub fn new() -> (Self, Arc<Mutex<Vec<u64>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        (
            Recorder {
                seen: Arc::clone(&seen),
            },
            seen,
        )
    }
}

impl Actor for Recorder {
    type Context = Context<Self>;
}

/// An item; the response is its number.
#[derive(Message, Debug, PartialEq, Eq)]
#[rtype(result = "u64")]
pub struct Item(pub u64);

impl Handler<Item> for Recorder {
    type Result = u64;

    fn handle(&mut self, Item(n): Item, _: &mut Context<Self>) -> u64 {
        self.seen.lock().unwrap().push(n);
        n
    }
}

/// Holds the actor (`ctx.wait`) until the sender of the channel fires or is dropped.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Hold(pub oneshot::Receiver<()>);

impl Handler<Hold> for Recorder {
    type Result = ();

    fn handle(&mut self, Hold(release): Hold, ctx: &mut Context<Self>) {
        ctx.wait(actix::fut::wrap_future(async move {
            let _ = release.await;
        }));
    }
}

/// Stops the actor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

impl Handler<Stop> for Recorder {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// Waits until `cond` holds, polling every millisecond (bounded by the caller's `within`).
pub async fn until(mut cond: impl FnMut() -> bool) {
    while !cond() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Holds the actor until released, then stops it (the `ctx.wait` future calls `ctx.stop()`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct HoldThenStop(pub oneshot::Receiver<()>);

impl Handler<HoldThenStop> for Recorder {
    type Result = ();

    fn handle(&mut self, HoldThenStop(release): HoldThenStop, ctx: &mut Context<Self>) {
        use actix::fut::ActorFutureExt;
        ctx.wait(
            actix::fut::wrap_future::<_, Self>(async move {
                let _ = release.await;
            })
            .map(|(), _, ctx| ctx.stop()),
        );
    }
}

/// A message that counts its own drops, to prove no message leaks or is dropped twice.
#[derive(Message)]
#[rtype(result = "u64")]
pub struct Counted {
    pub n: u64,
    pub drops: Arc<std::sync::atomic::AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Handler<Counted> for Recorder {
    type Result = u64;

    fn handle(&mut self, msg: Counted, _: &mut Context<Self>) -> u64 {
        self.seen.lock().unwrap().push(msg.n);
        msg.n
    }
}

/// Starts a `Recorder` behind `config` and holds it: returns once the `Hold` was taken out of
/// the queue, so the queue is empty and will fill up.
pub async fn held_recorder(
    config: actix_backpressure::MailboxConfig,
) -> (
    actix_backpressure::BoundedAddr<Recorder>,
    Arc<Mutex<Vec<u64>>>,
    oneshot::Sender<()>,
) {
    use actix_backpressure::BoundedActorExt;
    let (actor, seen) = Recorder::new();
    let addr = actor.start_bounded(config);
    let (release, hold) = oneshot::channel();
    addr.tell(Hold(hold)).await.unwrap();
    until(|| addr.is_empty() && addr.stats().handled == 1).await;
    (addr, seen, release)
}
