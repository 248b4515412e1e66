use actix::prelude::*;
use actix_backpressure::prelude::*;

#[derive(Backpressured)]
#[backpressured(name = "")]
struct Nameless;

impl Actor for Nameless {
    type Context = Context<Self>;
}

fn main() {}
