//! The event-type enums and the constructors users build events with.

use chrono::{DateTime, TimeZone, Utc};
use kyc_webhooks::{predictaid, spektr, Provider, RawJson};
use serde_json::json;

// Which wire names are documented is checked against the README's tables
// (tests/readme.rs, tests/one_list.rs): `EventType::ALL` is the one list,
// and no test keeps a copy of it.

/// The wire names of `all`, each once, in the provider's own spelling.
fn assert_distinct_wire_names(names: &[&str], spelled: impl Fn(char) -> bool) {
    let mut seen = std::collections::HashSet::new();
    for name in names {
        assert!(seen.insert(name), "{name} is listed twice");
        assert!(
            !name.is_empty() && name.chars().all(&spelled),
            "{name:?} is not a wire name"
        );
    }
}

#[test]
fn each_event_type_has_its_own_wire_name() {
    let spektr: Vec<&str> = spektr::EventType::ALL.iter().map(|t| t.as_str()).collect();
    assert_distinct_wire_names(&spektr, |c| c.is_ascii_lowercase() || c == '_');
    let predictaid: Vec<&str> = predictaid::EventType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    assert_distinct_wire_names(&predictaid, |c| {
        c.is_ascii_lowercase() || c == '.' || c == '_'
    });
}

#[test]
fn event_types_serialize_as_their_wire_name_and_refuse_any_other() {
    for &ty in spektr::EventType::ALL {
        assert_eq!(serde_json::to_value(ty).unwrap(), json!(ty.as_str()));
        assert_eq!(
            serde_json::from_value::<spektr::EventType>(json!(ty.as_str())).unwrap(),
            ty
        );
    }
    for &ty in predictaid::EventType::ALL {
        assert_eq!(serde_json::to_value(ty).unwrap(), json!(ty.as_str()));
        assert_eq!(
            serde_json::from_value::<predictaid::EventType>(json!(ty.as_str())).unwrap(),
            ty
        );
    }
    let err = serde_json::from_value::<spektr::EventType>(json!("alert_created")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown variant `alert_created`, expected one of `process_run_start`"),
        "{err}"
    );
    assert!(serde_json::from_value::<predictaid::EventType>(json!("Session.Created")).is_err());
}

#[test]
fn event_types_parse_from_and_display_as_their_wire_name() {
    for ty in spektr::EventType::ALL {
        assert_eq!(ty.as_str().parse::<spektr::EventType>(), Ok(*ty));
        assert_eq!(ty.to_string(), ty.as_str());
    }
    for ty in predictaid::EventType::ALL {
        assert_eq!(ty.as_str().parse::<predictaid::EventType>(), Ok(*ty));
        assert_eq!(ty.to_string(), ty.as_str());
    }
}

#[test]
fn event_type_names_are_exact_and_case_sensitive() {
    // The table headings are not wire values.
    for heading in [
        "CUSTOMER_TAG_ADDED",
        "PROCESS_RUN_END",
        "Process_Run_End",
        "alert_created",
        "",
    ] {
        let err = heading.parse::<spektr::EventType>().unwrap_err();
        assert_eq!(err.provider, Provider::Spektr);
        assert_eq!(err.name, heading);
    }
    let err = "Session.Created"
        .parse::<predictaid::EventType>()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "\"Session.Created\" is not a documented PredictaID event type"
    );
}

