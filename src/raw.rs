//! Free-form JSON kept as the text received: [`RawJson`] for one value and
//! [`Extra`] for the fields of an object that the crate has no typed field for.
//!
//! Neither builds a tree: a value is captured as its exact text (one
//! allocation), validated as JSON, and written back byte for byte (key order,
//! number spelling, escapes). Read it when you need it, into your own type, a
//! `serde_json::Value`, or one key at a time.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::wire::path::Keyed;
use crate::wire::Key;

/// One JSON value of any type, kept as the exact text it was received as.
///
/// Serializing it with `serde_json` writes that text back unchanged; equality
/// and hashing compare the text (so `1.50` and `1.5` differ, as they did on
/// the wire).
///
/// ```
/// use kyc_webhooks::RawJson;
///
/// let raw = RawJson::from_json(r#"{"hits": 2, "score": 1.50, "lists": ["OFAC"]}"#)?;
/// // One key, typed:
/// assert_eq!(raw.get::<u32>("hits")?, 2);
/// assert_eq!(raw.get_opt::<u32>("absent")?, None);
/// // The whole value, into your own type or a `Value`:
/// #[derive(serde::Deserialize)]
/// struct Screening { hits: u32, lists: Vec<String> }
/// let screening: Screening = raw.parse()?;
/// assert_eq!(screening.lists, ["OFAC"]);
/// assert_eq!(raw.to_value()?["score"], 1.5);
/// // Written back exactly as received:
/// assert_eq!(serde_json::to_string(&raw)?, r#"{"hits": 2, "score": 1.50, "lists": ["OFAC"]}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// Checks that `text` is one JSON value and keeps it as it is (whitespace
    /// around it included).
    pub fn from_json(text: impl Into<String>) -> Result<RawJson, serde_json::Error> {
        RawJson::try_from(RawValue::from_string(text.into())?)
    }

    /// Serializes `value` (compactly) into a raw value: to build events in
    /// tests, `RawJson::from_serialize(&serde_json::json!({"a": 1}))`.
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<RawJson, serde_json::Error> {
        let raw = serde_json::value::to_raw_value(value)?;
        check_raw(raw.get()).map_err(serde::ser::Error::custom)?;
        Ok(RawJson(raw))
    }

    /// The JSON `null`.
    pub fn null() -> RawJson {
        RawJson(RawValue::NULL.to_owned())
    }

    /// The JSON text, exactly as received.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// Whether the value is `null`.
    pub fn is_null(&self) -> bool {
        self.as_str().trim() == "null"
    }

    /// Whether the value is a JSON object.
    pub fn is_object(&self) -> bool {
        self.as_str().trim_start().starts_with('{')
    }

    /// Decodes the value into `T`: your own type, a `serde_json::Value`, a
    /// `HashMap`, ... Borrowing types (`&str`) borrow from `self`.
    pub fn parse<'a, T: Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.as_str())
    }

    /// The value as a `serde_json::Value` tree (numbers as `Value` spells
    /// them, object keys in `Value`'s order). An error only for what a
    /// `Value` cannot hold: a number beyond `f64`'s range, such as `1e400`
    /// (valid JSON, kept here as text).
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        self.parse()
    }

    /// The value of `key`, decoded into `T`. An error when the key is absent
    /// ([`ErrorKind::MissingKey`](crate::ErrorKind::MissingKey)), when this is not an object or the value
    /// does not fit `T` ([`ErrorKind::Data`](crate::ErrorKind::Data)): a value of the wrong type
    /// is never mistaken for an absent one. For a key that may be absent, use
    /// [`get_opt`](RawJson::get_opt). Only that key's value is decoded: the
    /// others are skipped.
    ///
    /// ```
    /// use kyc_webhooks::{ErrorKind, RawJson};
    ///
    /// let raw = RawJson::from_json(r#"{"hits": 2, "note": "two"}"#)?;
    /// assert_eq!(raw.get::<u32>("hits")?, 2);
    /// let missing = raw.get::<u32>("absent").unwrap_err();
    /// assert_eq!(missing.kind(), ErrorKind::MissingKey);
    /// assert_eq!(missing.to_string(), "JSON value: absent: missing key");
    /// let wrong = raw.get::<u32>("note").unwrap_err();
    /// assert_eq!(wrong.kind(), ErrorKind::Data);
    /// assert_eq!(wrong.path(), Some("note"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get<'a, T: Deserialize<'a>>(&'a self, key: &str) -> Result<T, crate::Error> {
        self.get_opt(key)?
            .ok_or_else(|| crate::Error::value(key, None))
    }

    /// The value of `key`, decoded into `T`, when this is an object that has
    /// it; `Ok(None)` when the key is absent. An error
    /// ([`ErrorKind::Data`](crate::ErrorKind::Data)) when this is not an object or the value does
    /// not fit `T`. A `null` value is decoded as `T` (so `Option<T>` reads it
    /// as `None`, and `u32` refuses it).
    ///
    /// ```
    /// use kyc_webhooks::RawJson;
    ///
    /// let raw = RawJson::from_json(r#"{"hits": 2, "note": "two"}"#)?;
    /// assert_eq!(raw.get_opt::<u32>("hits")?, Some(2));
    /// assert_eq!(raw.get_opt::<u32>("absent")?, None);
    /// assert!(raw.get_opt::<u32>("note").is_err()); // present, but not a number
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_opt<'a, T: Deserialize<'a>>(&'a self, key: &str) -> Result<Option<T>, crate::Error> {
        let invalid = |source: serde_json::Error| crate::Error::value(key, Some(&source));
        let mut deserializer = serde_json::Deserializer::from_str(self.as_str());
        let found = deserializer
            .deserialize_map(FieldVisitor::<T> {
                key,
                found: std::marker::PhantomData,
            })
            .map_err(invalid)?;
        deserializer.end().map_err(invalid)?;
        Ok(found)
    }

    /// Gives back serde_json's raw value.
    pub fn into_raw_value(self) -> Box<RawValue> {
        self.0
    }
}

