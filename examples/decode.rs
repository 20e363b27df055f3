//! Decodes a webhook body and prints what it holds.
//!
//! ```text
//! cargo run --example decode -- fixtures/spektr/batches/all-types.json
//! cargo run --example decode -- fixtures/predictaid/session.created.json
//! curl -s ... | cargo run --example decode          # reads stdin without a path
//! ```
//!
//! The provider is recognised from the body's shape: `{"results": [...]}` is a
//! Spektr batch, an object with `eventType` a single Spektr event, anything else
//! a PredictaID event. Prints each event's type, id, time and main fields, and
//! each rejected event with its reason. Exits with 1 when the body, or any event
//! in it, could not be decoded, and 2 when the input could not be read.

use std::fmt::Write as _;
use std::io::{Read, Write as _};
use std::process::ExitCode;

use kyc_webhooks::{predictaid, spektr};
use serde::de::IgnoredAny;
use serde::Deserialize;

fn main() -> ExitCode {
    let body = match read_input() {
        Ok(body) => body,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    // Output is collected and written once, so that a closed pipe (`| head`)
    // ends the program quietly instead of panicking in `println!`.
    let mut out = String::new();
    let ok = match Shape::of(&body) {
        Shape::SpektrBatch => decode_spektr_batch(&mut out, &body),
        Shape::SpektrEvent => {
            report(spektr::parse_event(&body).map(|e| print_spektr(&mut out, None, &e)))
        }
        Shape::PredictaId => {
            report(predictaid::parse(&body).map(|e| print_predictaid(&mut out, &e)))
        }
    };
    let _ = std::io::stdout().write_all(out.as_bytes());
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn read_input() -> Result<Vec<u8>, String> {
    match std::env::args_os().nth(1) {
        Some(path) => std::fs::read(&path).map_err(|e| format!("{}: {e}", path.to_string_lossy())),
        None => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|e| format!("stdin: {e}"))?;
            Ok(body)
        }
    }
}

enum Shape {
    SpektrBatch,
    SpektrEvent,
    PredictaId,
}

impl Shape {
    fn of(body: &[u8]) -> Shape {
        #[derive(Deserialize)]
        struct Keys {
            results: Option<IgnoredAny>,
            #[serde(rename = "eventType")]
            event_type: Option<IgnoredAny>,
        }
        match serde_json::from_slice::<Keys>(body) {
            Ok(Keys {
                event_type: Some(_),
                results: None,
            }) => Shape::SpektrEvent,
            Ok(Keys { results: None, .. }) => Shape::PredictaId,
            // A batch, or not JSON at all: the batch parser says what is wrong.
            _ => Shape::SpektrBatch,
        }
    }
}

fn report(result: Result<(), kyc_webhooks::Error>) -> bool {
    match result {
        Ok(()) => true,
        Err(error) => {
            eprintln!("error: {error}");
            false
        }
    }
}

fn decode_spektr_batch(out: &mut String, body: &[u8]) -> bool {
    let items = match spektr::parse_batch_lenient(body) {
        Ok(items) => items,
        Err(error) => return report(Err(error)),
    };
    let _ = writeln!(out, "Spektr batch: {} event(s)", items.len());
    let mut all_ok = true;
    for (index, item) in items.iter().enumerate() {
        match item {
            Ok(event) => print_spektr(out, Some(index), event),
            Err(rejected) => {
                all_ok = false;
                let _ = writeln!(out, "[{index}] REJECTED: {}", rejected.error());
                let _ = writeln!(out, "      raw: {}", rejected.raw_json());
            }
        }
    }
    all_ok
}

fn print_spektr(out: &mut String, index: Option<usize>, event: &spektr::Event) {
    let at = index.map_or_else(String::new, |i| format!("[{i}] "));
    let _ = writeln!(
        out,
        "{at}{} id={} spektrId={} at {}",
        event.type_name(),
        event.id,
        event.spektr_id,
        event.timestamp.to_rfc3339()
    );
    let _ = writeln!(out, "      {}", spektr_summary(event));
}

