//! Where a rejected event failed, deep in a batch: for each kind of failure,
//! the path, index, type and message of the error, the same from the strict
//! decoder (which takes them from its one pass) and from the lenient one
//! (which decodes the event alone), and the same as the event's own error
//! when decoded alone, under `results[<index>]`. Then the same facts for a
//! second and third failure of a lenient batch (nothing left over from the
//! first), and batches where the one pass cannot stand for the events alone
//! (the memory budget of arrays).

mod common;

use common::fixture_text;
use kyc_webhooks::{batch, predictaid, spektr, Error, ErrorKind};
use serde_json::Value;

/// Where the broken event goes: after this many good ones.
const DEEP: usize = 57;

/// The good events of the all-types batch, each as its compact text.
fn good_events() -> Vec<String> {
    let batch: Value =
        serde_json::from_str(&fixture_text("spektr/batches/all-types.json")).unwrap();
    batch["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(Value::to_string)
        .collect()
}

/// A pretty-printed batch (one event per line group, so that lines and
/// columns differ from event to event) of `DEEP` good events, `broken`,
/// and a few more good ones.
fn batch_with(broken: &str) -> String {
    let good = good_events();
    let mut events: Vec<&str> = (0..DEEP).map(|i| good[i % good.len()].as_str()).collect();
    events.push(broken);
    events.extend(good.iter().take(3).map(String::as_str));
    format!(
        "{{\n  \"results\": [\n    {}\n  ]\n}}",
        events.join(",\n    ")
    )
}

const STEP_INIT: &str = r#"{"id": "e1", "spektrId": "s1", "eventType": "step_init", "timestamp": 1752662761594,
 "data": {"processType": "onboarding", "processName": "p", "processId": "686660b573833dea357e86f6",
          "contextId": "c1", "stepType": "form", "stepId": "st1"}}"#;

const RECORD_CHANGED: &str = r#"{"id": "e", "spektrId": "s", "eventType": "customer_record_changed", "timestamp": 1,
 "data": {"changes": [{"fieldId": "a"}, {"fieldId": "b"}], "method": {"type": "api"}}}"#;

const ALERT_RESOLVED: &str = r#"{"id": "e1", "spektrId": "s1", "eventType": "alert_resolved", "timestamp": 1750855263822,
 "data": {"processId": "p", "contextId": "c", "alertId": "a", "alertName": "PEP"}}"#;

/// Replaces `from` (which must be there) by `to` in `text`.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from} not in {text}");
    text.replacen(from, to, 1)
}

/// What a broken event's error says, apart from its position.
struct Expected {
    kind: ErrorKind,
    /// The path under `results[<index>]` (`""` for the event's root).
    path: &'static str,
    event_type: Option<&'static str>,
    /// The start of serde's message.
    message: &'static str,
}

