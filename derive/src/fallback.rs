//! What the derive emits when the attributes are wrong: the errors, and an impl that keeps
//! the rest of the crate compiling.
//!
//! Without the impl, every `start_backpressured()` of the type would add an error of its
//! own ("`Foo: Backpressured` is not satisfied") to the real ones.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::expand::{assert_actor, impl_header};

pub(crate) fn expand(input: &DeriveInput, errors: &syn::Error) -> TokenStream {
    let errors = errors.to_compile_error();
    let header = impl_header(input);
    // Reported as well: a type that is not an actor is a separate mistake.
    let assert_actor = assert_actor(input);
    quote! {
        #errors

        #assert_actor

        #header {
            fn mailbox_config() -> ::actix_backpressure::MailboxConfig {
                ::core::unreachable!()
            }
        }
    }
}
