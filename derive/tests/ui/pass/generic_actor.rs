// The generated code must not warn, even under strict lints.
#![deny(warnings, rust_2018_idioms, unused_qualifications)]

use std::fmt::Debug;
use std::marker::PhantomData;

use actix::prelude::*;
use actix_backpressure::prelude::*;

// The type has a where clause and a const parameter; its `Actor` impl needs bounds the type
// does not have (`T: Unpin + 'static`), which the derive must not require to be repeated.
#[derive(Backpressured)]
#[backpressured(capacity = 32usize, policy = "reject")]
struct Collector<T, const N: usize>
where
    T: Debug,
{
    items: Vec<T>,
}

impl<T: Debug + Unpin + 'static, const N: usize> Actor for Collector<T, N> {
    type Context = Context<Self>;
}

struct Push<T>(T);

impl<T: 'static> Message for Push<T> {
    type Result = usize;
}

impl<T: Debug + Unpin + 'static, const N: usize> Handler<Push<T>> for Collector<T, N> {
    type Result = usize;

    fn handle(&mut self, Push(item): Push<T>, _: &mut Context<Self>) -> usize {
        if self.items.len() < N {
            self.items.push(item);
        }
        self.items.len()
    }
}

// A lifetime-free generic wrapper around another type parameter, with a default.
#[derive(Backpressured)]
#[backpressured(batch = 4)]
struct Relay<M: 'static = u8> {
    _marker: PhantomData<fn() -> M>,
}

impl<M: 'static> Actor for Relay<M> {
    type Context = Context<Self>;
}

fn main() {
    let config = <Collector<String, 2> as Backpressured>::mailbox_config();
    assert_eq!(config.get_capacity(), 32);
    assert_eq!(config.get_policy(), OverflowPolicy::Reject);
    assert_eq!(<Relay as Backpressured>::mailbox_config().get_batch(), 4);
    assert_eq!(
        Collector::<u32, 1>::resolved_mailbox_config().get_name(),
        Some("Collector<u32, 1>")
    );

    System::new().block_on(async {
        let addr = Collector::<&'static str, 2> { items: Vec::new() }.start_backpressured();
        assert_eq!(addr.capacity(), 32);
        assert_eq!(addr.send(Push("a")).await.unwrap(), 1);
        let _relay = Relay::<u16> {
            _marker: PhantomData,
        }
        .start_backpressured();
    });
}
