//! Decoding time of the same bytes by every row's decoder
//! (`kyc_webhooks_bench::Row`), side by side in one run:
//!
//! - `ignored_any`: `serde_json::from_slice::<IgnoredAny>`, validation only
//!   (the floor);
//! - `serde_json_value`: `serde_json::from_slice::<serde_json::Value>`;
//! - `sonic_rs_value`: `sonic_rs::from_slice::<sonic_rs::Value>`, the fastest
//!   DOM a user might pick instead;
//! - `typed_strict`: `spektr::parse_batch` (PredictaID: `predictaid::parse`);
//! - `typed_lenient`: `spektr::parse_batch_lenient`;
//! - `strict_broken_last`, `lenient_broken_last`: the same two on the batch
//!   whose last event is broken (Spektr batches only: PredictaID has neither
//!   a lenient form nor a batch).
//!
//! One group per body (see `kyc_webhooks_bench::bodies`): the
//! documented-samples, mixed and free-form-heavy 10,000-event Spektr batches
//! and 10,000 PredictaID sample deliveries, each in documented and in sorted
//! key order. Every timed iteration includes dropping its result.
//!
//! `cargo bench -p kyc-webhooks-bench` (one group: append its name, e.g.
//! `-- samples-sorted`). `cargo run --release -p kyc-webhooks-bench --bin
//! bench_ratios` measures the same rows on the same bodies and judges the
//! targets.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use kyc_webhooks_bench::{bodies, run, Input, Row};

fn decode(c: &mut Criterion) {
    for body in bodies() {
        let mut group = c.benchmark_group(&body.group);
        group.throughput(Throughput::Bytes(body.input.len() as u64));
        group.sample_size(20);
        group.warm_up_time(Duration::from_secs(1));
        // One iteration takes milliseconds to a few hundred: flat sampling
        // keeps the run short.
        group.sampling_mode(SamplingMode::Flat);
        group.measurement_time(Duration::from_secs(match body.input {
            Input::SpektrBatch(_) => 4,
            Input::PredictaidEvents(_) => 3,
        }));
        for row in Row::ALL {
            let applies = match body.input {
                Input::SpektrBatch(_) => true,
                Input::PredictaidEvents(_) => row.applies_to_predictaid(),
            };
            if applies {
                group.bench_function(row.name(), |b| b.iter(|| run(row, &body)));
            }
        }
        group.finish();
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
