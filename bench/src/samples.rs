//! The documented-samples bodies: what real deliveries look like.
//!
//! `fixtures/` holds three kinds of file per type: the provider's sample of
//! the type (`<type>.json`, a delivery as the provider's reference shows it),
//! the reference's template (`<type>.template.json`, placeholders such as
//! `"<event-id>"` in the values) and the crate's own edge cases
//! (`<type>.<case>.json`: `null`s, data first, big free-form parts, dates
//! before 1970, ...). The samples bodies use the sample of each type, and
//! for the four Spektr types whose reference gives no sample
//! (`alert_escalated`, `customer_record_update`, `customer_status_change`,
//! `process_run_start`) its template, the only body the reference gives;
//! never an edge case. Each event is kept as it is (fields, values, free-form
//! members) except its `id`, made unique.

use crate::fixtures::{fixtures_dir, read_fixtures, reorder_top, PREDICTAID_TOP, SPEKTR_TOP};
use crate::json::Json;
use crate::{predictaid_types, spektr_types};

/// The documented body of each Spektr type, in [`spektr_types`] order, with
/// the name of the file it comes from: `<type>.json` (the sample), else
/// `<type>.template.json` (the template, for a type the reference gives no
/// sample of). In documented top-level order.
///
/// Panics if a documented type has neither.
pub fn spektr_samples() -> Vec<(String, Json)> {
    let files = read_fixtures(&fixtures_dir().join("spektr"));
    spektr_types()
        .into_iter()
        .map(|ty| {
            let sample = format!("{ty}.json");
            let template = format!("{ty}.template.json");
            let (name, event) = files
                .iter()
                .find(|(name, _)| *name == sample)
                .or_else(|| files.iter().find(|(name, _)| *name == template))
                .unwrap_or_else(|| panic!("no documented sample or template of Spektr type {ty}"));
            assert_eq!(
                event.get("eventType").and_then(Json::as_text).as_deref(),
                Some(ty),
                "{name} is not a {ty} event"
            );
            (name.clone(), reorder_top(event.clone(), &SPEKTR_TOP))
        })
        .collect()
}

/// `n` Spektr events cycling through [`spektr_samples`] (event `i` is sample
/// `i % 18`), each as the sample is except its `id`: 24 lower-case hex
/// digits like Spektr's own ids (`68` then `i` and `seed`), unique across
/// the batch.
pub fn spektr_sample_events(n: usize, seed: u64) -> Vec<Json> {
    let samples = spektr_samples();
    (0..n)
        .map(|i| {
            let mut event = samples[i % samples.len()].1.clone();
            event.set(
                "id",
                Json::String(format!("68{:06x}{:016x}", seed & 0xff_ffff, i)),
            );
            event
        })
        .collect()
}

/// `n` PredictaID events cycling through the sample of each documented type
/// (`fixtures/predictaid/<type>.json`, [`predictaid_types`] order), each as
/// the sample is except its `id`: `evt_` and 24 hex digits, unique.
pub fn predictaid_samples(n: usize, seed: u64) -> Vec<Json> {
    let dir = fixtures_dir().join("predictaid");
    let files = read_fixtures(&dir);
    let samples: Vec<Json> = predictaid_types()
        .into_iter()
        .map(|ty| {
            let name = format!("{ty}.json");
            let (_, event) = files
                .iter()
                .find(|(file, _)| *file == name)
                .unwrap_or_else(|| {
                    panic!("no sample of PredictaID type {ty} in {}", dir.display())
                });
            reorder_top(event.clone(), &PREDICTAID_TOP)
        })
        .collect();
    (0..n)
        .map(|i| {
            let mut event = samples[i % samples.len()].clone();
            event.set(
                "id",
                Json::String(format!("evt_{:08x}{:016x}", seed as u32, i)),
            );
            event
        })
        .collect()
}
