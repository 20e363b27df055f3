//! The benchmarked bodies, their group names and the rows measured on them.

use std::path::{Path, PathBuf};

use crate::generate::{batch_text, batch_text_broken_last, spektr_events, Mix};
use crate::json::{Json, Order};
use crate::samples::{predictaid_samples, spektr_sample_events};
use crate::BATCH_EVENTS;

/// What one benchmark group decodes.
#[derive(Clone, Debug)]
pub enum Input {
    /// One Spektr delivery (a batch), decoded whole per iteration.
    SpektrBatch(Vec<u8>),
    /// PredictaID single-event bodies (one delivery each), each decoded once
    /// per iteration and dropped before the next, as a receiver handles
    /// deliveries.
    PredictaidEvents(Vec<Vec<u8>>),
}

impl Input {
    /// Total bytes decoded per iteration.
    pub fn len(&self) -> usize {
        match self {
            Input::SpektrBatch(body) => body.len(),
            Input::PredictaidEvents(bodies) => bodies.iter().map(Vec::len).sum(),
        }
    }

    /// True when there is nothing to decode.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A benchmarked body: its group name and its bytes.
#[derive(Clone, Debug)]
pub struct Body {
    /// Criterion group name, e.g. `mixed-documented` (also the directory
    /// under `target/criterion/`).
    pub group: String,
    /// The bytes decoded.
    pub input: Input,
    /// Events decoded per iteration.
    pub events: usize,
    /// For a Spektr batch: the same batch with its last event broken
    /// ([`crate::broken`]), for the rejection rows. `None` for PredictaID.
    pub broken_last: Option<Vec<u8>>,
}

/// Seed of the documented-samples batch (its ids).
pub const SAMPLES_SEED: u64 = 16;
/// Seed of the mixed batch.
pub const MIXED_SEED: u64 = 9;
/// Seed of the free-form-heavy batch.
pub const FREE_FORM_SEED: u64 = 99;

/// The group names of [`bodies`], in report order, without generating them:
/// the documented-samples batch, the mixed batch, the free-form-heavy batch
/// and the PredictaID samples, each in documented then sorted key order.
pub const GROUPS: [&str; 8] = [
    "samples-documented",
    "samples-sorted",
    "mixed-documented",
    "mixed-sorted",
    "free-form-heavy-documented",
    "free-form-heavy-sorted",
    "predictaid-samples-documented",
    "predictaid-samples-sorted",
];

/// The benchmark rows (criterion function names), in report order. The two
/// `_broken_last` rows decode [`Body::broken_last`] (Spektr only), the
/// lenient one to its end, the strict one to its error.
pub const ROWS: [&str; 7] = [
    "ignored_any",
    "serde_json_value",
    "sonic_rs_value",
    "typed_strict",
    "typed_lenient",
    "strict_broken_last",
    "lenient_broken_last",
];

/// The eight benchmarked bodies of [`GROUPS`], in that order.
pub fn bodies() -> Vec<Body> {
    bodies_where(|_| true)
}

/// The bodies of [`GROUPS`] whose group name `wanted` accepts, in order;
/// the others are not generated.
pub fn bodies_where(wanted: impl Fn(&str) -> bool) -> Vec<Body> {
    let mut out = Vec::new();
    let mut spektr = |name: &str, events: &dyn Fn() -> Vec<Json>| {
        let names = Order::ALL.map(|order| format!("{name}-{}", order.name()));
        if !names.iter().any(|n| wanted(n)) {
            return;
        }
        let events = events();
        for (order, group) in Order::ALL.into_iter().zip(names) {
            if wanted(&group) {
                out.push(Body {
                    group,
                    input: Input::SpektrBatch(batch_text(&events, order)),
                    events: events.len(),
                    broken_last: Some(batch_text_broken_last(&events, order)),
                });
            }
        }
    };
    spektr("samples", &|| {
        spektr_sample_events(BATCH_EVENTS, SAMPLES_SEED)
    });
    spektr(Mix::Mixed.name(), &|| {
        spektr_events(Mix::Mixed, BATCH_EVENTS, MIXED_SEED)
    });
    spektr(Mix::FreeFormHeavy.name(), &|| {
        spektr_events(Mix::FreeFormHeavy, BATCH_EVENTS, FREE_FORM_SEED)
    });
    let names = Order::ALL.map(|order| format!("predictaid-samples-{}", order.name()));
    if names.iter().any(|n| wanted(n)) {
        let events = predictaid_samples(BATCH_EVENTS, SAMPLES_SEED);
        for (order, group) in Order::ALL.into_iter().zip(names) {
            if wanted(&group) {
                out.push(Body {
                    group,
                    input: Input::PredictaidEvents(
                        events
                            .iter()
                            .map(|e| e.to_text(order).into_bytes())
                            .collect(),
                    ),
                    events: events.len(),
                    broken_last: None,
                });
            }
        }
    }
    out
}

/// The workspace's target directory: `CARGO_TARGET_DIR` if set, else
/// `target/` at the workspace root.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}
