use actix::prelude::*;
use actix_backpressure::prelude::*;

/// Doc comments and other attributes may sit between them.
#[derive(Backpressured)]
#[backpressured(capacity = 1_000)]
#[allow(dead_code)]
#[backpressured(policy = "drop_newest")]
#[backpressured(name = "audit-log", batch = 2,)]
#[backpressured()]
struct Audit {
    lines: usize,
}

impl Actor for Audit {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "usize")]
struct Line;

impl Handler<Line> for Audit {
    type Result = usize;

    fn handle(&mut self, _: Line, _: &mut Context<Self>) -> usize {
        self.lines += 1;
        self.lines
    }
}

fn main() {
    let config = Audit::mailbox_config();
    assert_eq!(config.get_capacity(), 1000);
    assert_eq!(config.get_policy(), OverflowPolicy::DropNewest);
    assert_eq!(config.get_name(), Some("audit-log"));
    assert_eq!(config.get_batch(), 2);

    System::new().block_on(async {
        let addr = Audit { lines: 0 }.start_backpressured();
        assert_eq!(addr.policy(), OverflowPolicy::DropNewest);
        assert_eq!(addr.send(Line).await.unwrap(), 1);
    });
}
