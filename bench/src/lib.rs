//! Inputs of the `kyc-webhooks` decoding benchmarks (see `BENCHMARKS.md`),
//! shared by the criterion bench (`benches/decode.rs`), the ratio report
//! (`src/bin/bench_ratios.rs`) and the examples (`examples/`).
//!
//! The bodies are built from the fixtures in `fixtures/`: the providers'
//! documented samples cycled to 10,000 events ([`samples`]), and batches
//! drawn from every fixture with free-form content added by a seeded
//! generator ([`generate`]), so every run decodes the same bytes. They are
//! written by a small JSON tree of this crate ([`Json`]) that keeps numbers
//! and strings exactly as spelled (`1.50`, `1e2`, `\u00e9`, raw non-ASCII) and
//! writes each body in two key orders: the providers' documented order and
//! keys sorted at every level (as any relay that re-serializes through a
//! sorted map delivers them, with `data` before `eventType`).
//!
//! The package is kept out of the core crate so that criterion is not built
//! for a user's first `cargo run --example`.

#![warn(missing_docs)]

pub mod alloc;
pub mod bodies;
pub mod clock;
pub mod fixtures;
pub mod generate;
pub mod json;
pub mod rng;
pub mod rows;
pub mod samples;

pub use bodies::{
    bodies, bodies_where, target_dir, Body, Input, FREE_FORM_SEED, GROUPS, MIXED_SEED, ROWS,
    SAMPLES_SEED,
};
pub use fixtures::{fixtures_dir, predictaid_events, spektr_fixtures};
pub use generate::{batch_text, batch_text_broken_last, broken, free_value, spektr_events, Mix};
pub use json::{escape, parse, unescape, Json, Order};
pub use rng::Lcg;
pub use rows::{decode_predictaid, decode_spektr, run, Row};
pub use samples::{predictaid_samples, spektr_sample_events, spektr_samples};

/// Number of events in every generated Spektr batch, and of PredictaID
/// bodies in the PredictaID samples body.
pub const BATCH_EVENTS: usize = 10_000;

/// The event types Spektr documents (wire names), sorted by name: the core's
/// [`kyc_webhooks::spektr::EventType::ALL`], so a type added there is
/// benchmarked (and checked for in every body meant to hold every type)
/// without an edit here. Sorted rather than in the reference's order so that
/// the generated mixed batch keeps the bytes of the earlier measurements.
pub fn spektr_types() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = kyc_webhooks::spektr::EventType::ALL
        .iter()
        .map(|ty| ty.as_str())
        .collect();
    names.sort_unstable();
    names
}

/// The event types PredictaID documents (wire names), sorted by name: the
/// core's [`kyc_webhooks::predictaid::EventType::ALL`].
pub fn predictaid_types() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = kyc_webhooks::predictaid::EventType::ALL
        .iter()
        .map(|ty| ty.as_str())
        .collect();
    names.sort_unstable();
    names
}
