//! Tests of `kyc_webhooks::axum` over axum's router, kept out of the core
//! package so that its dev-dependencies (tokio, tower, the HTTP stack) are
//! not built for a user's first `cargo run --example`. Nothing to use here.
