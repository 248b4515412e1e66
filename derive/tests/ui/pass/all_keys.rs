// The generated code must not warn, even under strict lints.
#![deny(warnings, rust_2018_idioms, unused_qualifications)]

use actix::prelude::*;
use actix_backpressure::prelude::*;

#[derive(Backpressured)]
#[backpressured(capacity = 64, policy = "drop_oldest", name = "ingest", batch = 8)]
struct Ingest {
    total: u64,
}

impl Actor for Ingest {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "u64")]
struct Reading(u64);

impl Handler<Reading> for Ingest {
    type Result = u64;

    fn handle(&mut self, Reading(value): Reading, _: &mut Context<Self>) -> u64 {
        self.total += value;
        self.total
    }
}

fn main() {
    let config = <Ingest as Backpressured>::mailbox_config();
    assert_eq!(config.get_capacity(), 64);
    assert_eq!(config.get_policy(), OverflowPolicy::DropOldest);
    assert_eq!(config.get_name(), Some("ingest"));
    assert_eq!(config.get_batch(), 8);

    System::new().block_on(async {
        let addr = Ingest { total: 0 }.start_backpressured();
        assert_eq!(addr.capacity(), 64);
        assert_eq!(addr.policy(), OverflowPolicy::DropOldest);
        assert_eq!(addr.send(Reading(5)).await.unwrap(), 5);
    });
}
