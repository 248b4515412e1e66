//! The public handles can cross threads, and the async entry points run on a multi-threaded
//! runtime: checked at compile time.

use actix_backpressure_nats::{
    ConsumerGauges, Dedup, Delivery, HandlerError, JetStreamMessage, JetStreamSource, SourceConfig,
    SourceError, SourceHandle, SourceStats,
};

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>(_: &T) {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync::<JetStreamSource>();
    send_sync::<SourceHandle>();
    send_sync::<SourceConfig>();
    send_sync::<SourceError>();
    send_sync::<SourceStats>();
    send_sync::<ConsumerGauges>();
    send_sync::<JetStreamMessage>();
    send_sync::<HandlerError>();
    send_sync::<Delivery>();
    send_sync::<Dedup>();
}

#[test]
fn async_methods_return_send_futures() {
    // Built, never polled.
    send(&JetStreamSource::connect(
        "nats://127.0.0.1:1",
        SourceConfig::new("S", "d"),
    ));
    let stopped = |handle: SourceHandle| async move { handle.stopped().await };
    let _ = stopped;
    fn stopped_is_send(handle: &SourceHandle) {
        send(&handle.stopped());
    }
    let _ = stopped_is_send;
}
