//! Property tests of the Guarantees (README): mutations of every fixture must
//! never panic; what strict decoding accepts obeys the round-trip law; unknown
//! fields and types are never an error; lenient batches keep every good event
//! and hand back each broken one byte for byte.
//!
//! Case counts: `PROPTEST_CASES` (default 256 per property here), so a longer
//! campaign is `PROPTEST_CASES=1000000 cargo test --release --test properties`.

mod common;

use std::sync::OnceLock;

use common::{accepted_as_value, assert_round_trip, fixtures};
use kyc_webhooks::{predictaid, spektr};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Provider {
    Spektr,
    PredictaId,
}

/// Every single-event fixture, known and unknown types, with its provider.
fn corpus() -> &'static [(Provider, Value)] {
    static CORPUS: OnceLock<Vec<(Provider, Value)>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut corpus = Vec::new();
        for (dir, provider) in [
            ("spektr", Provider::Spektr),
            ("spektr/unknown", Provider::Spektr),
            ("predictaid", Provider::PredictaId),
            ("predictaid/unknown", Provider::PredictaId),
        ] {
            for path in fixtures(dir) {
                let json = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                corpus.push((provider, json));
            }
        }
        corpus
    })
}

fn spektr_corpus() -> Vec<&'static Value> {
    corpus()
        .iter()
        .filter(|(p, _)| *p == Provider::Spektr)
        .map(|(_, v)| v)
        .collect()
}

// ---- JSON helpers -------------------------------------------------------

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// Paths of every node, root first (pre-order).
fn node_paths(value: &Value) -> Vec<Vec<Step>> {
    fn walk(value: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        out.push(path.clone());
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    path.push(Step::Key(key.clone()));
                    walk(child, path, out);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    path.push(Step::Index(index));
                    walk(child, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

fn node_mut<'a>(value: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(value, |node, step| match step {
        Step::Key(key) => &mut node[key.as_str()],
        Step::Index(index) => &mut node[*index],
    })
}

/// Writes `value` as JSON with each object's keys in an order drawn from
/// `seed` (serde_json's map would sort them).
fn write_shuffled(value: &Value, seed: &mut u64, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            // Fisher-Yates with a xorshift generator: deterministic per seed.
            for i in (1..entries.len()).rev() {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                entries.swap(i, (*seed % (i as u64 + 1)) as usize);
            }
            out.push('{');
            for (n, (key, child)) in entries.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).unwrap());
                out.push(':');
                write_shuffled(child, seed, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (n, child) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_shuffled(child, seed, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

const PLACEHOLDER: &str = "\u{0}placeholder\u{0}";

/// Replaces the node at `path` with raw JSON text (which may be invalid JSON,
/// such as a lone surrogate escape or a number beyond f64).
fn with_raw_text(value: &Value, path: &[Step], raw: &str) -> String {
    let mut value = value.clone();
    *node_mut(&mut value, path) = Value::String(PLACEHOLDER.to_owned());
    let text = value.to_string();
    text.replacen(&serde_json::to_string(PLACEHOLDER).unwrap(), raw, 1)
}

// ---- strategies ---------------------------------------------------------

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Raw JSON string literals: escapes, any Unicode, surrogate pairs, lone
/// surrogates, invalid escapes and raw control characters.
fn string_literal() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<char>().prop_map(|c| match c {
            '"' => "\\\"".to_owned(),
            '\\' => "\\\\".to_owned(),
            c if (c as u32) < 0x20 => format!("\\u{:04x}", c as u32),
            c => c.to_string(),
        }),
        prop::sample::select(vec![
            "\\n",
            "\\t",
            "\\\"",
            "\\\\",
            "\\/",
            "\\b",
            "\\f",
            "\\r",
            "\\u00e9",
            "\\ud83d\\ude00",
            "\\ud800",
            "\\udfff",
            "\\ud800\\u0041",
            "\\x",
            "\\u12",
            "\u{1}",
            "\n",
        ])
        .prop_map(str::to_owned),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|pieces| format!("\"{}\"", pieces.concat()))
}

fn number_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0",
            "-0",
            "0.0",
            "-0.0",
            "1E2",
            "1e-7",
            "12.5",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "1.7976931348623157e308",
            "-1.7976931348623157e308",
            "1e308",
            "1e309",
            "5e-324",
            "1e-400",
            "123456789012345678901234567890",
        ])
        .prop_map(str::to_owned),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| f.to_string()),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipByte(Index, u8),
    Truncate(Index),
    SwapType(Index, Value),
    RemoveKey(Index),
    ReplaceString(Index, String),
    ReplaceNumber(Index, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 1..=255u8).prop_map(|(at, xor)| Mutation::FlipByte(at, xor)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any_json()).prop_map(|(at, v)| Mutation::SwapType(at, v)),
        any::<Index>().prop_map(Mutation::RemoveKey),
        (any::<Index>(), string_literal()).prop_map(|(at, s)| Mutation::ReplaceString(at, s)),
        (any::<Index>(), number_literal()).prop_map(|(at, n)| Mutation::ReplaceNumber(at, n)),
    ]
}

