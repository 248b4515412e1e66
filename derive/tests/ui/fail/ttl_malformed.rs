use actix::prelude::*;
use actix_backpressure::prelude::*;

#[derive(Backpressured)]
#[backpressured(ttl = "250")]
struct NoUnit;

impl Actor for NoUnit {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured(ttl = "0s")]
struct Zero;

impl Actor for Zero {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured(ttl = 250)]
struct NotAString;

impl Actor for NotAString {
    type Context = Context<Self>;
}

fn main() {}
