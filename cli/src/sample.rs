//! `kyc-webhooks sample`: realistic delivery bodies of every documented type.

use std::fmt::Write as _;

use clap::Args;
use kyc_webhooks::{predictaid, spektr, testing};

use crate::jsontext;
use crate::{print, print_err, Failure, Outcome, Provider, EXIT_CODES};

/// Print a realistic delivery body of an event type
///
/// For Spektr the body is a batch, `{"results": [...]}` (--count N for N
/// events with distinct ids); for PredictaID one event. The values come from
/// the providers' own samples; the same events are available to Rust tests as
/// `kyc_webhooks::testing` (feature `testing`).
///
/// Examples:
///   kyc-webhooks sample --list
///   kyc-webhooks sample customer_status_changed --set data.newStatus=rejected
///   kyc-webhooks sample session.created --id evt_1 --compact
#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES, verbatim_doc_comment)]
pub struct SampleArgs {
    /// The event type, as sent on the wire (`process_run_end`,
    /// `session.created`, ...)
    #[arg(required_unless_present = "list", value_name = "TYPE")]
    event_type: Option<String>,
    /// List the documented types instead: `provider<TAB>type`, plus
    /// `<TAB>deprecated` for a type the provider deprecated
    #[arg(long, conflicts_with = "event_type")]
    list: bool,
    /// Only this provider's types (the type names of the two providers do
    /// not overlap, so this is needed only with --list)
    #[arg(long, value_enum)]
    provider: Option<Provider>,
    #[command(flatten)]
    overrides: Overrides,
    /// One line of JSON, as the providers send it, instead of indented JSON
    #[arg(long)]
    compact: bool,
}

/// The changes to a sample's events, for `sample` and `send --sample`.
#[derive(Debug, Clone, Args)]
#[group(id = "overrides", multiple = true)]
pub struct Overrides {
    /// The event id (with --count, the first event's; the others get
    /// distinct ids derived from it)
    #[arg(long)]
    pub id: Option<String>,
    /// Set a field: a dotted path in the event (`data.newStatus`,
    /// `data.changes.0.fieldId`, `spektrId`; in a batch of several events
    /// `results.1.data.newStatus` for the second one only) and a JSON value,
    /// or text taken as a string (`--set 'data.vat_number="123"'` for a
    /// numeric string)
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// Number of events in a Spektr batch, each with its own id
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub count: u32,
    /// Stamp the events with the current time instead of the sample's
    #[arg(long)]
    pub now: bool,
}

/// A documented type of either provider.
#[derive(Debug, Clone, Copy)]
pub enum AnyType {
    Spektr(spektr::EventType),
    Predictaid(predictaid::EventType),
}

impl AnyType {
    /// The type named `name`, of `provider` when given.
    pub fn parse(name: &str, provider: Option<Provider>) -> Result<AnyType, Failure> {
        let found = match provider {
            None | Some(Provider::Spektr) => name.parse().ok().map(AnyType::Spektr),
            Some(Provider::Predictaid) => None,
        }
        .or_else(|| match provider {
            None | Some(Provider::Predictaid) => name.parse().ok().map(AnyType::Predictaid),
            Some(Provider::Spektr) => None,
        });
        found.ok_or_else(|| {
            let which = match provider {
                Some(Provider::Spektr) => "Spektr event type",
                Some(Provider::Predictaid) => "PredictaID event type",
                None => "event type",
            };
            Failure::usage(format!(
                "unknown {which} `{name}` (run `kyc-webhooks sample --list` for the documented types)"
            ))
        })
    }
}

/// What to build: the type and the changes asked for.
#[derive(Debug, Default)]
pub struct Options {
    pub id: Option<String>,
    pub set: Vec<String>,
    pub count: u32,
    pub now: bool,
    pub compact: bool,
}

impl Options {
    pub fn new(overrides: Overrides, compact: bool) -> Options {
        Options {
            id: overrides.id,
            set: overrides.set,
            count: overrides.count,
            now: overrides.now,
            compact,
        }
    }
}

pub fn run(args: SampleArgs) -> Outcome {
    if args.list {
        print(&list(args.provider));
        return Ok(0);
    }
    let name = args.event_type.as_deref().unwrap_or_default();
    let event_type = AnyType::parse(name, args.provider)?;
    let options = Options::new(args.overrides, args.compact);
    let mut body = build(event_type, &options)?;
    body.push(b'\n');
    print(&String::from_utf8_lossy(&body));
    Ok(0)
}

