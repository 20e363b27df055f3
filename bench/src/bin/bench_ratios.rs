//! The ratio report of BENCHMARKS.md: reads criterion's medians
//! (`target/criterion/<group>/<row>/new/estimates.json`) after
//! `cargo bench -p kyc-webhooks-bench`, and the peak heap figures
//! (`target/peak-heap.json`, written by `--example peak_heap`) if present, and
//! prints in Markdown one table per body (each row's time as a ratio to
//! `serde_json_value`, `ignored_any` and `sonic_rs_value`, lenient/strict,
//! peak heap) and the status of each target of issue 9.
//!
//! `cargo run --release -p kyc-webhooks-bench --bin bench_ratios [CRITERION_DIR [PEAK_HEAP_JSON]]`

use std::collections::BTreeMap;
use std::path::PathBuf;

use kyc_webhooks_bench::{parse, target_dir, Json, GROUPS, ROWS};

/// A group's figures: median time (ns) and peak heap (bytes) per row, body size.
#[derive(Default)]
struct Group {
    median: BTreeMap<&'static str, f64>,
    peak: BTreeMap<&'static str, f64>,
    bytes: Option<f64>,
}

impl Group {
    /// `a`'s median time divided by `b`'s.
    fn ratio(&self, a: &str, b: &str) -> Option<f64> {
        Some(self.median.get(a)? / self.median.get(b)?)
    }

    /// `a`'s peak heap divided by `b`'s.
    fn heap_ratio(&self, a: &str, b: &str) -> Option<f64> {
        Some(self.peak.get(a)? / self.peak.get(b)?)
    }
}

fn read_json(path: &PathBuf) -> Option<Json> {
    let text = std::fs::read_to_string(path).ok()?;
    parse(&text).ok()
}

fn fmt_time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_owned(), |r| format!("{r:.2}"))
}

/// A figure computed from a group's medians or peaks.
type Measure = fn(&Group) -> Option<f64>;

