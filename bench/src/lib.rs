//! Criterion benchmarks of `kyc-webhooks` (see `BENCHMARKS.md`), kept out of the
//! core package so that criterion is not built for a user's first
//! `cargo run --example`. Nothing to use here.
