//! The ratio report of BENCHMARKS.md: every row on every body, side by side in
//! one run, and every target of issue 16 judged on it.
//!
//! ```text
//! cargo run --release -p kyc-webhooks-bench --bin bench_ratios -- [--quick] [--rounds N] [--only TEXT]... [--no-heap] [--wall]
//! ```
//!
//! For each body (`kyc_webhooks_bench::GROUPS`) it runs one untimed
//! iteration of every row, then `N` rounds (default 11; `--quick`: 3), each
//! timing one iteration of every row, the rows in an order rotated from round
//! to round so that a burst of load on a shared machine does not always hit
//! the same row. Every ratio is taken between rows of the same round, and a
//! cell shows the median over the rounds and their range (min–max); targets
//! are judged on the median. Peak heap is measured once per row with the
//! counting allocator (`kyc_webhooks_bench::alloc`), which is otherwise off.
//!
//! `--only TEXT` keeps the bodies whose group name contains `TEXT` (may be
//! repeated); `--no-heap` skips the peak-heap measurement; `--wall` times
//! in wall time.
//!
//! It prints Markdown: one table per body, then the targets.

use std::time::Instant;

use kyc_webhooks_bench::alloc::{peak_during, Counting};
use kyc_webhooks_bench::clock::Clock;
use kyc_webhooks_bench::{bodies_where, decode_predictaid, run, Body, Input, Row};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Options from the command line.
struct Options {
    rounds: usize,
    clock: Clock,
    only: Vec<String>,
    heap: bool,
}

fn options() -> Options {
    let mut options = Options {
        rounds: 11,
        clock: Clock::ThreadCpu,
        only: Vec::new(),
        heap: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.rounds = 3,
            "--rounds" => {
                options.rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| usage("--rounds takes a positive number"))
            }
            "--only" => options
                .only
                .push(args.next().unwrap_or_else(|| usage("--only takes a text"))),
            "--no-heap" => options.heap = false,
            "--wall" => options.clock = Clock::Wall,
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    options
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("bench_ratios: {problem}");
    }
    eprintln!("usage: bench_ratios [--quick] [--rounds N] [--only TEXT]... [--no-heap] [--wall]");
    std::process::exit(if problem.is_empty() { 0 } else { 2 })
}

/// What was measured on one body.
struct Measured {
    group: String,
    bytes: usize,
    events: usize,
    rows: Vec<Row>,
    /// Seconds per round, per row (indexed like `rows`).
    times: Vec<Vec<f64>>,
    /// Peak heap in bytes, per row.
    heap: Vec<Option<usize>>,
}

impl Measured {
    fn index(&self, row: Row) -> Option<usize> {
        self.rows.iter().position(|&r| r == row)
    }

    /// `a`'s time over `b`'s, round by round.
    fn ratio(&self, a: Row, b: Row) -> Option<Spread> {
        let (a, b) = (self.index(a)?, self.index(b)?);
        Spread::of(
            self.times[a]
                .iter()
                .zip(&self.times[b])
                .map(|(x, y)| x / y)
                .collect(),
        )
    }

    /// `a`'s peak heap over `b`'s.
    fn heap_ratio(&self, a: Row, b: Row) -> Option<Spread> {
        let a = self.heap[self.index(a)?]? as f64;
        let b = self.heap[self.index(b)?]? as f64;
        Spread::of(vec![a / b])
    }
}

/// Times every row of `body` over `rounds` rounds, then its peak heap.
fn measure(body: &Body, rounds: usize, clock: Clock, heap: bool) -> Measured {
    let rows: Vec<Row> = Row::ALL.into_iter().filter(|&r| run(r, body)).collect();
    let mut times = vec![Vec::with_capacity(rounds); rows.len()];
    for round in 0..rounds {
        for k in 0..rows.len() {
            let i = (round + k) % rows.len();
            let start = clock.now();
            run(rows[i], body);
            times[i].push(clock.since(start));
        }
    }
    let heap = rows
        .iter()
        .map(|&row| {
            if !heap {
                return None;
            }
            match &body.input {
                Input::SpektrBatch(_) => peak_during(|| run(row, body)),
                // The sum of each delivery's own peak.
                Input::PredictaidEvents(events) => events
                    .iter()
                    .map(|e| peak_during(|| decode_predictaid(row, e)))
                    .sum(),
            }
        })
        .collect();
    Measured {
        group: body.group.clone(),
        bytes: body.input.len(),
        events: body.events,
        rows,
        times,
        heap,
    }
}

