//! What must come with each line of a provider's list of event types (the
//! `payloads!` invocation in `src/spektr/event.rs`, `src/predictaid/event.rs`),
//! checked for every entry of `EventType::ALL`: a fixture, a README row and,
//! for Spektr, an event in the all-types batch. A new type that misses one
//! fails here, with a message saying what to add. (Everything else iterates
//! `EventType::ALL` or matches on the type exhaustively: the CLI, the
//! examples, `testing` and `Display` do not compile until the new type is
//! handled.)

mod common;

use common::{fixture, fixtures, named_for, stem};
use kyc_webhooks::{predictaid, spektr};

/// An entry of a list: its wire name and its variant's name.
struct Entry {
    wire: &'static str,
    variant: String,
}

fn spektr_entries() -> Vec<Entry> {
    spektr::EventType::ALL
        .iter()
        .map(|&ty| Entry {
            wire: ty.as_str(),
            variant: format!("{ty:?}"),
        })
        .collect()
}

fn predictaid_entries() -> Vec<Entry> {
    predictaid::EventType::ALL
        .iter()
        .map(|&ty| Entry {
            wire: ty.as_str(),
            variant: format!("{ty:?}"),
        })
        .collect()
}

/// The rows of the README table under the heading that starts with
/// `heading`, as the cells of each row.
fn readme_rows(heading: &str) -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("reading README.md");
    let section = readme
        .split("\n### ")
        .find(|section| section.starts_with(heading))
        .unwrap_or_else(|| panic!("README.md has no section {heading:?}"));
    section
        .lines()
        .filter(|line| line.starts_with('|'))
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect()
}

/// What is missing for each entry: its fixture in `fixtures/<dir>` and its
/// README row (wire name in the first cell, variant in the second).
fn missing(dir: &str, heading: &str, entries: &[Entry]) -> Vec<String> {
    let names: Vec<String> = fixtures(dir).iter().map(|path| stem(path)).collect();
    let rows = readme_rows(heading);
    let mut problems = Vec::new();
    for entry in entries {
        if !names.iter().any(|name| named_for(name, entry.wire)) {
            problems.push(format!(
                "{}: no fixture: add fixtures/{dir}/{}.json (the provider's sample)",
                entry.wire, entry.wire
            ));
        }
        let wire_cell = format!("`{}`", entry.wire);
        let variant_cell = format!("`{}`", entry.variant);
        let row = rows.iter().find(|cells| {
            cells
                .first()
                .is_some_and(|cell| cell.split(' ').next() == Some(wire_cell.as_str()))
        });
        match row {
            None => problems.push(format!(
                "{}: no row in README.md's {heading:?} table: add the row | {wire_cell} | {variant_cell} | ... |",
                entry.wire
            )),
            Some(cells) if cells.get(1) != Some(&variant_cell) => problems.push(format!(
                "{}: README.md's {heading:?} row names variant {:?}, the list {variant_cell}",
                entry.wire,
                cells.get(1)
            )),
            Some(_) => {}
        }
    }
    problems
}

#[test]
fn every_spektr_type_has_a_fixture_a_readme_row_and_a_place_in_the_all_types_batch() {
    let entries = spektr_entries();
    let mut problems = missing("spektr", "Spektr (", &entries);
    let batch = spektr::parse_batch(&fixture("spektr/batches/all-types.json"))
        .expect("fixtures/spektr/batches/all-types.json decodes");
    for entry in &entries {
        if !batch.results.iter().any(|e| e.type_name() == entry.wire) {
            problems.push(format!(
                "{}: not in fixtures/spektr/batches/all-types.json: add its sample there",
                entry.wire
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_predictaid_type_has_a_fixture_and_a_readme_row() {
    let problems = missing("predictaid", "PredictaID (", &predictaid_entries());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_fixture_summarises_on_one_line_that_starts_with_its_type_and_id() {
    for path in fixtures("spektr")
        .into_iter()
        .chain(fixtures("spektr/unknown"))
    {
        let event = spektr::parse_event(&std::fs::read(&path).unwrap()).unwrap();
        let line = event.to_string();
        let start = format!(
            "{} id={} spektrId={} at ",
            event.type_name(),
            event.id,
            event.spektr_id
        );
        assert!(line.starts_with(&start), "{}: {line}", path.display());
        assert!(!line.contains(['\n', '\r']), "{}: {line:?}", path.display());
    }
    for path in fixtures("predictaid")
        .into_iter()
        .chain(fixtures("predictaid/unknown"))
    {
        let event = predictaid::parse(&std::fs::read(&path).unwrap()).unwrap();
        let line = event.to_string();
        let start = format!(
            "{} id={} company={} {}={} at {}: ",
            event.type_name(),
            event.id,
            event.company_id,
            event.aggregate_type,
            event.aggregate_id,
            event.occurred_at_text()
        );
        assert!(line.starts_with(&start), "{}: {line}", path.display());
        assert!(!line.contains(['\n', '\r']), "{}: {line:?}", path.display());
    }
}
