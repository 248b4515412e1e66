#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use actix_backpressure_mailbox as mailbox;
pub use actix_backpressure_mailbox::{
    BoundedActorExt, BoundedAddr, BoundedRecipient, ConfigError, DropReason, Dropped,
    MailboxConfig, MailboxStats, OverflowPolicy, SendError, TrySendError, UnknownPolicy,
    DEFAULT_BATCH,
};

/// Everything needed to start and feed actors behind bounded mailboxes:
/// `use actix_backpressure::prelude::*;`.
pub mod prelude {
    pub use actix_backpressure_mailbox::{
        BoundedActorExt, BoundedAddr, BoundedRecipient, ConfigError, DropReason, Dropped,
        MailboxConfig, MailboxStats, OverflowPolicy, SendError, TrySendError,
    };
}
