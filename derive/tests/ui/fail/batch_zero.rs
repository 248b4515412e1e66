use actix::prelude::*;
use actix_backpressure::prelude::*;

#[derive(Backpressured)]
#[backpressured(batch = 0)]
struct NoBatch;

impl Actor for NoBatch {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured(batch = -1)]
struct NegativeBatch;

impl Actor for NegativeBatch {
    type Context = Context<Self>;
}

fn main() {}
