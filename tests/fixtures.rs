//! Walks `fixtures/`: every file is a test case, so adding a fixture adds a
//! test with no code change.
//!
//! - `fixtures/spektr/<type>.*.json`: one Spektr event of documented type
//!   `<type>`; it must decode to that type's variant, its accessors must agree
//!   with the JSON, and it must obey the round-trip law.
//! - `fixtures/spektr/unknown/<type>.*.json`: an event of a type the crate does
//!   not know; it must decode to `Event::Other` and round-trip.
//! - `fixtures/spektr/batches/*.json`: whole deliveries; strict and lenient
//!   decoding must agree and every event must round-trip.
//! - `fixtures/predictaid/...`: the same for PredictaID events.

mod common;

use std::path::Path;

use common::{
    assert_free_form_exact, assert_round_trip, fixture, fixtures, named_for, predictaid_free_form,
    spektr_free_form, stem,
};
use kyc_webhooks::{batch, predictaid, spektr};
use serde_json::value::RawValue;
use serde_json::Value;

fn read(path: &Path) -> (Vec<u8>, Value) {
    let body = std::fs::read(path).unwrap();
    let json = serde_json::from_slice(&body).unwrap();
    (body, json)
}

/// The round-trip law for a Spektr event decoded from `text`.
fn assert_spektr_round_trip(text: &str, json: &Value, event: &spektr::Event, context: &str) {
    assert_round_trip(json, event, context);
    assert_free_form_exact(text, event, spektr_free_form(event), context);
}

/// The round-trip law for a PredictaID event decoded from `text`.
fn assert_predictaid_round_trip(
    text: &str,
    json: &Value,
    event: &predictaid::Event,
    context: &str,
) {
    assert_round_trip(json, event, context);
    assert_free_form_exact(text, event, predictaid_free_form(event), context);
}

/// Asserts the Spektr accessors against the event's own JSON.
fn assert_spektr_accessors(event: &spektr::Event, json: &Value, context: &str) {
    assert_eq!(event.id, json["id"], "{context}: id");
    assert_eq!(event.spektr_id, json["spektrId"], "{context}: spektrId");
    assert_eq!(
        event.workspace_id.as_deref(),
        json["workspaceId"].as_str(),
        "{context}: workspaceId"
    );
    assert_eq!(event.type_name(), json["eventType"], "{context}: eventType");
    assert_eq!(
        Some(event.timestamp.timestamp_millis()),
        json["timestamp"].as_i64(),
        "{context}: timestamp"
    );
}

#[test]
fn spektr_fixtures_decode_to_their_own_variant_and_round_trip() {
    for path in fixtures("spektr") {
        let name = stem(&path);
        let (body, json) = read(&path);
        let event = spektr::parse_event(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        let wire = json["eventType"].as_str().unwrap();
        assert!(
            named_for(&name, wire),
            "{name}: the file name must start with its eventType {wire}"
        );
        let expected: spektr::EventType = wire.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            event.event_type(),
            Some(expected),
            "{name}: decoded to the wrong variant"
        );
        assert!(
            !matches!(event.data, spektr::Payload::Other(_)),
            "{name}: decoded as unknown"
        );
        assert_spektr_accessors(&event, &json, &name);
        let text = std::str::from_utf8(&body).unwrap();
        assert_spektr_round_trip(text, &json, &event, &name);
    }
}

#[test]
fn every_spektr_type_has_a_fixture() {
    let names: Vec<String> = fixtures("spektr").iter().map(|p| stem(p)).collect();
    for ty in spektr::EventType::ALL {
        assert!(
            names.iter().any(|n| named_for(n, ty.as_str())),
            "no fixture for {ty}"
        );
    }
}

