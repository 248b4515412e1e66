use actix_backpressure::prelude::*;

// Whether `Pair<T>` is an actor may depend on `T`, so a generic type is checked where it is
// used.
#[derive(Backpressured)]
struct Pair<T> {
    left: T,
    right: T,
}

fn main() {
    let _config = Pair::<u8>::mailbox_config();
}