/// The documented types, one per line.
fn list(provider: Option<Provider>) -> String {
    let mut out = String::new();
    if provider != Some(Provider::Predictaid) {
        for event_type in spektr::EventType::ALL {
            let name = event_type.as_str();
            let deprecated = matches!(name, "customer_status_change" | "customer_record_update");
            let note = if deprecated { "\tdeprecated" } else { "" };
            let _ = writeln!(out, "spektr\t{name}{note}");
        }
    }
    if provider != Some(Provider::Spektr) {
        for event_type in predictaid::EventType::ALL {
            let _ = writeln!(out, "predictaid\t{}", event_type.as_str());
        }
    }
    out
}

/// Builds the body of a sample delivery.
pub fn build(event_type: AnyType, options: &Options) -> Result<Vec<u8>, Failure> {
    let sets = options
        .set
        .iter()
        .map(|set| parse_set(set))
        .collect::<Result<Vec<_>, _>>()?;
    if sets.is_empty() {
        return unchanged(event_type, options);
    }
    let text = match event_type {
        AnyType::Spektr(event_type) => {
            // `results.N.FIELD` changes the batch's event N; any other path
            // is in the event, and changes every event of the batch.
            let mut per_event: Vec<Vec<(&Set, usize)>> = vec![Vec::new(); options.count as usize];
            for set in &sets {
                if set.path[0] != "results" {
                    for changes in &mut per_event {
                        changes.push((set, 0));
                    }
                    continue;
                }
                let index = set.path.get(1).ok_or_else(|| {
                    Failure::usage(format!(
                        "--set {}: name one event of the batch and its field, e.g. --set results.0.data.newStatus=rejected",
                        set.dotted()
                    ))
                })?;
                let changes = index
                    .parse::<usize>()
                    .ok()
                    .and_then(|index| per_event.get_mut(index))
                    .ok_or_else(|| {
                        Failure::usage(format!(
                            "--set {}: `results` is a list of {} item(s) (--count); use an index below that",
                            set.dotted(),
                            options.count
                        ))
                    })?;
                changes.push((set, 2));
            }
            let mut events = Vec::with_capacity(per_event.len());
            for (event, changes) in spektr_samples(event_type, options).iter().zip(&per_event) {
                events.push(with_sets(event, changes, spektr::parse_event)?);
            }
            format!("{{\"results\":[{}]}}", events.join(","))
        }
        AnyType::Predictaid(event_type) => {
            let event = predictaid_sample(event_type, options)?;
            let changes: Vec<(&Set, usize)> = sets.iter().map(|set| (set, 0)).collect();
            with_sets(&event, &changes, predictaid::parse)?
        }
    };
    let indent = if options.compact { None } else { Some("  ") };
    Ok(jsontext::reformat(&text, indent).into_bytes())
}

/// The `--count` Spektr samples of a batch, with `--id` (numbered) and
/// `--now` applied.
fn spektr_samples(event_type: spektr::EventType, options: &Options) -> Vec<spektr::Event> {
    (0..options.count)
        .map(|index| {
            let mut event = testing::spektr::sample(event_type);
            let base = options.id.as_deref().unwrap_or(&event.id);
            event.id = nth_id(base, index).into();
            if options.now {
                event.timestamp = chrono::Utc::now();
            }
            event
        })
        .collect()
}

/// The one PredictaID sample, with `--id` and `--now` applied; `--count`
/// above 1 is refused (one event per delivery).
fn predictaid_sample(
    event_type: predictaid::EventType,
    options: &Options,
) -> Result<predictaid::Event, Failure> {
    if options.count > 1 {
        return Err(Failure::usage(
            "PredictaID sends one event per delivery: --count is for Spektr batches (run the command once per event)",
        ));
    }
    let mut event = testing::predictaid::sample(event_type);
    if let Some(id) = &options.id {
        event.id = id.into();
    }
    if options.now {
        event.occurred_at = chrono::Utc::now();
    }
    Ok(event)
}

/// The body when no `--set` is given: written by serde_json from the typed
/// events.
fn unchanged(event_type: AnyType, options: &Options) -> Result<Vec<u8>, Failure> {
    let render = |result: serde_json::Result<Vec<u8>>| {
        result.map_err(|e| Failure::usage(format!("cannot write the sample as JSON: {e}")))
    };
    match event_type {
        AnyType::Spektr(event_type) => {
            let batch = kyc_webhooks::batch::Batch::from(spektr_samples(event_type, options));
            render(if options.compact {
                serde_json::to_vec(&batch)
            } else {
                serde_json::to_vec_pretty(&batch)
            })
        }
        AnyType::Predictaid(event_type) => {
            let event = predictaid_sample(event_type, options)?;
            render(if options.compact {
                serde_json::to_vec(&event)
            } else {
                serde_json::to_vec_pretty(&event)
            })
        }
    }
}

/// One `--set FIELD=VALUE`: the dotted path, split, and the value as JSON
/// text.
#[derive(Debug)]
struct Set {
    path: Vec<String>,
    value: String,
}

impl Set {
    fn dotted(&self) -> String {
        self.path.join(".")
    }
}

