//! Reading `fixtures/`: the Spektr fixtures by type and the PredictaID
//! events, in the providers' documented top-level key order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::json::{parse, Json};
use crate::{predictaid_types, spektr_types};

/// Top-level keys of a Spektr event in the order Spektr's docs and samples
/// give them; other top-level keys follow in their own order.
pub(crate) const SPEKTR_TOP: [&str; 6] = [
    "id",
    "workspaceId",
    "eventType",
    "timestamp",
    "spektrId",
    "data",
];

/// Top-level keys of a PredictaID event in the order PredictaID documents.
pub(crate) const PREDICTAID_TOP: [&str; 8] = [
    "id",
    "type",
    "occurredAt",
    "companyId",
    "aggregateType",
    "aggregateId",
    "data",
    "version",
];

/// `fixtures/` of the repository.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// The `.json` files directly in `dir`, sorted by name, read as [`Json`].
pub(crate) fn read_fixtures(dir: &Path) -> Vec<(String, Json)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let json = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, json)
        })
        .collect()
}

/// `event`'s top-level members reordered: the keys of `order` first, in that
/// order, then the others in their own order.
pub(crate) fn reorder_top(event: Json, order: &[&str]) -> Json {
    let Json::Object(members) = event else {
        return event;
    };
    let (mut known, others): (Vec<_>, Vec<_>) = members
        .into_iter()
        .partition(|(k, _)| order.contains(&k.as_str()));
    known.sort_by_key(|(k, _)| order.iter().position(|o| o == k));
    known.extend(others);
    Json::Object(known)
}

/// The Spektr single-event fixtures (`fixtures/spektr/*.json`), in documented
/// top-level order, grouped by event type; the unknown-type fixtures
/// (`fixtures/spektr/unknown/*.json`) under the key `""`.
pub fn spektr_fixtures() -> BTreeMap<String, Vec<Json>> {
    let root = fixtures_dir().join("spektr");
    let mut by_type: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    for (_, event) in read_fixtures(&root) {
        let ty = event
            .get("eventType")
            .and_then(Json::as_text)
            .expect("a Spektr fixture has an eventType");
        by_type
            .entry(ty)
            .or_default()
            .push(reorder_top(event, &SPEKTR_TOP));
    }
    for (_, event) in read_fixtures(&root.join("unknown")) {
        by_type
            .entry(String::new())
            .or_default()
            .push(reorder_top(event, &SPEKTR_TOP));
    }
    for ty in spektr_types() {
        assert!(by_type.contains_key(ty), "no fixture of Spektr type {ty}");
    }
    by_type
}

/// One PredictaID event per documented type ([`predictaid_types`]): the
/// fixture named after the type (`fixtures/predictaid/<type>.json`), in
/// documented top-level order.
pub fn predictaid_events() -> Vec<Json> {
    let dir = fixtures_dir().join("predictaid");
    predictaid_types()
        .into_iter()
        .map(|ty| {
            let path = dir.join(format!("{ty}.json"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let event = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            reorder_top(event, &PREDICTAID_TOP)
        })
        .collect()
}
