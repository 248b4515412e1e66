use actix::prelude::*;
use actix_backpressure::prelude::*;

#[derive(Backpressured)]
#[backpressured(capacity = 10, policy = "block", capacity = 20)]
struct SameAttribute;

impl Actor for SameAttribute {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured(policy = "reject")]
#[backpressured(policy = "reject")]
struct SplitAttributes;

impl Actor for SplitAttributes {
    type Context = Context<Self>;
}

fn main() {}
