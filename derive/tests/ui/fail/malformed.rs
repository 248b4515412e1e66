use actix::prelude::*;
use actix_backpressure::prelude::*;

#[derive(Backpressured)]
#[backpressured]
struct Bare;

impl Actor for Bare {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured = "block"]
struct NameValue;

impl Actor for NameValue {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured(capacity, policy = )]
struct MissingValues;

impl Actor for MissingValues {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured(capacity 10)]
struct MissingEquals;

impl Actor for MissingEquals {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured("capacity" = 10)]
struct QuotedKey;

impl Actor for QuotedKey {
    type Context = Context<Self>;
}

fn main() {}