/// Finds one key of an object, skipping the other values.
struct FieldVisitor<'k, T> {
    key: &'k str,
    found: std::marker::PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for FieldVisitor<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if key.as_str() == self.key && found.is_none() {
                found = Some(map.next_value::<T>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

impl TryFrom<Box<RawValue>> for RawJson {
    type Error = serde_json::Error;

    /// Keeps serde_json's raw value after the checks every `RawJson` passes
    /// (the ones [`RawJson::from_json`] runs): nesting at most 127 deep, as
    /// serde_json reads, and paired surrogate escapes. A `RawValue` holds
    /// valid JSON syntax but may hold either of those, which `parse` and
    /// `to_value` would then refuse.
    ///
    /// ```
    /// use kyc_webhooks::RawJson;
    /// use serde_json::value::RawValue;
    ///
    /// let raw = RawValue::from_string(r#"{"a": [1, 2]}"#.to_owned())?;
    /// assert_eq!(RawJson::try_from(raw)?.get::<Vec<u8>>("a")?, [1, 2]);
    /// let lone = RawValue::from_string(r#""\ud800""#.to_owned())?;
    /// assert!(RawJson::try_from(lone).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn try_from(raw: Box<RawValue>) -> Result<Self, serde_json::Error> {
        check_raw(raw.get()).map_err(de::Error::custom)?;
        Ok(RawJson(raw))
    }
}

impl std::str::FromStr for RawJson {
    type Err = serde_json::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        RawJson::from_json(text)
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RawJson {}

impl Hash for RawJson {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({})", self.as_str())
    }
}

impl fmt::Display for RawJson {
    /// The JSON text as received.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    /// Any JSON value, nested at most as deep as serde_json reads (127
    /// levels) and with paired surrogate escapes, so that every `RawJson` can be
    /// read back (`parse`, `to_value`).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        // serde_json's message only: no position is attached to it yet.
        check_raw(raw.get()).map_err(de::Error::custom)?;
        Ok(RawJson(raw))
    }
}

/// serde_json's recursion limit: how deep `parse` and `to_value` can read.
/// (serde_json refuses a 128th level.)
const MAX_DEPTH: usize = 127;

