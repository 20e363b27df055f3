//! Inputs from attackers and buggy senders, family by family: empty bodies,
//! bytes that are not UTF-8, deep nesting, huge strings, duplicate keys,
//! numbers at the edges (timestamps), impossible dates (`occurredAt`), `data`
//! of the wrong shape, and what fuzzing found. Each case must give an `Err`
//! of the right kind, at the right path and for the right reason (or a
//! faithful event), never a panic, a stack overflow or a silent loss.
//!
//! How an error reads (its message format, index, line and column, the
//! provider it names, bodies of the other provider) is in `tests/errors.rs`.

mod common;

use common::fixture_text;
use kyc_webhooks::{batch, predictaid, spektr, ErrorKind};
use serde_json::Value;

/// Runs every public decoding function on `body` and returns their results'
/// `is_ok()`, in a fixed order. That it returns at all is the first assertion.
fn run_all(body: &[u8]) -> [bool; 6] {
    [
        spektr::parse_batch(body).is_ok(),
        spektr::parse_batch_lenient(body).is_ok(),
        spektr::parse_event(body).is_ok(),
        batch::parse::<predictaid::Event>(body).is_ok(),
        batch::parse_lenient::<predictaid::Event>(body).is_ok(),
        predictaid::parse(body).is_ok(),
    ]
}

const EVENT: &str = r#"{"id": "e1", "spektrId": "s1", "eventType": "alert_resolved", "timestamp": 1750855263822,
 "data": {"processId": "p", "contextId": "c", "alertId": "a", "alertName": "PEP"}}"#;

#[test]
fn an_empty_body_is_an_error_everywhere() {
    // The error it gives is in tests/errors.rs.
    assert_eq!(run_all(b""), [false; 6]);
}

#[test]
fn non_utf8_bytes_are_a_syntax_error() {
    let inside_a_string = format!(r#"{{"results": [{}]}}"#, EVENT.replace("PEP", "P\u{FFFD}P"))
        .replace('\u{FFFD}', "\u{1}");
    let mut bytes = inside_a_string.into_bytes();
    let at = bytes.iter().position(|&b| b == 1).unwrap();
    bytes[at] = 0xFF;
    assert_eq!(run_all(&bytes), [false; 6]);
    let err = spektr::parse_batch(&bytes).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Syntax);
    assert!(
        err.is_envelope(),
        "the envelope pass already rejects invalid UTF-8: {err}"
    );
    assert_eq!(run_all(b"\xff\xfe{}"), [false; 6]);
}

