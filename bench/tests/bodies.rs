//! The generated bodies are what BENCHMARKS.md says they are: every Spektr
//! batch decodes strictly and leniently, both key orders hold the same events,
//! the sorted order is sorted at every level, the spellings survive, and every
//! type is present.

use std::collections::{BTreeMap, BTreeSet};

use kyc_webhooks::{predictaid, spektr};
use kyc_webhooks_bench::{
    batch_text, bodies, parse, predictaid_events, spektr_events, unescape, Input, Json, Mix, Order,
    BATCH_EVENTS, FREE_FORM_SEED, GROUPS, MIXED_SEED, PREDICTAID_TYPES, SPEKTR_TYPES,
};
use serde_json::Value;

/// Every object in `json` has its keys in sorted order.
fn sorted_everywhere(json: &Json) -> bool {
    match json {
        Json::Object(members) => {
            members
                .windows(2)
                .all(|w| unescape(&w[0].0) <= unescape(&w[1].0))
                && members.iter().all(|(_, v)| sorted_everywhere(v))
        }
        Json::Array(items) => items.iter().all(sorted_everywhere),
        _ => true,
    }
}

#[test]
fn the_tree_writes_fixtures_back_as_serde_json_reads_them() {
    let root = kyc_webhooks_bench::fixtures_dir();
    for dir in ["spektr", "spektr/unknown", "predictaid"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let tree = parse(&text).unwrap();
            let expected: Value = serde_json::from_str(&text).unwrap();
            for order in Order::ALL {
                let written: Value = serde_json::from_str(&tree.to_text(order)).unwrap();
                assert_eq!(written, expected, "{}", path.display());
            }
        }
    }
}

#[test]
fn every_batch_decodes_and_both_orders_hold_the_same_events() {
    for (mix, seed) in [
        (Mix::Mixed, MIXED_SEED),
        (Mix::FreeFormHeavy, FREE_FORM_SEED),
    ] {
        let events = spektr_events(mix, BATCH_EVENTS, seed);

        // Each event has its own id; every documented type and unknown types occur.
        let ids: BTreeSet<String> = events
            .iter()
            .map(|e| e.get("id").and_then(Json::as_text).unwrap())
            .collect();
        assert_eq!(ids.len(), BATCH_EVENTS);
        let mut types: BTreeMap<String, usize> = BTreeMap::new();
        for event in &events {
            let ty = event.get("eventType").and_then(Json::as_text).unwrap();
            *types.entry(ty).or_default() += 1;
        }
        if mix == Mix::Mixed {
            for ty in SPEKTR_TYPES {
                assert!(types.contains_key(ty), "{ty} missing from the mixed batch");
            }
        }
        let unknown = types
            .iter()
            .filter(|(ty, _)| !SPEKTR_TYPES.contains(&ty.as_str()))
            .count();
        assert!(unknown >= 2, "unknown types in {mix:?}: {types:?}");

        let documented = batch_text(&events, Order::Documented);
        let sorted = batch_text(&events, Order::Sorted);
        assert_eq!(documented.len(), sorted.len());

        for body in [&documented, &sorted] {
            let batch = spektr::parse_batch(body).unwrap();
            assert_eq!(batch.results.len(), BATCH_EVENTS);
            let items = spektr::parse_batch_lenient(body).unwrap();
            assert_eq!(items.len(), BATCH_EVENTS);
            assert!(items.iter().all(Result::is_ok));
        }

        let a: Value = serde_json::from_slice(&documented).unwrap();
        let b: Value = serde_json::from_slice(&sorted).unwrap();
        assert_eq!(a, b, "{mix:?}: the two orders differ");
        let c: sonic_rs::Value = sonic_rs::from_slice(&sorted).unwrap();
        let c: Value = serde_json::from_str(&sonic_rs::to_string(&c).unwrap()).unwrap();
        assert_eq!(a, c, "{mix:?}: sonic_rs reads another tree");

        // Documented order: `id` first; sorted: `data` first, every level sorted.
        let doc_tree = parse(std::str::from_utf8(&documented).unwrap()).unwrap();
        for event in match doc_tree.get("results") {
            Some(Json::Array(items)) => items,
            _ => panic!("no results"),
        } {
            assert_eq!(event.members()[0].0, "id");
        }
        let sorted_tree = parse(std::str::from_utf8(&sorted).unwrap()).unwrap();
        assert!(sorted_everywhere(&sorted_tree));
        for event in match sorted_tree.get("results") {
            Some(Json::Array(items)) => items,
            _ => panic!("no results"),
        } {
            assert_eq!(event.members()[0].0, "data");
        }

        // The text keeps its spellings: decimals, exponents, escapes, non-ASCII.
        let text = std::str::from_utf8(&sorted).unwrap();
        for spelling in [
            ":1.50",
            ":1e2",
            ":1E-7",
            "\\u00e9",
            "\\ud83d\\ude00",
            "\\\"ACME\\\"",
            "\\n",
            "Zoë",
            "東京",
        ] {
            assert!(text.contains(spelling), "{mix:?} lacks {spelling}");
        }
    }
}

#[test]
fn the_six_bodies_are_named_and_decode() {
    let all = bodies();
    let names: Vec<&str> = all.iter().map(|b| b.group.as_str()).collect();
    assert_eq!(names, GROUPS);
    for body in &all {
        match &body.input {
            Input::SpektrBatch(bytes) => {
                assert_eq!(
                    spektr::parse_batch(bytes).unwrap().results.len(),
                    BATCH_EVENTS
                );
            }
            Input::PredictaidEvents(events) => {
                assert_eq!(events.len(), PREDICTAID_TYPES.len());
                for event in events {
                    predictaid::parse(event).unwrap();
                }
            }
        }
    }
}

#[test]
fn predictaid_events_in_both_orders_are_the_same_events() {
    let events = predictaid_events();
    assert_eq!(events.len(), PREDICTAID_TYPES.len());
    for event in &events {
        let a = event.to_text(Order::Documented).into_bytes();
        let b = event.to_text(Order::Sorted).into_bytes();
        predictaid::parse(&a).unwrap();
        predictaid::parse(&b).unwrap();
        assert!(a.starts_with(b"{\"id\":"));
        assert!(b.starts_with(b"{\"aggregateId\":"));
        let pos = |body: &[u8], key: &[u8]| body.windows(key.len()).position(|w| w == key);
        assert!(pos(&b, b"\"data\":") < pos(&b, b"\"type\":"));
        let va: Value = serde_json::from_slice(&a).unwrap();
        let vb: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(va, vb);
    }
}