#[test]
fn users_can_build_a_spektr_event_and_it_serializes_to_the_wire_shape() {
    let mut data = spektr::ProcessRunEnd::new(
        "onboarding",
        "unknown",
        "KYB",
        "p1",
        spektr::CustomerStatus::Rejected,
        serde_json::Number::from(40),
        "c1",
        vec![spektr::Tag::new()],
    );
    data.extra
        .insert("company_name", RawJson::from_json(r#""ACME""#).unwrap());
    let at = Utc.timestamp_millis_opt(1752127706390).unwrap();
    let event = spektr::Event::new("e1", "s1", at, spektr::Payload::ProcessRunEnd(data))
        .with_workspace_id("w1");
    let wire = serde_json::to_value(&event).unwrap();
    assert_eq!(
        wire,
        json!({
            "id": "e1", "workspaceId": "w1", "eventType": "process_run_end", "timestamp": 1752127706390i64,
            "spektrId": "s1",
            "data": {"processType": "onboarding", "processOutput": "unknown", "processName": "KYB",
                     "processId": "p1", "customerStatus": "rejected", "score": 40, "contextId": "c1",
                     "tags": [{}], "company_name": "ACME"}
        })
    );
    let back: spektr::Event = serde_json::from_value(wire).unwrap();
    assert_eq!(back, event);
}

#[test]
fn users_can_build_an_unknown_spektr_event() {
    let at = Utc.timestamp_millis_opt(1).unwrap();
    let data = RawJson::from_json(r#"{"alertId": "a"}"#).unwrap();
    let event = spektr::Event::new(
        "e1",
        "s1",
        at,
        spektr::Payload::Other(spektr::UnknownPayload::new("alert_created", data)),
    );
    assert_eq!(event.type_name(), "alert_created");
    assert_eq!(event.event_type(), None);
    let text = serde_json::to_string(&event).unwrap();
    assert_eq!(spektr::parse_event(text.as_bytes()).unwrap(), event);
}

#[test]
fn both_providers_keep_an_unknown_type_in_the_one_unknown_payload_type() {
    let data = RawJson::from_json(r#"{"transactionId": "t"}"#).unwrap();
    let unknown = kyc_webhooks::UnknownPayload::new("transaction.updated", data);
    // The same type under both providers' names: one can be handed to the other.
    let as_spektr: spektr::UnknownPayload = unknown.clone();
    let as_predictaid: predictaid::UnknownPayload = as_spektr.clone();
    let at: DateTime<Utc> = "2026-03-23T12:00:00Z".parse().unwrap();
    let event = predictaid::Event::new(
        "evt_1",
        at,
        "comp_1",
        predictaid::AggregateType::KytTransaction,
        "t",
        predictaid::Payload::Other(as_predictaid),
    );
    assert_eq!(event.type_name(), "transaction.updated");
    assert_eq!(
        event.data.extra(),
        None,
        "an unknown type's data is kept whole"
    );
    let back = predictaid::parse(serde_json::to_string(&event).unwrap().as_bytes()).unwrap();
    let predictaid::Payload::Other(read) = &back.data else {
        panic!("read back as {:?}", back.event_type());
    };
    assert_eq!(read, &unknown);
    assert_eq!(read.data.as_str(), r#"{"transactionId": "t"}"#);
}

#[test]
fn payload_extra_is_the_data_types_extra() {
    let mut data = spektr::CustomerRecordUpdate::new();
    data.extra
        .insert("first_name", RawJson::from_json(r#""Jane""#).unwrap());
    let payload = spektr::Payload::CustomerRecordUpdate(data);
    let extra = payload.extra().expect("a documented type has extra");
    assert_eq!(extra.get("first_name").unwrap().as_str(), r#""Jane""#);
    let payload = predictaid::Payload::SessionCompleted(predictaid::SessionCompleted::new());
    assert!(payload.extra().unwrap().is_empty());
}

#[test]
fn users_can_build_a_predictaid_event() {
    let at: DateTime<Utc> = "2026-03-23T12:00:00Z".parse().unwrap();
    let event = predictaid::Event::new(
        "evt_1",
        at,
        "comp_123",
        predictaid::AggregateType::KytTransaction,
        "txn_1",
        predictaid::Payload::KytTransactionDeadLettered(
            predictaid::KytTransactionDeadLettered::new("txn_1", "Pipeline processing failed"),
        ),
    );
    let wire = serde_json::to_value(&event).unwrap();
    assert_eq!(
        wire["occurredAt"], "2026-03-23T12:00:00.000Z",
        "the canonical form, with milliseconds"
    );
    assert_eq!(wire["type"], "kyt.transaction.dead_lettered");
    assert_eq!(wire["version"], "v1");
    let back = predictaid::parse(wire.to_string().as_bytes()).unwrap();
    assert_eq!(back, event);
}

#[test]
fn a_non_canonical_occurred_at_is_written_back_as_sent_until_it_is_changed() {
    let body =
        br#"{"id": "e", "type": "x.y", "occurredAt": "2026-03-23T14:00:00+02:00", "companyId": "c",
        "aggregateType": "SESSION", "aggregateId": "a", "data": null, "version": "v1"}"#;
    let mut event = predictaid::parse(body).unwrap();
    assert_eq!(
        event.occurred_at,
        "2026-03-23T12:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(
        serde_json::to_value(&event).unwrap()["occurredAt"],
        "2026-03-23T14:00:00+02:00"
    );
    event.occurred_at += chrono::Duration::seconds(1);
    assert_eq!(
        serde_json::to_value(&event).unwrap()["occurredAt"],
        "2026-03-23T12:00:01.000Z"
    );
}

#[test]
fn open_enums_keep_values_they_do_not_know() {
    assert_eq!(
        spektr::CustomerStatus::from("approved"),
        spektr::CustomerStatus::Approved
    );
    let other: spektr::CustomerStatus = serde_json::from_value(json!("under_review")).unwrap();
    assert_eq!(other, spektr::CustomerStatus::Other("under_review".into()));
    assert_eq!(serde_json::to_value(&other).unwrap(), json!("under_review"));
    assert_eq!(other.as_str(), "under_review");
    let known: predictaid::AggregateType =
        serde_json::from_value(json!("KYT_TRANSACTION")).unwrap();
    assert_eq!(known, predictaid::AggregateType::KytTransaction);
    assert_eq!(
        serde_json::to_value(&known).unwrap(),
        json!("KYT_TRANSACTION")
    );
    // Values are case-sensitive: an unexpected case is kept, not guessed.
    let shouted: spektr::TagAction = serde_json::from_value(json!("ADD")).unwrap();
    assert_eq!(shouted, spektr::TagAction::Other("ADD".into()));
}

#[test]
fn the_batch_envelope_serializes_as_results_and_iterates() {
    let batch: kyc_webhooks::batch::Batch<u8> = vec![1, 2, 3].into();
    assert_eq!(
        serde_json::to_value(&batch).unwrap(),
        json!({"results": [1, 2, 3]})
    );
    let read: kyc_webhooks::batch::Batch<u8> =
        serde_json::from_value(json!({"results": [4], "next": "cursor"})).unwrap();
    assert_eq!(read.results, [4]);
    assert_eq!((&batch).into_iter().sum::<u8>(), 6);
    assert_eq!(batch.into_iter().collect::<Vec<_>>(), [1, 2, 3]);
}

#[test]
fn an_events_summary_stays_on_one_line_whatever_the_body_holds() {
    // An id with a line break and an ESC, and an unknown type whose data is
    // pretty-printed over several lines (kept as received, shown compact).
    let body =
        "{\"id\": \"e1\\n\\u001b[2J\", \"spektrId\": \"s1\", \"eventType\": \"alert_created\",
        \"timestamp\": 1752127706390, \"data\": {\n  \"alertId\": \"a 1\",\n  \"tags\": [1, 2]\n}}";
    let event = spektr::parse_event(body.as_bytes()).unwrap();
    assert_eq!(
        event.to_string(),
        r#"alert_created id=e1\n\u{1b}[2J spektrId=s1 at 2025-07-10T06:08:26.390Z: unknown type, kept whole: data {"alertId":"a 1","tags":[1,2]}"#
    );
    let spektr::Payload::Other(unknown) = &event.data else {
        panic!("{:?}", event.event_type());
    };
    assert!(
        unknown.data.as_str().contains('\n'),
        "the data itself is kept as sent"
    );

    let body =
        br#"{"id": "evt_1", "type": "session.completed", "occurredAt": "2026-03-23T14:00:00+02:00",
        "companyId": "comp_1", "aggregateType": "SESSION", "aggregateId": "sess_1", "version": "v1",
        "data": {}}"#;
    assert_eq!(
        predictaid::parse(body).unwrap().to_string(),
        "session.completed id=evt_1 company=comp_1 SESSION=sess_1 at 2026-03-23T14:00:00+02:00: \
         session for ? completed: ?"
    );
}
