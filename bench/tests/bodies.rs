//! The generated bodies are what BENCHMARKS.md says they are: every Spektr
//! batch decodes strictly and leniently, both key orders hold the same events,
//! the sorted order is sorted at every level, the spellings survive, every
//! type of the core's `EventType::ALL` is present where all are meant to be,
//! the samples body is the documented samples as they are, and the broken
//! batches break at their last event only.

use std::collections::{BTreeMap, BTreeSet};

use kyc_webhooks::{predictaid, spektr};
use kyc_webhooks_bench::{
    batch_text, batch_text_broken_last, bodies, fixtures_dir, parse, predictaid_events,
    predictaid_samples, predictaid_types, spektr_events, spektr_sample_events, spektr_samples,
    spektr_types, unescape, Input, Json, Mix, Order, Row, BATCH_EVENTS, FREE_FORM_SEED, GROUPS,
    MIXED_SEED, ROWS, SAMPLES_SEED,
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
        let documented = spektr_types();
        let unknown = types
            .iter()
            .filter(|(ty, _)| !documented.contains(&ty.as_str()))
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

/// The wire types of the events of a Spektr delivery or of PredictaID bodies.
fn types_in(input: &Input) -> BTreeSet<String> {
    match input {
        Input::SpektrBatch(bytes) => {
            let batch: Value = serde_json::from_slice(bytes).unwrap();
            batch["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["eventType"].as_str().unwrap().to_owned())
                .collect()
        }
        Input::PredictaidEvents(bodies) => bodies
            .iter()
            .map(|b| {
                let event: Value = serde_json::from_slice(b).unwrap();
                event["type"].as_str().unwrap().to_owned()
            })
            .collect(),
    }
}

#[test]
fn every_type_of_the_core_occurs_in_each_body_meant_to_hold_all() {
    // The lists come from the core, so a type added there is looked for here.
    assert_eq!(
        spektr_types().len(),
        kyc_webhooks::spektr::EventType::ALL.len()
    );
    assert_eq!(
        predictaid_types().len(),
        kyc_webhooks::predictaid::EventType::ALL.len()
    );
    for body in bodies() {
        // Every body but the free-form-heavy one is meant to hold every type.
        if body.group.starts_with("free-form-heavy") {
            continue;
        }
        let found = types_in(&body.input);
        let (all, provider): (Vec<&str>, _) = match body.input {
            Input::SpektrBatch(_) => (
                kyc_webhooks::spektr::EventType::ALL
                    .iter()
                    .map(|t| t.as_str())
                    .collect(),
                "Spektr",
            ),
            Input::PredictaidEvents(_) => (
                kyc_webhooks::predictaid::EventType::ALL
                    .iter()
                    .map(|t| t.as_str())
                    .collect(),
                "PredictaID",
            ),
        };
        for ty in all {
            assert!(
                found.contains(ty),
                "{provider} type {ty} missing from {}",
                body.group
            );
        }
    }
}

#[test]
fn the_bodies_are_named_and_decode() {
    let all = bodies();
    let names: Vec<&str> = all.iter().map(|b| b.group.as_str()).collect();
    assert_eq!(names, GROUPS);
    assert_eq!(Row::ALL.map(Row::name), ROWS);
    for body in &all {
        assert_eq!(body.events, BATCH_EVENTS, "{}", body.group);
        match &body.input {
            Input::SpektrBatch(bytes) => {
                assert_eq!(
                    spektr::parse_batch(bytes).unwrap().results.len(),
                    BATCH_EVENTS
                );
                assert!(body.broken_last.is_some(), "{}", body.group);
            }
            Input::PredictaidEvents(events) => {
                assert_eq!(events.len(), BATCH_EVENTS);
                for event in events {
                    predictaid::parse(event).unwrap();
                }
                assert!(body.broken_last.is_none());
            }
        }
    }
}

/// `event` without its `id`, as a `Value`.
fn without_id(event: &Json) -> Value {
    let mut value: Value = serde_json::from_str(&event.to_text(Order::Documented)).unwrap();
    value.as_object_mut().unwrap().remove("id");
    value
}

#[test]
fn the_samples_body_is_the_documented_samples_as_they_are_with_unique_ids() {
    let samples = spektr_samples();
    // One documented body per type: the sample, or the template where the
    // reference gives no sample; never one of the crate's edge cases.
    assert_eq!(samples.len(), spektr_types().len());
    for ((name, _), ty) in samples.iter().zip(spektr_types()) {
        assert!(
            *name == format!("{ty}.json") || *name == format!("{ty}.template.json"),
            "{name} for {ty}"
        );
        let sample_exists = fixtures_dir().join(format!("spektr/{ty}.json")).exists();
        assert_eq!(*name == format!("{ty}.json"), sample_exists, "{name}");
    }
    let templates: Vec<&str> = samples
        .iter()
        .filter(|(name, _)| name.ends_with(".template.json"))
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        templates,
        [
            "alert_escalated.template.json",
            "customer_record_update.template.json",
            "customer_status_change.template.json",
            "process_run_start.template.json"
        ]
    );

    let events = spektr_sample_events(BATCH_EVENTS, SAMPLES_SEED);
    assert_eq!(events.len(), BATCH_EVENTS);
    let ids: BTreeSet<String> = events
        .iter()
        .map(|e| e.get("id").and_then(Json::as_text).unwrap())
        .collect();
    assert_eq!(ids.len(), BATCH_EVENTS);
    // Each event is its sample but for the id, and the file's text as read
    // (spellings kept): the same JSON as serde_json reads from the file.
    for (i, event) in events.iter().enumerate() {
        let (name, sample) = &samples[i % samples.len()];
        assert_eq!(without_id(event), without_id(sample), "event {i} ({name})");
        let text = std::fs::read_to_string(fixtures_dir().join("spektr").join(name)).unwrap();
        let mut file: Value = serde_json::from_str(&text).unwrap();
        file.as_object_mut().unwrap().remove("id");
        assert_eq!(without_id(event), file, "event {i} ({name})");
    }
    let documented = batch_text(&events, Order::Documented);
    let sorted = batch_text(&events, Order::Sorted);
    assert_eq!(documented.len(), sorted.len());
    // What real deliveries look like: a few hundred bytes an event.
    let per_event = documented.len() / BATCH_EVENTS;
    assert!((300..=500).contains(&per_event), "{per_event} bytes/event");
    let a: Value = serde_json::from_slice(&documented).unwrap();
    let b: Value = serde_json::from_slice(&sorted).unwrap();
    assert_eq!(a, b);
    assert!(sorted_everywhere(
        &parse(std::str::from_utf8(&sorted).unwrap()).unwrap()
    ));
    for body in [&documented, &sorted] {
        assert_eq!(
            spektr::parse_batch(body).unwrap().results.len(),
            BATCH_EVENTS
        );
    }
}

#[test]
fn the_predictaid_samples_are_the_samples_with_unique_ids() {
    let one_each = predictaid_events();
    let events = predictaid_samples(BATCH_EVENTS, SAMPLES_SEED);
    let ids: BTreeSet<String> = events
        .iter()
        .map(|e| e.get("id").and_then(Json::as_text).unwrap())
        .collect();
    assert_eq!(ids.len(), BATCH_EVENTS);
    for (i, event) in events.iter().enumerate() {
        assert_eq!(without_id(event), without_id(&one_each[i % one_each.len()]));
    }
}

#[test]
fn a_broken_batch_breaks_at_its_last_event_only() {
    let events = spektr_sample_events(100, SAMPLES_SEED);
    for order in Order::ALL {
        let good = batch_text(&events, order);
        let broken = batch_text_broken_last(&events, order);
        let error = spektr::parse_batch(&broken).unwrap_err();
        assert!(
            error.to_string().contains("99"),
            "the error names the last event's index: {error}"
        );
        let items = spektr::parse_batch_lenient(&broken).unwrap();
        assert_eq!(items.len(), 100);
        assert!(items[..99].iter().all(Result::is_ok));
        assert!(items[99].is_err());
        // Everything before the last event is the same bytes.
        let last_start = |body: &[u8]| {
            let needle = b",{";
            body.windows(2).rposition(|w| w == needle).unwrap()
        };
        assert_eq!(good[..last_start(&good)], broken[..last_start(&broken)]);
    }
}

#[test]
fn without_the_counting_allocator_there_is_no_peak_figure() {
    assert_eq!(
        kyc_webhooks_bench::alloc::peak_during(|| vec![0u8; 4096]),
        None
    );
}
