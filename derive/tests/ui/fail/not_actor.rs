use actix_backpressure::prelude::*;

#[derive(Backpressured)]
#[backpressured(capacity = 8)]
struct Plain {
    count: u32,
}

fn main() {
    let _config = Plain::mailbox_config();
    let _plain = Plain { count: 0 };
}
