use actix::prelude::*;
use actix_backpressure::prelude::*;

#[derive(Backpressured)]
#[backpressured(capacity = "10")]
struct QuotedCapacity;

impl Actor for QuotedCapacity {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured(policy = 3)]
struct NumericPolicy;

impl Actor for NumericPolicy {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured(name = 5)]
struct NumericName;

impl Actor for NumericName {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured(batch = 1.5, policy = OverflowPolicy::DropOldest)]
struct FloatAndPath;

impl Actor for FloatAndPath {
    type Context = Context<Self>;
}

const CAPACITY: usize = 8;

#[derive(Backpressured)]
#[backpressured(capacity = CAPACITY, name = ingest)]
struct Constants;

impl Actor for Constants {
    type Context = Context<Self>;
}

fn main() {}