#[test]
fn a_hundred_thousand_nested_arrays_are_refused_without_overflowing_the_stack() {
    let depth = 100_000;
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert_eq!(run_all(nested.as_bytes()), [false; 6]);
    // A batch envelope is an object; an array holding an array is not one.
    let err = spektr::parse_batch_lenient(nested.as_bytes()).unwrap_err();
    assert!(err.is_envelope());
    // In a field the crate keeps as free JSON (an unknown top-level key) and in
    // an unknown type's data: the recursion limit refuses it; in lenient mode
    // only that event is rejected.
    let deep_extra = EVENT.replace(
        r#""id": "e1","#,
        &format!(r#""id": "e1", "deep": {nested},"#),
    );
    let body = format!(r#"{{"results": [{EVENT}, {deep_extra}, {EVENT}]}}"#);
    let err = spektr::parse_batch(body.as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains("recursion limit exceeded"),
        "{err}"
    );
    match spektr::parse_batch_lenient(body.as_bytes()) {
        Ok(items) => {
            assert!(items[0].is_ok() && items[2].is_ok());
            let rejected = items[1].as_ref().unwrap_err();
            assert_eq!(rejected.raw_json(), deep_extra);
        }
        // The envelope pass may refuse the nesting itself; either way no panic.
        Err(err) => assert!(err.is_envelope()),
    }
    let deep_objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    assert_eq!(run_all(deep_objects.as_bytes()), [false; 6]);
}

#[test]
fn a_50_mb_string_is_kept_whole() {
    let big = "x".repeat(50 * 1024 * 1024);
    let event = EVENT.replace(
        r#""alertName": "PEP""#,
        &format!(r#""alertName": "PEP", "note": "{big}""#),
    );
    let body = format!(r#"{{"results": [{event}]}}"#);
    let batch = spektr::parse_batch(body.as_bytes()).unwrap();
    let spektr::Payload::AlertResolved(alert) = &batch.results[0].data else {
        panic!("wrong variant")
    };
    let note = alert.extra.get("note").unwrap().parse::<&str>().unwrap();
    assert_eq!(note.len(), big.len());
    // As a typed field too.
    let typed = EVENT.replace(r#""alertName": "PEP""#, &format!(r#""alertName": "{big}""#));
    let event = spektr::parse_event(typed.as_bytes()).unwrap();
    assert_eq!(
        serde_json::to_string(&event).unwrap().len(),
        serde_json::to_string(&serde_json::from_str::<Value>(&typed).unwrap())
            .unwrap()
            .len()
    );
}

/// A duplicate key is refused, never resolved to one of its values: at the
/// event's top level, in its `data` (a documented field or an unknown one) and
/// in the batch envelope. The error is found by the object holding the
/// duplicate, so the path names that object.
#[test]
fn duplicate_keys_are_an_error_at_every_level() {
    // (key, replaced, by, path in a single event, path in a batch)
    for (key, from, to, event_path, batch_path) in [
        (
            "id",
            r#""id": "e1","#,
            r#""id": "e1", "id": "e2","#,
            None,
            "results[0]",
        ),
        (
            "id",
            r#""id": "e1","#,
            r#""id": "e1", "id": "e1","#,
            None,
            "results[0]",
        ),
        (
            "alertId",
            r#""alertId": "a","#,
            r#""alertId": "a", "alertId": "b","#,
            Some("data"),
            "results[0].data",
        ),
        (
            "x",
            r#""alertId": "a","#,
            r#""alertId": "a", "x": null, "x": null,"#,
            Some("data"),
            "results[0].data",
        ),
        (
            "x",
            r#""alertId": "a","#,
            r#""alertId": "a", "x": 1, "x": 2,"#,
            Some("data"),
            "results[0].data",
        ),
    ] {
        let event = EVENT.replace(from, to);
        assert_ne!(event, EVENT);
        let duplicate = format!("duplicate field `{key}`");
        let err = spektr::parse_event(event.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data, "{to}: {err}");
        assert_eq!(err.path(), event_path, "{to}: {err}");
        assert!(err.to_string().contains(&duplicate), "{to}: {err}");
        let body = format!(r#"{{"results": [{event}]}}"#);
        let err = spektr::parse_batch(body.as_bytes()).unwrap_err();
        assert_eq!(err.index(), Some(0), "{to}: {err}");
        assert_eq!(err.path(), Some(batch_path), "{to}: {err}");
        assert!(err.to_string().contains(&duplicate), "{to}: {err}");
    }
    // A second `eventType` is refused too, at the event's root, like any
    // duplicate top-level key, and the type named is the first one.
    let event = EVENT.replace(
        r#""eventType": "alert_resolved","#,
        r#""eventType": "alert_resolved", "eventType": "alert_escalated","#,
    );
    let body = format!(r#"{{"results": [{event}]}}"#);
    for err in [
        spektr::parse_event(event.as_bytes()).unwrap_err(),
        spektr::parse_batch(body.as_bytes()).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::Data, "{err}");
        assert!(
            err.to_string().contains("duplicate field `eventType`"),
            "{err}"
        );
        assert_eq!(err.event_type(), Some("alert_resolved"), "{err}");
        let root = err.index().map(|index| format!("results[{index}]"));
        assert_eq!(err.path(), root.as_deref(), "{err}");
    }
    let err = spektr::parse_batch(br#"{"results": [], "results": []}"#).unwrap_err();
    assert!(err.is_envelope(), "{err}");
    assert!(
        err.to_string().contains("duplicate field `results`"),
        "{err}"
    );
}

/// A timestamp is an integer number of milliseconds within chrono's range:
/// integers past either end (up to `u64::MAX`), floats (even `1.0`, `1e3`,
/// `-0`), strings and other JSON types are errors that say which.
#[test]
fn timestamps_at_the_integer_edges_floats_and_strings_are_errors() {
    for (timestamp, expected) in [
        (
            "9223372036854775807",
            "invalid value: integer `9223372036854775807`",
        ),
        (
            "-9223372036854775808",
            "invalid value: integer `-9223372036854775808`",
        ),
        (
            "18446744073709551615",
            "invalid value: integer `18446744073709551615`",
        ),
        ("1752662761594.5", "invalid type: floating point"),
        ("1.0", "invalid type: floating point"),
        ("1e3", "invalid type: floating point"),
        ("-0", "invalid type: floating point"),
        ("\"1752662761594\"", "invalid type: string"),
        ("\"1\"", "invalid type: string"),
        ("null", "invalid type: null"),
        ("[]", "invalid type: sequence"),
    ] {
        let event = EVENT.replace("1750855263822", timestamp);
        let err = spektr::parse_event(event.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data, "{timestamp}");
        assert_eq!(err.path(), Some("timestamp"), "{timestamp}: {err}");
        assert!(
            err.to_string().contains(&format!("timestamp: {expected}")),
            "{timestamp}: {err}"
        );
    }
    // Within chrono's range, including before 1970 and at its ends, is fine;
    // one past either end is an error.
    let max = chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp_millis();
    let min = chrono::DateTime::<chrono::Utc>::MIN_UTC.timestamp_millis();
    for timestamp in [0, -1, max, min] {
        let event = EVENT.replace("1750855263822", &timestamp.to_string());
        let parsed = spektr::parse_event(event.as_bytes()).unwrap();
        assert_eq!(parsed.timestamp.timestamp_millis(), timestamp);
    }
    for timestamp in [max + 1, min - 1] {
        let event = EVENT.replace("1750855263822", &timestamp.to_string());
        let err = spektr::parse_event(event.as_bytes()).unwrap_err();
        assert!(
            err.to_string().contains("within chrono's date range"),
            "{err}"
        );
    }
}

/// `occurredAt` is an RFC 3339 date-time that exists: impossible dates and
/// times, other formats, a bare date, an empty string and a number are
/// errors at `occurredAt` that say what was expected.
#[test]
fn occurred_at_that_is_not_a_date_or_is_impossible_is_an_error() {
    let body = fixture_text("predictaid/session.created.json");
    let sent = body
        .lines()
        .find(|l| l.contains("occurredAt"))
        .unwrap()
        .to_owned();
    for bad in [
        "\"2026-02-30T12:00:00.000Z\"",
        "\"2026-02-29T00:00:00.000Z\"",
        "\"2026-13-01T00:00:00.000Z\"",
        "\"2026-03-23T25:00:00.000Z\"",
        "\"2026-03-23 12:00\"",
        "\"2026-03-23\"",
        "\"yesterday\"",
        "\"not a date\"",
        "\"\"",
        "1774267200000",
    ] {
        let text = body.replace(&sent, &format!("  \"occurredAt\": {bad},"));
        assert_ne!(text, body);
        let err = predictaid::parse(text.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data, "{bad}");
        assert_eq!(err.path(), Some("occurredAt"), "{bad}: {err}");
        assert!(err.to_string().contains("RFC 3339"), "{bad}: {err}");
    }
}

/// `data` that is not an object, for a type whose data is one, is an error at
/// `data` naming the object expected, for either provider.
#[test]
fn data_of_the_wrong_shape_for_a_known_type_is_an_error() {
    let queued = fixture_text("predictaid/kyt.transaction.queued.json");
    for data in ["[]", "[1, 2]", "\"text\"", "42", "null", "true"] {
        let event = EVENT.replace(
            r#"{"processId": "p", "contextId": "c", "alertId": "a", "alertName": "PEP"}"#,
            data,
        );
        assert_ne!(event, EVENT);
        let err = spektr::parse_event(event.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data, "{data}: {err}");
        assert_eq!(err.path(), Some("data"), "{data}: {err}");
        assert!(
            err.to_string()
                .contains("expected an object (AlertResolved)"),
            "{data}: {err}"
        );
        let mut json: Value = serde_json::from_str(&queued).unwrap();
        json["data"] = serde_json::from_str(data).unwrap();
        let text = json.to_string();
        let err = predictaid::parse(text.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data, "{data}: {err}");
        assert_eq!(err.path(), Some("data"), "{data}: {err}");
        assert!(
            err.to_string()
                .contains("expected an object (KytTransactionQueued)"),
            "{data}: {err}"
        );
    }
}

/// Found by fuzzing (spektr_parse_batch): an unknown key beside `results`
/// whose string is not UTF-8 was skipped without being checked, so a body that
/// is not JSON was accepted as an empty batch.
#[test]
fn invalid_utf8_in_a_key_beside_results_is_refused() {
    let mut body = b"{\n  \"eventType\": \"".to_vec();
    body.extend_from_slice(b"\x98\x8a\x8c\x8b\x90\x92\x9a\x8d");
    body.extend_from_slice(b"QQQQ_emove\",\n \"results\": []}");
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    assert_eq!(run_all(&body), [false; 6]);
    let err = spektr::parse_batch(&body).unwrap_err();
    assert!(err.is_envelope());
    assert_eq!(err.kind(), ErrorKind::Syntax, "{err}");
}

/// Found by fuzzing (batch_parse_lenient): a lone surrogate escape is valid
/// JSON syntax that no string can hold. The event holding it is rejected,
/// raw, and its neighbours decode.
#[test]
fn a_lone_surrogate_escape_rejects_only_its_event() {
    let broken = EVENT.replace("PEP", "P\\ud800P");
    let body = format!(r#"{{"results": [{EVENT}, {broken}, {EVENT}]}}"#);
    let items = spektr::parse_batch_lenient(body.as_bytes()).unwrap();
    assert!(items[0].is_ok() && items[2].is_ok());
    let rejected = items[1].as_ref().unwrap_err();
    assert_eq!(rejected.raw_json(), broken);
    assert!(
        rejected.error().to_string().contains("escape"),
        "{}",
        rejected.error()
    );
    let err = spektr::parse_batch(body.as_bytes()).unwrap_err();
    assert_eq!(err.index(), Some(1));
    assert_eq!(err.path(), Some("results[1].data.alertName"), "{err}");
}
