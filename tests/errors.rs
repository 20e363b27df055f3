//! What an error says: for each kind of failure (a body cut short, not JSON,
//! not a batch, a missing or mistyped field, a body of the other provider),
//! one representative input, and every part of the `Error` it gives: kind,
//! provider, envelope or event, index, event type, path, line and column, and
//! the message's format.
//!
//! Families of bad input swept case by case (duplicate keys, timestamps,
//! `occurredAt`, `data` of the wrong shape, nesting, huge strings, bytes that
//! are not UTF-8) are in `tests/hostile.rs`.

mod common;

use common::{fixture, fixture_text};
use kyc_webhooks::{batch, predictaid, spektr, ErrorKind, Provider};

const STEP_INIT: &str = r#"{"id": "e1", "spektrId": "s1", "eventType": "step_init", "timestamp": 1752662761594,
 "data": {"processType": "onboarding", "processName": "p", "processId": "686660b573833dea357e86f6",
          "contextId": "c1", "stepType": "form", "stepId": "st1"}}"#;

fn batch_of(events: &[&str]) -> String {
    format!("{{\"results\": [\n{}\n]}}", events.join(",\n"))
}

#[test]
fn an_empty_body_is_an_unexpected_end() {
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
    // A single-event delivery cut short is an unexpected end of the event.
    let err = predictaid::parse(b"").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Eof);
    assert!(!err.is_envelope());
    assert_eq!(err.provider(), Some(Provider::PredictaId));
    assert!(
        err.to_string()
            .starts_with("PredictaID event: EOF while parsing"),
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
fn predictaid_errors_name_the_type_and_field() {
    let text = fixture_text("predictaid/kyt.transaction.pipeline.completed.json")
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
fn the_generic_batch_parser_names_the_provider_of_its_event_type() {
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
    // A duplicate key's path (the object holding it) is asserted with the
    // other duplicate keys, in tests/hostile.rs.
}

/// A body of one provider given to the other's functions is refused. What
/// holds in this version and the next: the provider named is the one whose
/// function was called, and the error names what is missing (`results` for a
/// batch, the type key for an event).
#[test]
fn a_body_of_the_other_provider_is_refused_in_the_called_providers_terms() {
    for file in [
        "predictaid/session.created.json",
        "predictaid/customer.identified.json",
    ] {
        let body = fixture(file);
        for err in [
            spektr::parse_batch(&body).unwrap_err(),
            spektr::parse_batch_lenient(&body).unwrap_err(),
        ] {
            assert!(err.is_envelope(), "{file}: {err}");
            assert_eq!(err.provider(), Some(Provider::Spektr), "{file}: {err}");
            assert!(
                err.to_string()
                    .starts_with("Spektr batch: missing field `results`"),
                "{file}: {err}"
            );
        }
        let err = spektr::parse_event(&body).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data, "{file}: {err}");
        assert!(!err.is_envelope(), "{file}: {err}");
        assert_eq!(err.provider(), Some(Provider::Spektr), "{file}: {err}");
        assert!(
            err.to_string().contains("missing field `eventType`"),
            "{file}: {err}"
        );
    }
    for file in [
        "spektr/batches/all-types.json",
        "spektr/alert_resolved.json",
    ] {
        let err = predictaid::parse(&fixture(file)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data, "{file}: {err}");
        assert_eq!(err.provider(), Some(Provider::PredictaId), "{file}: {err}");
        assert!(
            err.to_string().contains("missing field `type`"),
            "{file}: {err}"
        );
    }
    // A batch has no type key at its root, so nothing is read as a type.
    let err = predictaid::parse(&fixture("spektr/batches/all-types.json")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("PredictaID event: missing field `type`"),
        "{err}"
    );
}

/// The provider is the one whose function was called (for the generic batch
/// functions, the event type's), never guessed from the keys an event has:
/// another provider's type key is not read as the event's type, and the
/// message names the type key that is missing.
#[test]
fn the_provider_is_the_called_functions_never_guessed_from_the_keys() {
    let spektr_event = fixture("spektr/alert_resolved.json");
    let predictaid_event = fixture("predictaid/session.created.json");
    // (the case, its error, the provider to name, the type key it lacks)
    let cases = [
        (
            "a PredictaID event as a Spektr event",
            spektr::parse_event(&predictaid_event).unwrap_err(),
            Provider::Spektr,
            "eventType",
        ),
        (
            "a Spektr event as a PredictaID event",
            predictaid::parse(&spektr_event).unwrap_err(),
            Provider::PredictaId,
            "type",
        ),
        (
            "an event with `eventType` in a PredictaID batch",
            batch::parse::<predictaid::Event>(br#"{"results":[{"eventType":"foo"}]}"#).unwrap_err(),
            Provider::PredictaId,
            "type",
        ),
        (
            "the same, lenient",
            batch::parse_lenient::<predictaid::Event>(br#"{"results":[{"eventType":"foo"}]}"#)
                .unwrap()
                .remove(0)
                .unwrap_err()
                .error()
                .clone(),
            Provider::PredictaId,
            "type",
        ),
        (
            "an event with `type` in a Spektr batch",
            batch::parse::<spektr::Event>(br#"{"results":[{"type":"foo"}]}"#).unwrap_err(),
            Provider::Spektr,
            "eventType",
        ),
    ];
    for (case, err, provider, key) in cases {
        assert_eq!(err.provider(), Some(provider), "{case}: {err}");
        assert_eq!(err.event_type(), None, "{case}: {err}");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("{provider} event: ")),
            "{case}: {message}"
        );
        assert!(
            message.contains(&format!("missing field `{key}`")),
            "{case}: {message}"
        );
    }
}

#[test]
fn debug_is_the_kind_then_the_message_and_the_alternate_form_lists_the_fields() {
    let body = batch_of(
        &[r#"{"id": "e1", "spektrId": "s1", "eventType": "step_init",
 "timestamp": 1752662761594, "data": {"processId": 7}}"#],
    );
    let err = spektr::parse_batch(body.as_bytes()).unwrap_err();
    // What `unwrap()` and `main() -> Result` print: readable, not a struct dump.
    assert_eq!(format!("{err:?}"), format!("Error(Data): {err}"));
    assert!(format!("{err:?}").starts_with(
        "Error(Data): Spektr event of type \"step_init\": results[0].data.processId: invalid type"
    ));
    let unwrapped =
        std::panic::catch_unwind(|| spektr::parse_batch(body.as_bytes()).unwrap()).unwrap_err();
    let message = unwrapped.downcast_ref::<String>().unwrap();
    assert!(
        message.ends_with(&format!("Error(Data): {err}")),
        "{message}"
    );
    // `{:#?}` keeps every field for debugging.
    let dump = format!("{err:#?}");
    assert!(
        dump.contains("kind: Data") && dump.contains("path: Some("),
        "{dump}"
    );

    let err = spektr::parse_batch(b"{\"results\": [").unwrap_err();
    assert_eq!(format!("{err:?}"), format!("Error(Eof): {err}"));
}
