use actix::prelude::*;
use actix_backpressure::prelude::*;

// An actor, but one that runs on a `SyncArbiter`, not in a `Context<Self>`.
#[derive(Backpressured)]
struct Blocking;

impl Actor for Blocking {
    type Context = SyncContext<Self>;
}

fn main() {}
