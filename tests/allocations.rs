//! How many heap allocations decoding an event makes, counted by this test
//! binary's global allocator (per thread, so that the tests can run in
//! parallel): an ID of up to 31 bytes is kept inline and costs none, a
//! longer one costs one, as the `String` it replaced did.
//!
//! `cargo test --test allocations -- --nocapture` prints the figures
//! (allocations per event over the fixtures, and the sizes of the events).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

mod common;

use common::{fixture, fixtures, stem};
use kyc_webhooks::{predictaid, spektr};
use serde_json::Value;

struct Counting;

thread_local! {
    /// Whether this thread's allocations are being counted.
    static ON: Cell<bool> = const { Cell::new(false) };
    /// This thread's allocations (and reallocations) while counting.
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: a thread's locals may be gone while it exits.
    let _ = ON.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|count| count.set(count.get() + 1));
        }
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so the blocks handed out and taken back are exactly `System`'s;
// the counting touches const-initialised thread locals only, which neither
// allocate nor panic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `alloc`'s contract for `layout`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` (through `alloc`/`realloc`) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `realloc`'s contract; the block is `System`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The allocations `f` makes on this thread, and its result (dropped by the
/// caller, outside the count).
fn allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    COUNT.with(|count| count.set(0));
    ON.with(|on| on.set(true));
    let out = std::hint::black_box(f());
    ON.with(|on| on.set(false));
    (COUNT.with(Cell::get), out)
}

/// The wire keys whose string values are typed IDs in the documented types
/// (both providers), beside the event's own `id` (top level only: a tag's
/// undocumented `id` in Spektr's `process_run_end` sample is kept in its
/// `extra`).
const ID_KEYS: &[&str] = &[
    // Spektr
    "spektrId",
    "spektr_id",
    "workspaceId",
    "processId",
    "parentProcessId",
    "parentSpektrId",
    "contextId",
    "stepId",
    "alertId",
    "userId",
    "tagId",
    "datasetId",
    "fieldId",
    "newRecordId",
    "oldRecordId",
    "parentId",
    "childId",
    // PredictaID
    "companyId",
    "aggregateId",
    "customerId",
    "anonymousCustomerId",
    "targetCustomerId",
    "flowId",
    "flowVersionId",
    "publishedVersionId",
    "previousBlueVersionId",
    "clientAppId",
    "transactionId",
    "publishedBy",
    "requestedBy",
];

/// How many IDs `lengthen_ids` changed, and how many of them were inline
/// (31 bytes or fewer) before.
#[derive(Default)]
struct Ids {
    all: usize,
    inline: usize,
}

/// Makes every ID in the event `event` longer than the inline capacity (a
/// suffix of 32 bytes).
fn lengthen_ids(event: &mut Value) -> Ids {
    fn walk(value: &mut Value, top: bool, ids: &mut Ids) {
        match value {
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    let is_id = ID_KEYS.contains(&key.as_str()) || (top && key == "id");
                    match value {
                        Value::String(text) if is_id => {
                            ids.all += 1;
                            ids.inline += usize::from(text.len() <= 31);
                            text.push_str(&"x".repeat(32));
                        }
                        _ => walk(value, false, ids),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| walk(item, false, ids)),
            _ => {}
        }
    }
    let mut ids = Ids::default();
    walk(event, true, &mut ids);
    ids
}

/// For every documented sample: decoding it with its ids as they are, then
/// with every id made too long to be inline, the difference is one
/// allocation per id that was inline: the inline ids cost nothing, and
/// every id field of the sample is typed (an id left a `String`, or kept
/// in `extra`, would cost as much short as long). The samples are the
/// documented types' (`fixtures/<provider>/*.json`, not `unknown/`, whose
/// ids are untyped data).
fn inline_ids_cost_no_allocation<E>(provider: &str, decode: impl Fn(&[u8]) -> E) {
    let files = fixtures(provider);
    let mut total = 0;
    for path in &files {
        let name = stem(path);
        let as_sent = std::fs::read(path).unwrap();
        let (n, event) = allocations(|| decode(&as_sent));
        drop(event);
        total += n;
        // Both through `Value`, so that both have the same key order.
        let mut json: Value = serde_json::from_slice(&as_sent).unwrap();
        let short = serde_json::to_vec(&json).unwrap();
        let Ids { all: ids, inline } = lengthen_ids(&mut json);
        let long = serde_json::to_vec(&json).unwrap();
        let (with_short, event) = allocations(|| decode(&short));
        drop(event);
        let (with_long, event) = allocations(|| decode(&long));
        drop(event);
        println!("{provider} {name}: {n} allocations as sent; {ids} ids, {inline} of them inline");
        assert!(ids > 0, "{name}: no id found");
        assert_eq!(
            with_long,
            with_short + inline,
            "{name}: {with_short} allocations with its ids, {with_long} with them made long"
        );
    }
    println!(
        "{provider}: {:.2} allocations per event over {} samples",
        total as f64 / files.len() as f64,
        files.len()
    );
}

#[test]
fn spektr_ids_of_up_to_31_bytes_cost_no_allocation() {
    inline_ids_cost_no_allocation("spektr", |body| spektr::parse_event(body).unwrap());
}

#[test]
fn predictaid_ids_of_up_to_31_bytes_cost_no_allocation() {
    inline_ids_cost_no_allocation("predictaid", |body| predictaid::parse(body).unwrap());
}

#[test]
fn a_batch_of_every_type_allocates_at_most_once_per_string_that_is_not_an_inline_id() {
    // With `String` ids every string value could cost an allocation (most
    // did); an inline id costs none.
    fn strings(value: &Value) -> usize {
        match value {
            Value::String(_) => 1,
            Value::Array(items) => items.iter().map(strings).sum(),
            Value::Object(map) => map.values().map(strings).sum(),
            _ => 0,
        }
    }
    let body = fixture("spektr/batches/all-types.json");
    let mut json: Value = serde_json::from_slice(&body).unwrap();
    let strings = strings(&json);
    let events = json["results"].as_array_mut().unwrap();
    let inline: usize = events.iter_mut().map(|e| lengthen_ids(e).inline).sum();
    let (n, batch) = allocations(|| spektr::parse_batch(&body).unwrap());
    let events = batch.results.len();
    println!(
        "spektr all-types batch: {n} allocations for {events} events ({:.2} per event); {strings} string values, {inline} inline ids",
        n as f64 / events as f64,
    );
    println!(
        "size_of: spektr::Event {}, spektr::Payload {}, predictaid::Event {}, predictaid::Payload {}",
        std::mem::size_of::<spektr::Event>(),
        std::mem::size_of::<spektr::Payload>(),
        std::mem::size_of::<predictaid::Event>(),
        std::mem::size_of::<predictaid::Payload>()
    );
    assert!(n <= strings - inline, "{n} allocations");
}
