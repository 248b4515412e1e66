use actix::prelude::*;
use actix_backpressure::prelude::*;

#[derive(Backpressured)]
#[backpressured(capcity = 10)]
struct Misspelt;

impl Actor for Misspelt {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured(size = 10, policy = "reject")]
struct Unknown;

impl Actor for Unknown {
    type Context = Context<Self>;
}

fn main() {}
