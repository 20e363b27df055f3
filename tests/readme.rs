//! The README's event-type tables list exactly the variants of the two
//! `Payload` enums: every documented wire name with its variant, and the
//! `Other` catch-all last. (A variant's name is its `EventType`'s: both come
//! from one list in the crate.)

use kyc_webhooks::{predictaid, spektr};

/// The `(wire name, variant)` rows of the table under the README heading that
/// starts with `heading`.
fn table(heading: &str) -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("reading README.md");
    let section = readme
        .split("\n### ")
        .find(|section| section.starts_with(heading))
        .unwrap_or_else(|| panic!("no README section {heading:?}"));
    section
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| wire"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // The first code span of a cell; the catch-all row in words.
            let first_code = |cell: &str| -> String {
                if cell.starts_with("anything else") {
                    return "anything else".to_owned();
                }
                cell.split('`').nth(1).unwrap_or(cell).to_owned()
            };
            (first_code(cells[1]), first_code(cells[2]))
        })
        .collect()
}

fn expected<T: std::fmt::Debug + Copy>(
    all: &[T],
    wire: impl Fn(T) -> &'static str,
) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = all
        .iter()
        .map(|&ty| (wire(ty).to_owned(), format!("{ty:?}")))
        .collect();
    rows.push(("anything else".to_owned(), "Other".to_owned()));
    rows
}

#[test]
fn the_spektr_table_lists_every_payload_variant() {
    assert_eq!(
        table("Spektr ("),
        expected(spektr::EventType::ALL, spektr::EventType::as_str)
    );
}

#[test]
fn the_predictaid_table_lists_every_payload_variant() {
    assert_eq!(
        table("PredictaID ("),
        expected(predictaid::EventType::ALL, predictaid::EventType::as_str)
    );
}
