//! Inputs of the `kyc-webhooks` decoding benchmarks (see `BENCHMARKS.md`),
//! shared by the criterion bench (`benches/decode.rs`), the peak-heap example
//! (`examples/peak_heap.rs`) and the ratio report (`src/bin/bench_ratios.rs`).
//!
//! The bodies are built from the fixtures in `fixtures/` with a seeded
//! generator, so every run decodes the same bytes. They are written by a small
//! JSON tree of this crate ([`Json`]) that keeps numbers and strings exactly as
//! spelled (`1.50`, `1e2`, `\u00e9`, raw non-ASCII) and writes each body in two
//! key orders: the providers' documented order and keys sorted at every level
//! (as any relay that re-serializes through a sorted map delivers them, with
//! `data` before `eventType`).
//!
//! The package is kept out of the core crate so that criterion is not built
//! for a user's first `cargo run --example`.

#![warn(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Number of events in every generated Spektr batch.
pub const BATCH_EVENTS: usize = 10_000;

/// The 18 event types Spektr documents (wire names).
pub const SPEKTR_TYPES: [&str; 18] = [
    "alert_escalated",
    "alert_resolved",
    "client_record_sync",
    "customer_duplicate_detection",
    "customer_record_changed",
    "customer_record_update",
    "customer_status_change",
    "customer_status_changed",
    "customer_tag_add",
    "customer_tag_remove",
    "loop_run_start",
    "ownership_ai_added_owner",
    "ownership_ai_created",
    "process_run_end",
    "process_run_start",
    "service_run",
    "step_init",
    "step_submit",
];

/// The event types PredictaID documents (wire names); one single-event body
/// of each is benchmarked.
pub const PREDICTAID_TYPES: [&str; 8] = [
    "customer.identified",
    "flow.version.published",
    "kyt.transaction.dead_lettered",
    "kyt.transaction.pipeline.completed",
    "kyt.transaction.queued",
    "kyt.transaction.reprocess.requested",
    "session.completed",
    "session.created",
];

/// Top-level keys of a Spektr event in the order Spektr's docs and samples
/// give them; other top-level keys follow in their own order.
const SPEKTR_TOP: [&str; 6] = [
    "id",
    "workspaceId",
    "eventType",
    "timestamp",
    "spektrId",
    "data",
];

/// Top-level keys of a PredictaID event in the order PredictaID documents.
const PREDICTAID_TOP: [&str; 8] = [
    "id",
    "type",
    "occurredAt",
    "companyId",
    "aggregateType",
    "aggregateId",
    "data",
    "version",
];

// ---------------------------------------------------------------------------
// A JSON tree that keeps the text's spelling
// ---------------------------------------------------------------------------

/// A JSON value that keeps the spelling of its text: numbers as written
/// (`1.50` stays `1.50`), strings with their escapes as written, object
/// members in the order they were read or added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as spelled in the text.
    Number(String),
    /// A string: the text between the quotes, escapes as written.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object: keys (text between the quotes, escapes as written) and
    /// values, in order.
    Object(Vec<(String, Json)>),
}

/// The key order a body is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Members in the tree's order: the providers' documented order.
    Documented,
    /// Keys sorted (by their decoded text, as `BTreeMap<String, _>` orders
    /// them) in every object at every level.
    Sorted,
}

impl Order {
    /// Both orders, documented first.
    pub const ALL: [Order; 2] = [Order::Documented, Order::Sorted];

    /// `documented` or `sorted`, as used in benchmark group names.
    pub fn name(self) -> &'static str {
        match self {
            Order::Documented => "documented",
            Order::Sorted => "sorted",
        }
    }
}

impl Json {
    /// A string value from plain text, escaping what JSON requires.
    pub fn str(text: &str) -> Json {
        Json::String(escape(text))
    }

    /// A number value spelled as `spelling` (not checked).
    pub fn num(spelling: impl Into<String>) -> Json {
        Json::Number(spelling.into())
    }

    /// The value of member `key` (given as written) of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The mutable value of member `key` of an object.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Object(members) => members.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sets member `key` of an object: replaces its value in place, or appends
    /// the member. Does nothing on a non-object.
    pub fn set(&mut self, key: &str, value: Json) {
        if let Json::Object(members) = self {
            match members.iter_mut().find(|(k, _)| k == key) {
                Some((_, slot)) => *slot = value,
                None => members.push((key.to_owned(), value)),
            }
        }
    }

