//! `spektr::parse_batch` on arbitrary bytes: no panic, and every event of an
//! accepted batch obeys the round-trip law.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

use kyc_webhooks::spektr;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = spektr::parse_batch(data) {
        let input: Value = serde_json::from_slice(data).expect("accepted a body that is not JSON");
        let events = input["results"].as_array().expect("accepted a batch without results");
        assert_eq!(events.len(), batch.results.len());
        for (event, json) in batch.results.iter().zip(events) {
            common::assert_round_trip(json, event, "fuzzed batch");
        }
    }
});