fn apply(event: &Value, mutation: &Mutation) -> Vec<u8> {
    let text = event.to_string();
    let paths = node_paths(event);
    match mutation {
        Mutation::FlipByte(at, xor) => {
            let mut bytes = text.into_bytes();
            let at = at.index(bytes.len());
            bytes[at] ^= xor;
            bytes
        }
        Mutation::Truncate(at) => text.as_bytes()[..at.index(text.len())].to_vec(),
        Mutation::SwapType(at, replacement) => {
            let mut value = event.clone();
            *node_mut(&mut value, &paths[at.index(paths.len())]) = replacement.clone();
            value.to_string().into_bytes()
        }
        Mutation::RemoveKey(at) => {
            let mut value = event.clone();
            let path = &paths[at.index(paths.len())];
            if let Some((Step::Key(key), parent)) = path.split_last() {
                node_mut(&mut value, parent)
                    .as_object_mut()
                    .unwrap()
                    .remove(key);
            }
            value.to_string().into_bytes()
        }
        Mutation::ReplaceString(at, raw) | Mutation::ReplaceNumber(at, raw) => {
            with_raw_text(event, &paths[at.index(paths.len())], raw).into_bytes()
        }
    }
}

// ---- the promises -------------------------------------------------------

/// Promises 1 and 2 on one body: decoding returns (no panic), and whatever
/// strict decoding accepts is valid JSON and obeys the round-trip law.
fn check_single(provider: Provider, body: &[u8]) {
    match provider {
        Provider::Spektr => {
            if let Ok(event) = spektr::parse_event(body) {
                match accepted_as_value(body) {
                    Some(input) => assert_round_trip(&input, &event, "mutated Spektr event"),
                    // Free-form text a `Value` cannot hold: still written back.
                    None => {
                        let text = serde_json::to_string(&event).unwrap();
                        assert_eq!(spektr::parse_event(text.as_bytes()).unwrap(), event);
                    }
                }
            }
        }
        Provider::PredictaId => {
            if let Ok(event) = predictaid::parse(body) {
                match accepted_as_value(body) {
                    Some(input) => assert_round_trip(&input, &event, "mutated PredictaID event"),
                    None => {
                        let text = serde_json::to_string(&event).unwrap();
                        assert_eq!(predictaid::parse(text.as_bytes()).unwrap(), event);
                    }
                }
            }
        }
    }
    // The batch parsers see it too, as a body and as the one event of a batch.
    let _ = spektr::parse_batch(body);
    let _ = spektr::parse_batch_lenient(body);
    let mut wrapped = b"{\"results\":[".to_vec();
    wrapped.extend_from_slice(body);
    wrapped.extend_from_slice(b"]}");
    let _ = spektr::parse_batch_lenient(&wrapped);
}

fn decodes(provider: Provider, body: &[u8]) -> Result<(), kyc_webhooks::Error> {
    match provider {
        Provider::Spektr => spektr::parse_event(body).map(drop),
        Provider::PredictaId => predictaid::parse(body).map(drop),
    }
}