/// Every kind of failure the crate reports, each in an event of its own.
fn broken_events() -> Vec<(&'static str, String, Expected)> {
    let nested = format!("{}{}", "[".repeat(200), "]".repeat(200));
    vec![
        (
            "a mistyped field of data",
            edit(STEP_INIT, r#""processId": "686660b573833dea357e86f6""#, r#""processId": 686660"#),
            Expected {
                kind: ErrorKind::Data,
                path: ".data.processId",
                event_type: Some("step_init"),
                message: "invalid type: integer `686660`, expected a string",
            },
        ),
        (
            "a mistyped field of data, data before the event type",
            r#"{"data": {"processType": "onboarding", "processName": "p", "processId": 5, "contextId": "c1"},
 "id": "e1", "spektrId": "s1", "eventType": "step_init", "timestamp": 1}"#
                .to_owned(),
            Expected {
                kind: ErrorKind::Data,
                path: ".data.processId",
                event_type: Some("step_init"),
                message: "invalid type: integer `5`, expected a string",
            },
        ),
        (
            "a missing field of data, data before the event type",
            r#"{"data": {"changes": [], "method": {}}, "id": "e", "spektrId": "s",
 "eventType": "customer_record_changed", "timestamp": 1}"#
                .to_owned(),
            Expected {
                kind: ErrorKind::Data,
                path: ".data.method",
                event_type: Some("customer_record_changed"),
                message: "missing field `type`",
            },
        ),
        (
            "a mistyped field in an array of data",
            edit(RECORD_CHANGED, r#"{"fieldId": "b"}"#, r#"{"fieldId": 7}"#),
            Expected {
                kind: ErrorKind::Data,
                path: ".data.changes[1].fieldId",
                event_type: Some("customer_record_changed"),
                message: "invalid type: integer `7`, expected a string",
            },
        ),
        (
            "a missing field of a nested object",
            edit(RECORD_CHANGED, r#"{"type": "api"}"#, "{}"),
            Expected {
                kind: ErrorKind::Data,
                path: ".data.method",
                event_type: Some("customer_record_changed"),
                message: "missing field `type`",
            },
        ),
        (
            "a missing required field of data",
            edit(STEP_INIT, r#""stepId": "st1""#, r#""stepIdentifier": "st1""#),
            Expected {
                kind: ErrorKind::Data,
                path: ".data",
                event_type: Some("step_init"),
                message: "missing field `stepId`",
            },
        ),
        (
            "a missing top-level field",
            edit(STEP_INIT, r#""spektrId": "s1", "#, ""),
            Expected {
                kind: ErrorKind::Data,
                path: "",
                event_type: Some("step_init"),
                message: "missing field `spektrId`",
            },
        ),
        (
            "a failure before the event type",
            edit(STEP_INIT, r#""id": "e1""#, r#""id": 1"#),
            Expected {
                kind: ErrorKind::Data,
                path: ".id",
                event_type: Some("step_init"),
                message: "invalid type: integer `1`, expected a string",
            },
        ),
        (
            "a duplicate key of data",
            edit(ALERT_RESOLVED, r#""alertId": "a","#, r#""alertId": "a", "alertId": "b","#),
            Expected {
                kind: ErrorKind::Data,
                path: ".data",
                event_type: Some("alert_resolved"),
                message: "duplicate field `alertId`",
            },
        ),
        (
            "a duplicate unknown key of data",
            edit(ALERT_RESOLVED, r#""alertId": "a","#, r#""alertId": "a", "x": 1, "x": 2,"#),
            Expected {
                kind: ErrorKind::Data,
                path: ".data",
                event_type: Some("alert_resolved"),
                message: "duplicate field `x`",
            },
        ),
        (
            "a duplicate top-level key",
            edit(ALERT_RESOLVED, r#""id": "e1","#, r#""id": "e1", "id": "e2","#),
            Expected {
                kind: ErrorKind::Data,
                path: "",
                event_type: Some("alert_resolved"),
                message: "duplicate field `id`",
            },
        ),
        (
            "a float timestamp",
            edit(ALERT_RESOLVED, "1750855263822", "1.5"),
            Expected {
                kind: ErrorKind::Data,
                path: ".timestamp",
                event_type: Some("alert_resolved"),
                message: "invalid type: floating point `1.5`",
            },
        ),
        (
            "data that is not an object",
            edit(
                ALERT_RESOLVED,
                r#"{"processId": "p", "contextId": "c", "alertId": "a", "alertName": "PEP"}"#,
                "[1, 2]",
            ),
            Expected {
                kind: ErrorKind::Data,
                path: ".data",
                event_type: Some("alert_resolved"),
                message: "invalid type: sequence, expected an object (AlertResolved)",
            },
        ),
        (
            "an unknown top-level key nested too deep",
            edit(ALERT_RESOLVED, r#""id": "e1","#, &format!(r#""id": "e1", "deep": {nested},"#)),
            Expected {
                kind: ErrorKind::Data,
                path: ".deep",
                event_type: Some("alert_resolved"),
                message: "recursion limit exceeded",
            },
        ),
        (
            "an unknown type's data nested too deep",
            format!(r#"{{"id": "e", "spektrId": "s", "eventType": "a_new_type", "timestamp": 1, "data": {nested}}}"#),
            Expected {
                kind: ErrorKind::Data,
                path: ".data",
                event_type: Some("a_new_type"),
                message: "recursion limit exceeded",
            },
        ),
        (
            "an unknown type's data nested too deep, data first",
            format!(r#"{{"data": {nested}, "id": "e", "spektrId": "s", "eventType": "a_new_type", "timestamp": 1}}"#),
            Expected {
                kind: ErrorKind::Data,
                path: ".data",
                event_type: Some("a_new_type"),
                message: "recursion limit exceeded",
            },
        ),
        (
            "a lone surrogate in a typed string",
            edit(ALERT_RESOLVED, "PEP", "P\\ud800P"),
            Expected {
                kind: ErrorKind::Syntax,
                path: ".data.alertName",
                event_type: Some("alert_resolved"),
                message: "unexpected end of hex escape",
            },
        ),
        (
            "not an object",
            r#"[ "not", "an", "event" ]"#.to_owned(),
            Expected {
                kind: ErrorKind::Data,
                path: "",
                event_type: None,
                message: "invalid type: sequence, expected a Spektr event object",
            },
        ),
    ]
}

/// The strict error, the lenient one, and the event's own agree, and say
/// what `expected` says.
fn check(case: &str, body: &str, broken: &str, index: usize, expected: &Expected) -> Error {
    let strict = spektr::parse_batch(body.as_bytes()).unwrap_err();
    let path = format!("results[{index}]{}", expected.path);
    assert_eq!(strict.kind(), expected.kind, "{case}: {strict}");
    assert!(!strict.is_envelope(), "{case}: {strict}");
    assert_eq!(strict.index(), Some(index), "{case}: {strict}");
    assert_eq!(strict.path(), Some(path.as_str()), "{case}: {strict}");
    assert_eq!(strict.event_type(), expected.event_type, "{case}: {strict}");
    let head = match expected.event_type {
        Some(name) => format!(
            "Spektr event of type {name:?}: {path}: {}",
            expected.message
        ),
        None => format!("Spektr event: {path}: {}", expected.message),
    };
    assert!(strict.to_string().starts_with(&head), "{case}: {strict}");

    // The lenient decoder decodes the event alone: the same error, the
    // same position in the body, and the good events kept.
    let items = batch::parse_lenient::<spektr::Event>(body.as_bytes()).unwrap();
    let rejected: Vec<_> = items
        .iter()
        .filter_map(|item| item.as_ref().err())
        .collect();
    assert_eq!(rejected.len(), 1, "{case}");
    assert_eq!(rejected[0].index(), index, "{case}");
    assert_eq!(rejected[0].raw_json(), broken, "{case}");
    let lenient = rejected[0].error();
    assert_eq!(lenient.to_string(), strict.to_string(), "{case}");
    assert_eq!(
        (lenient.line(), lenient.column()),
        (strict.line(), strict.column()),
        "{case}"
    );
    assert!(strict.line().is_some(), "{case}: {strict}");

    // Alone, the event fails at the same path under the event's root.
    let alone = spektr::parse_event(broken.as_bytes()).unwrap_err();
    let alone_path = expected.path.trim_start_matches('.');
    assert_eq!(
        alone.path(),
        (!alone_path.is_empty()).then_some(alone_path),
        "{case}: {alone}"
    );
    assert_eq!(alone.event_type(), expected.event_type, "{case}: {alone}");
    strict
}

#[test]
fn a_rejected_event_deep_in_a_batch_names_its_path_index_and_type() {
    for (case, broken, expected) in broken_events() {
        let body = batch_with(&broken);
        let error = check(case, &body, &broken, DEEP, &expected);
        // The position is the broken event's: on its lines of the body.
        let start = body[..body.find(&broken).unwrap()].lines().count();
        let end = start + broken.lines().count() - 1;
        let line = error.line().unwrap();
        assert!(
            (start..=end).contains(&line),
            "{case}: line {line}, event on {start}..={end}"
        );
    }
}

/// Three broken events of different kinds in one lenient batch: each
/// reports its own path, with nothing left over from the one before (a
/// deep path, then a failure at an event's root, then one in data read
/// late), and the strict decoder reports the first.
#[test]
fn each_failure_of_a_lenient_batch_has_its_own_path() {
    let good = good_events();
    let deep = edit(RECORD_CHANGED, r#"{"fieldId": "b"}"#, r#"{"fieldId": 7}"#);
    let root = edit(STEP_INIT, r#""spektrId": "s1", "#, "");
    let late = r#"{"data": {"processType": "o", "processName": "p", "processId": 5, "contextId": "c1"},
 "id": "e1", "spektrId": "s1", "eventType": "step_init", "timestamp": 1}"#;
    let no_type = r#"{"id": "e1"}"#;
    let mut events: Vec<&str> = good.iter().map(String::as_str).collect();
    events.insert(3, &deep);
    events.insert(9, &root);
    events.insert(14, late);
    events.insert(15, no_type);
    let body = format!("{{\"results\": [\n{}\n]}}", events.join(",\n"));
    let items = spektr::parse_batch_lenient(body.as_bytes()).unwrap();
    assert_eq!(items.len(), good.len() + 4);
    let rejected: Vec<(usize, Option<&str>, Option<&str>)> = items
        .iter()
        .filter_map(|item| item.as_ref().err())
        .map(|rejected| {
            let error = rejected.error();
            assert_eq!(error.index(), Some(rejected.index()));
            (rejected.index(), error.path(), error.event_type())
        })
        .collect();
    assert_eq!(
        rejected,
        [
            (
                3,
                Some("results[3].data.changes[1].fieldId"),
                Some("customer_record_changed")
            ),
            (9, Some("results[9]"), Some("step_init")),
            (14, Some("results[14].data.processId"), Some("step_init")),
            (15, Some("results[15]"), None),
        ]
    );
    let good_kept = items.iter().filter(|item| item.is_ok()).count();
    assert_eq!(good_kept, good.len());
    let strict = spektr::parse_batch(body.as_bytes()).unwrap_err();
    let first = items[3].as_ref().unwrap_err().error();
    assert_eq!(strict.to_string(), first.to_string());
}

/// PredictaID's events in a batch (the generic decoder) and alone: the
/// path reaches into `data`, read in place or late.
#[test]
fn predictaid_paths_reach_into_data() {
    let completed = fixture_text("predictaid/kyt.transaction.pipeline.completed.json");
    let good: Value = serde_json::from_str(&completed).unwrap();
    let good = good.to_string();
    let broken = edit(&good, r#""alertCount":1"#, r#""alertCount":"one""#);
    let data_first = {
        let mut event: serde_json::Map<String, Value> = serde_json::from_str(&broken).unwrap();
        let data = event.remove("data").unwrap();
        let mut first = serde_json::Map::new();
        first.insert("data".to_owned(), data);
        first.extend(event);
        Value::Object(first).to_string()
    };
    for broken in [&broken, &data_first] {
        let body = format!(r#"{{"results": [{good}, {good}, {broken}, {good}]}}"#);
        let strict = batch::parse::<predictaid::Event>(body.as_bytes()).unwrap_err();
        assert_eq!(strict.index(), Some(2), "{strict}");
        assert_eq!(
            strict.path(),
            Some("results[2].data.alertCount"),
            "{strict}"
        );
        assert_eq!(
            strict.event_type(),
            Some("kyt.transaction.pipeline.completed")
        );
        let items = batch::parse_lenient::<predictaid::Event>(body.as_bytes()).unwrap();
        let lenient = items[2].as_ref().unwrap_err().error();
        assert_eq!(lenient.to_string(), strict.to_string());
        assert!(items[0].is_ok() && items[1].is_ok() && items[3].is_ok());
        let alone = predictaid::parse(broken.as_bytes()).unwrap_err();
        assert_eq!(alone.path(), Some("data.alertCount"), "{alone}");
    }
}

/// A `process_run_end` event whose `tags` are `count` empty objects (a
/// `Tag` has no required field, so `{}` is one, and costs its whole struct).
fn with_empty_tags(count: usize) -> String {
    let tags = vec!["{}"; count].join(",");
    format!(
        concat!(
            r#"{{"id":"a","spektrId":"s","eventType":"process_run_end","timestamp":1,"#,
            r#""data":{{"customerStatus":"approved","processType":"loop","processOutput":"unknown","#,
            r#""processName":"loop","processId":"p","score":0,"contextId":"c","tags":[{}]}}}}"#
        ),
        tags
    )
}

/// The memory budget of a typed array is the event's own when it is decoded
/// alone, while the one pass shares one, sized by the body, among all the
/// events: when they could decide differently, the strict decoder reports
/// what the events do alone, as the lenient one does.
#[test]
fn a_batch_whose_arrays_the_one_pass_budgets_differently_is_judged_event_by_event() {
    // An event whose tags pass its own budget but not the body's, once the
    // events before it took their share: every event decodes alone, so the
    // batch decodes.
    let within_own = with_empty_tags(300);
    let events = vec![within_own.as_str(); 200];
    let body = format!(r#"{{"results": [{}]}}"#, events.join(","));
    let items = spektr::parse_batch_lenient(body.as_bytes()).unwrap();
    assert!(items.iter().all(Result::is_ok));
    let strict = spektr::parse_batch(body.as_bytes()).unwrap();
    assert_eq!(strict.results.len(), 200);

    // An event over its own budget, deep in a batch whose body's budget
    // would take it: rejected, with its array's path, before a later
    // broken event.
    let over_own = with_empty_tags(5_000);
    let padding = "x".repeat(200_000);
    let padded = edit(ALERT_RESOLVED, "PEP", &padding);
    let broken = edit(
        STEP_INIT,
        r#""processId": "686660b573833dea357e86f6""#,
        r#""processId": 1"#,
    );
    let body = format!(r#"{{"results": [{padded}, {over_own}, {broken}]}}"#);
    let items = spektr::parse_batch_lenient(body.as_bytes()).unwrap();
    assert!(items[0].is_ok());
    let first = items[1].as_ref().unwrap_err().error();
    assert_eq!(first.path(), Some("results[1].data.tags"), "{first}");
    assert!(
        first.to_string().contains("over the memory bound"),
        "{first}"
    );
    let second = items[2].as_ref().unwrap_err().error();
    assert_eq!(second.path(), Some("results[2].data.processId"), "{second}");
    let strict = spektr::parse_batch(body.as_bytes()).unwrap_err();
    assert_eq!(strict.to_string(), first.to_string());
}

/// A broken envelope after a broken event is the error: nothing of the
/// body can be read as a batch, however early the event broke.
#[test]
fn a_broken_envelope_after_a_broken_event_is_the_error() {
    let broken = edit(
        STEP_INIT,
        r#""processId": "686660b573833dea357e86f6""#,
        r#""processId": 1"#,
    );
    for tail in ["]} x", "], \"results\": []}", ", nope]}", "]"] {
        let body = format!(r#"{{"results": [{broken}{tail}"#);
        let strict = spektr::parse_batch(body.as_bytes()).unwrap_err();
        assert!(strict.is_envelope(), "{tail}: {strict}");
        let lenient = spektr::parse_batch_lenient(body.as_bytes()).unwrap_err();
        assert_eq!(strict.to_string(), lenient.to_string(), "{tail}");
    }
}

/// Decodes outside the crate's entry points (a user's `serde_json` call,
/// `RawJson::get`) and entry points called inside a user's own decode leave
/// nothing behind for the next error.
#[test]
fn failures_outside_and_inside_other_decodes_leave_no_segments_behind() {
    let broken = edit(
        STEP_INIT,
        r#""processId": "686660b573833dea357e86f6""#,
        r#""processId": 1"#,
    );
    let wrapped = kyc_webhooks::RawJson::from_json(format!(r#"{{"event": {broken}}}"#)).unwrap();
    for _ in 0..2 {
        assert!(wrapped.get::<spektr::Event>("event").is_err());
        assert!(serde_json::from_str::<spektr::Event>(&broken).is_err());
    }

    /// A user's type whose decoding calls the crate (and fails).
    struct Nested;
    impl<'de> serde::Deserialize<'de> for Nested {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let text = <&str>::deserialize(deserializer)?;
            let inner = spektr::parse_event(text.as_bytes()).unwrap_err();
            assert_eq!(inner.path(), Some("data.processId"));
            Err(serde::de::Error::custom(inner))
        }
    }
    let outer = serde_json::to_string(&broken).unwrap();
    assert!(serde_json::from_str::<Nested>(&outer).is_err());

    // The crate's next errors are their own.
    let root = edit(STEP_INIT, r#""spektrId": "s1", "#, "");
    let body = format!(r#"{{"results": [{STEP_INIT}, {root}]}}"#);
    let err = spektr::parse_batch(body.as_bytes()).unwrap_err();
    assert_eq!(err.path(), Some("results[1]"), "{err}");
    let err = spektr::parse_event(root.as_bytes()).unwrap_err();
    assert_eq!(err.path(), None, "{err}");
}