/// One target: a description, the group it is judged on, the measured value
/// and whether it passes.
struct Check {
    target: &'static str,
    group: &'static str,
    measured: Option<f64>,
    unit: &'static str,
    pass: fn(f64) -> bool,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let criterion = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("criterion"));
    let heap_path = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("peak-heap.json"));
    let heap = read_json(&heap_path);

    let mut groups: BTreeMap<&'static str, Group> = BTreeMap::new();
    for group in GROUPS {
        let mut g = Group::default();
        for row in ROWS {
            let path = criterion
                .join(group)
                .join(row)
                .join("new")
                .join("estimates.json");
            if let Some(median) = read_json(&path)
                .as_ref()
                .and_then(|e| e.get("median")?.get("point_estimate")?.as_f64())
            {
                g.median.insert(row, median);
            }
            if let Some(peak) = heap.as_ref().and_then(|h| h.get(group)?.get(row)?.as_f64()) {
                g.peak.insert(row, peak);
            }
        }
        g.bytes = heap
            .as_ref()
            .and_then(|h| h.get(group)?.get("bytes")?.as_f64());
        groups.insert(group, g);
    }

    println!(
        "Medians from {}; peak heap from {}.\n",
        criterion.display(),
        if heap.is_some() {
            heap_path.display().to_string()
        } else {
            format!("(missing: {})", heap_path.display())
        }
    );
    for group in GROUPS {
        let g = &groups[group];
        if g.median.is_empty() {
            println!("### {group}\n\nno criterion results\n");
            continue;
        }
        match g.bytes {
            Some(bytes) => println!("### {group} ({:.2} MB)\n", bytes / 1e6),
            None => println!("### {group}\n"),
        }
        println!(
            "| row | median | time / `serde_json_value` | time / `ignored_any` | time / `sonic_rs_value` | peak heap / body |"
        );
        println!("|---|---:|---:|---:|---:|---:|");
        for row in ROWS {
            let Some(&median) = g.median.get(row) else {
                continue;
            };
            let heap = match (g.peak.get(row), g.bytes) {
                (Some(peak), Some(bytes)) => format!("{:.2}x", peak / bytes),
                _ => "–".to_owned(),
            };
            println!(
                "| `{row}` | {} | {} | {} | {} | {heap} |",
                fmt_time(median),
                fmt_ratio(g.ratio(row, "serde_json_value")),
                fmt_ratio(g.ratio(row, "ignored_any")),
                fmt_ratio(g.ratio(row, "sonic_rs_value")),
            );
        }
        let speedup = g.ratio("serde_json_value", "typed_strict");
        print!(
            "\n`typed_strict` is {}x as fast as `serde_json_value`",
            fmt_ratio(speedup)
        );
        if let Some(lenient) = g.ratio("typed_lenient", "typed_strict") {
            print!("; `typed_lenient` takes {lenient:.2}x the time of `typed_strict`");
        }
        println!(".\n");
    }

    let checks = [
        Check {
            target: "typed strict at least 3x the throughput of `Value` (mixed, documented)",
            group: "mixed-documented",
            measured: groups["mixed-documented"].ratio("serde_json_value", "typed_strict"),
            unit: "x as fast",
            pass: |v| v >= 3.0,
        },
        Check {
            target: "typed strict at least 3x the throughput of `Value` (mixed, sorted)",
            group: "mixed-sorted",
            measured: groups["mixed-sorted"].ratio("serde_json_value", "typed_strict"),
            unit: "x as fast",
            pass: |v| v >= 3.0,
        },
        Check {
            target: "typed strict at most 3x the time of `IgnoredAny` (mixed, documented)",
            group: "mixed-documented",
            measured: groups["mixed-documented"].ratio("typed_strict", "ignored_any"),
            unit: "x the time",
            pass: |v| v <= 3.0,
        },
        Check {
            target: "typed strict at most 2.5x the time of `sonic_rs::Value` (mixed, documented)",
            group: "mixed-documented",
            measured: groups["mixed-documented"].ratio("typed_strict", "sonic_rs_value"),
            unit: "x the time",
            pass: |v| v <= 2.5,
        },
        Check {
            target: "typed strict at most 2.5x the time of `sonic_rs::Value` (mixed, sorted)",
            group: "mixed-sorted",
            measured: groups["mixed-sorted"].ratio("typed_strict", "sonic_rs_value"),
            unit: "x the time",
            pass: |v| v <= 2.5,
        },
        Check {
            target: "lenient at most 1.2x the time of strict (mixed, documented)",
            group: "mixed-documented",
            measured: groups["mixed-documented"].ratio("typed_lenient", "typed_strict"),
            unit: "x the time",
            pass: |v| v <= 1.2,
        },
        Check {
            target: "lenient at most 1.2x the time of strict (mixed, sorted)",
            group: "mixed-sorted",
            measured: groups["mixed-sorted"].ratio("typed_lenient", "typed_strict"),
            unit: "x the time",
            pass: |v| v <= 1.2,
        },
        Check {
            target: "a PredictaID event at least 2x faster than `Value` (documented)",
            group: "predictaid-documented",
            measured: groups["predictaid-documented"].ratio("serde_json_value", "typed_strict"),
            unit: "x as fast",
            pass: |v| v >= 2.0,
        },
        Check {
            target: "a PredictaID event at least 2x faster than `Value` (sorted)",
            group: "predictaid-sorted",
            measured: groups["predictaid-sorted"].ratio("serde_json_value", "typed_strict"),
            unit: "x as fast",
            pass: |v| v >= 2.0,
        },
        Check {
            target:
                "typed strict's peak heap at most half of the `Value` tree's (mixed, documented)",
            group: "mixed-documented",
            measured: groups["mixed-documented"].heap_ratio("typed_strict", "serde_json_value"),
            unit: "x `Value`'s peak",
            pass: |v| v <= 0.5,
        },
        Check {
            target: "typed strict's peak heap at most half of the `Value` tree's (mixed, sorted)",
            group: "mixed-sorted",
            measured: groups["mixed-sorted"].heap_ratio("typed_strict", "serde_json_value"),
            unit: "x `Value`'s peak",
            pass: |v| v <= 0.5,
        },
    ];
    println!("### Targets (issue 9)\n");
    println!("| target | body | measured | status |");
    println!("|---|---|---:|---|");
    let mut met = 0;
    for check in &checks {
        let (value, status) = match check.measured {
            Some(v) if (check.pass)(v) => {
                met += 1;
                (format!("{v:.2}{}", check.unit), "met")
            }
            Some(v) => (format!("{v:.2}{}", check.unit), "**not met**"),
            None => ("–".to_owned(), "not measured"),
        };
        println!(
            "| {} | {} | {value} | {status} |",
            check.target, check.group
        );
    }
    println!("\n{met} of {} targets met.", checks.len());

    // The same ratios on the free-form-heavy batch, for information: the
    // targets are set on the mixed batch.
    println!("\nFree-form-heavy batch (no targets; for comparison):\n");
    println!("| ratio | documented | sorted |");
    println!("|---|---:|---:|");
    let fd = &groups["free-form-heavy-documented"];
    let fs = &groups["free-form-heavy-sorted"];
    let lines: [(&str, Measure); 5] = [
        ("`Value` time / typed strict time (speed-up)", |g| {
            g.ratio("serde_json_value", "typed_strict")
        }),
        ("typed strict / `IgnoredAny`", |g| {
            g.ratio("typed_strict", "ignored_any")
        }),
        ("typed strict / `sonic_rs::Value`", |g| {
            g.ratio("typed_strict", "sonic_rs_value")
        }),
        ("lenient / strict", |g| {
            g.ratio("typed_lenient", "typed_strict")
        }),
        ("peak heap typed strict / `Value`", |g| {
            g.heap_ratio("typed_strict", "serde_json_value")
        }),
    ];
    for (name, f) in lines {
        println!("| {name} | {} | {} |", fmt_ratio(f(fd)), fmt_ratio(f(fs)));
    }
}
