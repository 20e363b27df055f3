//! Tests of `kyc_webhooks::axum` over axum's router, kept out of the core
//! package so that its dev-dependencies (tokio, tower, the HTTP stack) are
//! not built for a user's first `cargo run --example`. Nothing to use here.
//!
//! The README's examples are compiled and run as this package's doc tests,
//! where every package they use is a dependency (the core with its `axum` and
//! `testing` features, the inbox with `axum`): the core alone could not build
//! the inbox's program.

/// The README's code blocks, as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
