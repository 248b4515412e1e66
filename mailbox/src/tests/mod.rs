//! Model checks, run with `RUSTFLAGS="--cfg mailbox_loom" cargo test -p
//! actix-backpressure-mailbox --lib --release loom` (see `scripts/test`).

mod loom_chan;
mod loom_outlet;
mod loom_queue;
