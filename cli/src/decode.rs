//! `kyc-webhooks decode`: what a delivery body holds, event by event.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use kyc_webhooks::{predictaid, spektr, ErrorKind};
use serde::Serialize;

use crate::input::{detect, display_name, read_body, top_level_keys};
use crate::text::{escape, json};
use crate::{print, print_err, Failure, Outcome, Provider, EXIT_CODES};

/// Decode a delivery body and print its events
///
/// The provider is recognised from the body unless --provider is given: a
/// `{"results": [...]}` batch (or a single event with `eventType`) is Spektr,
/// an event with `type` is PredictaID. Prints one line per event with its
/// main fields; a rejected event is printed with its full error and raw text.
#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
pub struct DecodeArgs {
    /// The body to decode: a file, or - for stdin
    #[arg(default_value = "-")]
    file: PathBuf,
    /// The provider, instead of recognising it from the body
    #[arg(long, value_enum)]
    provider: Option<Provider>,
    /// Print one JSON object per event instead of text: {"index", "provider",
    /// "event"} for a decoded event, {"index", "provider", "error": {"kind",
    /// "message", "path"}, "raw"} for a rejected one
    #[arg(long)]
    json: bool,
}

/// One decoded or rejected event.
enum Item<E> {
    Event(E),
    Rejected {
        error: kyc_webhooks::Error,
        raw: String,
    },
}

pub fn run(args: DecodeArgs) -> Outcome {
    let body = read_body(&args.file)?;
    let name = display_name(&args.file);
    let provider = match args.provider {
        Some(provider) => {
            top_level_keys(&name, &body)?;
            provider
        }
        None => detect(&name, &body)?,
    };
    let mut out = String::new();
    let rejected = match provider {
        Provider::Spektr => {
            let (items, batch) = decode_spektr(&name, &body)?;
            if !args.json && batch {
                let _ = writeln!(out, "Spektr batch: {} event(s)", items.len());
            }
            write_items(&mut out, args.json, "spektr", batch, &items, spektr_line)
        }
        Provider::Predictaid => {
            let item = match predictaid::parse(&body) {
                Ok(event) => Item::Event(event),
                Err(error) => Item::Rejected {
                    error,
                    raw: String::from_utf8_lossy(&body).into_owned(),
                },
            };
            write_items(
                &mut out,
                args.json,
                "predictaid",
                false,
                &[item],
                predictaid_line,
            )
        }
    };
    print(&out);
    if rejected > 0 {
        print_err(&format!("{rejected} event(s) rejected"));
        Ok(1)
    } else {
        Ok(0)
    }
}

/// A Spektr batch event by event, or a single Spektr event; `true` for a batch.
fn decode_spektr(name: &str, body: &[u8]) -> Result<(Vec<Item<spektr::Event>>, bool), Failure> {
    if !top_level_keys(name, body)?.contains_key("results") {
        let item = match spektr::parse_event(body) {
            Ok(event) => Item::Event(event),
            Err(error) => Item::Rejected {
                error,
                raw: String::from_utf8_lossy(body).into_owned(),
            },
        };
        return Ok((vec![item], false));
    }
    let items = spektr::parse_batch_lenient(body).map_err(|e| {
        Failure::usage(format!(
            "{name} is not a Spektr delivery: {e} (a Spektr body is {{\"results\": [event, ...]}})"
        ))
    })?;
    let items = items
        .into_iter()
        .map(|item| match item {
            Ok(event) => Item::Event(event),
            Err(rejected) => {
                let (raw, error) = rejected.into_parts();
                Item::Rejected { error, raw }
            }
        })
        .collect();
    Ok((items, true))
}

/// Writes the items as text (received text [`escape`]d) or JSON lines;
/// returns how many were rejected.
fn write_items<E: serde::Serialize>(
    out: &mut String,
    as_json: bool,
    provider: &str,
    indexed: bool,
    items: &[Item<E>],
    line: fn(&E) -> String,
) -> usize {
    let mut rejected = 0;
    for (index, item) in items.iter().enumerate() {
        let at = if indexed {
            format!("[{index}] ")
        } else {
            String::new()
        };
        match item {
            Item::Event(event) if as_json => {
                let record = EventLine {
                    index,
                    provider,
                    event,
                };
                let _ = writeln!(out, "{}", json(&record));
            }
            Item::Event(event) => {
                let _ = writeln!(out, "{at}{}", escape(&line(event)));
            }
            Item::Rejected { error, raw } => {
                rejected += 1;
                if as_json {
                    let record = RejectedLine {
                        index,
                        provider,
                        error: ErrorJson {
                            kind: kind_name(error.kind()),
                            message: error.to_string(),
                            path: error.path(),
                        },
                        raw,
                    };
                    let _ = writeln!(out, "{}", json(&record));
                } else {
                    let _ = writeln!(out, "{at}REJECTED: {}", escape(&error.to_string()));
                    let _ = writeln!(out, "    raw: {}", escape(raw));
                }
            }
        }
    }
    rejected
}

