//! The inbox's planning of a Spektr body (split, then each piece judged) on
//! arbitrary bytes. Oracles: it returns; its rows are slices of the body, in
//! order and non-overlapping; nothing is silently dropped (every event of a
//! well-formed batch is in a row, and every byte of a broken body outside
//! the rows is white space, a separator or the envelope); a broken body is
//! never refused; the number of dead letters is bounded.
#![no_main]

use kyc_webhooks_inbox::{plan_spektr_for_tests, MAX_DEAD_LETTERS_PER_DELIVERY};
use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

#[derive(serde::Deserialize)]
struct Texts<'a> {
    #[serde(borrow)]
    results: Vec<&'a RawValue>,
}

/// The shortest text a Spektr event that decodes can have: its five
/// required keys alone take more.
const SHORTEST_EVENT: usize = 40;

fuzz_target!(|data: &[u8]| {
    let well_formed = serde_json::from_slice::<IgnoredAny>(data).is_ok();
    let plan = match plan_spektr_for_tests(data) {
        Ok(plan) => plan,
        Err(error) => {
            // Only well-formed JSON that is not a batch (or nothing) is refused.
            assert!(
                well_formed || data.iter().all(u8::is_ascii_whitespace),
                "a broken body was refused: {error}"
            );
            return;
        }
    };
    let mut covered = vec![false; data.len()];
    let mut end = 0;
    let mut dead = 0;
    for row in plan.rows() {
        assert!(!row.bytes.is_empty(), "an empty row at {}", row.start);
        assert!(row.start >= end, "rows overlap or are out of order at {}", row.start);
        end = row.start + row.bytes.len();
        assert!(end <= data.len(), "a row beyond the body");
        assert_eq!(&data[row.start..end], &row.bytes[..], "a row is not the body's bytes");
        covered[row.start..end].iter_mut().for_each(|c| *c = true);
        match row.error {
            Some(_) => dead += 1,
            None => assert!(row.bytes.len() >= SHORTEST_EVENT, "an event of {} bytes", row.bytes.len()),
        }
    }
    assert!(
        dead <= MAX_DEAD_LETTERS_PER_DELIVERY + 1,
        "{dead} dead letters for one delivery"
    );
    if well_formed {
        // Keys beside `results` are the envelope; each event must be kept.
        if let Ok(texts) = serde_json::from_slice::<Texts>(data) {
            for text in texts.results {
                let start = text.get().as_ptr() as usize - data.as_ptr() as usize;
                let len = text.get().len();
                assert!(
                    covered[start..start + len].iter().all(|&c| c),
                    "results element at {start} ({len} bytes) is in no row"
                );
            }
        }
    } else {
        for (at, &byte) in data.iter().enumerate() {
            if !covered[at] && !is_envelope_byte(data, at) {
                panic!("byte {at} ({:?}) of a broken body is in no row", byte as char);
            }
        }
    }
});

/// White space, a separator, a bracket, or part of a `"results"` key.
fn is_envelope_byte(data: &[u8], at: usize) -> bool {
    const KEY: &[u8] = b"\"results\"";
    let byte = data[at];
    if byte.is_ascii_whitespace() || b",:{}[]".contains(&byte) {
        return true;
    }
    let from = at.saturating_sub(KEY.len() - 1);
    (from..=at).any(|start| data[start..].starts_with(KEY))
}
