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
            write_items(&mut out, args.json, "spektr", batch, &items)
        }
        Provider::Predictaid => {
            let item = match predictaid::parse(&body) {
                Ok(event) => Item::Event(event),
                Err(error) => Item::Rejected {
                    error,
                    raw: String::from_utf8_lossy(&body).into_owned(),
                },
            };
            write_items(&mut out, args.json, "predictaid", false, &[item])
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

/// Writes the items as text (an event as its one-line summary, the core's
/// `Display`; received text [`escape`]d) or JSON lines; returns how many
/// were rejected.
fn write_items<E: serde::Serialize + std::fmt::Display>(
    out: &mut String,
    as_json: bool,
    provider: &str,
    indexed: bool,
    items: &[Item<E>],
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
                let _ = writeln!(out, "{at}{}", escape(&event.to_string()));
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
