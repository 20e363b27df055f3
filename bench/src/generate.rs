//! The generated Spektr batches ([`Mix`]): fixtures drawn by weight, with
//! free-form content (form values, client-record fields, `vendorData`,
//! unknown types and fields) added by a seeded generator.

use std::collections::BTreeSet;

use crate::fixtures::spektr_fixtures;
use crate::json::{Json, Order};
use crate::rng::Lcg;
use crate::spektr_types;

/// String contents as they appear in the JSON text (escapes included):
/// plain, non-ASCII, escaped quotes, backslashes, newlines, `\u` escapes
/// (a surrogate pair among them) and escaped slashes.
const STRINGS: &[&str] = &[
    "John",
    "Smith",
    "Zoë Müller",
    "São Paulo",
    "Łódź",
    "東京都港区六本木",
    "Ελένη Παπαδοπούλου",
    "Renée O'Connor",
    "\\\"ACME\\\" Holdings Ltd.",
    "Flat 3\\nBuilding B\\n221B Baker Street",
    "C:\\\\Users\\\\kyc\\\\passport-scan.pdf",
    "caf\\u00e9 cr\\u00e8me",
    "\\ud83d\\ude00 verified",
    "https:\\/\\/files.example.com\\/upload?id=42&sig=abc",
    "1990-04-12",
    "2026-03-23T11:58:41.207Z",
    "GB29NWBK60161331926819",
    "+44 20 7946 0958",
    "jane.doe+kyc@example.com",
    "Software engineer",
    "salary",
    "Director and majority shareholder since 2015; previously CFO at a listed company.",
    "yes",
    "no",
    "N/A",
    "",
    "\\t tab-indented \\t",
    "Müller & Söhne GmbH — Zweigniederlassung Zürich",
    "مؤسسة الخليج للتجارة",
    "🏦 Bank of Examples",
];

/// Number spellings: integers, decimals with trailing zeros, exponents
/// (`1e2`, `1E-7`, `2.5e+3`), negative zero, a large `u64`.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "7",
    "42",
    "-17",
    "1.50",
    "1e2",
    "1E-7",
    "3.14159",
    "-0.0",
    "2.5e+3",
    "12345678901234567890",
    "1000000.00",
    "0.1",
    "99.99",
    "-273.15",
    "6.02e23",
    "250000",
];

/// Form field names as a Spektr form or client record might use them.
const FIELD_NAMES: &[&str] = &[
    "first_name",
    "last_name",
    "middle_name",
    "date_of_birth",
    "place_of_birth",
    "nationality",
    "second_nationality",
    "gender",
    "email",
    "phone_number",
    "address_line_1",
    "address_line_2",
    "city",
    "postcode",
    "country_of_residence",
    "tax_id",
    "tax_residency",
    "occupation",
    "employer_name",
    "industry",
    "source_of_funds",
    "source_of_wealth",
    "annual_income",
    "net_worth",
    "expected_monthly_volume",
    "pep_declaration",
    "sanctions_declaration",
    "consent_marketing",
    "consent_terms",
    "id_document_type",
    "id_document_number",
    "id_document_expiry",
    "id_document_country",
    "selfie_match",
    "liveness_score",
    "risk_rating",
    "risk_factors",
    "company_name",
    "company_number",
    "company_type",
    "country_of_incorporation",
    "date_of_incorporation",
    "vat_number",
    "lei",
    "website",
    "directors",
    "shareholders",
    "ubo_count",
    "registered_address",
    "trading_address",
    "sic_codes",
    "employees",
    "annual_revenue",
    "bank_account",
    "iban",
    "notes",
    "internal_reference",
    "onboarding_channel",
    "référence_client",
    "备注",
];

