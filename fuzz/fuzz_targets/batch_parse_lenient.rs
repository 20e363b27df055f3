//! `batch::parse_lenient` on arbitrary bytes: no panic; each decoded event
//! obeys the round-trip law and equals its strict decoding alone; each
//! rejected one is the event's exact text and fails alone too.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

use kyc_webhooks::{batch, spektr};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(items) = batch::parse_lenient::<spektr::Event>(data) else {
        return;
    };
    let input: Value = serde_json::from_slice(data).expect("accepted a body that is not JSON");
    let events = input["results"].as_array().expect("accepted a batch without results");
    assert_eq!(events.len(), items.len());
    for (index, (item, json)) in items.iter().zip(events).enumerate() {
        match item {
            Ok(event) => common::assert_round_trip(json, event, "fuzzed lenient batch"),
            Err(rejected) => {
                assert_eq!(rejected.index(), index);
                assert_eq!(rejected.error().index(), Some(index));
                let raw = rejected.raw_json();
                // Byte for byte a slice of the body.
                let start = raw.as_ptr() as usize;
                assert!(
                    data.windows(raw.len()).any(|w| w == raw.as_bytes()),
                    "raw text {start:x} is not in the body"
                );
                assert!(spektr::parse_event(raw.as_bytes()).is_err());
            }
        }
    }
});
