//! The metrics the inbox records, through the [`metrics`](https://docs.rs/metrics)
//! facade: with no recorder installed they cost next to nothing; the receiver
//! installs a Prometheus recorder when it is given `--metrics-addr`, and an
//! application of its own installs whichever recorder it uses.
//!
//! Names follow the Prometheus conventions (base units, `_total` for
//! counters, `_seconds` for durations); labels carry the provider
//! (`spektr`, `predictaid`), never an event id.
//!
//! | name | type | labels | what |
//! |---|---|---|---|
//! | [`DELIVERIES_TOTAL`] | counter | `provider`, `status` | webhook requests answered, by HTTP status (the receiver) |
//! | [`REQUEST_DURATION_SECONDS`] | histogram | `provider` | time from a webhook request's arrival to its answer (the receiver) |
//! | [`EVENTS_TOTAL`] | counter | `provider`, `outcome` | events of committed deliveries: `stored`, `already_stored`, `dead_lettered` (now or before) |
//! | [`HANDLER_RUNS_TOTAL`] | counter | `provider`, `event_type`, `outcome` | handler runs: `done`, `retry`, `snoozed`, `parked`, `lease_lost` |
//! | [`HANDLER_DURATION_SECONDS`] | histogram | `provider` | time from a claim to its outcome being recorded (OpenTelemetry's `messaging.process.duration`) |
//! | [`INBOX_EVENTS`] | gauge | `provider`, `state` | events stored, by state: `pending`, `running`, `done`, `parked` ([`record_depth`]) |
//! | [`INBOX_DEAD_LETTERS`] | gauge | `provider` | dead letters stored ([`record_depth`]) |
//! | [`OLDEST_PENDING_AGE_SECONDS`] | gauge | `provider` | how long the oldest pending event has waited since it was received, 0 when none ([`record_depth`]) |
//! | [`COMMIT_ROWS`] | histogram | `backend` | rows (events and dead letters) per commit group of the writer |
//! | [`COMMIT_DURATION_SECONDS`] | histogram | `backend` | time to commit one group, retries included |
//! | [`PRUNED_TOTAL`] | counter | `kind` | pruned by retention: `events` (bodies emptied, rows kept), `dead_letters` (removed) |
//! | [`DATABASE_ERRORS_TOTAL`] | counter | `backend`, `kind` | database calls that failed: `connection`, `timeout`, `deadlock`, `serialization`, `busy`, `disk_full`, `constraint`, `other` |

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{Depth, Handled, Outcome, Provider, Receipt};

/// Counter: webhook requests answered, by `provider` and HTTP `status`.
pub const DELIVERIES_TOTAL: &str = "kyc_webhooks_deliveries_total";
/// Histogram: seconds from a webhook request's arrival to its answer, by
/// `provider`.
pub const REQUEST_DURATION_SECONDS: &str = "kyc_webhooks_request_duration_seconds";
/// Counter: events of committed deliveries, by `provider` and `outcome`
/// (`stored`, `already_stored`, `dead_lettered`).
pub const EVENTS_TOTAL: &str = "kyc_webhooks_events_total";
/// Counter: handler runs, by `provider`, `event_type` and `outcome` (`done`,
/// `retry`, `snoozed`, `parked`, `lease_lost`).
pub const HANDLER_RUNS_TOTAL: &str = "kyc_webhooks_handler_runs_total";
/// Histogram: seconds from a claim to its outcome being recorded, by
/// `provider`.
pub const HANDLER_DURATION_SECONDS: &str = "kyc_webhooks_handler_duration_seconds";

/// Gauge: events stored, by `provider` and `state`.
pub const INBOX_EVENTS: &str = "kyc_webhooks_inbox_events";
/// Gauge: dead letters stored, by `provider`.
pub const INBOX_DEAD_LETTERS: &str = "kyc_webhooks_inbox_dead_letters";
/// Gauge: seconds the oldest pending event of a `provider` has waited since
/// it was received (the backlog's age; 0 when none is pending).
pub const OLDEST_PENDING_AGE_SECONDS: &str = "kyc_webhooks_inbox_oldest_pending_age_seconds";
/// Histogram: rows per commit group, by `backend` (`sqlite`, `postgres`).
pub const COMMIT_ROWS: &str = "kyc_webhooks_commit_rows";
/// Histogram: seconds to commit one group, retries included, by `backend`.
pub const COMMIT_DURATION_SECONDS: &str = "kyc_webhooks_commit_duration_seconds";
/// Counter: what retention pruned, by `kind` (`events`, `dead_letters`).
pub const PRUNED_TOTAL: &str = "kyc_webhooks_pruned_total";
/// Counter: failed database calls, by `backend` and `kind`.
pub const DATABASE_ERRORS_TOTAL: &str = "kyc_webhooks_database_errors_total";

