//! Helpers shared by the integration tests: fixture reading and discovery,
//! and the round-trip law.

#![allow(dead_code)]

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use std::collections::HashMap;

use kyc_webhooks::{predictaid, spektr, Extra, RawJson};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// `fixtures/<path>` under the crate's root: the one place a fixture's path
/// is built.
pub fn fixture_path(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path)
}

/// The bytes of `fixtures/<path>` (`fixture("spektr/batches/all-types.json")`).
/// Panics naming the file when it cannot be read.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = fixture_path(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("reading fixture {}: {e}", full.display()))
}

/// The text of `fixtures/<path>`. Panics naming the file when it cannot be
/// read or is not UTF-8.
pub fn fixture_text(path: &str) -> String {
    String::from_utf8(fixture(path))
        .unwrap_or_else(|e| panic!("fixture {}: {e}", fixture_path(path).display()))
}

/// The `*.json` files directly inside `fixtures/<dir>`, sorted. Panics when
/// there are none, so a moved folder cannot make a test pass vacuously.
pub fn fixtures(dir: &str) -> Vec<PathBuf> {
    let root = fixture_path(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("reading {}: {e}", root.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", root.display());
    files
}

/// The file name without `.json`.
pub fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// Keys whose values are free-form JSON in a typed field: `null` there is data
/// and must come back (the core issue names `vendorData` and
/// `changes[].oldValue` / `newValue`).
const FREE_FORM_KEYS: &[&str] = &["vendorData", "oldValue", "newValue"];

/// The typed optional fields of the providers' references (wire names): the
/// only places where a `null` may come back absent.
const TYPED_OPTIONAL_KEYS: &[&str] = &[
    // Spektr
    "workspaceId",
    "token",
    "reference",
    "parentProcessId",
    "parentSpektrId",
    "stepType",
    "stepId",
    "spektr_id",
    "loopHeader",
    "loopMessage",
    "loopUrl",
    "tagId",
    "tagName",
    "userId",
    "processId",
    "processName",
    "oldStatus",
    "newStatus",
    "contextId",
    "newRecordId",
    "oldRecordId",
    "color",
    "label",
    "icon",
    // PredictaID
    "customerId",
    "flowId",
    "flowVersionId",
    "finalStatus",
    "previousBlueVersionId",
];

/// Asserts the round-trip law: `to_value(parsed)` equals `input`, except that a
/// `null` in the input may come back absent, and only where the null was a
/// typed optional field. That exception is checked, not assumed: the key must be
/// a documented optional field, not at or under a free-form key, and the input
/// with that key removed must decode to the same event (which fails where the
/// key was in free data, such as an unknown type's `data`).
pub fn assert_round_trip<E>(input: &Value, parsed: &E, context: &str)
where
    E: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let output = serde_json::to_value(parsed).expect("serializing a parsed event");
    let mut dropped_nulls = Vec::new();
    diff(input, &output, &mut Vec::new(), &mut dropped_nulls, context);
    for path in dropped_nulls {
        let free_form = path
            .iter()
            .any(|step| matches!(step, Step::Key(key) if FREE_FORM_KEYS.contains(&key.as_str())));
        assert!(
            !free_form,
            "{context}: the null at {path:?} is free-form data and was dropped"
        );
        let typed = matches!(path.last(), Some(Step::Key(key)) if TYPED_OPTIONAL_KEYS.contains(&key.as_str()));
        assert!(
            typed,
            "{context}: the null at {path:?} is not a typed optional field and was dropped"
        );
        let mut without = input.clone();
        remove_at(&mut without, &path);
        let reparsed: E = serde_json::from_value(without)
            .unwrap_or_else(|e| panic!("{context}: without the null at {path:?}: {e}"));
        // Compared with the output decoded the same way (from a `Value`):
        // free-form parts then have the same texts on both sides.
        let via_value: E = serde_json::from_value(output.clone()).unwrap();
        assert_eq!(
            reparsed, via_value,
            "{context}: the null at {path:?} was dropped, but it was data (removing it changes the event)"
        );
    }
}

/// One step of a path into a JSON value.
#[derive(Debug, Clone)]
pub enum Step {
    Key(String),
    Index(usize),
}

fn diff(
    input: &Value,
    output: &Value,
    path: &mut Vec<Step>,
    nulls: &mut Vec<Vec<Step>>,
    context: &str,
) {
    match (input, output) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                path.push(Step::Key(key.clone()));
                match b.get(key) {
                    Some(other) => diff(value, other, path, nulls, context),
                    None if value.is_null() => nulls.push(path.clone()),
                    None => panic!("{context}: {path:?} was dropped (it held {value})"),
                }
                path.pop();
            }
            for key in b.keys() {
                assert!(
                    a.contains_key(key),
                    "{context}: {path:?}.{key} was added on output"
                );
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(
                a.len(),
                b.len(),
                "{context}: array at {path:?} changed length"
            );
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                path.push(Step::Index(index));
                diff(x, y, path, nulls, context);
                path.pop();
            }
        }
        // Value's equality keeps the JSON number kind: 0 != 0.0.
        (a, b) => assert_eq!(a, b, "{context}: value at {path:?} changed"),
    }
}

