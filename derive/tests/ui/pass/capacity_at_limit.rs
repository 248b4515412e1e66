use actix::prelude::*;
use actix_backpressure::prelude::*;

// The largest mailbox the runtime accepts compiles.
#[derive(Backpressured)]
#[backpressured(capacity = 16777216)]
struct Largest;

impl Actor for Largest {
    type Context = Context<Self>;
}

fn main() {
    let config = Largest::mailbox_config();
    assert_eq!(config.get_capacity(), actix_backpressure::MAX_CAPACITY);
    assert!(config.validate().is_ok());
}
