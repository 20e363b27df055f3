//! `predictaid::parse` on arbitrary bytes: no panic, and an accepted event
//! obeys the round-trip law.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

use kyc_webhooks::predictaid;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = predictaid::parse(data) {
        let input: Value = serde_json::from_slice(data).expect("accepted a body that is not JSON");
        common::assert_round_trip(&input, &event, "fuzzed PredictaID event");
    }
});
