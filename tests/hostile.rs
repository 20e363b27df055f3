//! Named hostile inputs: each must give an `Err` (or a faithful event), never
//! a panic, a stack overflow or a silent loss.

mod common;

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
        batch::parse_lenient::<Value>(body).is_ok(),
        predictaid::parse(body).is_ok(),
    ]
}

const EVENT: &str = r#"{"id": "e1", "spektrId": "s1", "eventType": "alert_resolved", "timestamp": 1750855263822,
 "data": {"processId": "p", "contextId": "c", "alertId": "a", "alertName": "PEP"}}"#;

#[test]
fn an_empty_body_is_an_error_everywhere() {
    assert_eq!(run_all(b""), [false; 6]);
    let err = predictaid::parse(b"").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Eof);
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
    let spektr::Event::AlertResolved(alert) = &batch.results[0] else {
        panic!("wrong variant")
    };
    assert_eq!(
        alert.data.extra["note"].as_str().map(str::len),
        Some(big.len())
    );
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

#[test]
fn duplicate_keys_are_an_error_at_every_level() {
    for (from, to) in [
        (r#""id": "e1","#, r#""id": "e1", "id": "e1","#),
        (
            r#""eventType": "alert_resolved","#,
            r#""eventType": "alert_resolved", "eventType": "alert_escalated","#,
        ),
        (r#""alertId": "a","#, r#""alertId": "a", "alertId": "b","#),
        (
            r#""alertId": "a","#,
            r#""alertId": "a", "x": null, "x": null,"#,
        ),
    ] {
        let event = EVENT.replace(from, to);
        assert_ne!(event, EVENT);
        let err = spektr::parse_event(event.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("duplicate field"), "{err}");
    }
}

#[test]
fn timestamps_at_the_integer_edges_floats_and_strings_are_errors() {
    for timestamp in [
        "9223372036854775807",
        "-9223372036854775808",
        "1.0",
        "1e3",
        "-0",
        "\"1\"",
        "null",
        "[]",
    ] {
        let event = EVENT.replace("1750855263822", timestamp);
        let err = spektr::parse_event(event.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data, "{timestamp}");
        assert!(err.to_string().contains("timestamp"), "{timestamp}: {err}");
    }
    // Within chrono's range, including before 1970 and at its ends, is fine;
    // one past either end is an error.
    let max = chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp_millis();
    let min = chrono::DateTime::<chrono::Utc>::MIN_UTC.timestamp_millis();
    for timestamp in [0, -1, max, min] {
        let event = EVENT.replace("1750855263822", &timestamp.to_string());
        let parsed = spektr::parse_event(event.as_bytes()).unwrap();
        assert_eq!(parsed.timestamp().timestamp_millis(), timestamp);
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

#[test]
fn occurred_at_that_is_not_a_date_or_is_impossible_is_an_error() {
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/predictaid/session.created.json"
    ))
    .unwrap();
    let json: Value = serde_json::from_str(&body).unwrap();
    let sent = json["occurredAt"].as_str().unwrap();
    for bad in [
        "not a date",
        "2026-13-01T00:00:00.000Z",
        "2026-02-29T00:00:00.000Z",
        "2026-03-23T25:00:00.000Z",
        "",
        "2026-03-23",
    ] {
        let text = body.replace(sent, bad);
        let err = predictaid::parse(text.as_bytes()).unwrap_err();
        assert_eq!(err.path(), Some("occurredAt"), "{bad}: {err}");
    }
}

#[test]
fn data_of_the_wrong_shape_for_a_known_type_is_an_error() {
    for data in ["[]", "\"text\"", "42", "null", "true"] {
        let event = EVENT.replace(
            r#"{"processId": "p", "contextId": "c", "alertId": "a", "alertName": "PEP"}"#,
            data,
        );
        let err = spektr::parse_event(event.as_bytes()).unwrap_err();
        assert_eq!(err.path(), Some("data"), "{data}: {err}");
        let body = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/predictaid/kyt.transaction.queued.json"
        ))
        .unwrap();
        let mut json: Value = serde_json::from_slice(&body).unwrap();
        json["data"] = serde_json::from_str(data).unwrap();
        let text = json.to_string();
        let err = predictaid::parse(text.as_bytes()).unwrap_err();
        assert_eq!(err.path(), Some("data"), "{data}: {err}");
    }
}

#[test]
fn each_provider_refuses_the_others_bodies() {
    let predictaid_body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/predictaid/customer.identified.json"
    ))
    .unwrap();
    let spektr_body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/spektr/batches/all-types.json"
    ))
    .unwrap();
    let spektr_event = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/spektr/alert_resolved.json"
    ))
    .unwrap();
    assert!(spektr::parse_batch(&predictaid_body)
        .unwrap_err()
        .is_envelope());
    assert!(spektr::parse_event(&predictaid_body).is_err());
    assert!(predictaid::parse(&spektr_body).is_err());
    assert!(predictaid::parse(&spektr_event).is_err());
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