fn remove_at(value: &mut Value, path: &[Step]) {
    let (last, parents) = path.split_last().expect("a non-empty path");
    let mut target = value;
    for step in parents {
        target = match step {
            Step::Key(key) => &mut target[key.as_str()],
            Step::Index(index) => &mut target[*index],
        };
    }
    match last {
        Step::Key(key) => {
            target.as_object_mut().unwrap().remove(key);
        }
        Step::Index(_) => unreachable!("a dropped null is always an object member"),
    }
}

/// Whether a fixture's file stem names wire type `wire`: `<type>` for the
/// sample, `<type>.<word>` for more (`template`, ...).
pub fn named_for(stem: &str, wire: &str) -> bool {
    stem == wire || stem.starts_with(&format!("{wire}."))
}

/// The free-form parts of a Spektr event (kept as the text received), with
/// their paths from the event's root: the unknown top-level fields, an
/// unknown type's `data`, `vendorData`, `changes[].oldValue`/`newValue` and
/// every data type's unknown fields (`Payload::extra`, so a new type needs
/// no line here).
pub fn spektr_free_form(event: &spektr::Event) -> Vec<(Vec<Step>, &RawJson)> {
    use spektr::Payload as P;
    let mut parts = top_level(&event.extra);
    let data = |key: &str| vec![Step::Key("data".into()), Step::Key(key.into())];
    match &event.data {
        P::Other(unknown) => parts.push((vec![Step::Key("data".into())], &unknown.data)),
        P::ServiceRun(run) => parts.push((data("vendorData"), &run.vendor_data)),
        P::CustomerRecordChanged(changed) => {
            for (index, change) in changed.changes.iter().enumerate() {
                let at = |key: &str| {
                    let mut path = data("changes");
                    path.push(Step::Index(index));
                    path.push(Step::Key(key.into()));
                    path
                };
                if let Some(old) = &change.old_value {
                    parts.push((at("oldValue"), old));
                }
                if let Some(new) = &change.new_value {
                    parts.push((at("newValue"), new));
                }
            }
        }
        _ => {}
    }
    let unknown = matches!(event.data, P::Other(_));
    data_extra(&mut parts, event.data.extra(), unknown, event.type_name());
    parts
}

/// The free-form parts of a PredictaID event, as [`spektr_free_form`].
pub fn predictaid_free_form(event: &predictaid::Event) -> Vec<(Vec<Step>, &RawJson)> {
    use predictaid::Payload as P;
    let mut parts = top_level(&event.extra);
    if let P::Other(unknown) = &event.data {
        parts.push((vec![Step::Key("data".into())], &unknown.data));
    }
    let unknown = matches!(event.data, P::Other(_));
    data_extra(&mut parts, event.data.extra(), unknown, event.type_name());
    parts
}

/// Adds the data's unknown fields (`extra`, `None` only for an unknown
/// type, whose `data` is kept whole) at `data.<key>`.
fn data_extra<'a>(
    parts: &mut Vec<(Vec<Step>, &'a RawJson)>,
    extra: Option<&'a Extra>,
    unknown: bool,
    type_name: &str,
) {
    assert_eq!(
        extra.is_none(),
        unknown,
        "{type_name}: Payload::extra is None exactly for Other"
    );
    for (key, value) in extra.into_iter().flatten() {
        parts.push((vec![Step::Key("data".into()), Step::Key(key.into())], value));
    }
}

fn top_level(extra: &Extra) -> Vec<(Vec<Step>, &RawJson)> {
    extra
        .iter()
        .map(|(key, value)| (vec![Step::Key(key.into())], value))
        .collect()
}

/// The byte-exact half of the round-trip law: each free-form part of the
/// decoded event is the exact text at its place in `input` (the event's own
/// text), and serializing the event writes that exact text back there.
pub fn assert_free_form_exact<E: Serialize>(
    input: &str,
    event: &E,
    parts: Vec<(Vec<Step>, &RawJson)>,
    context: &str,
) {
    let output = serde_json::to_string(event).expect("serializing a parsed event");
    for (path, part) in parts {
        assert_eq!(
            raw_at(input, &path),
            Some(part.as_str()),
            "{context}: the free-form part at {path:?} is not the text received"
        );
        assert_eq!(
            raw_at(&output, &path),
            Some(part.as_str()),
            "{context}: the free-form part at {path:?} was not written back as received"
        );
    }
}

/// The exact text of the value at `path` in the JSON `text`.
fn raw_at<'a>(text: &'a str, path: &[Step]) -> Option<&'a str> {
    let mut current = text;
    for step in path {
        current = match step {
            Step::Key(key) => serde_json::from_str::<HashMap<String, &RawValue>>(current)
                .ok()?
                .get(key)?
                .get(),
            Step::Index(index) => serde_json::from_str::<Vec<&RawValue>>(current)
                .ok()?
                .get(*index)?
                .get(),
        };
    }
    Some(current)
}

/// What `serde_json::Value` makes of a body the crate accepted: `Some`, or
/// `None` when the only trouble is a number beyond `f64`'s range (`1e400`) in
/// free-form data, which is valid JSON that a `Value` cannot hold and that the
/// crate keeps as text. Any other refusal fails: the crate accepted a body
/// that is not JSON.
pub fn accepted_as_value(body: &[u8]) -> Option<Value> {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => Some(value),
        Err(e) if e.to_string().starts_with("number out of range") => None,
        Err(e) => panic!("the crate accepted a body that is not JSON: {e}"),
    }
}