/// Vendor result field suffixes (`<vendorType>_<suffix>`).
const VENDOR_FIELDS: &[&str] = &[
    "has_sanctions",
    "has_pep",
    "has_adverse_media",
    "match_status",
    "risk_score",
    "fuzziness",
    "total_hits",
    "search_id",
    "search_ref",
    "created_at",
    "updated_at",
    "hits",
    "filters",
    "share_url",
    "submitted_term",
    "assignee",
    "tags",
    "limit",
    "offset",
    "labels",
    "company_status",
    "registered_name",
    "officers",
    "filings",
    "raw_response",
];

/// Event types Spektr may add that the crate does not know.
const UNKNOWN_TYPES: &[&str] = &[
    "alert_created",
    "customer_deleted",
    "document_uploaded",
    "risk_score_changed",
    "monitoring_hit",
    "case_assigned",
];

/// A free-form string value.
fn free_string(rng: &mut Lcg) -> Json {
    if rng.one_in(4) {
        // A token-like value of varying length.
        let len = rng.between(8, 48);
        let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEF";
        let s: String = (0..len).map(|_| *rng.pick(alphabet) as char).collect();
        Json::String(s)
    } else {
        Json::String((*rng.pick(STRINGS)).to_owned())
    }
}

/// A free-form number value.
fn free_number(rng: &mut Lcg) -> Json {
    if rng.one_in(3) {
        Json::Number(format!("{}.{:02}", rng.below(100_000), rng.below(100)))
    } else {
        Json::Number((*rng.pick(NUMBERS)).to_owned())
    }
}

/// A free-form value: mostly strings and numbers, some booleans and nulls,
/// nested objects and arrays while `depth` allows.
pub fn free_value(rng: &mut Lcg, depth: usize) -> Json {
    let choices = if depth >= 3 { 8 } else { 10 };
    match rng.below(choices) {
        0..=2 => free_string(rng),
        3 | 4 => free_number(rng),
        5 => Json::Bool(rng.one_in(2)),
        6 => Json::Null,
        7 => free_string(rng),
        8 => {
            let n = rng.between(1, 6);
            free_object(rng, n, depth + 1, "")
        }
        _ => {
            let n = rng.between(0, 5);
            Json::Array((0..n).map(|_| free_value(rng, depth + 1)).collect())
        }
    }
}

/// An object of `n` free-form members, keys from [`FIELD_NAMES`] prefixed by
/// `prefix` and made unique.
fn free_object(rng: &mut Lcg, n: usize, depth: usize, prefix: &str) -> Json {
    let mut taken = BTreeSet::new();
    let members = (0..n)
        .map(|_| {
            let key = unique_key(rng, &mut taken, prefix, FIELD_NAMES);
            (key, free_value(rng, depth))
        })
        .collect();
    Json::Object(members)
}

/// A key `prefix + name` not in `taken` (then added to it), with a numeric
/// suffix when the name is already taken.
fn unique_key(rng: &mut Lcg, taken: &mut BTreeSet<String>, prefix: &str, names: &[&str]) -> String {
    let base = format!("{prefix}{}", rng.pick(names));
    let mut key = base.clone();
    let mut n = 2;
    while taken.contains(&key) {
        key = format!("{base}_{n}");
        n += 1;
    }
    taken.insert(key.clone());
    key
}

/// Adds `n` free-form members at the top of object `target` (before its
/// existing members), avoiding its keys.
fn prepend_free_fields(rng: &mut Lcg, target: &mut Json, n: usize) {
    let Json::Object(members) = target else {
        return;
    };
    let mut taken: BTreeSet<String> = members.iter().map(|(k, _)| k.clone()).collect();
    let mut fresh: Vec<(String, Json)> = (0..n)
        .map(|_| {
            let key = unique_key(rng, &mut taken, "", FIELD_NAMES);
            (key, free_value(rng, 0))
        })
        .collect();
    fresh.append(members);
    *members = fresh;
}