    /// The members of an object (empty for anything else).
    pub fn members(&self) -> &[(String, Json)] {
        match self {
            Json::Object(members) => members,
            _ => &[],
        }
    }

    /// The text of a string value with its escapes decoded.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Json::String(raw) => Some(unescape(raw)),
            _ => None,
        }
    }

    /// A number value as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(spelling) => spelling.parse().ok(),
            _ => None,
        }
    }

    /// Appends the JSON text of this value, without whitespace, to `out`.
    pub fn write(&self, order: Order, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => {
                out.push('"');
                out.push_str(s);
                out.push('"');
            }
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(order, out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                let mut refs: Vec<&(String, Json)> = members.iter().collect();
                if order == Order::Sorted {
                    refs.sort_by_cached_key(|(k, _)| unescape(k));
                }
                out.push('{');
                for (i, (key, value)) in refs.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    out.push_str(key);
                    out.push_str("\":");
                    value.write(order, out);
                }
                out.push('}');
            }
        }
    }

    /// The JSON text of this value in `order`.
    pub fn to_text(&self, order: Order) -> String {
        let mut out = String::new();
        self.write(order, &mut out);
        out
    }
}

/// Reads one JSON value (surrounded by optional whitespace) from `text`,
/// keeping its spelling. Checks the structure, not every detail of the grammar
/// (the fixtures are valid JSON; the tests compare with `serde_json`).
pub fn parse(text: &str) -> Result<Json, String> {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        text,
        pos: 0,
    };
    let value = reader.value(0)?;
    reader.skip_ws();
    if reader.pos != text.len() {
        return Err(format!("trailing characters at byte {}", reader.pos));
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected `{}` at byte {}", byte as char, self.pos))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > 128 {
            return Err("nested too deeply".into());
        }
        self.skip_ws();
        match self.bytes.get(self.pos) {
            None => Err("unexpected end".into()),
            Some(b'{') => {
                self.pos += 1;
                let mut members = Vec::new();
                self.skip_ws();
                if self.bytes.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(Json::Object(members));
                }
                loop {
                    self.skip_ws();
                    let key = self.string()?;
                    self.expect(b':')?;
                    let value = self.value(depth + 1)?;
                    members.push((key, value));
                    self.skip_ws();
                    match self.bytes.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Json::Object(members));
                        }
                        _ => return Err(format!("expected `,` or `}}` at byte {}", self.pos)),
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.bytes.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.bytes.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(format!("expected `,` or `]` at byte {}", self.pos)),
                    }
                }
            }
            Some(b'"') => Ok(Json::String(self.string()?)),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                while self.pos < self.bytes.len()
                    && matches!(
                        self.bytes[self.pos],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.pos += 1;
                }
                Ok(Json::Number(self.text[start..self.pos].to_owned()))
            }
            Some(_) => Err(format!("unexpected character at byte {}", self.pos)),
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, String> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(format!("bad literal at byte {}", self.pos))
        }
    }

    /// A string's raw text between its quotes.
    fn string(&mut self) -> Result<String, String> {
        if self.bytes.get(self.pos) != Some(&b'"') {
            return Err(format!("expected a string at byte {}", self.pos));
        }
        let start = self.pos + 1;
        let mut i = start;
        while i < self.bytes.len() {
            match self.bytes[i] {
                b'\\' => i += 2,
                b'"' => {
                    self.pos = i + 1;
                    return Ok(self.text[start..i].to_owned());
                }
                _ => i += 1,
            }
        }
        Err("unterminated string".into())
    }
}

/// `text` as the content of a JSON string: quotes, backslashes and control
/// characters escaped, everything else (non-ASCII included) as is.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The text of a JSON string's content `raw` with its escapes decoded (an
/// unpaired surrogate becomes U+FFFD).
pub fn unescape(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex = |chars: &mut std::str::Chars| -> u32 {
                    let digits: String = chars.by_ref().take(4).collect();
                    u32::from_str_radix(&digits, 16).unwrap_or(0xFFFD)
                };
                let first = hex(&mut chars);
                let code = if (0xD800..0xDC00).contains(&first) {
                    let rest = chars.as_str();
                    if rest.starts_with("\\u") {
                        chars.nth(1);
                        let second = hex(&mut chars);
                        0x10000 + ((first - 0xD800) << 10) + (second.wrapping_sub(0xDC00) & 0x3FF)
                    } else {
                        0xFFFD
                    }
                } else {
                    first
                };
                out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Seeded choices
// ---------------------------------------------------------------------------

/// A 64-bit linear congruential generator (Knuth's MMIX constants): the
/// deterministic source of every choice the generators make.
#[derive(Clone, Debug)]
pub struct Lcg(u64);

impl Lcg {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 32) as u32
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u32() as usize) % n
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

