//! Collects every error found in the input, so that they are all reported at once.

use std::fmt::Display;

use quote::ToTokens;

/// The errors found so far, combined into one `syn::Error` (which holds many).
///
/// Consume it with [`finish`](Self::finish).
#[derive(Default)]
#[must_use]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    /// Adds `error` (which may itself hold several).
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    /// Adds an error spanning `tokens` (from their first token to their last).
    pub(crate) fn spanned<T: ToTokens, M: Display>(&mut self, tokens: T, message: M) {
        self.push(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// `Err` with every error added, or `Ok` if there was none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.combined {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}