/// Adds `n` vendor result members (`<vendor>_<field>`, some with nested hit
/// lists) to the `vendorData` object of a `service_run` data object.
fn extend_vendor_data(rng: &mut Lcg, data: &mut Json, n: usize) {
    let vendor = data
        .get("vendorType")
        .and_then(Json::as_text)
        .unwrap_or_else(|| "vendor".to_owned());
    let Some(Json::Object(members)) = data.get_mut("vendorData") else {
        return;
    };
    let mut taken: BTreeSet<String> = members.iter().map(|(k, _)| k.clone()).collect();
    let prefix = format!("{vendor}_");
    for _ in 0..n {
        let key = unique_key(rng, &mut taken, &prefix, VENDOR_FIELDS);
        let value = if rng.one_in(6) {
            // A list of hits, as screening vendors return them.
            let hits = rng.between(1, 4);
            Json::Array(
                (0..hits)
                    .map(|_| {
                        Json::Object(vec![
                            ("name".into(), free_string(rng)),
                            ("score".into(), free_number(rng)),
                            (
                                "lists".into(),
                                Json::Array(vec![Json::str("OFAC SDN"), Json::Null]),
                            ),
                            ("match_types".into(), free_value(rng, 2)),
                        ])
                    })
                    .collect(),
            )
        } else {
            free_value(rng, 1)
        };
        members.push((key, value));
    }
}

/// Which events a generated Spektr batch holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mix {
    /// All 18 documented types plus unknown types, weighted towards the
    /// frequent ones (process, step and service events), with tens of form
    /// values and client-record fields in `loop_run_start` and
    /// `process_run_end`, a sizeable `vendorData` in `service_run`, unknown
    /// top-level fields on about one event in eight.
    Mixed,
    /// Mostly `service_run` and `process_run_end` (plus `loop_run_start` and
    /// unknown types), each with a large free-form part.
    FreeFormHeavy,
}

impl Mix {
    /// `mixed` or `free-form-heavy`, as used in benchmark group names.
    pub fn name(self) -> &'static str {
        match self {
            Mix::Mixed => "mixed",
            Mix::FreeFormHeavy => "free-form-heavy",
        }
    }

    /// Event types and their weights; `""` stands for unknown types.
    fn weights(self) -> Vec<(&'static str, usize)> {
        match self {
            Mix::Mixed => spektr_types()
                .into_iter()
                .map(|ty| {
                    let weight = match ty {
                        "process_run_end" | "service_run" => 4,
                        "loop_run_start" | "process_run_start" | "step_init" | "step_submit" => 3,
                        _ => 1,
                    };
                    (ty, weight)
                })
                .chain([("", 2)])
                .collect(),
            Mix::FreeFormHeavy => vec![
                ("service_run", 9),
                ("process_run_end", 7),
                ("loop_run_start", 3),
                ("", 1),
            ],
        }
    }

    /// Ranges of free-form member counts: (form values of `loop_run_start`,
    /// client-record fields of `process_run_end`, `vendorData` members of
    /// `service_run`, `data` members of generated unknown types).
    fn sizes(self) -> [(usize, usize); 4] {
        match self {
            Mix::Mixed => [(20, 50), (15, 40), (20, 50), (5, 25)],
            Mix::FreeFormHeavy => [(30, 60), (30, 60), (40, 80), (15, 40)],
        }
    }
}

