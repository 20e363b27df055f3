//! Peak heap while decoding Spektr batches, as a multiple of the body's
//! size, measured with a counting allocator (this test binary's global
//! allocator). Promise 1: no input makes the crate allocate without bound
//! relative to its size; for a batch, at most 16 times the body, whatever
//! its shape (16 MiB of the smallest items, of minimal events valid or
//! broken, of the documented samples with feature `testing`).
//!
//! `cargo test --test memory --all-features -- --nocapture --test-threads 1`
//! prints the figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

mod common;

use common::fixture;
use kyc_webhooks::{batch, spektr};
use serde_json::Value;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: `Counting` is `System` plus two counters. Every block comes from
// `System.alloc` and goes back to `System.dealloc` with the layout it was
// asked for, unchanged, so each block is fit for its layout exactly as far as
// `System` makes it so, and is freed by the allocator that made it. The
// provided methods (`alloc_zeroed`, `realloc`) keep their default bodies,
// which call these two, so they go through the same pairing. The counting is
// relaxed atomic arithmetic on statics: it does not allocate (no re-entry into
// the allocator) and cannot panic (atomic operations wrap, and the one plain
// `+` adds a live block's size to the sum of the other live blocks' sizes,
// which the address space bounds far below `usize::MAX`), so neither method
// unwinds, which `GlobalAlloc` forbids.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller upholds `GlobalAlloc::alloc`'s contract for
        // `layout` (a non-zero size); `System.alloc` has the same contract
        // and is given the same `layout`. A null return (allocation failure)
        // is passed on as is and not counted.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: our caller guarantees that `ptr` is a block currently
        // allocated by this allocator with `layout`. This allocator's blocks
        // are exactly `System`'s, returned by `alloc` above unchanged for the
        // same layout, so `ptr` is currently allocated by `System` with
        // `layout`, which is what `System.dealloc` requires. It is freed once,
        // here, and not used after.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests in this binary measure one at a time.
static MEASURING: Mutex<()> = Mutex::new(());

/// Peak bytes allocated above the current level while `f` runs, and its result.
fn peak_during<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (PEAK.load(Ordering::Relaxed) - base, out)
}

/// A batch of `n` events cycling through every documented type (the
/// all-types fixture) with unique ids.
fn big_batch(n: usize) -> Vec<u8> {
    let all: Value = serde_json::from_slice(&fixture("spektr/batches/all-types.json")).unwrap();
    let kinds = all["results"].as_array().unwrap();
    let events: Vec<String> = (0..n)
        .map(|i| {
            let mut event = kinds[i % kinds.len()].clone();
            event["id"] = Value::String(format!("evt{i:08}"));
            event.to_string()
        })
        .collect();
    format!("{{\"results\":[{}]}}", events.join(",")).into_bytes()
}

#[test]
fn peak_heap_of_a_100000_event_batch_is_a_small_multiple_of_the_body() {
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let body = big_batch(100_000);
    let size = body.len();

    let (strict, batch) = peak_during(|| spektr::parse_batch(&body).unwrap());
    assert_eq!(batch.results.len(), 100_000);
    drop(batch);
    let (lenient, items) = peak_during(|| batch::parse_lenient::<spektr::Event>(&body).unwrap());
    assert!(items.iter().all(Result::is_ok));
    drop(items);
    let (value, tree) = peak_during(|| serde_json::from_slice::<Value>(&body).unwrap());
    drop(tree);

    let ratio = |peak: usize| peak as f64 / size as f64;
    println!(
        "body {:.1} MB; peak heap: parse_batch {:.2}x, parse_lenient {:.2}x, serde_json::Value {:.2}x the body",
        size as f64 / 1e6,
        ratio(strict),
        ratio(lenient),
        ratio(value)
    );
    // Bounded relative to the input: a few times the body, as a Value tree is.
    assert!(
        ratio(strict) < 6.0,
        "parse_batch peak {:.2}x the body",
        ratio(strict)
    );
    assert!(
        ratio(lenient) < 6.0,
        "parse_lenient peak {:.2}x the body",
        ratio(lenient)
    );
    // And no more than the `Value` tree users would build instead.
    assert!(
        strict <= value,
        "parse_batch peak {strict} B > the Value tree's {value} B"
    );
    assert!(
        lenient <= value,
        "parse_lenient peak {lenient} B > the Value tree's {value} B"
    );
}

