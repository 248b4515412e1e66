use actix::prelude::*;
use actix_backpressure::prelude::*;

#[derive(Backpressured)]
#[backpressured(capacity = 8, credits = 9)]
struct Window;

impl Actor for Window {
    type Context = Context<Self>;
}

fn main() {}