/// `n` Spektr events of `mix`, generated from the fixtures with `seed`: each
/// with its own `id`, in documented key order (use [`batch_text`] to write
/// them in either order).
pub fn spektr_events(mix: Mix, n: usize, seed: u64) -> Vec<Json> {
    let fixtures = spektr_fixtures();
    let weights = mix.weights();
    let total: usize = weights.iter().map(|(_, w)| w).sum();
    let [form, record, vendor, unknown] = mix.sizes();
    let mut rng = Lcg::new(seed);
    let spektr_ids: Vec<String> = (0..500)
        .map(|k| format!("68{:022x}", (k as u64) * 0x9E37_79B9 + seed))
        .collect();
    let mut events = Vec::with_capacity(n);
    for i in 0..n {
        // Cycle through the types first so that every one is present, then
        // draw by weight.
        let ty = if i < weights.len() {
            weights[i].0
        } else {
            let mut draw = rng.below(total);
            weights
                .iter()
                .find(|(_, w)| {
                    let hit = draw < *w;
                    draw = draw.saturating_sub(*w);
                    hit
                })
                .unwrap()
                .0
        };
        let mut event = if ty.is_empty() && !rng.one_in(4) {
            let size = rng.between(unknown.0, unknown.1);
            Json::Object(vec![
                ("id".into(), Json::Null),
                (
                    "workspaceId".into(),
                    Json::str("559ae2249db800a7b0fa02ad58b196ae"),
                ),
                (
                    "eventType".into(),
                    Json::str(rng.pick::<&str>(UNKNOWN_TYPES)),
                ),
                ("timestamp".into(), Json::Null),
                ("spektrId".into(), Json::Null),
                ("data".into(), free_object(&mut rng, size, 0, "")),
            ])
        } else {
            rng.pick(&fixtures[ty]).clone()
        };
        event.set("id", Json::String(format!("{:08x}{:016x}", seed as u32, i)));
        event.set(
            "timestamp",
            Json::Number(
                (1_750_000_000_000u64 + i as u64 * 997 + rng.below(997) as u64).to_string(),
            ),
        );
        if event.get("spektrId").is_some() || ty.is_empty() {
            event.set("spektrId", Json::String(rng.pick(&spektr_ids).clone()));
        }
        if let Some(data) = event.get_mut("data") {
            match ty {
                "loop_run_start" => {
                    let n = rng.between(form.0, form.1);
                    prepend_free_fields(&mut rng, data, n);
                }
                "process_run_end" => {
                    let n = rng.between(record.0, record.1);
                    prepend_free_fields(&mut rng, data, n);
                }
                "service_run" => {
                    let n = rng.between(vendor.0, vendor.1);
                    extend_vendor_data(&mut rng, data, n);
                }
                _ => {}
            }
        }
        if rng.one_in(8) {
            // Unknown top-level fields, after the documented ones.
            event.set(
                "deliveryAttempt",
                Json::Number(rng.between(1, 5).to_string()),
            );
            if rng.one_in(2) {
                event.set(
                    "meta",
                    Json::Object(vec![
                        ("source".into(), Json::str("webhook-relay")),
                        ("traceId".into(), free_string(&mut rng)),
                        ("retries".into(), free_number(&mut rng)),
                        ("tags".into(), free_value(&mut rng, 2)),
                    ]),
                );
            }
        }
        events.push(event);
    }
    events
}

/// A Spektr delivery `{"results":[...]}` of `events`, written in `order`.
pub fn batch_text(events: &[Json], order: Order) -> Vec<u8> {
    write_batch(events.iter().collect(), order)
}

/// A Spektr delivery of `events`, written in `order`.
fn write_batch(events: Vec<&Json>, order: Order) -> Vec<u8> {
    let mut out = String::with_capacity(events.len() * 2048);
    out.push_str("{\"results\":[");
    for (i, event) in events.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        event.write(order, &mut out);
    }
    out.push_str("]}");
    out.into_bytes()
}

/// `event` made broken the way a sender's bug would: its `timestamp` (epoch
/// milliseconds) sent as an RFC 3339 string, which every decoder of the
/// crate refuses (`Error` for the event) while the JSON stays valid.
pub fn broken(event: &Json) -> Json {
    let mut event = event.clone();
    event.set("timestamp", Json::str("2026-03-23T12:00:00.000Z"));
    event
}

/// The delivery of [`batch_text`] with its last event [`broken`]: the same
/// bytes up to the last event, then one event that does not decode. (Its
/// length differs from the unbroken body's by a few bytes.)
pub fn batch_text_broken_last(events: &[Json], order: Order) -> Vec<u8> {
    match events.split_last() {
        Some((last, rest)) => {
            let mut with_broken: Vec<&Json> = rest.iter().collect();
            let last = broken(last);
            with_broken.push(&last);
            write_batch(with_broken, order)
        }
        None => batch_text(events, order),
    }
}
