//! `spektr::parse_batch` on arbitrary bytes: no panic, and every event of an
//! accepted batch obeys the round-trip law (its free-form parts byte for byte).
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

use kyc_webhooks::spektr;
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

#[derive(serde::Deserialize)]
struct Texts<'a> {
    #[serde(borrow)]
    results: Vec<&'a RawValue>,
}

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = spektr::parse_batch(data) {
        let texts: Texts = serde_json::from_slice(data).expect("accepted a batch without results");
        assert_eq!(texts.results.len(), batch.results.len());
        let input = common::accepted_as_value(data);
        for (index, (event, text)) in batch.results.iter().zip(&texts.results).enumerate() {
            if let Some(input) = &input {
                common::assert_round_trip(&input["results"][index], event, "fuzzed batch");
            }
            let parts = common::spektr_free_form(event);
            common::assert_free_form_exact(text.get(), event, parts, "fuzzed batch");
        }
    }
});
