//! Where the typed decoder wins or loses against `serde_json::Value`, event
//! type by event type: the mixed batch's events split into one batch per type
//! (unknown types together), each decoded in both key orders by
//! `serde_json::Value` and by `spektr::parse_batch`, alternating the two so
//! that load on a shared machine hits both alike; the best of `REPS` runs of
//! each is kept.
//!
//! `cargo run --release -p kyc-webhooks-bench --example by_type`
//!
//! A diagnosis aid, not part of the criterion run or of the targets.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use kyc_webhooks::spektr;
use kyc_webhooks_bench::{
    batch_text, spektr_events, spektr_types, Json, Mix, Order, BATCH_EVENTS, MIXED_SEED,
};

const REPS: usize = 15;

/// Runs `f` and records how long it took in `times`.
fn timed(times: &mut Vec<Duration>, f: impl FnOnce()) {
    let start = Instant::now();
    f();
    times.push(start.elapsed());
}

fn main() {
    let events = spektr_events(Mix::Mixed, BATCH_EVENTS, MIXED_SEED);
    let documented = spektr_types();
    let mut by_type: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    for event in events {
        let ty = event.get("eventType").and_then(Json::as_text).unwrap();
        let key = if documented.contains(&ty.as_str()) {
            ty
        } else {
            "(unknown types)".to_owned()
        };
        by_type.entry(key).or_default().push(event);
    }
    let total: usize = by_type
        .values()
        .map(|e| batch_text(e, Order::Documented).len())
        .sum();

    println!("Best of {REPS}, `Value` time / `parse_batch` time (above 1: typed is faster).\n");
    println!("| type | events | share of bytes | bytes/event | documented | sorted |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (ty, events) in &by_type {
        let mut cells = Vec::new();
        let mut len = 0;
        for order in Order::ALL {
            let body = batch_text(events, order);
            len = body.len();
            let (mut value, mut typed) = (Vec::new(), Vec::new());
            for _ in 0..REPS {
                timed(&mut value, || {
                    black_box(
                        serde_json::from_slice::<serde_json::Value>(black_box(&body)).unwrap(),
                    );
                });
                timed(&mut typed, || {
                    black_box(spektr::parse_batch(black_box(&body)).unwrap());
                });
            }
            let v = value.iter().min().unwrap().as_secs_f64();
            let t = typed.iter().min().unwrap().as_secs_f64();
            cells.push(format!("{:.2}", v / t));
        }
        println!(
            "| {ty} | {} | {:.1}% | {} | {} | {} |",
            events.len(),
            100.0 * len as f64 / total as f64,
            len / events.len(),
            cells[0],
            cells[1]
        );
    }
}