/// A decoded event, as a JSON line.
#[derive(Serialize)]
struct EventLine<'a, E> {
    index: usize,
    provider: &'a str,
    event: &'a E,
}

/// A rejected event, as a JSON line.
#[derive(Serialize)]
struct RejectedLine<'a> {
    index: usize,
    provider: &'a str,
    error: ErrorJson<'a>,
    raw: &'a str,
}

/// Why an event was rejected.
#[derive(Serialize)]
struct ErrorJson<'a> {
    kind: &'static str,
    message: String,
    path: Option<&'a str>,
}

/// A stable name for an error kind.
fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Syntax => "syntax",
        ErrorKind::Data => "data",
        ErrorKind::Eof => "eof",
        ErrorKind::MissingSignature => "missing_signature",
        ErrorKind::MalformedSignature => "malformed_signature",
        ErrorKind::SignatureMismatch => "signature_mismatch",
        ErrorKind::EventIdMismatch => "event_id_mismatch",
        _ => "other",
    }
}

/// A Spektr event on one line: type, ids, time, main fields.
fn spektr_line(event: &spektr::Event) -> String {
    format!(
        "{} id={} spektrId={} at {}: {}",
        event.type_name(),
        event.id,
        event.spektr_id,
        event
            .timestamp
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        spektr_summary(&event.data)
    )
}

/// The fields an analyst looks at first, per Spektr type.
fn spektr_summary(data: &spektr::Payload) -> String {
    use spektr::Payload::*;
    let status =
        |s: &Option<spektr::CustomerStatus>| s.as_ref().map_or("?", |s| s.as_str()).to_owned();
    match data {
        ProcessRunStart(e) => format!("process {:?} ({}) started", e.process_name, e.process_type),
        LoopRunStart(e) => format!(
            "loop of {:?} started, form {}",
            e.process_name,
            e.loop_url.as_deref().unwrap_or("-")
        ),
        ProcessRunEnd(e) => format!(
            "process {:?} ended: output {}, customer {}, score {}",
            e.process_name, e.process_output, e.customer_status, e.score
        ),
        ServiceRun(e) => format!("{} answered in step {}", e.vendor_type, e.step_id),
        AlertEscalated(e) => format!(
            "alert {:?} ({}) is {}",
            e.alert_name, e.alert_type, e.status
        ),
        AlertResolved(e) => format!(
            "alert {:?} resolved by {}",
            e.alert_name,
            e.user_id.as_deref().unwrap_or("a process")
        ),
        CustomerTagAdd(e) | CustomerTagRemove(e) => format!(
            "tag {:?} {}",
            e.tag_name.as_deref().or(e.tag_id.as_deref()).unwrap_or("?"),
            e.action
        ),
        CustomerStatusChange(e) => format!(
            "{:?}: {} -> {} (deprecated type)",
            e.customer_name,
            status(&e.old_status),
            e.new_status
        ),
        CustomerStatusChanged(e) => format!(
            "{} -> {} by {}",
            status(&e.old_status),
            e.new_status,
            e.method.method_type
        ),
        CustomerDuplicateDetection(e) => format!(
            "duplicate: new {} old {}",
            e.customer_duplicate_data
                .new_record_id
                .as_deref()
                .unwrap_or("?"),
            e.customer_duplicate_data
                .old_record_id
                .as_deref()
                .unwrap_or("?")
        ),
        CustomerRecordUpdate(e) => format!("{} field(s) updated (deprecated type)", e.extra.len()),
        CustomerRecordChanged(e) => {
            let fields: Vec<&str> = e.changes.iter().map(|c| c.field_id.as_str()).collect();
            format!("changed by {}: {}", e.method.method_type, fields.join(", "))
        }
        OwnershipAiCreated(e) => format!("created under parent {}", e.parent_id),
        OwnershipAiAddedOwner(e) => format!("owner added to child {}", e.child_id),
        ClientRecordSync(e) => format!("synced from {} ({})", e.vendor, e.object_type),
        StepInit(e) => format!("{} step {} shown", e.step_type, e.step_id),
        StepSubmit(e) => format!("{} step {} submitted", e.step_type, e.step_id),
        Other(e) => format!("unknown type, kept whole: data {}", e.data),
        _ => "a type this version does not summarise".to_owned(),
    }
}

/// A PredictaID event on one line: type, ids, time, main fields.
fn predictaid_line(event: &predictaid::Event) -> String {
    use predictaid::Payload::*;
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
            "transaction {} {} with {} alert(s)",
            d.transaction_id, d.status, d.alert_count
        ),
        KytTransactionDeadLettered(d) => {
            format!(
                "transaction {} dead-lettered: {}",
                d.transaction_id, d.reason
            )
        }
        Other(d) => format!("unknown type, kept whole: data {}", d.data),
        _ => "a type this version does not summarise".to_owned(),
    };
    format!(
        "{} id={} company={} {}={} at {}: {summary}",
        event.type_name(),
        event.id,
        event.company_id,
        event.aggregate_type,
        event.aggregate_id,
        event.occurred_at_text(),
    )
}
