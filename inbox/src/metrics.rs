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

use std::time::Duration;

use crate::{Handled, Outcome, Provider, Receipt};

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

/// Describes every metric to the installed recorder (its help text and
/// unit), so that an exporter writes `# HELP` lines. Call it once after
/// installing a recorder.
pub fn describe() {
    use metrics::{describe_counter, describe_histogram, Unit};
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