#[test]
fn rejected_events_cost_their_own_size_not_more() {
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    // 10,000 events, all broken (a mistyped field): each Rejected keeps its
    // raw text and an error; the peak stays a small multiple of the body.
    let body = String::from_utf8(big_batch(10_000))
        .unwrap()
        .replace("\"processId\":\"", "\"processId\":7,\"x\":\"");
    let (peak, items) =
        peak_during(|| batch::parse_lenient::<spektr::Event>(body.as_bytes()).unwrap());
    let rejected = items.iter().filter(|i| i.is_err()).count();
    assert!(rejected > 5_000, "{rejected} rejected");
    let ratio = peak as f64 / body.len() as f64;
    println!("lenient batch of {rejected} rejected events: peak heap {ratio:.2}x the body");
    assert!(ratio < 6.0, "peak {ratio:.2}x the body");
}

// ---------------------------------------------------------------------------
// Bodies of the largest size a receiver takes (16 MiB, the axum extractors'
// `DEFAULT_BODY_LIMIT`), shaped to make the most items per byte. The bound:
// peak heap, while decoding and while holding the result, at most 16x the
// body, for `parse` and `parse_lenient`, whatever the body holds.
// ---------------------------------------------------------------------------

/// 16 MiB.
const LIMIT: usize = 16 * 1024 * 1024;

/// The promised bound: peak heap at most this many times the body.
const BOUND: f64 = 16.0;

/// A batch of items made by `item(i)` for i = 0, 1, ..., as many as fit in
/// [`LIMIT`] bytes, and how many there are.
fn batch_of(mut item: impl FnMut(usize) -> String) -> (Vec<u8>, usize) {
    let mut body = String::with_capacity(LIMIT);
    body.push_str("{\"results\":[");
    let mut i = 0;
    loop {
        let next = item(i);
        // Room for the separator and the closing `]}`.
        if body.len() + next.len() + 3 > LIMIT {
            break;
        }
        if i > 0 {
            body.push(',');
        }
        body.push_str(&next);
        i += 1;
    }
    body.push_str("]}");
    (body.into_bytes(), i)
}

/// How one call went: its peak as a multiple of the body, and what it gave.
struct Measured {
    ratio: f64,
    outcome: String,
}

/// Measures `parse_lenient` and `parse` (strict) on `body`, prints the
/// figures, and checks both against [`BOUND`]. Returns the two outcomes for
/// the caller to check.
fn measure(shape: &str, body: &[u8]) -> (Measured, Measured) {
    let size = body.len() as f64;
    let (peak, lenient) = peak_during(|| batch::parse_lenient::<spektr::Event>(body));
    let lenient = Measured {
        ratio: peak as f64 / size,
        outcome: match &lenient {
            Ok(items) => format!(
                "Ok: {} events, {} rejected",
                items.iter().filter(|i| i.is_ok()).count(),
                items.iter().filter(|i| i.is_err()).count()
            ),
            Err(e) => format!("Err: {e}"),
        },
    };
    let (peak, strict) = peak_during(|| spektr::parse_batch(body));
    let strict = Measured {
        ratio: peak as f64 / size,
        outcome: match &strict {
            Ok(batch) => format!("Ok: {} events", batch.results.len()),
            Err(e) => format!("Err: {e}"),
        },
    };
    println!(
        "{shape}: {:.1} MiB; parse_lenient {:.2}x ({}); parse {:.2}x ({})",
        size / (1024.0 * 1024.0),
        lenient.ratio,
        lenient.outcome,
        strict.ratio,
        strict.outcome
    );
    assert!(
        lenient.ratio <= BOUND,
        "{shape}: parse_lenient peak {:.2}x the body ({})",
        lenient.ratio,
        lenient.outcome
    );
    assert!(
        strict.ratio <= BOUND,
        "{shape}: parse peak {:.2}x the body ({})",
        strict.ratio,
        strict.outcome
    );
    (lenient, strict)
}