/// The event's JSON text after the `--set` changes (each with the number of
/// its path's leading keys that named the event in the batch): written again
/// from the typed event when it still decodes, else kept as changed, with a
/// warning: a broken event is a fair test of a handler. The changes are made
/// in the text, so a broken event keeps its keys in their order.
fn with_sets<E, P>(event: &E, sets: &[(&Set, usize)], parse: P) -> Result<String, Failure>
where
    E: serde::Serialize,
    P: Fn(&[u8]) -> Result<E, kyc_webhooks::Error>,
{
    let text = |event: &E| {
        serde_json::to_string(event)
            .map_err(|e| Failure::usage(format!("cannot write the sample as JSON: {e}")))
    };
    let mut changed = text(event)?;
    if sets.is_empty() {
        return Ok(changed);
    }
    for (set, skip) in sets {
        changed = jsontext::set(&changed, &set.path[*skip..], &set.value)
            .map_err(|error| set_error(set, *skip, error))?;
    }
    match parse(changed.as_bytes()) {
        Ok(event) => text(&event),
        Err(error) => {
            print_err(&format!(
                "warning: after --set the event no longer decodes ({error}); printing it anyway"
            ));
            Ok(changed)
        }
    }
}

/// Why `set` cannot be made, as a one-line usage error.
fn set_error(set: &Set, skip: usize, error: jsontext::SetError) -> Failure {
    let dotted = set.dotted();
    let upto = |depth: usize| set.path[..skip + depth].join(".");
    Failure::usage(match error {
        jsontext::SetError::Missing { depth } => format!(
            "--set {dotted}: the sample has no `{}` (print the sample to see its fields)",
            upto(depth + 1)
        ),
        jsontext::SetError::Index { depth, len } => format!(
            "--set {dotted}: `{}` is a list of {len} item(s); use an index below that",
            upto(depth)
        ),
        jsontext::SetError::NotContainer { depth } => {
            format!(
                "--set {dotted}: `{}` is not an object or a list",
                upto(depth)
            )
        }
        jsontext::SetError::Malformed { at } => {
            format!("--set {dotted}: the event's JSON is malformed at byte {at}")
        }
    })
}

/// `FIELD=VALUE` into a path and a value (JSON, else a string).
fn parse_set(set: &str) -> Result<Set, Failure> {
    let (path, value) = set
        .split_once('=')
        .filter(|(path, _)| !path.is_empty())
        .ok_or_else(|| {
            Failure::usage(format!(
                "--set {set:?} has no field: write FIELD=VALUE, e.g. --set data.newStatus=rejected"
            ))
        })?;
    // JSON as written (its keys in the user's order), else a string.
    let json = value.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    let value = if serde_json::from_str::<serde::de::IgnoredAny>(json).is_ok() {
        json.to_owned()
    } else {
        serde_json::Value::String(value.to_owned()).to_string()
    };
    Ok(Set {
        path: path.split('.').map(str::to_owned).collect(),
        value,
    })
}

/// The `index`-th of distinct ids based on `base`: the base itself first;
/// then, when the base ends in hexadecimal digits (as the providers' ids
/// do), the same id with its last 8 digits counted up; else `base-index`.
pub fn nth_id(base: &str, index: u32) -> String {
    if index == 0 {
        return base.to_owned();
    }
    let digits = base
        .bytes()
        .rev()
        .take_while(u8::is_ascii_hexdigit)
        .take(8)
        .count();
    if digits < 8 {
        return format!("{base}-{index}");
    }
    let (head, tail) = base.split_at(base.len() - 8);
    let number = u32::from_str_radix(tail, 16).expect("8 hex digits");
    format!("{head}{:08x}", number.wrapping_add(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_count_up_in_their_hex_tail_or_get_a_suffix() {
        assert_eq!(
            nth_id("686f58da3b9059f19eb2d066", 0),
            "686f58da3b9059f19eb2d066"
        );
        assert_eq!(
            nth_id("686f58da3b9059f19eb2d066", 10),
            "686f58da3b9059f19eb2d070"
        );
        assert_eq!(
            nth_id("686f58da3b9059f1ffffffff", 1),
            "686f58da3b9059f100000000"
        );
        assert_eq!(nth_id("evt_1", 2), "evt_1-2");
    }

    #[test]
    fn set_values_are_json_as_written_or_strings() {
        assert_eq!(
            parse_set("a.b= {\"z\":1,\"a\":2} ").unwrap().value,
            "{\"z\":1,\"a\":2}"
        );
        assert_eq!(parse_set("a=rejected").unwrap().value, "\"rejected\"");
        assert_eq!(parse_set("a=\"123\"").unwrap().value, "\"123\"");
        assert!(parse_set("=1").is_err());
        assert!(parse_set("a").is_err());
    }
}
