//! A small JSON tree that keeps the spelling of its text ([`Json`]), its
//! reader ([`parse`]) and its writer in either key order ([`Order`]).

use std::fmt::Write as _;

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