/// The shortest valid Spektr event this test builds: an unknown type, with
/// a distinct id.
fn minimal_event(i: usize) -> String {
    format!(r#"{{"id":"a{i}","spektrId":"s","eventType":"x","timestamp":1,"data":{{}}}}"#)
}

#[test]
fn peak_heap_of_16_mib_of_the_smallest_items_is_at_most_16x_the_body() {
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());

    // Empty objects: 5.6 million items, none of them an event.
    let (body, count) = batch_of(|_| "{}".to_owned());
    let (lenient, strict) = measure("{} items", &body);
    let refused = format!("Err: Spektr batch: results: {count} items, 3.0 bytes each on average");
    assert!(lenient.outcome.starts_with(&refused), "{}", lenient.outcome);
    assert!(strict.outcome.starts_with("Err"), "{}", strict.outcome);
    drop(body);

    // One-digit numbers: 8.4 million items.
    let (body, count) = batch_of(|_| "1".to_owned());
    let (lenient, strict) = measure("1 items", &body);
    let refused = format!("Err: Spektr batch: results: {count} items, 2.0 bytes each on average");
    assert!(lenient.outcome.starts_with(&refused), "{}", lenient.outcome);
    assert!(strict.outcome.starts_with("Err"), "{}", strict.outcome);
    drop(body);

    // Minimal valid events of an unknown type: every one decodes.
    let (body, count) = batch_of(minimal_event);
    let (lenient, strict) = measure("minimal valid events", &body);
    let all = format!("Ok: {count} events");
    assert_eq!(lenient.outcome, format!("{all}, 0 rejected"));
    assert_eq!(strict.outcome, all);
    drop(body);

    // As many as make a vector that grows by doubling pass a power of two
    // by one (its old and new buffers would then be 3x the events).
    let count = (1 << 17) + 1;
    let body = format!(
        "{{\"results\":[{}]}}",
        (0..count).map(minimal_event).collect::<Vec<_>>().join(",")
    )
    .into_bytes();
    let (lenient, strict) = measure("minimal valid events, 2^17 + 1", &body);
    let all = format!("Ok: {count} events");
    assert_eq!(lenient.outcome, format!("{all}, 0 rejected"));
    assert_eq!(strict.outcome, all);
    drop(body);

    // The same events, each broken (a timestamp as a string): each one is
    // a `Rejected`, with its raw text and its error.
    let (body, count) = batch_of(|i| minimal_event(i).replace(":1,", ":\"1\","));
    let (lenient, strict) = measure("minimal broken events", &body);
    assert_eq!(lenient.outcome, format!("Ok: 0 events, {count} rejected"));
    assert!(strict.outcome.starts_with("Err"), "{}", strict.outcome);
    drop(body);

    // Strings as long as the shortest event, made of characters that
    // serde's message escapes (so the message outgrows the item).
    let (body, count) = batch_of(|_| format!("\"{}\"", "\u{ad}".repeat(30)));
    let (lenient, strict) = measure("short strings", &body);
    assert_eq!(lenient.outcome, format!("Ok: 0 events, {count} rejected"));
    assert!(strict.outcome.starts_with("Err"), "{}", strict.outcome);
}

#[cfg(feature = "testing")]
#[test]
fn peak_heap_of_16_mib_of_the_documented_samples_is_at_most_16x_the_body() {
    use kyc_webhooks::testing;
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let samples: Vec<spektr::Event> = spektr::EventType::ALL
        .iter()
        .map(|&t| testing::spektr::sample(t))
        .collect();
    let (body, count) = batch_of(|i| {
        let mut event = samples[i % samples.len()].clone();
        event.id = format!("evt{i:08}").into();
        serde_json::to_string(&event).unwrap()
    });
    let (lenient, strict) = measure("documented samples", &body);
    assert_eq!(lenient.outcome, format!("Ok: {count} events, 0 rejected"));
    assert_eq!(strict.outcome, format!("Ok: {count} events"));
}

