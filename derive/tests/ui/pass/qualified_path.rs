// No imports: the derive and everything it generates go through `::actix_backpressure`.

#[derive(actix_backpressure::Backpressured)]
#[backpressured(capacity = 3, policy = "reject", name = "quiet")]
struct Quiet;

impl actix::Actor for Quiet {
    type Context = actix::Context<Self>;
}

struct Ping;

impl actix::Message for Ping {
    type Result = ();
}

impl actix::Handler<Ping> for Quiet {
    type Result = ();

    fn handle(&mut self, _: Ping, _: &mut actix::Context<Self>) {}
}

fn main() {
    use actix_backpressure::{Backpressured, BackpressuredExt};

    assert_eq!(Quiet::mailbox_config().get_capacity(), 3);
    assert_eq!(Quiet::mailbox_config().get_name(), Some("quiet"));
    actix::System::new().block_on(async {
        let addr = Quiet.start_backpressured();
        addr.send(Ping).await.unwrap();
        assert_eq!(addr.stats().offered(), 1);
    });
}
