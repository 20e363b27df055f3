//! The ratio report of BENCHMARKS.md.
//!
//! Reads criterion's medians (`<dir>/<group>/<row>/new/estimates.json`) of one
//! or more runs of `cargo bench -p kyc-webhooks-bench`, and the peak heap
//! figures written by `--example peak_heap` (`target/peak-heap.json`), and
//! prints in Markdown one table per body (each row's time as a ratio to
//! `serde_json_value`, to `ignored_any` and to `sonic_rs_value`,
//! lenient/strict, peak heap) and the status of each target of issue 9.
//!
//! Every ratio is taken between rows of the same run. With several runs a
//! cell shows the median of the runs' ratios and their range, and the targets
//! are judged on that median.
//!
//! ```text
//! cargo run --release -p kyc-webhooks-bench --bin bench_ratios -- [--heap FILE] [CRITERION_DIR...]
//! ```
//!
//! Without a directory it reads `target/criterion` (the last run).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kyc_webhooks_bench::{parse, target_dir, Json, GROUPS, ROWS};

/// One run's median time (ns) per group and row.
type Run = BTreeMap<&'static str, BTreeMap<&'static str, f64>>;

/// Peak heap (bytes) per group and row, and each group's body size under the
/// row name `bytes`.
type Heap = BTreeMap<&'static str, BTreeMap<&'static str, f64>>;

fn read_json(path: &Path) -> Option<Json> {
    let text = std::fs::read_to_string(path).ok()?;
    parse(&text).ok()
}

/// The medians of one criterion directory.
fn read_run(dir: &Path) -> Run {
    let mut run = Run::new();
    for group in GROUPS {
        for row in ROWS {
            let path = dir.join(group).join(row).join("new").join("estimates.json");
            if let Some(median) = read_json(&path)
                .as_ref()
                .and_then(|e| e.get("median")?.get("point_estimate")?.as_f64())
            {
                run.entry(group).or_default().insert(row, median);
            }
        }
    }
    run
}

/// The peak heap figures, if the file is there.
fn read_heap(path: &Path) -> Option<Heap> {
    let json = read_json(path)?;
    let mut heap = Heap::new();
    for group in GROUPS {
        for key in ROWS.iter().copied().chain(["bytes"]) {
            if let Some(v) = json.get(group).and_then(|g| g.get(key)?.as_f64()) {
                heap.entry(group).or_default().insert(key, v);
            }
        }
    }
    Some(heap)
}

/// `a`'s median time over `b`'s in one run's `group`.
fn ratio(run: &Run, group: &str, a: &str, b: &str) -> Option<f64> {
    let g = run.get(group)?;
    Some(g.get(a)? / g.get(b)?)
}

/// The values of one figure across runs: median, minimum, maximum.
#[derive(Clone, Copy)]
struct Spread {
    median: f64,
    min: f64,
    max: f64,
    runs: usize,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        Some(Spread {
            median,
            min: values[0],
            max: values[n - 1],
            runs: n,
        })
    }

    fn show(self) -> String {
        if self.runs == 1 {
            format!("{:.2}", self.median)
        } else {
            format!("{:.2} ({:.2}–{:.2})", self.median, self.min, self.max)
        }
    }
}

/// A time ratio of `group` across `runs`.
fn spread(runs: &[Run], group: &str, a: &str, b: &str) -> Option<Spread> {
    Spread::of(runs.iter().filter_map(|r| ratio(r, group, a, b)).collect())
}

fn show(s: Option<Spread>) -> String {
    s.map_or_else(|| "–".to_owned(), Spread::show)
}

fn fmt_time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.1} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// How a target's figure is computed and judged.
enum Figure {
    /// `a`'s time over `b`'s.
    Time(&'static str, &'static str),
    /// `a`'s peak heap over `b`'s (one measurement, no spread).
    Heap(&'static str, &'static str),
}

/// One target of issue 9 on one body.
struct Target {
    text: &'static str,
    group: &'static str,
    figure: Figure,
    unit: &'static str,
    limit: f64,
    /// `true`: the figure must be at least `limit`; `false`: at most.
    at_least: bool,
}

