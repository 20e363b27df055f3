//! `predictaid::parse` on arbitrary bytes: no panic, and an accepted event
//! obeys the round-trip law (its free-form parts byte for byte).
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

use kyc_webhooks::predictaid;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = predictaid::parse(data) {
        if let Some(input) = common::accepted_as_value(data) {
            common::assert_round_trip(&input, &event, "fuzzed PredictaID event");
        }
        let text = std::str::from_utf8(data).expect("accepted a body that is not UTF-8");
        let parts = common::predictaid_free_form(&event);
        common::assert_free_form_exact(text, &event, parts, "fuzzed PredictaID event");
    }
});
