//! Peak heap while decoding each benchmarked body with each row's decoder, as a
//! multiple of the body's size, measured by a counting global allocator.
//!
//! `cargo run --release -p kyc-webhooks-bench --example peak_heap`
//!
//! Prints one table and writes the figures to `target/peak-heap.json`, which
//! the ratio report (`--bin bench_ratios`) adds to its tables.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use kyc_webhooks::{predictaid, spektr};
use kyc_webhooks_bench::{bodies, target_dir, Input, ROWS};
use serde::de::IgnoredAny;

/// The system allocator, counting the bytes currently allocated and the
/// highest count since the last reset.
struct Counting;

/// Bytes allocated and not yet freed.
static CURRENT: AtomicUsize = AtomicUsize::new(0);
/// Highest value of `CURRENT` since `reset_peak`.
static PEAK: AtomicUsize = AtomicUsize::new(0);

impl Counting {
    fn grew(by: usize) {
        let now = CURRENT.fetch_add(by, Ordering::SeqCst) + by;
        PEAK.fetch_max(now, Ordering::SeqCst);
    }

    fn shrank(by: usize) {
        CURRENT.fetch_sub(by, Ordering::SeqCst);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so the pointers and layouts handed out and taken back are
// exactly `System`'s, which upholds the `GlobalAlloc` contract; the counting
// only touches atomics and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller guarantees `layout` has a non-zero size, as
        // `System.alloc` requires.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            Counting::grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            Counting::grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from this allocator (so
        // from `System`) with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        Counting::shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `ptr` came from this allocator with
        // `layout` and that `new_size` is non-zero and valid for its align.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // Count the new block before the old one goes, as a copying
            // realloc holds both at once.
            Counting::grew(new_size);
            Counting::shrank(layout.size());
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes allocated above the level before `f`, while `f` runs and its
/// result is alive (the result is dropped afterwards, outside the count).
fn peak_during<T>(f: impl FnOnce() -> T) -> usize {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let out = black_box(f());
    let peak = PEAK.load(Ordering::SeqCst) - base;
    drop(out);
    peak
}

/// Peak heap of `row` decoding `input`: for a batch the peak of one decode;
/// for PredictaID events the sum over the events of each one's peak.
fn peak_of(row: &str, input: &Input) -> Option<usize> {
    match input {
        Input::SpektrBatch(body) => {
            let body = body.as_slice();
            Some(match row {
                "ignored_any" => {
                    peak_during(|| serde_json::from_slice::<IgnoredAny>(body).unwrap())
                }
                "serde_json_value" => {
                    peak_during(|| serde_json::from_slice::<serde_json::Value>(body).unwrap())
                }
                "sonic_rs_value" => {
                    peak_during(|| sonic_rs::from_slice::<sonic_rs::Value>(body).unwrap())
                }
                "typed_strict" => peak_during(|| spektr::parse_batch(body).unwrap()),
                "typed_lenient" => peak_during(|| spektr::parse_batch_lenient(body).unwrap()),
                _ => unreachable!("row {row}"),
            })
        }
        Input::PredictaidEvents(events) => {
            let one = |body: &[u8]| match row {
                "ignored_any" => Some(peak_during(|| {
                    serde_json::from_slice::<IgnoredAny>(body).unwrap()
                })),
                "serde_json_value" => Some(peak_during(|| {
                    serde_json::from_slice::<serde_json::Value>(body).unwrap()
                })),
                "sonic_rs_value" => Some(peak_during(|| {
                    sonic_rs::from_slice::<sonic_rs::Value>(body).unwrap()
                })),
                "typed_strict" => Some(peak_during(|| predictaid::parse(body).unwrap())),
                // PredictaID has no lenient decoder.
                _ => None,
            };
            events.iter().map(|e| one(e)).sum()
        }
    }
}

fn main() {
    let mut table = String::new();
    let mut json = String::from("{");
    writeln!(
        table,
        "| body | bytes | {} |",
        ROWS.map(|r| format!("`{r}`")).join(" | ")
    )
    .unwrap();
    writeln!(table, "|---|---:|{}", "---:|".repeat(ROWS.len())).unwrap();
    for (i, body) in bodies().iter().enumerate() {
        let len = body.input.len();
        let mut cells = Vec::new();
        let mut fields = Vec::new();
        for row in ROWS {
            // Warm up once (lazy statics, first-touch buffers), then measure.
            let _ = peak_of(row, &body.input);
            match peak_of(row, &body.input) {
                Some(peak) => {
                    cells.push(format!("{:.2}x", peak as f64 / len as f64));
                    fields.push(format!("\"{row}\":{peak}"));
                }
                None => cells.push("n/a".to_owned()),
            }
        }
        writeln!(
            table,
            "| {} | {} | {} |",
            body.group,
            len,
            cells.join(" | ")
        )
        .unwrap();
        if i > 0 {
            json.push(',');
        }
        write!(
            json,
            "\"{}\":{{\"bytes\":{len},{}}}",
            body.group,
            fields.join(",")
        )
        .unwrap();
    }
    json.push('}');
    println!("Peak heap during decode (result alive), as a multiple of the body's size:\n");
    print!("{table}");
    let path = target_dir().join("peak-heap.json");
    std::fs::write(&path, json).unwrap();
    println!("\nwritten to {}", path.display());
}
