//! The decoders measured side by side (the rows of every table), one place
//! that runs each, for the criterion bench, the ratio report and the
//! examples alike.

use std::hint::black_box;

use kyc_webhooks::{predictaid, spektr};
use serde::de::IgnoredAny;

use crate::bodies::{Body, Input};

/// One decoder of a benchmark table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Row {
    /// `serde_json::from_slice::<IgnoredAny>`: validation only, the floor.
    IgnoredAny,
    /// `serde_json::from_slice::<serde_json::Value>`.
    SerdeJsonValue,
    /// `sonic_rs::from_slice::<sonic_rs::Value>`, the fastest DOM a user
    /// might pick instead.
    SonicRsValue,
    /// `spektr::parse_batch`; PredictaID: `predictaid::parse`.
    TypedStrict,
    /// `spektr::parse_batch_lenient` (Spektr only).
    TypedLenient,
    /// `spektr::parse_batch` of the batch whose last event is broken: the
    /// time to reject it (Spektr only).
    StrictBrokenLast,
    /// `spektr::parse_batch_lenient` of the batch whose last event is
    /// broken: every event decoded, the last one handed back raw (Spektr
    /// only).
    LenientBrokenLast,
}

impl Row {
    /// Every row, in report order (the names are [`crate::ROWS`]).
    pub const ALL: [Row; 7] = [
        Row::IgnoredAny,
        Row::SerdeJsonValue,
        Row::SonicRsValue,
        Row::TypedStrict,
        Row::TypedLenient,
        Row::StrictBrokenLast,
        Row::LenientBrokenLast,
    ];

    /// The criterion function name, e.g. `typed_strict`.
    pub fn name(self) -> &'static str {
        match self {
            Row::IgnoredAny => "ignored_any",
            Row::SerdeJsonValue => "serde_json_value",
            Row::SonicRsValue => "sonic_rs_value",
            Row::TypedStrict => "typed_strict",
            Row::TypedLenient => "typed_lenient",
            Row::StrictBrokenLast => "strict_broken_last",
            Row::LenientBrokenLast => "lenient_broken_last",
        }
    }

    /// The row named `name` (as [`Row::name`] gives it).
    pub fn from_name(name: &str) -> Option<Row> {
        Row::ALL.into_iter().find(|row| row.name() == name)
    }

    /// Whether the row decodes a broken batch.
    pub fn is_broken(self) -> bool {
        matches!(self, Row::StrictBrokenLast | Row::LenientBrokenLast)
    }

    /// Whether the row applies to PredictaID single-event bodies (PredictaID
    /// has no batch, so no lenient or broken-batch row).
    pub fn applies_to_predictaid(self) -> bool {
        matches!(
            self,
            Row::IgnoredAny | Row::SerdeJsonValue | Row::SonicRsValue | Row::TypedStrict
        )
    }
}

/// Decodes the Spektr delivery `bytes` as `row` does and drops the result.
/// For the broken rows `bytes` must be a batch whose last event is broken.
///
/// Panics if the outcome is not the expected one (a decode that fails on a
/// good body, a broken body that decodes), so that no figure is taken of a
/// decoder doing something else.
pub fn decode_spektr(row: Row, bytes: &[u8]) {
    let bytes = black_box(bytes);
    match row {
        Row::IgnoredAny => drop(black_box(
            serde_json::from_slice::<IgnoredAny>(bytes).expect("valid JSON"),
        )),
        Row::SerdeJsonValue => drop(black_box(
            serde_json::from_slice::<serde_json::Value>(bytes).expect("valid JSON"),
        )),
        Row::SonicRsValue => drop(black_box(
            sonic_rs::from_slice::<sonic_rs::Value>(bytes).expect("valid JSON"),
        )),
        Row::TypedStrict => drop(black_box(
            spektr::parse_batch(bytes).expect("a batch that decodes"),
        )),
        Row::TypedLenient => {
            let items = black_box(spektr::parse_batch_lenient(bytes).expect("a batch"));
            assert!(items.last().is_some_and(Result::is_ok));
        }
        Row::StrictBrokenLast => {
            let error = black_box(spektr::parse_batch(bytes)).expect_err("a broken batch");
            drop(error);
        }
        Row::LenientBrokenLast => {
            let items = black_box(spektr::parse_batch_lenient(bytes).expect("a batch"));
            assert!(items.last().is_some_and(Result::is_err));
        }
    }
}

/// Decodes the PredictaID single-event body `bytes` as `row` does and drops
/// the result; `false` if the row does not apply to PredictaID.
///
/// Panics if a decode fails.
pub fn decode_predictaid(row: Row, bytes: &[u8]) -> bool {
    let bytes = black_box(bytes);
    match row {
        Row::IgnoredAny => drop(black_box(
            serde_json::from_slice::<IgnoredAny>(bytes).expect("valid JSON"),
        )),
        Row::SerdeJsonValue => drop(black_box(
            serde_json::from_slice::<serde_json::Value>(bytes).expect("valid JSON"),
        )),
        Row::SonicRsValue => drop(black_box(
            sonic_rs::from_slice::<sonic_rs::Value>(bytes).expect("valid JSON"),
        )),
        Row::TypedStrict => drop(black_box(
            predictaid::parse(bytes).expect("an event that decodes"),
        )),
        _ => return false,
    }
    true
}

/// One iteration of `row` on `body`: the whole batch (the broken one for
/// the broken rows), or every PredictaID event in turn, each dropped before
/// the next. `false` if the row does not apply to the body.
pub fn run(row: Row, body: &Body) -> bool {
    match &body.input {
        Input::SpektrBatch(bytes) => {
            if row.is_broken() {
                match &body.broken_last {
                    Some(broken) => decode_spektr(row, broken),
                    None => return false,
                }
            } else {
                decode_spektr(row, bytes);
            }
            true
        }
        Input::PredictaidEvents(events) => {
            if !row.applies_to_predictaid() {
                return false;
            }
            for event in events {
                decode_predictaid(row, event);
            }
            true
        }
    }
}
