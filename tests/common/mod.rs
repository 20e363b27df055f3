//! Helpers shared by the integration tests: fixture discovery and the
//! round-trip law.

#![allow(dead_code)]

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The `*.json` files directly inside `fixtures/<dir>`, sorted. Panics when
/// there are none, so a moved folder cannot make a test pass vacuously.
pub fn fixtures(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(dir);
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
        assert_eq!(
            &reparsed, parsed,
            "{context}: the null at {path:?} was dropped, but it was data (removing it changes the event)"
        );
    }
}

#[derive(Debug, Clone)]
enum Step {
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