/// The values of one figure across rounds: median, minimum, maximum.
#[derive(Clone, Copy)]
struct Spread {
    median: f64,
    min: f64,
    max: f64,
    n: usize,
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
            n,
        })
    }

    fn show(self) -> String {
        if self.n == 1 {
            format!("{:.2}", self.median)
        } else {
            format!("{:.2} ({:.2}–{:.2})", self.median, self.min, self.max)
        }
    }

    /// The reciprocal: `b / a` from `a / b` (min and max swap).
    fn inverse(self) -> Spread {
        Spread {
            median: 1.0 / self.median,
            min: 1.0 / self.max,
            max: 1.0 / self.min,
            n: self.n,
        }
    }
}

fn show(s: Option<Spread>) -> String {
    s.map_or_else(|| "–".to_owned(), Spread::show)
}

fn fmt_time(seconds: f64) -> String {
    let ns = seconds * 1e9;
    if ns >= 1e6 {
        format!("{:.1} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn fmt_bytes(bytes: usize) -> String {
    if bytes >= 1_000_000 {
        format!("{:.2} MB", bytes as f64 / 1e6)
    } else {
        format!("{bytes} bytes")
    }
}

fn print_body(m: &Measured) {
    println!(
        "#### {} ({}, {} events, {} bytes/event)\n",
        m.group,
        fmt_bytes(m.bytes),
        m.events,
        m.bytes / m.events.max(1)
    );
    println!(
        "| row | median time | time / `serde_json_value` | time / `ignored_any` | time / `sonic_rs_value` | time / unbroken | peak heap / body |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (i, &row) in m.rows.iter().enumerate() {
        let time = Spread::of(m.times[i].clone()).map_or(0.0, |s| s.median);
        let unbroken = match row {
            Row::StrictBrokenLast => show(m.ratio(row, Row::TypedStrict)),
            Row::LenientBrokenLast => show(m.ratio(row, Row::TypedLenient)),
            _ => "–".to_owned(),
        };
        let heap = m.heap[i].map_or_else(
            || "–".to_owned(),
            |h| format!("{:.2}x", h as f64 / m.bytes as f64),
        );
        println!(
            "| `{}` | {} | {} | {} | {} | {unbroken} | {heap} |",
            row.name(),
            fmt_time(time),
            show(m.ratio(row, Row::SerdeJsonValue)),
            show(m.ratio(row, Row::IgnoredAny)),
            show(m.ratio(row, Row::SonicRsValue)),
        );
    }
    println!(
        "\n`typed_strict`: {}x as fast as `serde_json_value`.\n",
        show(
            m.ratio(Row::TypedStrict, Row::SerdeJsonValue)
                .map(Spread::inverse)
        )
    );
}

/// One target of issue 16.
struct Target {
    text: &'static str,
    /// The figure on a body.
    figure: fn(&Measured) -> Option<Spread>,
    unit: &'static str,
    limit: f64,
    /// `true`: the figure must be at least `limit`; `false`: at most.
    at_least: bool,
    /// Whether it applies to PredictaID bodies (else to Spektr batches).
    predictaid: bool,
}

fn targets() -> Vec<Target> {
    vec![
        Target {
            text: "typed strict at least 3x as fast as `Value`",
            figure: |m| {
                m.ratio(Row::TypedStrict, Row::SerdeJsonValue)
                    .map(Spread::inverse)
            },
            unit: "x as fast",
            limit: 3.0,
            at_least: true,
            predictaid: false,
        },
        Target {
            text: "typed strict at most 3x the time of `IgnoredAny`",
            figure: |m| m.ratio(Row::TypedStrict, Row::IgnoredAny),
            unit: "x the time",
            limit: 3.0,
            at_least: false,
            predictaid: false,
        },
        Target {
            text: "typed strict at most 2.5x the time of `sonic_rs::Value`",
            figure: |m| m.ratio(Row::TypedStrict, Row::SonicRsValue),
            unit: "x the time",
            limit: 2.5,
            at_least: false,
            predictaid: false,
        },
        Target {
            text: "lenient at most 1.2x the time of strict",
            figure: |m| m.ratio(Row::TypedLenient, Row::TypedStrict),
            unit: "x the time",
            limit: 1.2,
            at_least: false,
            predictaid: false,
        },
        Target {
            text: "typed strict's peak heap at most 0.5x `Value`'s",
            figure: |m| m.heap_ratio(Row::TypedStrict, Row::SerdeJsonValue),
            unit: "x `Value`'s",
            limit: 0.5,
            at_least: false,
            predictaid: false,
        },
        Target {
            text: "strict rejection of the batch broken at its last event at most 2x the unbroken decode",
            figure: |m| m.ratio(Row::StrictBrokenLast, Row::TypedStrict),
            unit: "x the time",
            limit: 2.0,
            at_least: false,
            predictaid: false,
        },
        Target {
            text: "lenient decode of the batch broken at its last event at most 2x the unbroken decode",
            figure: |m| m.ratio(Row::LenientBrokenLast, Row::TypedLenient),
            unit: "x the time",
            limit: 2.0,
            at_least: false,
            predictaid: false,
        },
        Target {
            text: "a PredictaID event at least 2x as fast as `Value`",
            figure: |m| {
                m.ratio(Row::TypedStrict, Row::SerdeJsonValue)
                    .map(Spread::inverse)
            },
            unit: "x as fast",
            limit: 2.0,
            at_least: true,
            predictaid: true,
        },
        Target {
            text: "a PredictaID event's peak heap at most 0.5x `Value`'s",
            figure: |m| m.heap_ratio(Row::TypedStrict, Row::SerdeJsonValue),
            unit: "x `Value`'s",
            limit: 0.5,
            at_least: false,
            predictaid: true,
        },
    ]
}

/// Whether issue 16's targets are set on this body (the documented-samples
/// and mixed batches, the PredictaID samples); the free-form-heavy batch is
/// reported beside them.
fn in_contract(group: &str) -> bool {
    !group.starts_with("free-form-heavy")
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn main() {
    let options = options();
    let wanted = |group: &str| {
        options.only.is_empty() || options.only.iter().any(|o| group.contains(o.as_str()))
    };
    let started = Instant::now();
    let load_before = loadavg();
    let bodies = bodies_where(wanted);
    let measured: Vec<Measured> = bodies
        .iter()
        .map(|body| {
            eprintln!("measuring {} ...", body.group);
            measure(body, options.rounds, options.clock, options.heap)
        })
        .collect();

    println!(
        "{} rounds per body, timed in {}; load average {} before, {} after; {:.0} s in all.\n",
        options.rounds,
        options.clock.name(),
        load_before,
        loadavg(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "Every time ratio is taken within one round; a cell gives the median over the \
         rounds and (min–max). Peak heap: highest heap use above the level before the \
         decode, result alive, over the body's size (PredictaID: the sum of each \
         delivery's peak over their total size).\n"
    );
    for m in &measured {
        print_body(m);
    }

    println!("### Targets (issue 16)\n");
    println!("| target | body | measured | status |");
    println!("|---|---|---:|---|");
    let (mut met, mut judged, mut met_contract, mut judged_contract) = (0, 0, 0, 0);
    for t in targets() {
        for m in &measured {
            if t.predictaid != m.group.starts_with("predictaid") {
                continue;
            }
            let contract = in_contract(&m.group);
            let (measured, status) = match (t.figure)(m) {
                Some(s) => {
                    let ok = if t.at_least {
                        s.median >= t.limit
                    } else {
                        s.median <= t.limit
                    };
                    judged += 1;
                    met += usize::from(ok);
                    if contract {
                        judged_contract += 1;
                        met_contract += usize::from(ok);
                    }
                    (
                        format!("{}{}", s.show(), t.unit),
                        if ok { "met" } else { "**not met**" },
                    )
                }
                None => ("–".to_owned(), "not measured"),
            };
            let body = if contract {
                m.group.clone()
            } else {
                format!("{} (beside the contract)", m.group)
            };
            println!("| {} | {body} | {measured} | {status} |", t.text);
        }
    }
    println!(
        "\n{met_contract} of {judged_contract} met on the bodies the targets are set on \
         ({met} of {judged} with the free-form-heavy batch)."
    );
}
