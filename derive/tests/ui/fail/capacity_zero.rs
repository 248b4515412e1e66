use actix::prelude::*;
use actix_backpressure::prelude::*;

#[derive(Backpressured)]
#[backpressured(capacity = 0)]
struct Empty;

impl Actor for Empty {
    type Context = Context<Self>;
}

fn main() {}
