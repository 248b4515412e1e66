//! A first look at the API: an actor behind a bounded mailbox of 2 messages, fed with each
//! send method until the full mailbox hands a message back. `cargo run --example hello`
use actix::prelude::*;
use actix_backpressure::prelude::*;

/// Adds numbers up.
struct Adder(u64);

impl Actor for Adder {
    type Context = Context<Self>;
}

/// A number to add; the answer is the running total.
#[derive(Message)]
#[rtype(result = "u64")]
struct Add(u64);

impl Handler<Add> for Adder {
    type Result = u64;

    fn handle(&mut self, Add(n): Add, _: &mut Context<Self>) -> u64 {
        self.0 += n;
        self.0
    }
}

fn main() {
    System::new().block_on(async {
        // At most 2 messages wait; when the mailbox is full, `send` and `tell` wait for room
        // (`Block`, the default policy) and `try_send` refuses. Or configure it where the actor
        // is defined: `#[derive(Backpressured)] #[backpressured(capacity = 2)]`, then
        // `Adder(0).start_backpressured()`.
        let addr = Adder(0).start_bounded(MailboxConfig::new(2).policy(OverflowPolicy::Block));
        let (name, capacity, policy) = (addr.name(), addr.capacity(), addr.policy());
        println!("mailbox `{name}`: capacity {capacity}, policy {policy}");

        // Request / response: queue the message, then wait for the handler's answer. (An
        // error, `SendError`, hands back any message it could not queue, as `try_send`'s does.)
        println!("send(Add(1)): total {}", addr.send(Add(1)).await.unwrap());
        // Fire and forget: returns once the message is queued (waiting for room if need be).
        addr.tell(Add(2)).await.unwrap();
        // `try_send` never waits. The actor runs only when this task waits, so Add(2) is still
        // queued: Add(3) takes the last slot, and the full mailbox hands the others back.
        for n in [3, 4, 5] {
            match addr.try_send(Add(n)) {
                Ok(()) => println!("try_send(Add({n})): queued, {} of {capacity}", addr.len()),
                Err(err) => {
                    let reason = err.to_string(); // e.g. "mailbox full, message rejected"
                    let Add(back) = err.into_inner(); // the message, handed back
                    println!("try_send(Add({n})): {reason}, Add({back}) handed back");
                }
            }
        }
        // Under `Block`, `send` waits until the actor has made room: 1 + 2 + 3 + 10.
        println!("send(Add(10)): total {}", addr.send(Add(10)).await.unwrap());

        // Every message offered is counted by outcome.
        let stats = addr.stats();
        let (offered, queued, refused) = (stats.offered(), stats.enqueued, stats.rejected);
        println!("stats: {offered} offered = {queued} queued + {refused} refused");
    });
}