/// Describes every metric to the installed recorder (its help text and
/// unit), so that an exporter writes `# HELP` lines. Call it once after
/// installing a recorder.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_gauge!(INBOX_EVENTS, "Events stored, by provider and state");
    describe_gauge!(INBOX_DEAD_LETTERS, "Dead letters stored, by provider");
    describe_gauge!(
        OLDEST_PENDING_AGE_SECONDS,
        Unit::Seconds,
        "How long the oldest pending event has waited since it was received"
    );
    describe_histogram!(COMMIT_ROWS, Unit::Count, "Rows per commit group");
    describe_histogram!(
        COMMIT_DURATION_SECONDS,
        Unit::Seconds,
        "Time to commit one group, retries included"
    );
    describe_counter!(PRUNED_TOTAL, "Pruned by retention, by kind");
    describe_counter!(
        DATABASE_ERRORS_TOTAL,
        "Failed database calls, by backend and kind"
    );
    describe_counter!(
        DELIVERIES_TOTAL,
        "Webhook requests answered, by provider and HTTP status"
    );
    describe_histogram!(
        REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "Time from a webhook request's arrival to its answer"
    );
    describe_counter!(
        EVENTS_TOTAL,
        "Events of committed deliveries, by provider and outcome"
    );
    describe_counter!(
        HANDLER_RUNS_TOTAL,
        "Handler runs, by provider, event type and outcome"
    );
    describe_histogram!(
        HANDLER_DURATION_SECONDS,
        Unit::Seconds,
        "Time from a claim to its outcome being recorded"
    );
}

/// Sets the gauges of [`INBOX_EVENTS`], [`INBOX_DEAD_LETTERS`] and
/// [`OLDEST_PENDING_AGE_SECONDS`] from `depth` (read by
/// [`Inbox::depth`](crate::Inbox::depth)) as of `now`. The receiver calls it
/// on each scrape; an application with its own recorder calls it before
/// rendering.
pub fn record_depth(depth: &Depth, now: DateTime<Utc>) {
    for &(provider, state, n) in &depth.events {
        metrics::gauge!(INBOX_EVENTS, "provider" => provider.as_str(), "state" => state.as_str())
            .set(n as f64);
    }
    for &(provider, n) in &depth.dead_letters {
        metrics::gauge!(INBOX_DEAD_LETTERS, "provider" => provider.as_str()).set(n as f64);
    }
    for provider in Provider::ALL {
        metrics::gauge!(OLDEST_PENDING_AGE_SECONDS, "provider" => provider.as_str())
            .set(depth.oldest_pending_age(provider, now).as_secs_f64());
    }
}

/// Records a commit group's size and duration.
pub(crate) fn group_committed(backend: &'static str, rows: usize, duration: Duration) {
    metrics::histogram!(COMMIT_ROWS, "backend" => backend).record(rows as f64);
    metrics::histogram!(COMMIT_DURATION_SECONDS, "backend" => backend)
        .record(duration.as_secs_f64());
}

/// Counts what a prune batch removed.
pub(crate) fn pruned(kind: &'static str, n: u64) {
    if n > 0 {
        metrics::counter!(PRUNED_TOTAL, "kind" => kind).increment(n);
    }
}

/// Counts a failed database call of `backend`, by `kind`.
pub(crate) fn database_error(backend: &'static str, kind: &'static str) {
    metrics::counter!(DATABASE_ERRORS_TOTAL, "backend" => backend, "kind" => kind).increment(1);
}

/// Records the events of a committed delivery.
pub(crate) fn events_committed(provider: Provider, receipt: &Receipt) {
    let (mut stored, mut already, mut dead) = (0u64, 0u64, 0u64);
    for event in &receipt.events {
        match event.outcome {
            Outcome::Stored => stored += 1,
            Outcome::AlreadyStored => already += 1,
            Outcome::DeadLettered(_) | Outcome::DeadLetterAlreadyStored(_) => dead += 1,
        }
    }
    for (outcome, count) in [
        ("stored", stored),
        ("already_stored", already),
        ("dead_lettered", dead),
    ] {
        if count > 0 {
            metrics::counter!(EVENTS_TOTAL, "provider" => provider.as_str(), "outcome" => outcome)
                .increment(count);
        }
    }
}

/// Records a handler run's outcome and duration (nothing for
/// [`Handled::Idle`]).
pub(crate) fn handler_ran(
    provider: Provider,
    event_type: &str,
    handled: &Handled,
    duration: Duration,
) {
    let outcome = match handled {
        Handled::Idle => return,
        Handled::Done => "done",
        Handled::WillRetry(_) => "retry",
        Handled::Parked(_) => "parked",
        Handled::Snoozed(_) => "snoozed",
        Handled::LeaseLost => "lease_lost",
    };
    metrics::counter!(
        HANDLER_RUNS_TOTAL,
        "provider" => provider.as_str(),
        "event_type" => event_type.to_owned(),
        "outcome" => outcome
    )
    .increment(1);
    metrics::histogram!(HANDLER_DURATION_SECONDS, "provider" => provider.as_str())
        .record(duration.as_secs_f64());
}

/// Records a webhook request's answer and duration (the receiver).
#[cfg(feature = "receiver")]
pub(crate) fn delivery_answered(provider: &'static str, status: u16, duration: Duration) {
    metrics::counter!(DELIVERIES_TOTAL, "provider" => provider, "status" => status.to_string())
        .increment(1);
    metrics::histogram!(REQUEST_DURATION_SECONDS, "provider" => provider)
        .record(duration.as_secs_f64());
}