fn targets() -> Vec<Target> {
    let mut out = Vec::new();
    for group in ["mixed-documented", "mixed-sorted"] {
        out.push(Target {
            text: "typed strict at least 3x the throughput of `Value`",
            group,
            figure: Figure::Time("serde_json_value", "typed_strict"),
            unit: "x as fast",
            limit: 3.0,
            at_least: true,
        });
    }
    out.push(Target {
        text: "typed strict at most 3x the time of `IgnoredAny`",
        group: "mixed-documented",
        figure: Figure::Time("typed_strict", "ignored_any"),
        unit: "x the time",
        limit: 3.0,
        at_least: false,
    });
    for group in ["mixed-documented", "mixed-sorted"] {
        out.push(Target {
            text: "typed strict at most 2.5x the time of `sonic_rs::Value`",
            group,
            figure: Figure::Time("typed_strict", "sonic_rs_value"),
            unit: "x the time",
            limit: 2.5,
            at_least: false,
        });
    }
    for group in ["mixed-documented", "mixed-sorted"] {
        out.push(Target {
            text: "lenient at most 1.2x the time of strict",
            group,
            figure: Figure::Time("typed_lenient", "typed_strict"),
            unit: "x the time",
            limit: 1.2,
            at_least: false,
        });
    }
    for group in ["predictaid-documented", "predictaid-sorted"] {
        out.push(Target {
            text: "a PredictaID event at least 2x faster than `Value`",
            group,
            figure: Figure::Time("serde_json_value", "typed_strict"),
            unit: "x as fast",
            limit: 2.0,
            at_least: true,
        });
    }
    for group in ["mixed-documented", "mixed-sorted"] {
        out.push(Target {
            text: "typed strict's peak heap at most half of the `Value` tree's",
            group,
            figure: Figure::Heap("typed_strict", "serde_json_value"),
            unit: "x `Value`'s",
            limit: 0.5,
            at_least: false,
        });
    }
    out
}

fn main() {
    let mut heap_path = target_dir().join("peak-heap.json");
    let mut dirs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--heap" {
            heap_path = PathBuf::from(args.next().expect("--heap FILE"));
        } else {
            dirs.push(PathBuf::from(arg));
        }
    }
    if dirs.is_empty() {
        dirs.push(target_dir().join("criterion"));
    }
    let runs: Vec<Run> = dirs.iter().map(|d| read_run(d)).collect();
    let heap = read_heap(&heap_path);

    println!("Criterion medians of {} run(s):", runs.len());
    for dir in &dirs {
        println!("- {}", dir.display());
    }
    match &heap {
        Some(_) => println!("\nPeak heap: {}.", heap_path.display()),
        None => println!("\nPeak heap: missing ({}).", heap_path.display()),
    }
    if runs.len() > 1 {
        println!(
            "\nEach ratio is taken within one run; a cell gives the median over \
             the runs and (min–max)."
        );
    }
    println!();

    for group in GROUPS {
        let bytes = heap
            .as_ref()
            .and_then(|h| h.get(group)?.get("bytes").copied());
        match bytes {
            Some(b) if b >= 1e6 => println!("### {group} ({:.2} MB)\n", b / 1e6),
            Some(b) => println!("### {group} ({b} bytes)\n"),
            None => println!("### {group}\n"),
        }
        if runs.iter().all(|r| !r.contains_key(group)) {
            println!("no criterion results\n");
            continue;
        }
        println!(
            "| row | median time | time / `serde_json_value` | time / `ignored_any` | time / `sonic_rs_value` | peak heap / body |"
        );
        println!("|---|---:|---:|---:|---:|---:|");
        for row in ROWS {
            let times: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.get(group)?.get(row).copied())
                .collect();
            let Some(time) = Spread::of(times) else {
                continue;
            };
            let peak = heap
                .as_ref()
                .and_then(|h| Some(h.get(group)?.get(row)? / bytes?))
                .map_or_else(|| "–".to_owned(), |p| format!("{p:.2}x"));
            println!(
                "| `{row}` | {} | {} | {} | {} | {peak} |",
                fmt_time(time.median),
                show(spread(&runs, group, row, "serde_json_value")),
                show(spread(&runs, group, row, "ignored_any")),
                show(spread(&runs, group, row, "sonic_rs_value")),
            );
        }
        print!(
            "\n`typed_strict`: {}x as fast as `serde_json_value`",
            show(spread(&runs, group, "serde_json_value", "typed_strict"))
        );
        if let Some(l) = spread(&runs, group, "typed_lenient", "typed_strict") {
            print!(
                "; `typed_lenient`: {}x the time of `typed_strict`",
                l.show()
            );
        }
        println!(".\n");
    }

    println!("### Targets (issue 9)\n");
    println!("| target | body | measured | status |");
    println!("|---|---|---:|---|");
    let all = targets();
    let mut met = 0;
    for t in &all {
        let figure = match t.figure {
            Figure::Time(a, b) => spread(&runs, t.group, a, b),
            Figure::Heap(a, b) => heap.as_ref().and_then(|h| {
                let g = h.get(t.group)?;
                Spread::of(vec![g.get(a)? / g.get(b)?])
            }),
        };
        let (measured, status) = match figure {
            Some(s) => {
                let ok = if t.at_least {
                    s.median >= t.limit
                } else {
                    s.median <= t.limit
                };
                met += usize::from(ok);
                (
                    format!("{}{}", s.show(), t.unit),
                    if ok { "met" } else { "**not met**" },
                )
            }
            None => ("–".to_owned(), "not measured"),
        };
        println!("| {} | {} | {measured} | {status} |", t.text, t.group);
    }
    println!("\n{met} of {} met.", all.len());
}
