// `credits` and `ttl`: a credit window and a time to live, set where the actor is defined.
#![deny(warnings, rust_2018_idioms, unused_qualifications)]

use std::time::Duration;

use actix::prelude::*;
use actix_backpressure::prelude::*;

#[derive(Backpressured)]
#[backpressured(capacity = 8, credits = 4, ttl = "1.5s")]
struct Worker;

impl Actor for Worker {
    type Context = Context<Self>;
}

// Without a capacity, the refill is checked against the default one.
#[derive(Backpressured)]
#[backpressured(credits = 1024, ttl = "250ms")]
struct Defaults;

impl Actor for Defaults {
    type Context = Context<Self>;
}

fn main() {
    let config = <Worker as Backpressured>::mailbox_config();
    assert_eq!(config.get_credits(), Some(4));
    assert_eq!(config.get_ttl(), Some(Duration::from_millis(1500)));
    assert!(config.validate().is_ok());
    let config = <Defaults as Backpressured>::mailbox_config();
    assert_eq!(config.get_credits(), Some(1024));
    assert_eq!(config.get_ttl(), Some(Duration::from_millis(250)));
}
