use actix::prelude::*;
use actix_backpressure::prelude::*;

// Every mistake is reported, in one run, and nothing else: the uses of the type below add
// no errors of their own.
#[derive(Backpressured)]
#[backpressured(capacity = 0, polcy = "block", batch = "16")]
#[backpressured(policy = "drop_olderst", capacity = 8, name = "")]
struct Sloppy;

impl Actor for Sloppy {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Ping;

impl Handler<Ping> for Sloppy {
    type Result = ();

    fn handle(&mut self, _: Ping, _: &mut Context<Self>) {}
}

fn main() {
    let _config = Sloppy::mailbox_config();
    System::new().block_on(async {
        let addr = Sloppy.start_backpressured();
        addr.send(Ping).await.unwrap();
    });
}
