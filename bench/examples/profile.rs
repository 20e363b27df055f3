//! Decodes one body many times in a loop, for a profiler to sample:
//!
//! ```sh
//! cargo build --release -p kyc-webhooks-bench --example profile
//! perf record -g target/release/examples/profile samples-documented typed_strict 100
//! perf report --no-children
//! ```
//!
//! Arguments: the group of the body (`samples-documented`, `mixed-sorted`,
//! `free-form-heavy-documented`, `predictaid-samples-sorted`, ...: see
//! `kyc_webhooks_bench::GROUPS`), the row (`typed_strict`, `typed_lenient`,
//! `serde_json_value`, `ignored_any`, `sonic_rs_value`, `strict_broken_last`,
//! `lenient_broken_last`; PredictaID: the first five but lenient) and the
//! number of iterations.

use kyc_webhooks_bench::{bodies_where, run, Row, GROUPS, ROWS};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let group = args.get(1).map_or("samples-documented", String::as_str);
    let row_name = args.get(2).map_or("typed_strict", String::as_str);
    let iterations: usize = args.get(3).map_or(20, |n| n.parse().expect("a count"));
    let row = Row::from_name(row_name)
        .unwrap_or_else(|| panic!("no row {row_name}; the rows: {}", ROWS.join(", ")));
    let body = bodies_where(|g| g == group)
        .pop()
        .unwrap_or_else(|| panic!("no body {group}; the bodies: {}", GROUPS.join(", ")));
    for _ in 0..iterations {
        assert!(run(row, &body), "{row_name} does not apply to {group}");
    }
}
