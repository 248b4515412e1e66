//! Compile-time behaviour of `#[derive(Backpressured)]`: `ui/pass` must compile and run,
//! `ui/fail` must fail with exactly the errors in its `.stderr` files.
//!
//! After a deliberate change to a message, regenerate the expectations with
//! `TRYBUILD=overwrite cargo test -p actix-backpressure-derive --test ui` and read every
//! `.stderr` that changed.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
