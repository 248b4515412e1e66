//! Test actors and helpers shared by the integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

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
