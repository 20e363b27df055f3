//! Decoding time of the same bytes by five decoders, side by side in one run,
//! so that BENCHMARKS.md can give ratios between rows of one group:
//!
//! - `ignored_any`: `serde_json::from_slice::<IgnoredAny>`, validation only
//!   (the floor);
//! - `serde_json_value`: `serde_json::from_slice::<serde_json::Value>`;
//! - `sonic_rs_value`: `sonic_rs::from_slice::<sonic_rs::Value>`, the fastest
//!   DOM a user might pick instead;
//! - `typed_strict`: `spektr::parse_batch` (PredictaID: `predictaid::parse`);
//! - `typed_lenient`: `spektr::parse_batch_lenient` (Spektr batches only:
//!   PredictaID has no lenient form).
//!
//! One group per body (see `kyc_webhooks_bench::bodies`): the mixed and the
//! free-form-heavy 10,000-event Spektr batches and one PredictaID event of each
//! documented type, each in documented and in sorted key order. Every timed
//! iteration includes dropping its result.
//!
//! `cargo bench -p kyc-webhooks-bench`, then
//! `cargo run --release -p kyc-webhooks-bench --bin bench_ratios`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use kyc_webhooks::{predictaid, spektr};
use kyc_webhooks_bench::{bodies, Input};
use serde::de::IgnoredAny;

/// Decodes every body in `bodies` with `decode`, keeping the results alive
/// until all are decoded (as the batch rows keep their events).
fn each<T>(bodies: &[Vec<u8>], decode: impl Fn(&[u8]) -> T) -> Vec<T> {
    bodies.iter().map(|body| decode(black_box(body))).collect()
}

fn decode(c: &mut Criterion) {
    for body in bodies() {
        let mut group = c.benchmark_group(&body.group);
        group.throughput(Throughput::Bytes(body.input.len() as u64));
        group.sample_size(20);
        group.warm_up_time(Duration::from_secs(1));
        match &body.input {
            Input::SpektrBatch(bytes) => {
                // One iteration takes milliseconds to a few hundred: flat
                // sampling keeps the run short.
                group.sampling_mode(SamplingMode::Flat);
                group.measurement_time(Duration::from_secs(4));
                let bytes = bytes.as_slice();
                group.bench_function("ignored_any", |b| {
                    b.iter(|| serde_json::from_slice::<IgnoredAny>(black_box(bytes)).unwrap())
                });
                group.bench_function("serde_json_value", |b| {
                    b.iter(|| {
                        serde_json::from_slice::<serde_json::Value>(black_box(bytes)).unwrap()
                    })
                });
                group.bench_function("sonic_rs_value", |b| {
                    b.iter(|| sonic_rs::from_slice::<sonic_rs::Value>(black_box(bytes)).unwrap())
                });
                group.bench_function("typed_strict", |b| {
                    b.iter(|| spektr::parse_batch(black_box(bytes)).unwrap())
                });
                group.bench_function("typed_lenient", |b| {
                    b.iter(|| spektr::parse_batch_lenient(black_box(bytes)).unwrap())
                });
            }
            Input::PredictaidEvents(events) => {
                group.measurement_time(Duration::from_secs(3));
                group.bench_function("ignored_any", |b| {
                    b.iter(|| each(events, |e| serde_json::from_slice::<IgnoredAny>(e).unwrap()))
                });
                group.bench_function("serde_json_value", |b| {
                    b.iter(|| {
                        each(events, |e| {
                            serde_json::from_slice::<serde_json::Value>(e).unwrap()
                        })
                    })
                });
                group.bench_function("sonic_rs_value", |b| {
                    b.iter(|| {
                        each(events, |e| {
                            sonic_rs::from_slice::<sonic_rs::Value>(e).unwrap()
                        })
                    })
                });
                group.bench_function("typed_strict", |b| {
                    b.iter(|| each(events, |e| predictaid::parse(e).unwrap()))
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