/// Checks what serde_json does not check when it captures a raw value (it
/// skips the value) but does when it reads one: nesting at most
/// [`MAX_DEPTH`] deep, and `\u` escapes that pair their surrogates. So that
/// every `RawJson` can be read back (`parse`, `to_value`), and no text is
/// kept that a JSON parser would refuse. `text` is otherwise valid JSON.
fn check_raw(text: &str) -> Result<(), &'static str> {
    check_surrogates(text)?;
    check_depth(text)
}

/// Every `\uD800`-`\uDBFF` escape is followed by a `\uDC00`-`\uDFFF` one,
/// and no `\uDC00`-`\uDFFF` stands alone. Backslashes occur only inside
/// strings in valid JSON, each starting an escape: they are found with
/// `memchr` (most texts have none), and the escape after each is skipped.
fn check_surrogates(text: &str) -> Result<(), &'static str> {
    let bytes = text.as_bytes();
    let mut next = 0;
    for (at, _) in text.match_indices('\\') {
        if at < next {
            continue; // the escaped character of the previous escape
        }
        next = at + 2;
        if bytes.get(at + 1) != Some(&b'u') {
            continue;
        }
        next = at + 6;
        match hex4(bytes, at + 2) {
            0xD800..=0xDBFF => {
                let trailing = bytes.get(at + 6..at + 8) == Some(b"\\u")
                    && (0xDC00..=0xDFFF).contains(&hex4(bytes, at + 8));
                if !trailing {
                    return Err("lone leading surrogate in hex escape");
                }
                next = at + 12;
            }
            0xDC00..=0xDFFF => return Err("lone trailing surrogate in hex escape"),
            _ => {}
        }
    }
    Ok(())
}

/// Arrays and objects nest at most [`MAX_DEPTH`] deep.
fn check_depth(text: &str) -> Result<(), &'static str> {
    let bytes = text.as_bytes();
    // Each level takes an opening bracket: count them first (a fast,
    // vectorised pass), and walk the structure only when there are enough.
    if bytes.len() <= MAX_DEPTH {
        return Ok(());
    }
    // Counted in bytes, 255 at a time, so that the sum vectorises widely.
    let opening: usize = bytes
        .chunks(255)
        .map(|chunk| {
            let in_chunk = chunk
                .iter()
                .fold(0u8, |n, &b| n + u8::from(b == b'[' || b == b'{'));
            usize::from(in_chunk)
        })
        .sum();
    if opening <= MAX_DEPTH {
        return Ok(());
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &byte in bytes {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err("recursion limit exceeded");
                }
            }
            b']' | b'}' => depth -= 1,
            _ => {}
        }
    }
    Ok(())
}

/// The four hex digits at `at` as a number (serde_json checked that they are
/// hex digits); 0 when they are not there.
fn hex4(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|digits| std::str::from_utf8(digits).ok())
        .and_then(|digits| u32::from_str_radix(digits, 16).ok())
        .unwrap_or(0)
}

/// The fields of a JSON object that the crate has no typed field for, in the
/// order received, each value kept as its exact text ([`RawJson`]; `null`s
/// included).
///
/// A small ordered map: look a key up with [`get`](Extra::get), walk it with
/// [`iter`](Extra::iter). Two `Extra`s are equal when they hold the same keys,
/// in the same order, with the same texts. A key appears at most once.
///
/// ```
/// use kyc_webhooks::{Extra, RawJson};
///
/// let mut extra = Extra::new();
/// extra.insert("company_name", RawJson::from_json(r#""ACME Ltd""#)?);
/// assert_eq!(extra.get("company_name").unwrap().parse::<&str>()?, "ACME Ltd");
/// assert_eq!(extra.iter().map(|(key, _)| key).collect::<Vec<_>>(), ["company_name"]);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Extra {
    /// Every key, one after the other: one allocation for all of them.
    keys: String,
    /// Each field: where its key is in `keys`, and its value.
    entries: Vec<Entry>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Entry {
    key: std::ops::Range<usize>,
    value: RawJson,
}

/// Up to this many keys a duplicate is found as each key is read (the error
/// then points at it); past it, once at the end, in O(n log n).
const LINEAR_DUPLICATE_CHECK: usize = 16;