#[test]
fn unknown_spektr_types_are_kept_whole() {
    for path in fixtures("spektr/unknown") {
        let name = stem(&path);
        let (body, json) = read(&path);
        let event = spektr::parse_event(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        let spektr::Payload::Other(unknown) = &event.data else {
            panic!(
                "{name}: an unknown type decoded to {:?}",
                event.event_type()
            );
        };
        assert!(
            named_for(&name, &unknown.event_type),
            "{name}: the file name must start with its eventType"
        );
        assert_eq!(event.event_type(), None, "{name}");
        assert_eq!(
            unknown.data.to_value().unwrap(),
            json["data"],
            "{name}: data kept as sent"
        );
        assert_spektr_accessors(&event, &json, &name);
        let text = std::str::from_utf8(&body).unwrap();
        assert_spektr_round_trip(text, &json, &event, &name);
    }
}

#[test]
fn spektr_batches_decode_strictly_and_leniently_alike() {
    for path in fixtures("spektr/batches") {
        let name = stem(&path);
        let (body, json) = read(&path);
        let strict = spektr::parse_batch(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        let events = json["results"].as_array().unwrap();
        let texts = raw_results(&body).unwrap();
        assert_eq!(strict.results.len(), events.len(), "{name}");
        for (index, (event, input)) in strict.results.iter().zip(events).enumerate() {
            let context = format!("{name}[{index}]");
            assert_eq!(event.type_name(), input["eventType"], "{context}");
            assert_spektr_accessors(event, input, &context);
            assert_spektr_round_trip(texts[index].get(), input, event, &context);
        }
        let lenient = batch::parse_lenient::<spektr::Event>(&body).unwrap();
        let lenient: Vec<spektr::Event> = lenient
            .into_iter()
            .map(|item| item.expect("no event is rejected"))
            .collect();
        assert_eq!(
            lenient, strict.results,
            "{name}: lenient and strict disagree"
        );
        assert_eq!(
            batch::parse::<spektr::Event>(&body).unwrap(),
            strict,
            "{name}"
        );
    }
}

#[test]
fn the_all_types_batch_holds_every_documented_type() {
    let body = fixture("spektr/batches/all-types.json");
    let batch = spektr::parse_batch(&body).unwrap();
    let mut seen: Vec<spektr::EventType> = batch
        .results
        .iter()
        .filter_map(|e| e.event_type())
        .collect();
    seen.sort();
    seen.dedup();
    let mut all = spektr::EventType::ALL.to_vec();
    all.sort();
    assert_eq!(seen, all);
}

fn assert_predictaid_accessors(event: &predictaid::Event, json: &Value, context: &str) {
    assert_eq!(event.id, json["id"], "{context}: id");
    assert_eq!(event.company_id, json["companyId"], "{context}: companyId");
    assert_eq!(event.type_name(), json["type"], "{context}: type");
    assert_eq!(
        event.aggregate_type.as_str(),
        json["aggregateType"],
        "{context}: aggregateType"
    );
    assert_eq!(
        event.aggregate_id, json["aggregateId"],
        "{context}: aggregateId"
    );
    assert_eq!(event.version, json["version"], "{context}: version");
    let sent = chrono::DateTime::parse_from_rfc3339(json["occurredAt"].as_str().unwrap()).unwrap();
    assert_eq!(event.occurred_at, sent, "{context}: occurredAt");
}

#[test]
fn predictaid_fixtures_decode_to_their_own_variant_and_round_trip() {
    for path in fixtures("predictaid") {
        let name = stem(&path);
        let (body, json) = read(&path);
        let event = predictaid::parse(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        let wire = json["type"].as_str().unwrap();
        assert!(
            named_for(&name, wire),
            "{name}: the file name must start with its type"
        );
        let expected: predictaid::EventType =
            wire.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            event.event_type(),
            Some(expected),
            "{name}: decoded to the wrong variant"
        );
        assert!(
            !matches!(event.data, predictaid::Payload::Other(_)),
            "{name}: decoded as unknown"
        );
        assert_predictaid_accessors(&event, &json, &name);
        let text = std::str::from_utf8(&body).unwrap();
        assert_predictaid_round_trip(text, &json, &event, &name);
    }
}

#[test]
fn every_predictaid_type_has_a_fixture() {
    let names: Vec<String> = fixtures("predictaid").iter().map(|p| stem(p)).collect();
    for ty in predictaid::EventType::ALL {
        assert!(
            names.iter().any(|n| named_for(n, ty.as_str())),
            "no fixture for {ty}"
        );
    }
}

#[test]
fn unknown_predictaid_types_are_kept_whole() {
    for path in fixtures("predictaid/unknown") {
        let name = stem(&path);
        let (body, json) = read(&path);
        let event = predictaid::parse(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        let predictaid::Payload::Other(unknown) = &event.data else {
            panic!(
                "{name}: an unknown type decoded to {:?}",
                event.event_type()
            );
        };
        assert!(
            named_for(&name, &unknown.event_type),
            "{name}: the file name must start with its type"
        );
        assert_eq!(
            unknown.data.to_value().unwrap(),
            json["data"],
            "{name}: data kept as sent"
        );
        assert_eq!(event.event_type(), None, "{name}");
        assert_predictaid_accessors(&event, &json, &name);
        let text = std::str::from_utf8(&body).unwrap();
        assert_predictaid_round_trip(text, &json, &event, &name);
    }
}

/// Each event's own text in a batch body.
fn raw_results(body: &[u8]) -> serde_json::Result<Vec<&RawValue>> {
    #[derive(serde::Deserialize)]
    struct Raw<'a> {
        #[serde(borrow)]
        results: Vec<&'a RawValue>,
    }
    serde_json::from_slice::<Raw>(body).map(|raw| raw.results)
}