/// The fields a compliance analyst looks at first, per event type.
fn spektr_summary(event: &spektr::Event) -> String {
    use spektr::Payload::*;
    match &event.data {
        ProcessRunStart(e) => format!("process {:?} ({}) started, run {}", e.process_name, e.process_type, e.context_id),
        LoopRunStart(e) => format!("loop in {:?}, form {}", e.process_name, e.loop_url.as_deref().unwrap_or("-")),
        ProcessRunEnd(e) => format!(
            "process {:?} ended: output {}, customer {}, score {}, {} tags, {} client-record fields",
            e.process_name, e.process_output, e.customer_status, e.score, e.tags.len(), e.extra.len()
        ),
        ServiceRun(e) => format!("{} answered with {} fields", e.vendor_type, vendor_data_fields(&e.vendor_data)),
        AlertEscalated(e) => format!("alert {:?} ({}) is {}", e.alert_name, e.alert_type, e.status),
        AlertResolved(e) => format!("alert {:?} resolved by {}", e.alert_name, e.user_id.as_deref().unwrap_or("a process")),
        CustomerTagAdd(e) | CustomerTagRemove(e) => format!("tag {} {}", e.tag_name.as_deref().or(e.tag_id.as_deref()).unwrap_or("?"), e.action),
        CustomerStatusChange(e) => format!("{}: {} -> {} (deprecated event)", e.customer_name, status(&e.old_status), e.new_status),
        CustomerStatusChanged(e) => format!("{} -> {} by {}", status(&e.old_status), e.new_status, e.method.method_type),
        CustomerDuplicateDetection(e) => format!(
            "duplicate: new {} old {}",
            e.customer_duplicate_data.new_record_id.as_deref().unwrap_or("?"),
            e.customer_duplicate_data.old_record_id.as_deref().unwrap_or("?")
        ),
        CustomerRecordUpdate(e) => format!("{} fields updated (deprecated event)", e.extra.len()),
        CustomerRecordChanged(e) => {
            let fields: Vec<&str> = e.changes.iter().map(|c| c.field_id.as_str()).collect();
            format!("changed by {}: {}", e.method.method_type, fields.join(", "))
        }
        OwnershipAiCreated(e) => format!("created under parent {}", e.parent_id),
        OwnershipAiAddedOwner(e) => format!("owner added to child {}", e.child_id),
        ClientRecordSync(e) => format!("synced from {} ({}) at {}", e.vendor, e.object_type, e.last_synced_at.to_rfc3339()),
        StepInit(e) => format!("{} step {} shown", e.step_type, e.step_id),
        StepSubmit(e) => format!("{} step {} submitted", e.step_type, e.step_id),
        Other(e) => format!("unknown type, kept whole: data {}", e.data),
        _ => "a type this example does not summarise".to_owned(),
    }
}

/// The number of keys of a free-form object, read without building a tree.
fn vendor_data_fields(data: &kyc_webhooks::RawJson) -> usize {
    data.parse::<std::collections::HashMap<String, serde::de::IgnoredAny>>()
        .map_or(0, |fields| fields.len())
}

fn status(status: &Option<spektr::CustomerStatus>) -> &str {
    status.as_ref().map_or("?", |s| s.as_str())
}

fn print_predictaid(out: &mut String, event: &predictaid::Event) {
    use predictaid::Payload::*;
    let _ = writeln!(
        out,
        "PredictaID {} id={} company={} {}={} at {}",
        event.type_name(),
        event.id,
        event.company_id,
        event.aggregate_type,
        event.aggregate_id,
        event.occurred_at.to_rfc3339()
    );
    let summary = match &event.data {
        SessionCreated(d) => format!(
            "session for {} in flow {}: {}",
            d.customer_id, d.flow_id, d.status
        ),
        SessionCompleted(d) => format!(
            "session for {} completed: {}",
            d.customer_id.as_deref().unwrap_or("?"),
            d.final_status.as_ref().map_or("?", |s| s.as_str())
        ),
        CustomerIdentified(d) => format!(
            "{} is {} ({})",
            d.anonymous_customer_id, d.target_customer_id, d.resolution_type
        ),
        FlowVersionPublished(d) => format!(
            "flow {} now runs {} (published by {})",
            d.flow_id, d.published_version_id, d.published_by
        ),
        KytTransactionQueued(d) => format!("transaction {} {}", d.transaction_id, d.status),
        KytTransactionReprocessRequested(d) => format!(
            "transaction {} reprocess asked by {}",
            d.transaction_id, d.requested_by
        ),
        KytTransactionPipelineCompleted(d) => format!(
            "transaction {} {} with {} alerts",
            d.transaction_id, d.status, d.alert_count
        ),
        KytTransactionDeadLettered(d) => format!(
            "transaction {} dead-lettered: {}",
            d.transaction_id, d.reason
        ),
        Other(d) => format!("unknown type, kept whole: data {}", d.data),
        _ => "a type this example does not summarise".to_owned(),
    };
    let _ = writeln!(out, "      {summary}");
}