impl Extra {
    /// An empty map.
    pub fn new() -> Extra {
        Extra::default()
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn key_of(&self, entry: &Entry) -> &str {
        &self.keys[entry.key.clone()]
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|entry| self.key_of(entry) == key)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&RawJson> {
        self.position(key).map(|at| &self.entries[at].value)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key` to `value`: in place when the key is present (the old value
    /// is returned), else at the end.
    pub fn insert(&mut self, key: impl AsRef<str>, value: RawJson) -> Option<RawJson> {
        let key = key.as_ref();
        match self.position(key) {
            Some(at) => Some(std::mem::replace(&mut self.entries[at].value, value)),
            None => {
                self.push(key, value);
                None
            }
        }
    }

    fn push(&mut self, key: &str, value: RawJson) {
        let start = self.keys.len();
        self.keys.push_str(key);
        self.entries.push(Entry {
            key: start..self.keys.len(),
            value,
        });
    }

    /// Removes `key`, keeping the order of the others.
    pub fn remove(&mut self, key: &str) -> Option<RawJson> {
        let at = self.position(key)?;
        let removed = self.entries.remove(at);
        let len = removed.key.len();
        self.keys.replace_range(removed.key.clone(), "");
        for entry in &mut self.entries[at..] {
            entry.key = entry.key.start - len..entry.key.end - len;
        }
        Some(removed.value)
    }

    /// The fields in the order received.
    pub fn iter(&self) -> ExtraIter<'_> {
        ExtraIter {
            keys: &self.keys,
            entries: self.entries.iter(),
        }
    }

    /// The keys in the order received.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.iter().map(|(key, _)| key)
    }

    /// Reads the value of an unknown key of an object being decoded, refusing
    /// a key that appears twice (one of the values would be lost). A value
    /// that fails adds nothing to the error path: for a visitor that reads
    /// its map through [`Fields`](crate::wire::path::Fields), which adds the
    /// key.
    pub(crate) fn read_entry<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        key: Key<'de>,
    ) -> Result<(), A::Error> {
        self.check_new(key.as_str())?;
        let value = map.next_value::<RawJson>()?;
        self.push(key.as_str(), value);
        Ok(())
    }

    /// [`read_entry`](Extra::read_entry), for a visitor that reads its map
    /// directly: a value that fails adds its key to the error path.
    pub(crate) fn read_entry_keyed<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        key: Key<'de>,
    ) -> Result<(), A::Error> {
        self.check_new(key.as_str())?;
        let value = map.next_value_seed(Keyed::<RawJson>::new(key.as_str()))?;
        self.push(key.as_str(), value);
        Ok(())
    }

    /// Refuses `key` when it is already there, among the first few keys (the
    /// others are checked by [`finish`](Extra::finish)).
    fn check_new<E: de::Error>(&self, key: &str) -> Result<(), E> {
        if self.len() < LINEAR_DUPLICATE_CHECK && self.contains_key(key) {
            return Err(E::custom(format_args!("duplicate field `{key}`")));
        }
        Ok(())
    }

    /// Finishes decoding: refuses a duplicate key among many (the keys past
    /// the first few are only checked here).
    pub(crate) fn finish<E: de::Error>(self) -> Result<Extra, E> {
        if self.len() > LINEAR_DUPLICATE_CHECK {
            let mut keys: Vec<&str> = self.keys().collect();
            keys.sort_unstable();
            if let Some(pair) = keys.windows(2).find(|pair| pair[0] == pair[1]) {
                return Err(E::custom(format_args!("duplicate field `{}`", pair[0])));
            }
        }
        Ok(self)
    }

    /// Writes each field as an entry of a map being serialized.
    pub(crate) fn serialize_entries<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        for (key, value) in self {
            map.serialize_entry(key, value)?;
        }
        Ok(())
    }
}

/// The fields of an [`Extra`], in order: see [`Extra::iter`].
#[derive(Clone)]
pub struct ExtraIter<'a> {
    keys: &'a str,
    entries: std::slice::Iter<'a, Entry>,
}

impl<'a> Iterator for ExtraIter<'a> {
    type Item = (&'a str, &'a RawJson);

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.entries.next()?;
        Some((&self.keys[entry.key.clone()], &entry.value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for ExtraIter<'_> {}

impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Extra {
    type Item = (&'a str, &'a RawJson);
    type IntoIter = ExtraIter<'a>;
    fn into_iter(self) -> ExtraIter<'a> {
        self.iter()
    }
}

impl IntoIterator for Extra {
    type Item = (String, RawJson);
    type IntoIter = std::vec::IntoIter<(String, RawJson)>;
    fn into_iter(self) -> Self::IntoIter {
        let keys = self.keys;
        self.entries
            .into_iter()
            .map(|entry| (keys[entry.key].to_owned(), entry.value))
            .collect::<Vec<_>>()
            .into_iter()
    }
}

impl<K: AsRef<str>> FromIterator<(K, RawJson)> for Extra {
    /// Collects fields in order; a repeated key keeps its first position and
    /// its last value.
    fn from_iter<I: IntoIterator<Item = (K, RawJson)>>(iter: I) -> Self {
        let mut extra = Extra::new();
        for (key, value) in iter {
            extra.insert(key, value);
        }
        extra
    }
}

impl Serialize for Extra {
    /// An object of the fields, in order, each value as received.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        self.serialize_entries(&mut map)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Extra {
    /// Any JSON object; a key that appears twice is an error.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExtraVisitor;
        impl<'de> Visitor<'de> for ExtraVisitor {
            type Value = Extra;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Extra, A::Error> {
                let mut extra = Extra::new();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    extra.read_entry_keyed(&mut map, key)?;
                }
                extra.finish()
            }
        }
        deserializer.deserialize_map(ExtraVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrogate_escapes_must_pair() {
        for (text, ok) in [
            (r#""\ud83d\ude00""#, true),
            (r#""\u00e9 \u0041""#, true),
            (r#""\ud83d""#, false),
            (r#""\ud83d x""#, false),
            (r#""\ud83d\u0041""#, false),
            (r#""\ude00""#, false),
            // An escaped backslash, then text that only looks like an escape.
            (r#""\\ud83d""#, true),
            (r#""\\\ud83d""#, false),
            (r#"{"a": ["\ud83d\ude00", "\\ude00"]}"#, true),
        ] {
            assert_eq!(check_surrogates(text).is_ok(), ok, "{text}");
        }
    }

    #[test]
    fn extra_keeps_order_replaces_in_place_and_removes() {
        let raw = |text: &str| RawJson::from_json(text).unwrap();
        let mut extra: Extra = [("a", raw("1")), ("bb", raw("2")), ("c", raw("3"))]
            .into_iter()
            .collect();
        assert_eq!(extra.insert("bb", raw("20")), Some(raw("2")));
        assert_eq!(extra.remove("a"), Some(raw("1")));
        assert_eq!(extra.remove("a"), None);
        extra.insert("d", raw("4"));
        let pairs: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (k, v.as_str())).collect();
        assert_eq!(pairs, [("bb", "20"), ("c", "3"), ("d", "4")]);
        // Equal to the same fields built directly: removal leaves no trace.
        let direct: Extra = [("bb", raw("20")), ("c", raw("3")), ("d", raw("4"))]
            .into_iter()
            .collect();
        assert_eq!(extra, direct);
        // Same keys and values, other order: not equal (the order is kept).
        let reordered: Extra = [("c", raw("3")), ("bb", raw("20")), ("d", raw("4"))]
            .into_iter()
            .collect();
        assert_ne!(extra, reordered);
    }

    #[test]
    fn nesting_is_limited_to_what_serde_json_reads() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(check_depth(&nested(MAX_DEPTH)).is_ok());
        assert!(check_depth(&nested(MAX_DEPTH + 1)).is_err());
        // Brackets inside strings do not nest.
        let in_strings = format!("[{}]", vec![r#""[[[[""#; 100].join(","));
        assert!(check_depth(&in_strings).is_ok());
        // The limit is serde_json's: what passes can be read back.
        assert!(RawJson::from_json(nested(MAX_DEPTH))
            .unwrap()
            .to_value()
            .is_ok());
        assert!(RawJson::from_json(nested(MAX_DEPTH + 1)).is_err());
    }
}
