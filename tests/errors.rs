//! Bad bodies: each is an `Err` whose message says what and where.

use kyc_webhooks::{batch, predictaid, spektr, ErrorKind, Provider};

const STEP_INIT: &str = r#"{"id": "e1", "spektrId": "s1", "eventType": "step_init", "timestamp": 1752662761594,
 "data": {"processType": "onboarding", "processName": "p", "processId": "686660b573833dea357e86f6",
          "contextId": "c1", "stepType": "form", "stepId": "st1"}}"#;

fn batch_of(events: &[&str]) -> String {
    format!("{{\"results\": [\n{}\n]}}", events.join(",\n"))
}

#[test]
fn empty_body_is_an_unexpected_end_of_the_envelope() {
    let err = spektr::parse_batch(b"").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Eof);
    assert!(err.is_envelope());
    assert_eq!(err.index(), None);
    assert_eq!(err.provider(), Some(Provider::Spektr));
    assert!(
        err.to_string()
            .starts_with("Spektr batch: EOF while parsing"),
        "{err}"
    );
}

#[test]
fn a_body_that_is_not_json_is_a_syntax_error_with_its_position() {
    let err = spektr::parse_batch(b"{\"results\": [\n  nope\n]}").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Syntax);
    assert!(err.is_envelope());
    assert_eq!((err.line(), err.column()), (Some(2), Some(4)), "{err}");
    assert!(err.to_string().contains("at line 2 column 4"), "{err}");
}

#[test]
fn a_body_without_results_names_the_missing_field() {
    let err = spektr::parse_batch(br#"{"data": []}"#).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Data);
    assert!(err.is_envelope());
    assert!(err.to_string().contains("missing field `results`"), "{err}");
}

#[test]
fn results_that_is_not_an_array_is_an_envelope_error() {
    let err = spektr::parse_batch(br#"{"results": {"id": "e1"}}"#).unwrap_err();
    assert!(err.is_envelope());
    assert!(err.to_string().contains("expected a sequence"), "{err}");
}

#[test]
fn a_mistyped_field_names_the_event_index_type_and_position() {
    let broken = STEP_INIT.replace(
        r#""processId": "686660b573833dea357e86f6""#,
        r#""processId": 686660"#,
    );
    let body = batch_of(&[STEP_INIT, STEP_INIT, &broken]);
    let err = spektr::parse_batch(body.as_bytes()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Data);
    assert!(!err.is_envelope());
    assert_eq!(err.index(), Some(2));
    assert_eq!(err.event_type(), Some("step_init"));
    assert_eq!(err.path(), Some("results[2].data.processId"));
    // The position is in the whole body: the third event's `processId` value is
    // on the body's line 9 (each event spans 3 lines after the opening line).
    let line = body.lines().position(|l| l.contains("686660,")).unwrap() + 1;
    assert_eq!(err.line(), Some(line), "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with(
            "Spektr event of type \"step_init\": results[2].data.processId: invalid type: integer `686660`, expected a string"
        ),
        "{message}"
    );
}

#[test]
fn a_missing_required_field_is_named_by_its_wire_name() {
    let broken = STEP_INIT.replace(r#""stepId": "st1""#, r#""stepIdentifier": "st1""#);
    let err = spektr::parse_batch(batch_of(&[&broken]).as_bytes()).unwrap_err();
    assert!(err.to_string().contains("missing field `stepId`"), "{err}");
    assert_eq!(err.index(), Some(0));
}

#[test]
fn a_known_type_with_data_that_is_not_an_object_is_an_error() {
    for data in [r#"[1, 2]"#, r#""step""#, "null"] {
        let event = format!(
            r#"{{"id": "e1", "spektrId": "s1", "eventType": "step_init", "timestamp": 1, "data": {data}}}"#
        );
        let err = spektr::parse_event(event.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data, "{data}");
        assert!(
            err.to_string().contains("expected an object (Step)"),
            "{data}: {err}"
        );
    }
}

#[test]
fn timestamps_out_of_range_or_not_integers_are_errors() {
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
        ("\"1752662761594\"", "invalid type: string"),
    ] {
        let event = STEP_INIT.replace("1752662761594", timestamp);
        let err = spektr::parse_event(event.as_bytes()).unwrap_err();
        assert!(err.to_string().contains(expected), "{timestamp}: {err}");
    }
}

#[test]
fn duplicate_keys_are_refused_not_silently_resolved() {
    for event in [
        STEP_INIT.replace(r#""id": "e1","#, r#""id": "e1", "id": "e2","#),
        STEP_INIT.replace(r#""stepId": "st1""#, r#""stepId": "st1", "stepId": "st2""#),
        STEP_INIT.replace(r#""stepId": "st1""#, r#""stepId": "st1", "x": 1, "x": 2"#),
    ] {
        let err = spektr::parse_event(event.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("duplicate field"), "{err}");
    }
}

#[test]
fn a_predictaid_body_sent_to_the_spektr_parser_is_an_envelope_error() {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/predictaid/session.created.json"
    ))
    .unwrap();
    let err = spektr::parse_batch(&body).unwrap_err();
    assert!(err.is_envelope());
    assert!(err.to_string().contains("missing field `results`"), "{err}");
}

#[test]
fn a_spektr_batch_sent_to_the_predictaid_parser_is_an_error() {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/spektr/batches/all-types.json"
    ))
    .unwrap();
    let err = predictaid::parse(&body).unwrap_err();
    assert_eq!(err.provider(), Some(Provider::PredictaId));
    assert!(
        err.to_string()
            .starts_with("PredictaID event: missing field"),
        "{err}"
    );
}

