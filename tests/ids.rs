//! The typed IDs as a user handles them: compared with `&str`, looked up in
//! a map by `&str`, displayed, parsed, and read and written as plain JSON
//! strings, short or long, ASCII or not.

mod common;

use std::collections::HashMap;

use common::{assert_round_trip, fixture};
use kyc_webhooks::predictaid::{self, CustomerId};
use kyc_webhooks::spektr::{self, EventId, Payload, ProcessId, SpektrId};
use serde_json::Value;

#[test]
fn a_decoded_sample_compares_its_ids_with_str_and_string() {
    let event = spektr::parse_event(&fixture("spektr/alert_resolved.json")).unwrap();
    assert!(event.id == "685bee5fc7097fb20c2d0693");
    assert!("685bee5fc7097fb20c2d0693" == event.id);
    assert!(event.spektr_id == *"6867939d9a16445cb538a881");
    let text = String::from("6867939d9a16445cb538a881");
    assert!(event.spektr_id == text);
    assert!(text == event.spektr_id);
    assert!(event.id != "685bee5fc7097fb20c2d0694");
    let Payload::AlertResolved(alert) = &event.data else {
        panic!("{:?}", event.data)
    };
    assert_eq!(alert.process_id, "67ea79350b4c07c041a50db7");
    assert_eq!(alert.alert_id.as_str(), "67eba62500dd50ed396deb0c");
    // A `&str` method through `Deref`.
    assert!(alert.context_id.starts_with("67eba5f9"));

    let event = predictaid::parse(&fixture("predictaid/session.created.json")).unwrap();
    assert_eq!(event.id, "evt_203b878966105af9dd9a68b9");
    assert_eq!(event.company_id, "comp_123");
    let predictaid::Payload::SessionCreated(session) = &event.data else {
        panic!("{:?}", event.data)
    };
    assert_eq!(session.customer_id, CustomerId::from("cust_456"));
    assert_eq!(session.client_app_id, "app_123");
}

#[test]
fn a_map_keyed_by_an_id_is_looked_up_by_str() {
    let body = fixture("spektr/batches/all-types.json");
    let batch = spektr::parse_batch(&body).unwrap();
    let mut by_customer: HashMap<SpektrId, Vec<&EventId>> = HashMap::new();
    for event in &batch.results {
        by_customer
            .entry(event.spektr_id.clone())
            .or_default()
            .push(&event.id);
    }
    let first = &batch.results[0];
    let found = &by_customer[first.spektr_id.as_str()];
    assert!(found.contains(&&first.id));
    assert!(!by_customer.contains_key("no such customer"));
    // The same for a BTreeMap (ordered as the str).
    let ordered: std::collections::BTreeMap<EventId, ()> =
        batch.results.iter().map(|e| (e.id.clone(), ())).collect();
    assert!(ordered.contains_key(first.id.as_str()));
}

#[test]
fn an_id_displays_as_its_text_and_parses_from_it() {
    let event = spektr::parse_event(&fixture("spektr/alert_resolved.json")).unwrap();
    assert_eq!(
        format!("{} {}", event.id, event.spektr_id),
        "685bee5fc7097fb20c2d0693 6867939d9a16445cb538a881"
    );
    // Debug shows the text quoted, as for the String it replaces.
    assert_eq!(format!("{:?}", event.id), r#""685bee5fc7097fb20c2d0693""#);
    let parsed: ProcessId = "67ea79350b4c07c041a50db7".parse().unwrap();
    assert_eq!(parsed, "67ea79350b4c07c041a50db7");
    assert_eq!(String::from(parsed.clone()), "67ea79350b4c07c041a50db7");
    assert_eq!(parsed.into_string(), "67ea79350b4c07c041a50db7");
}

#[test]
fn an_id_is_a_plain_json_string_and_refuses_anything_else_as_a_string_field_does() {
    let id = EventId::from("evt_1");
    assert_eq!(serde_json::to_string(&id).unwrap(), r#""evt_1""#);
    assert_eq!(serde_json::from_str::<EventId>(r#""evt_1""#).unwrap(), id);
    // Escaped text (not borrowed from the input) and owned text
    // (`from_value`) decode alike.
    assert_eq!(
        serde_json::from_str::<EventId>(r#""evt\u005f1""#).unwrap(),
        id
    );
    assert_eq!(
        serde_json::from_value::<EventId>(Value::from("evt_1")).unwrap(),
        id
    );
    for wrong in ["5", "null", "true", "[]", "{}"] {
        assert_eq!(
            serde_json::from_str::<EventId>(wrong)
                .unwrap_err()
                .to_string(),
            serde_json::from_str::<String>(wrong)
                .unwrap_err()
                .to_string(),
            "{wrong}"
        );
    }
}

#[test]
fn long_and_non_ascii_ids_round_trip_through_an_event() {
    let long = "a".repeat(100);
    let accented = "évènement-ñ-日本-".repeat(3);
    // Both sides of the inline capacity (31 bytes), and longer.
    let boundary_31 = "b".repeat(31);
    let boundary_32 = "c".repeat(32);
    let mut json: Value = serde_json::from_slice(&fixture("spektr/alert_resolved.json")).unwrap();
    for (key, value) in [
        ("id", &long),
        ("spektrId", &accented),
        ("workspaceId", &boundary_31),
    ] {
        json[key] = Value::from(value.as_str());
    }
    json["data"]["processId"] = Value::from(boundary_32.as_str());
    let body = serde_json::to_vec(&json).unwrap();
    let event = spektr::parse_event(&body).unwrap();
    assert_eq!(event.id, long);
    assert_eq!(event.spektr_id, accented);
    assert_eq!(event.workspace_id.as_deref(), Some(boundary_31.as_str()));
    let Payload::AlertResolved(alert) = &event.data else {
        panic!("{:?}", event.data)
    };
    assert_eq!(alert.process_id, boundary_32);
    assert_round_trip(&json, &event, "long ids");
    // Owned strings (`from_value`: `visit_string`) too.
    let owned: spektr::Event = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(owned, event);
}
