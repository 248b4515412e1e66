use actix::prelude::*;
use actix_backpressure::prelude::*;

#[derive(Backpressured)]
#[backpressured(policy = "drop_olderst")]
struct Typo;

impl Actor for Typo {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured(policy = "DropNewest")]
struct CamelCase;

impl Actor for CamelCase {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured(policy = "dropHead")]
struct AkkaName;

impl Actor for AkkaName {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured(policy = "drop_latest")]
struct Ambiguous;

impl Actor for Ambiguous {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured(policy = "fast")]
struct Unrelated;

impl Actor for Unrelated {
    type Context = Context<Self>;
}

fn main() {}