#[test]
fn predictaid_errors_name_the_type_and_field() {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/predictaid/kyt.transaction.pipeline.completed.json"
    ))
    .unwrap();
    let text = String::from_utf8(body)
        .unwrap()
        .replace(r#""alertCount": 1"#, r#""alertCount": "one""#);
    let err = predictaid::parse(text.as_bytes()).unwrap_err();
    assert_eq!(err.event_type(), Some("kyt.transaction.pipeline.completed"));
    assert_eq!(err.index(), None);
    assert!(
        err.to_string().starts_with(
            "PredictaID event of type \"kyt.transaction.pipeline.completed\": data.alertCount: invalid type: string \"one\", expected u64"
        ),
        "{err}"
    );
}

#[test]
fn occurred_at_must_be_a_real_rfc3339_date() {
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/predictaid/session.created.json"
    ))
    .unwrap();
    let sent = body
        .lines()
        .find(|l| l.contains("occurredAt"))
        .unwrap()
        .to_owned();
    for bad in [
        "\"2026-02-30T12:00:00.000Z\"",
        "\"yesterday\"",
        "\"2026-03-23 12:00\"",
        "1774267200000",
    ] {
        let text = body.replace(&sent, &format!("  \"occurredAt\": {bad},"));
        let err = predictaid::parse(text.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data, "{bad}");
        assert!(err.to_string().contains("RFC 3339"), "{bad}: {err}");
    }
}

#[test]
fn the_generic_batch_parser_reads_the_provider_from_the_event() {
    let broken = STEP_INIT.replace(r#""stepId": "st1""#, r#""stepId": 1"#);
    let err = batch::parse::<spektr::Event>(batch_of(&[&broken]).as_bytes()).unwrap_err();
    assert_eq!(err.provider(), Some(Provider::Spektr));
    assert_eq!(err.event_type(), Some("step_init"));
}

#[test]
fn errors_can_cross_threads() {
    fn assert_send_sync<T: Send + Sync + 'static + std::error::Error>() {}
    assert_send_sync::<kyc_webhooks::Error>();
}

#[test]
fn the_path_reaches_into_arrays_of_the_data() {
    let body = br#"{"results": [{"id": "e", "spektrId": "s", "eventType": "customer_record_changed", "timestamp": 1,
        "data": {"changes": [{"fieldId": "a"}, {"fieldId": 7}], "method": {"type": "api"}}}]}"#;
    let err = spektr::parse_batch(body).unwrap_err();
    assert_eq!(err.path(), Some("results[0].data.changes[1].fieldId"));
    let missing = br#"{"results": [{"id": "e", "spektrId": "s", "eventType": "customer_record_changed", "timestamp": 1,
        "data": {"changes": [], "method": {}}}]}"#;
    let err = spektr::parse_batch(missing).unwrap_err();
    assert_eq!(err.path(), Some("results[0].data.method"));
    assert!(
        err.to_string()
            .contains("results[0].data.method: missing field `type`"),
        "{err}"
    );
}

#[test]
fn the_path_is_found_when_data_comes_before_the_event_type() {
    // `data` first is decoded late from a buffer; the error path still names the field.
    let body = br#"{"results": [{"data": {"processId": 5}, "id": "e", "spektrId": "s",
        "eventType": "step_init", "timestamp": 1}]}"#;
    let err = spektr::parse_batch(body).unwrap_err();
    assert_eq!(err.path(), Some("results[0].data.processId"));
    assert_eq!(err.event_type(), Some("step_init"));
    let body = br#"{"data": {"transactionId": 5}, "type": "kyt.transaction.queued"}"#;
    let err = predictaid::parse(body).unwrap_err();
    assert_eq!(err.path(), Some("data.transactionId"), "{err}");
}

#[test]
fn envelope_and_root_failures_have_the_paths_they_can() {
    let err = spektr::parse_batch(br#"{"results": {"id": "e1"}}"#).unwrap_err();
    assert_eq!(err.path(), Some("results"));
    let err = spektr::parse_batch(b"").unwrap_err();
    assert_eq!(err.path(), None);
    let err = predictaid::parse(br#"{"type": "session.created"}"#).unwrap_err();
    assert_eq!(err.path(), None, "{err}");
    let err = spektr::parse_batch(br#"{"results": [{"id": "e"}]}"#).unwrap_err();
    assert_eq!(
        err.path(),
        Some("results[0]"),
        "a missing top-level field fails at the event's root"
    );
    assert!(
        err.to_string().contains(": results[0]: missing field"),
        "{err}"
    );
    let err = spektr::parse_batch(br#"{"results": [{"id": "e", "id": "f"}]}"#).unwrap_err();
    // A duplicate is found by the object holding it, so the path names that object.
    assert_eq!(err.path(), Some("results[0]"), "{err}");
    assert!(err.to_string().contains("duplicate field `id`"), "{err}");
}
