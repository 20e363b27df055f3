//! Peak heap while decoding each benchmarked body with each row's decoder, as a
//! multiple of the body's size, measured by the counting global allocator of
//! `kyc_webhooks_bench::alloc` (the result alive; for PredictaID, the sum of
//! each delivery's peak over the deliveries' total size).
//!
//! `cargo run --release -p kyc-webhooks-bench --example peak_heap`
//!
//! `bench_ratios` measures the same figures in its run; this prints them
//! alone, without timing anything.

use kyc_webhooks_bench::alloc::{peak_during, Counting};
use kyc_webhooks_bench::{bodies, decode_predictaid, run, Input, Row};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    println!("Peak heap during decode (result alive), as a multiple of the body's size:\n");
    println!(
        "| body | bytes | {} |",
        Row::ALL.map(|r| format!("`{}`", r.name())).join(" | ")
    );
    println!("|---|---:|{}", "---:|".repeat(Row::ALL.len()));
    for body in bodies() {
        let len = body.input.len();
        let cells: Vec<String> = Row::ALL
            .into_iter()
            .map(|row| {
                // Once to warm up (lazy statics, first-touch buffers), then measured.
                if !run(row, &body) {
                    return "n/a".to_owned();
                }
                let peak: Option<usize> = match &body.input {
                    Input::SpektrBatch(_) => peak_during(|| run(row, &body)),
                    Input::PredictaidEvents(events) => events
                        .iter()
                        .map(|e| peak_during(|| decode_predictaid(row, e)))
                        .sum(),
                };
                let peak = peak.expect("the counting allocator is installed");
                format!("{:.2}x", peak as f64 / len as f64)
            })
            .collect();
        println!("| {} | {len} | {} |", body.group, cells.join(" | "));
    }
}
