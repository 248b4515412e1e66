//! The `impl Backpressured` for a type whose attributes are valid.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::DeriveInput;

use crate::attr::{self, Attrs, Count};
use crate::fallback;

/// The derive's output for `input`: the impl, or the errors and a fallback impl.
pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    match attr::parse(input) {
        Ok(attrs) => expand(input, &attrs),
        Err(errors) => fallback::expand(input, &errors),
    }
}

fn expand(input: &DeriveInput, attrs: &Attrs) -> TokenStream {
    let header = impl_header(input);
    let assert_actor = assert_actor(input);

    let capacity = match &attrs.capacity {
        Some(capacity) => literal(capacity),
        None => quote!(::actix_backpressure::DEFAULT_CAPACITY),
    };
    // The limit is the runtime's own constant, checked when the type compiles, so that an
    // actor whose mailbox the runtime would refuse does not compile.
    let capacity_limit = attrs.capacity.as_ref().map(|count| {
        let message = format!(
            "`capacity = {}` is above the largest mailbox, \
             `actix_backpressure::MAX_CAPACITY` (16777216)",
            count.value
        );
        quote_spanned! {count.span=>
            const _: () = ::core::assert!(#capacity <= ::actix_backpressure::MAX_CAPACITY, #message);
        }
    });
    let policy = attrs.policy.map(|(policy, span)| {
        let variant = policy.variant(span);
        quote_spanned!(span=> .policy(::actix_backpressure::OverflowPolicy::#variant))
    });
    // Without a `name`, the library names the mailbox after the type when it starts it.
    let name = attrs.name.as_ref().map(|name| quote!(.name(#name)));
    let batch = attrs.batch.as_ref().map(|batch| {
        let batch = literal(batch);
        quote!(.batch(#batch))
    });

    let credits = attrs.credits.as_ref().map(|credits| {
        let credits = literal(credits);
        quote!(.credits(#credits))
    });
    // A refill above the capacity (the runtime's default one when none is given) does not
    // compile either.
    let credits_limit = attrs.credits.as_ref().map(|count| {
        let refill = literal(count);
        let message = format!(
            "`credits = {}` is above the mailbox's capacity: the refill batch must be from 1 to \
             the capacity (the credit window)",
            count.value
        );
        quote_spanned! {count.span=>
            const _: () = ::core::assert!(#refill <= #capacity, #message);
        }
    });
    let ttl = attrs.ttl.map(
        |(nanos, span)| quote_spanned!(span=> .ttl(::core::time::Duration::from_nanos(#nanos))),
    );

    quote! {
        #assert_actor
        #capacity_limit
        #credits_limit

        #header {
            fn mailbox_config() -> ::actix_backpressure::MailboxConfig {
                ::actix_backpressure::MailboxConfig::new(#capacity) #policy #name #batch #credits #ttl
            }
        }
    }
}

/// `impl<..> Backpressured for Type<..> where ..`, with the actor bound in the where clause.
///
/// The bound `Type<..>: ContextActor` (an actor with `Context<Self>`) lets a generic actor whose
/// `Actor` impl has bounds of its own (`T: Unpin + 'static`, ...) derive without repeating
/// them on the type. It is written `for<'__actor>` (as thiserror's fallback does) because a
/// bound without generic parameters that does not hold is an error on stable Rust (trivial
/// bounds, rust-lang/rust#48214): [`assert_actor`] reports that case instead, once, at the
/// type's name.
pub(crate) fn impl_header(input: &DeriveInput) -> TokenStream {
    let ty = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let predicates = where_clause.map(|clause| &clause.predicates);
    let comma = predicates
        .filter(|p| !p.empty_or_trailing())
        .map(|_| quote!(,));
    quote! {
        #[automatically_derived]
        impl #impl_generics ::actix_backpressure::Backpressured for #ty #ty_generics
        where
            #predicates #comma
            for<'__actor> #ty #ty_generics: ::actix_backpressure::__private::ContextActor,
    }
}

/// For a type without generic parameters, a compile-time check that it is an actor with
/// `Context<Self>`, whose error points at the type's name. (A generic type is checked where
/// it is used: whether `Type<T>` is an actor may depend on `T`.)
pub(crate) fn assert_actor(input: &DeriveInput) -> Option<TokenStream> {
    if !input.generics.params.is_empty() {
        return None;
    }
    let ty = &input.ident;
    Some(quote_spanned! {ty.span()=>
        const _: () = ::actix_backpressure::__private::assert_actor::<#ty>();
    })
}

/// `count` as a `usize` literal carrying the span of the literal it was read from, so that a
/// target whose `usize` is too small for it reports it there.
fn literal(count: &Count) -> TokenStream {
    let mut literal = Literal::usize_suffixed(count.value);
    literal.set_span(count.span);
    quote!(#literal)
}