proptest! {
    // 256 cases unless PROPTEST_CASES says otherwise (a longer campaign).
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn mutated_events_never_panic_and_what_decodes_round_trips(
        which in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..3),
    ) {
        let (provider, original) = &corpus()[which.index(corpus().len())];
        let mut event = original.clone();
        let mut body = Vec::new();
        for mutation in &mutations {
            body = apply(&event, mutation);
            match serde_json::from_slice::<Value>(&body) {
                Ok(next) => event = next,
                Err(_) => break,
            }
        }
        check_single(*provider, &body);
    }

    #[test]
    fn unknown_fields_at_any_level_and_any_key_order_are_accepted(
        which in any::<Index>(),
        at in any::<Index>(),
        suffix in "[a-z0-9]{0,6}",
        value in any_json(),
        seed in any::<u64>(),
    ) {
        let (provider, original) = &corpus()[which.index(corpus().len())];
        let mut event = original.clone();
        let objects: Vec<Vec<Step>> = node_paths(&event)
            .into_iter()
            .filter(|path| original_node(original, path).is_object())
            .collect();
        let path = &objects[at.index(objects.len())];
        let key = format!("zz_unknown_{suffix}");
        node_mut(&mut event, path).as_object_mut().unwrap().insert(key, value);
        let mut text = String::new();
        let mut seed = seed | 1;
        write_shuffled(&event, &mut seed, &mut text);
        prop_assert!(decodes(*provider, text.as_bytes()).is_ok(), "refused: {}", text);
        check_single(*provider, text.as_bytes());
    }

    #[test]
    fn an_unknown_event_type_is_kept_not_refused(which in any::<Index>(), name in "[a-z_.]{1,20}") {
        let (provider, original) = &corpus()[which.index(corpus().len())];
        let mut event = original.clone();
        match provider {
            Provider::Spektr => {
                prop_assume!(name.parse::<spektr::EventType>().is_err());
                event["eventType"] = Value::String(name.clone());
                let parsed = spektr::parse_event(event.to_string().as_bytes()).unwrap();
                prop_assert!(matches!(parsed.data, spektr::Payload::Other(_)));
                prop_assert_eq!(parsed.type_name(), name.as_str());
                assert_round_trip(&event, &parsed, "renamed Spektr event");
            }
            Provider::PredictaId => {
                prop_assume!(name.parse::<predictaid::EventType>().is_err());
                event["type"] = Value::String(name.clone());
                let parsed = predictaid::parse(event.to_string().as_bytes()).unwrap();
                prop_assert!(matches!(parsed.data, predictaid::Payload::Other(_)));
                assert_round_trip(&event, &parsed, "renamed PredictaID event");
            }
        }
    }

    #[test]
    fn lenient_batches_keep_every_good_event_and_each_broken_one_raw(
        picks in prop::collection::vec((any::<Index>(), prop::option::weighted(0.3, (mutation(), any::<Index>()))), 1..12),
        spaces in prop::collection::vec("[ \t\r\n]{0,3}", 12),
    ) {
        let spektr = spektr_corpus();
        // Each event's text: a fixture, or a mutation of it that is still JSON
        // (the envelope must stay valid for lenient decoding to apply).
        let texts: Vec<String> = picks
            .iter()
            .map(|(which, broken)| {
                let event = spektr[which.index(spektr.len())];
                let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap();
                match broken {
                    Some((mutation, _)) => match String::from_utf8(apply(event, mutation)) {
                        Ok(text) if serde_json::from_str::<Value>(&text).is_ok() => text,
                        _ => pretty(event),
                    },
                    None => pretty(event),
                }
            })
            .collect();
        let separators: Vec<String> = texts.iter().enumerate().map(|(i, t)| format!("{}{t}{}", spaces[i], spaces[(i + 1) % 12])).collect();
        let body = format!("{{ \"results\" : [{}] }}", separators.join(","));
        let items = spektr::parse_batch_lenient(body.as_bytes()).expect("the envelope is valid");
        prop_assert_eq!(items.len(), texts.len());
        let mut good = Vec::new();
        let mut first_bad = None;
        for (index, (item, text)) in items.iter().zip(&texts).enumerate() {
            // Each event fares exactly as it does on its own.
            match (item, spektr::parse_event(text.as_bytes())) {
                (Ok(event), Ok(alone)) => {
                    prop_assert_eq!(event, &alone);
                    good.push(alone);
                }
                (Err(rejected), Err(_)) => {
                    prop_assert_eq!(rejected.index(), index);
                    prop_assert_eq!(rejected.raw_json(), text.as_str());
                    prop_assert_eq!(rejected.error().index(), Some(index));
                    let place = format!("results[{index}]");
                    prop_assert!(rejected.error().to_string().contains(&place));
                    first_bad.get_or_insert(index);
                }
                (item, alone) => prop_assert!(false, "lenient {:?} but alone {:?}", item.is_ok(), alone.is_ok()),
            }
        }
        match (spektr::parse_batch(body.as_bytes()), first_bad) {
            (Ok(batch), None) => prop_assert_eq!(batch.results, good),
            (Err(err), Some(index)) => prop_assert_eq!(err.index(), Some(index)),
            (strict, _) => prop_assert!(false, "strict {:?} disagrees with lenient", strict.map(|b| b.results.len())),
        }
    }
}

fn original_node<'a>(value: &'a Value, path: &[Step]) -> &'a Value {
    path.iter().fold(value, |node, step| match step {
        Step::Key(key) => &node[key.as_str()],
        Step::Index(index) => &node[*index],
    })
}

/// Truncation at every position of every fixture: never a panic, and the
/// few prefixes that are still JSON decode faithfully.
#[test]
fn every_truncation_of_every_fixture_is_handled() {
    let mut tried = 0;
    for (provider, event) in corpus() {
        let text = serde_json::to_string_pretty(event).unwrap();
        for end in 0..text.len() {
            check_single(*provider, &text.as_bytes()[..end]);
            tried += 1;
        }
    }
    assert!(tried > 10_000, "the corpus shrank: {tried} truncations");
}
