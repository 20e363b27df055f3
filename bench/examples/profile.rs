//! Decodes one body many times in a loop, for a profiler to sample:
//!
//! ```sh
//! cargo build --release -p kyc-webhooks-bench --example profile
//! perf record -g target/release/examples/profile mixed-documented strict 40
//! perf report --no-children
//! ```
//!
//! Arguments: the criterion group of the body (`mixed-documented`,
//! `mixed-sorted`, `free-form-heavy-documented`, `predictaid-sorted`, ...),
//! the row (`strict`, `lenient`, `value`, `ignored`; PredictaID: `strict`,
//! `value`) and the number of iterations.

use std::hint::black_box;

use kyc_webhooks::{predictaid, spektr};
use kyc_webhooks_bench::{bodies, Input};
use serde::de::IgnoredAny;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let group = args.get(1).map_or("mixed-documented", String::as_str);
    let row = args.get(2).map_or("strict", String::as_str);
    let iterations: usize = args.get(3).map_or(20, |n| n.parse().expect("a count"));
    let body = bodies()
        .into_iter()
        .find(|body| body.group == group)
        .unwrap_or_else(|| panic!("no body {group}"));
    let bytes = match body.input {
        Input::SpektrBatch(bytes) => bytes,
        Input::PredictaidEvents(events) => {
            for _ in 0..iterations {
                for event in &events {
                    match row {
                        "strict" => drop(black_box(predictaid::parse(event).unwrap())),
                        "value" => drop(black_box(
                            serde_json::from_slice::<serde_json::Value>(event).unwrap(),
                        )),
                        other => panic!("unknown row {other} for PredictaID"),
                    }
                }
            }
            return;
        }
    };
    for _ in 0..iterations {
        match row {
            "strict" => drop(black_box(spektr::parse_batch(&bytes).unwrap())),
            "lenient" => drop(black_box(spektr::parse_batch_lenient(&bytes).unwrap())),
            "value" => drop(black_box(
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
            )),
            "ignored" => drop(black_box(
                serde_json::from_slice::<IgnoredAny>(&bytes).unwrap(),
            )),
            other => panic!("unknown row {other}"),
        }
    }
}
