//! `kyc-webhooks sample`: realistic delivery bodies of every documented type.

use std::fmt::Write as _;

use clap::Args;
use kyc_webhooks::batch::Batch;
use kyc_webhooks::{predictaid, spektr, testing};
use serde_json::Value;

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
    /// The event id (with --count, the first event's; the others get
    /// distinct ids derived from it)
    #[arg(long)]
    id: Option<String>,
    /// Set a field: a dotted path in the event (`data.newStatus`,
    /// `data.changes.0.fieldId`, `spektrId`) and a JSON value, or text taken
    /// as a string (`--set 'data.vat_number="123"'` for a numeric string)
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    set: Vec<String>,
    /// Number of events in a Spektr batch, each with its own id
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    count: u32,
    /// Stamp the events with the current time instead of the sample's
    #[arg(long)]
    now: bool,
    /// One line of JSON, as the providers send it, instead of indented JSON
    #[arg(long)]
    compact: bool,
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

pub fn run(args: SampleArgs) -> Outcome {
    if args.list {
        print(&list(args.provider));
        return Ok(0);
    }
    let name = args.event_type.as_deref().unwrap_or_default();
    let event_type = AnyType::parse(name, args.provider)?;
    let options = Options {
        id: args.id,
        set: args.set,
        count: args.count,
        now: args.now,
        compact: args.compact,
    };
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
    match event_type {
        AnyType::Spektr(event_type) => {
            let mut events = Vec::new();
            for index in 0..options.count {
                let mut event = testing::spektr::sample(event_type);
                let base = options.id.clone().unwrap_or_else(|| event.id.clone());
                event.id = nth_id(&base, index);
                if options.now {
                    event.timestamp = chrono::Utc::now();
                }
                events.push(with_sets(event, &sets, spektr::parse_event)?);
            }
            let batch = Batch::from(events);
            Ok(render(&batch, options.compact))
        }
        AnyType::Predictaid(event_type) => {
            if options.count > 1 {
                return Err(Failure::usage(
                    "PredictaID sends one event per delivery: --count is for Spektr batches (run the command once per event)",
                ));
            }
            let mut event = testing::predictaid::sample(event_type);
            if let Some(id) = &options.id {
                event.id = id.clone();
            }
            if options.now {
                event.occurred_at = chrono::Utc::now();
            }
            let event = with_sets(event, &sets, predictaid::parse)?;
            Ok(render(&event, options.compact))
        }
    }
}

/// An event to print: typed (written in the provider's key order), or, when
/// `--set` made it undecodable, the JSON as changed.
enum Out<E> {
    Typed(E),
    Broken(Value),
}

impl<E: serde::Serialize> serde::Serialize for Out<E> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Out::Typed(event) => event.serialize(serializer),
            Out::Broken(value) => value.serialize(serializer),
        }
    }
}

/// The event after the `--set` changes: decoded again when it still decodes,
/// else kept as changed, with a warning: a broken event is a fair test of a
/// handler.
fn with_sets<E, P>(event: E, sets: &[(Vec<String>, Value)], parse: P) -> Result<Out<E>, Failure>
where
    E: serde::Serialize,
    P: Fn(&[u8]) -> Result<E, kyc_webhooks::Error>,
{
    if sets.is_empty() {
        return Ok(Out::Typed(event));
    }
    let mut value = serde_json::to_value(&event).expect("an event serializes");
    for (path, new) in sets {
        set_path(&mut value, path, new.clone())?;
    }
    let bytes = serde_json::to_vec(&value).expect("a JSON value serializes");
    match parse(&bytes) {
        Ok(event) => Ok(Out::Typed(event)),
        Err(error) => {
            print_err(&format!(
                "warning: after --set the event no longer decodes ({error}); printing it anyway"
            ));
            Ok(Out::Broken(value))
        }
    }
}

/// `FIELD=VALUE` into a path and a value (JSON, else a string).
fn parse_set(set: &str) -> Result<(Vec<String>, Value), Failure> {
    let (path, value) = set
        .split_once('=')
        .filter(|(path, _)| !path.is_empty())
        .ok_or_else(|| {
            Failure::usage(format!(
                "--set {set:?} has no field: write FIELD=VALUE, e.g. --set data.newStatus=rejected"
            ))
        })?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((path.split('.').map(str::to_owned).collect(), value))
}

/// Sets the value at `path`, creating the last key of an object if needed.
fn set_path(target: &mut Value, path: &[String], value: Value) -> Result<(), Failure> {
    let dotted = path.join(".");
    let mut node = target;
    for (depth, key) in path.iter().enumerate() {
        let last = depth + 1 == path.len();
        node = match node {
            Value::Object(map) if last => {
                map.insert(key.clone(), value);
                return Ok(());
            }
            Value::Object(map) => map.get_mut(key).ok_or_else(|| {
                Failure::usage(format!(
                    "--set {dotted}: the sample has no `{}` (print the sample to see its fields)",
                    path[..=depth].join(".")
                ))
            })?,
            Value::Array(items) => {
                let len = items.len();
                let slot = key
                    .parse::<usize>()
                    .ok()
                    .and_then(|index| items.get_mut(index))
                    .ok_or_else(|| {
                        Failure::usage(format!(
                            "--set {dotted}: `{}` is a list of {} item(s); use an index below that",
                            path[..depth].join("."),
                            len
                        ))
                    })?;
                if last {
                    *slot = value;
                    return Ok(());
                }
                slot
            }
            _ => {
                return Err(Failure::usage(format!(
                    "--set {dotted}: `{}` is not an object or a list",
                    path[..depth].join(".")
                )))
            }
        };
    }
    Ok(())
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

/// The body's bytes: indented, or one line.
fn render<T: serde::Serialize>(value: &T, compact: bool) -> Vec<u8> {
    if compact {
        serde_json::to_vec(value)
    } else {
        serde_json::to_vec_pretty(value)
    }
    .expect("a JSON value serializes")
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
    fn set_reaches_into_lists_and_names_a_missing_field() {
        let mut value = serde_json::json!({"data": {"changes": [{"fieldId": "a"}]}});
        let (path, new) = parse_set("data.changes.0.fieldId=b").unwrap();
        set_path(&mut value, &path, new).unwrap();
        assert_eq!(value["data"]["changes"][0]["fieldId"], "b");
        let (path, new) = parse_set("data.nope.x=1").unwrap();
        let error = set_path(&mut value, &path, new).unwrap_err();
        assert!(
            error.message.contains("no `data.nope`"),
            "{}",
            error.message
        );
    }
}
