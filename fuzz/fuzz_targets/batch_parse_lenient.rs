//! `batch::parse_lenient` on arbitrary bytes: no panic; one item per event of
//! the envelope, in order; each decoded event obeys the round-trip law against
//! its own text (free-form parts byte for byte); each rejected one is that text byte for byte and fails alone
//! too. (The body as a whole need not decode as a `Value`: an event holding a
//! lone surrogate escape is valid JSON syntax that no string can hold, and it
//! is rightly rejected alone.)
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

use kyc_webhooks::{batch, spektr};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct Texts<'a> {
    #[serde(borrow)]
    results: Vec<&'a RawValue>,
}

fuzz_target!(|data: &[u8]| {
    let Ok(items) = batch::parse_lenient::<spektr::Event>(data) else {
        return;
    };
    let texts: Texts = serde_json::from_slice(data).expect("accepted an envelope serde_json refuses");
    assert_eq!(texts.results.len(), items.len());
    for (index, (item, text)) in items.iter().zip(&texts.results).enumerate() {
        match item {
            Ok(event) => {
                if let Some(json) = common::accepted_as_value(text.get().as_bytes()) {
                    common::assert_round_trip(&json, event, "fuzzed lenient batch");
                }
                let parts = common::spektr_free_form(event);
                common::assert_free_form_exact(text.get(), event, parts, "fuzzed lenient batch");
            }
            Err(rejected) => {
                assert_eq!(rejected.index(), index);
                assert_eq!(rejected.error().index(), Some(index));
                assert_eq!(rejected.raw_json(), text.get());
                assert!(spektr::parse_event(text.get().as_bytes()).is_err());
            }
        }
    }
});
