use actix::prelude::*;
use actix_backpressure::prelude::*;
use actix_backpressure::{DEFAULT_BATCH, DEFAULT_CAPACITY};

#[derive(Backpressured)]
struct Plain;

impl Actor for Plain {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "u32")]
struct Ping;

impl Handler<Ping> for Plain {
    type Result = u32;

    fn handle(&mut self, _: Ping, _: &mut Context<Self>) -> u32 {
        7
    }
}

fn main() {
    // The library's defaults: the derive sets nothing.
    let config = Plain::mailbox_config();
    assert_eq!(config.get_capacity(), DEFAULT_CAPACITY);
    assert_eq!(config.get_policy(), OverflowPolicy::Block);
    assert_eq!(config.get_name(), None);
    assert_eq!(config.get_batch(), DEFAULT_BATCH);
    // Named after the type when it starts.
    assert_eq!(Plain::resolved_mailbox_config().get_name(), Some("Plain"));

    System::new().block_on(async {
        let addr = Plain.start_backpressured();
        assert_eq!(addr.capacity(), DEFAULT_CAPACITY);
        assert_eq!(addr.send(Ping).await.unwrap(), 7);
    });
}
