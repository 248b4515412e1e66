use actix::prelude::*;
use actix_backpressure::prelude::*;

// Nothing to evict when every credit is held by a message being worked on.
#[derive(Backpressured)]
#[backpressured(capacity = 8, policy = "drop_oldest", credits = 4)]
struct Evicting;

impl Actor for Evicting {
    type Context = Context<Self>;
}

fn main() {}
