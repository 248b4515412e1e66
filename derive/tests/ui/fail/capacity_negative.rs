use actix::prelude::*;
use actix_backpressure::prelude::*;

#[derive(Backpressured)]
#[backpressured(capacity = -5)]
struct Negative;

impl Actor for Negative {
    type Context = Context<Self>;
}

fn main() {}