// ---------------------------------------------------------------------------
// Free-form content
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// `fixtures/` of the repository.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// The `.json` files directly in `dir`, sorted by name, read as [`Json`].
fn read_fixtures(dir: &Path) -> Vec<(String, Json)> {
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
fn reorder_top(event: Json, order: &[&str]) -> Json {
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
    for ty in SPEKTR_TYPES {
        assert!(by_type.contains_key(ty), "no fixture of Spektr type {ty}");
    }
    by_type
}

// ---------------------------------------------------------------------------
// Spektr batches
// ---------------------------------------------------------------------------

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
            Mix::Mixed => SPEKTR_TYPES
                .iter()
                .map(|&ty| {
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
    let mut out = String::with_capacity(events.len() * 2048);
    out.push_str("{\"results\":[");
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        event.write(order, &mut out);
    }
    out.push_str("]}");
    out.into_bytes()
}

// ---------------------------------------------------------------------------
// PredictaID events
// ---------------------------------------------------------------------------

/// One PredictaID event per documented type ([`PREDICTAID_TYPES`]): the
/// fixture named after the type (`fixtures/predictaid/<type>.json`), in
/// documented top-level order.
pub fn predictaid_events() -> Vec<Json> {
    let dir = fixtures_dir().join("predictaid");
    PREDICTAID_TYPES
        .iter()
        .map(|ty| {
            let path = dir.join(format!("{ty}.json"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let event = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            reorder_top(event, &PREDICTAID_TOP)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The benchmarked bodies
// ---------------------------------------------------------------------------

/// What one benchmark group decodes.
#[derive(Clone, Debug)]
pub enum Input {
    /// One Spektr delivery (a batch), decoded whole per iteration.
    SpektrBatch(Vec<u8>),
    /// Several PredictaID single-event bodies, each decoded once per
    /// iteration (one of each documented type).
    PredictaidEvents(Vec<Vec<u8>>),
}

impl Input {
    /// Total bytes decoded per iteration.
    pub fn len(&self) -> usize {
        match self {
            Input::SpektrBatch(body) => body.len(),
            Input::PredictaidEvents(bodies) => bodies.iter().map(Vec::len).sum(),
        }
    }

    /// True when there is nothing to decode.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A benchmarked body: its group name and its bytes.
#[derive(Clone, Debug)]
pub struct Body {
    /// Criterion group name, e.g. `mixed-documented` (also the directory
    /// under `target/criterion/`).
    pub group: String,
    /// The bytes decoded.
    pub input: Input,
}

/// Seed of the mixed batch.
pub const MIXED_SEED: u64 = 9;
/// Seed of the free-form-heavy batch.
pub const FREE_FORM_SEED: u64 = 99;

/// The six benchmarked bodies, in report order: the mixed batch, the
/// free-form-heavy batch and the PredictaID events, each in documented then
/// sorted key order.
pub fn bodies() -> Vec<Body> {
    let mut out = Vec::new();
    for (mix, seed) in [
        (Mix::Mixed, MIXED_SEED),
        (Mix::FreeFormHeavy, FREE_FORM_SEED),
    ] {
        let events = spektr_events(mix, BATCH_EVENTS, seed);
        for order in Order::ALL {
            out.push(Body {
                group: format!("{}-{}", mix.name(), order.name()),
                input: Input::SpektrBatch(batch_text(&events, order)),
            });
        }
    }
    let events = predictaid_events();
    for order in Order::ALL {
        out.push(Body {
            group: format!("predictaid-{}", order.name()),
            input: Input::PredictaidEvents(
                events
                    .iter()
                    .map(|e| e.to_text(order).into_bytes())
                    .collect(),
            ),
        });
    }
    out
}

/// The group names of [`bodies`], in the same order, without generating them.
pub const GROUPS: [&str; 6] = [
    "mixed-documented",
    "mixed-sorted",
    "free-form-heavy-documented",
    "free-form-heavy-sorted",
    "predictaid-documented",
    "predictaid-sorted",
];

/// The benchmark rows (criterion function names), in report order.
pub const ROWS: [&str; 5] = [
    "ignored_any",
    "serde_json_value",
    "sonic_rs_value",
    "typed_strict",
    "typed_lenient",
];

/// The workspace's target directory: `CARGO_TARGET_DIR` if set, else
/// `target/` at the workspace root.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}
