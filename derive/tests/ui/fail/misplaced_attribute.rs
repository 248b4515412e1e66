use actix::prelude::*;
use actix_backpressure::prelude::*;

#[derive(Backpressured)]
struct Worker {
    #[backpressured(capacity = 8)]
    queue: Vec<u8>,
}

impl Actor for Worker {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
enum State {
    #[backpressured(policy = "reject")]
    Idle,
    Busy(#[backpressured(batch = 2)] u8),
}

impl Actor for State {
    type Context = Context<Self>;
}

fn main() {}
