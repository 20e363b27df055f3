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
//! a PredictaID event. Prints each event on one line (its `Display`: type, ids,
//! time and main fields), and each rejected event with its reason. Exits with 1
//! when the body, or any event in it, could not be decoded, and 2 when the
//! input could not be read.

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

/// One line per event: the crate's summary (`Display`), after the event's
/// index in the batch.
fn print_spektr(out: &mut String, index: Option<usize>, event: &spektr::Event) {
    let at = index.map_or_else(String::new, |i| format!("[{i}] "));
    let _ = writeln!(out, "{at}{event}");
}

fn print_predictaid(out: &mut String, event: &predictaid::Event) {
    let _ = writeln!(out, "{event}");
}