/// One valid event made big by its top-level fields the crate does not
/// know (each kept in `Extra` as its text).
#[test]
fn peak_heap_of_one_event_with_16_mib_of_unknown_fields_is_at_most_16x_the_body() {
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let mut body = String::from(
        r#"{"results":[{"id":"a","spektrId":"s","eventType":"x","timestamp":1,"data":{}"#,
    );
    let mut fields = 0;
    while body.len() < LIMIT - 40 {
        body.push_str(&format!(",\"{fields:x}\":0"));
        fields += 1;
    }
    body.push_str("}]}");
    let (lenient, strict) = measure("one event's unknown fields", body.as_bytes());
    assert_eq!(lenient.outcome, "Ok: 1 events, 0 rejected");
    assert_eq!(strict.outcome, "Ok: 1 events");
    assert!(fields > 1_000_000, "{fields}");
}

/// A typed array inside an event, of the smallest elements (a `Tag` has no
/// required field, so `{}` is one, and costs its whole struct): the event
/// is refused, with its text kept, before its tags outgrow the bound.
#[test]
fn peak_heap_of_one_event_with_16_mib_of_empty_tags_is_at_most_16x_the_body() {
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let body = process_run_end_with_tags(|_| "{}".to_owned());
    let (lenient, strict) = measure("one event's empty tags", &body);
    assert_eq!(lenient.outcome, "Ok: 0 events, 1 rejected");
    assert!(
        strict.outcome.starts_with(
            "Err: Spektr event of type \"process_run_end\": results[0].data.tags: more than "
        ),
        "{}",
        strict.outcome
    );
    assert!(
        strict.outcome.contains("over the memory bound"),
        "{}",
        strict.outcome
    );
    drop(body);

    // `data` before the event type (keys sorted, as a relay sends them):
    // the data is decoded late, from its text, under the bound, and the
    // error still names the array.
    let body = String::from_utf8(process_run_end_with_tags(|_| "{}".to_owned())).unwrap();
    let (head, tail) = body.split_at(body.find(r#""data":"#).unwrap());
    let data_first = format!(
        "{{\"results\":[{{{},{}",
        tail.strip_suffix("}]}").unwrap(),
        head.strip_prefix("{\"results\":[{")
            .unwrap()
            .trim_end_matches(',')
    ) + "}]}";
    let (lenient, strict) = measure("one event's empty tags, data first", data_first.as_bytes());
    assert_eq!(lenient.outcome, "Ok: 0 events, 1 rejected");
    assert!(
        strict.outcome.contains("results[0].data.tags: more than"),
        "{}",
        strict.outcome
    );
}

/// Tags as Spektr sends them, as many as fit in 16 MiB: every one decoded.
#[test]
fn peak_heap_of_one_event_with_16_mib_of_real_tags_is_at_most_16x_the_body() {
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let body = process_run_end_with_tags(|i| {
        format!(r#"{{"color":"rgba(255,0,0,1)","label":"tag {i}","icon":"Siren"}}"#)
    });
    let (lenient, strict) = measure("one event's real tags", &body);
    assert_eq!(lenient.outcome, "Ok: 1 events, 0 rejected");
    assert_eq!(strict.outcome, "Ok: 1 events");
}

/// One `process_run_end` of about 16 MiB, its `tags` made by `tag(i)`.
fn process_run_end_with_tags(mut tag: impl FnMut(usize) -> String) -> Vec<u8> {
    let mut body = String::from(concat!(
        r#"{"results":[{"id":"a","spektrId":"s","eventType":"process_run_end","timestamp":1,"#,
        r#""data":{"customerStatus":"approved","processType":"loop","processOutput":"unknown","#,
        r#""processName":"loop","processId":"p","score":0,"contextId":"c","tags":["#
    ));
    for i in 0.. {
        let next = tag(i);
        if body.len() + next.len() + 10 > LIMIT {
            break;
        }
        if i > 0 {
            body.push(',');
        }
        body.push_str(&next);
    }
    body.push_str("]}}]}");
    body.into_bytes()
}
