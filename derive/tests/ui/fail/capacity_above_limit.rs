use actix::prelude::*;
use actix_backpressure::prelude::*;

// Fits in `usize`, but no mailbox is that large: a compile error, not a panic at start.
#[derive(Backpressured)]
#[backpressured(capacity = 16777217)]
struct Vast;

impl Actor for Vast {
    type Context = Context<Self>;
}

fn main() {}
