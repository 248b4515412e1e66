// The generated code must not warn, even under strict lints.
#![deny(warnings, rust_2018_idioms, unused_qualifications)]

use actix::prelude::*;
use actix_backpressure::prelude::*;

// actix actors may be enums.
#[derive(Backpressured)]
#[backpressured(capacity = 4, policy = "block")]
enum Light {
    Off,
    On { level: u8 },
}

impl Actor for Light {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "u8")]
struct Toggle;

impl Handler<Toggle> for Light {
    type Result = u8;

    fn handle(&mut self, _: Toggle, _: &mut Context<Self>) -> u8 {
        *self = match self {
            Light::Off => Light::On { level: 255 },
            Light::On { .. } => Light::Off,
        };
        match self {
            Light::Off => 0,
            Light::On { level } => *level,
        }
    }
}

fn main() {
    let config = Light::mailbox_config();
    assert_eq!(config.get_capacity(), 4);
    assert_eq!(config.get_policy(), OverflowPolicy::Block);

    System::new().block_on(async {
        let addr = Light::Off.start_backpressured();
        assert_eq!(addr.capacity(), 4);
        assert_eq!(addr.send(Toggle).await.unwrap(), 255);
        assert_eq!(addr.send(Toggle).await.unwrap(), 0);
    });
}
