use actix::prelude::*;
use actix_backpressure::prelude::*;

#[derive(Backpressured)]
#[backpressured(capacity = 99999999999999999999999)]
struct Huge;

impl Actor for Huge {
    type Context = Context<Self>;
}

fn main() {}
