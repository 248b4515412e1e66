#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use actix_backpressure_mailbox as mailbox;
pub use actix_backpressure_mailbox::{
    Backpressured, BackpressuredExt, BoundedActorExt, BoundedAddr, BoundedRecipient, ConfigError,
    DropReason, Dropped, MailboxConfig, MailboxStats, OverflowPolicy, SendError, TrySendError,
    UnknownPolicy, DEFAULT_BATCH, DEFAULT_CAPACITY,
};

/// Everything needed to start and feed actors behind bounded mailboxes:
/// `use actix_backpressure::prelude::*;`.
pub mod prelude {
    pub use actix_backpressure_mailbox::{
        Backpressured, BackpressuredExt, BoundedActorExt, BoundedAddr, BoundedRecipient,
        ConfigError, DropReason, Dropped, MailboxConfig, MailboxStats, OverflowPolicy, SendError,
        TrySendError,
    };
}
