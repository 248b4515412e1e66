//! `#[derive(Backpressured)]`: an actix actor that carries its own bounded-mailbox
//! configuration.
//!
//! Use it through the `actix-backpressure` crate (feature `derive`, on by default), which
//! re-exports it next to the `Backpressured` trait it implements; the generated code names
//! only paths of that crate (`::actix_backpressure::...`). [Its documentation][facade] has a
//! runnable example.
//!
//! [facade]: https://docs.rs/actix-backpressure/latest/actix_backpressure/derive.Backpressured.html
//!
//! ```text
//! use actix::prelude::*;
//! use actix_backpressure::prelude::*;
//!
//! #[derive(Backpressured)]
//! #[backpressured(capacity = 256, policy = "drop_oldest", name = "ingest", batch = 32)]
//! struct Ingest;
//!
//! impl Actor for Ingest {
//!     type Context = Context<Self>;
//! }
//!
//! // Starts behind a mailbox of 256 messages that evicts the oldest when full.
//! let addr = Ingest.start_backpressured();
//! ```
//!
//! # Attributes
//!
//! Every key is optional, and so is the attribute; keys may be split across several
//! `#[backpressured(...)]` attributes, but each may be given only once.
//!
//! | key | value | default |
//! |---|---|---|
//! | `capacity` | an integer from 1 to `MAX_CAPACITY` (2^24) | `DEFAULT_CAPACITY` (1024) |
//! | `policy` | `"block"`, `"drop_newest"`, `"drop_oldest"` or `"reject"` | `"block"` |
//! | `name` | a non-empty string | the type's name without its module path |
//! | `batch` | an integer from 1 to `usize::MAX` | `DEFAULT_BATCH` (16) |
//!
//! The derive expands to `impl Backpressured for Type`, whose `mailbox_config()` is
//! `MailboxConfig::new(capacity).policy(..).name(..).batch(..)` with the keys given.
//!
//! # Errors
//!
//! Mistakes are compile errors, all reported at once, each pointing at the offending token:
//! an unknown key (with the nearest valid one suggested), a duplicate key, a capacity or batch
//! of 0, negative or too large for `usize`, an unknown policy (with the nearest valid one
//! suggested), a value of the wrong type, an empty name, the attribute on a field or variant,
//! and a type that is not an actix actor with `type Context = actix::Context<Self>`. After an
//! error the derive still emits an impl, so that the uses of the type add no errors of their
//! own.
//!
//! A type without generic parameters is checked to be an actor where it is declared. A
//! generic one gets the impl for the parameters that make it an actor with `Context<Self>`
//! (so bounds that only its `Actor` impl has need not be repeated on the type): using it
//! with other parameters is an error where it is used.

#![forbid(unsafe_code)]

mod attr;
mod ctxt;
mod expand;
mod fallback;
mod policy;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Implements `actix_backpressure::Backpressured` from `#[backpressured(...)]` attributes;
/// the keys and a runnable example are in the documentation of
/// [`actix_backpressure::Backpressured`](https://docs.rs/actix-backpressure/latest/actix_backpressure/derive.Backpressured.html).
#[proc_macro_derive(Backpressured, attributes(backpressured))]
pub fn derive_backpressured(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
