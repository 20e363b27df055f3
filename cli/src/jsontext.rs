//! Editing JSON as text: `sample --set` changes one value of an event's JSON
//! text and leaves every other byte where it was, so that an event that no
//! longer decodes is printed with the keys in the order they were written
//! (a `serde_json::Value` round trip sorts them, and serde_json's
//! `preserve_order` feature, unified across the workspace's build, would
//! change the library's own maps under its tests).
//!
//! The texts edited here are valid JSON (written by serde_json, or checked by
//! it before being inserted); a malformed one is an error, never a panic.

/// Why a value could not be set at a path.
#[derive(Debug, PartialEq, Eq)]
pub enum SetError {
    /// The object at `path[..=depth]`'s parent has no such key.
    Missing { depth: usize },
    /// The list at `path[..depth]` has `len` items; the index is not below.
    Index { depth: usize, len: usize },
    /// The value at `path[..depth]` is neither an object nor a list.
    NotContainer { depth: usize },
    /// The text is not well-formed JSON (at this byte).
    Malformed { at: usize },
}

/// `text` with the value at `path` replaced by `value` (JSON text), or, when
/// the last key of the path is missing from its object, added at the end of
/// that object. An empty path replaces the whole text.
pub fn set(text: &str, path: &[String], value: &str) -> Result<String, SetError> {
    let bytes = text.as_bytes();
    let mut pos = skip_ws(bytes, 0);
    let mut edit = None;
    for (depth, key) in path.iter().enumerate() {
        let last = depth + 1 == path.len();
        match bytes.get(pos) {
            Some(b'{') => match find_member(bytes, pos, key)? {
                Member::Found(start) => pos = start,
                Member::Absent { close, empty } if last => {
                    let key =
                        serde_json::to_string(key).map_err(|_| SetError::Malformed { at: pos })?;
                    let comma = if empty { "" } else { "," };
                    let insert = format!("{comma}{key}:{value}");
                    edit = Some((close, close, insert));
                    break;
                }
                Member::Absent { .. } => return Err(SetError::Missing { depth }),
            },
            Some(b'[') => {
                let (items, _) = array_items(bytes, pos)?;
                let len = items.len();
                pos = key
                    .parse::<usize>()
                    .ok()
                    .and_then(|index| items.get(index).copied())
                    .ok_or(SetError::Index { depth, len })?;
            }
            Some(_) => return Err(SetError::NotContainer { depth }),
            None => return Err(SetError::Malformed { at: pos }),
        }
    }
    let (start, end, insert) = match edit {
        Some(edit) => edit,
        None => (pos, value_end(bytes, pos)?, value.to_owned()),
    };
    let mut out = String::with_capacity(text.len() + insert.len());
    out.push_str(&text[..start]);
    out.push_str(&insert);
    out.push_str(&text[end..]);
    Ok(out)
}

/// Where a key is in an object.
enum Member {
    /// The start of its value.
    Found(usize),
    /// Not there: the position of the closing brace, and whether the object
    /// has no member at all.
    Absent { close: usize, empty: bool },
}

/// Looks `key` up in the object that starts at `open` (its `{`); the last
/// member of that name, as serde_json keeps the last of duplicate keys.
fn find_member(bytes: &[u8], open: usize, key: &str) -> Result<Member, SetError> {
    let mut pos = skip_ws(bytes, open + 1);
    let mut found = None;
    let mut empty = true;
    if bytes.get(pos) == Some(&b'}') {
        return Ok(Member::Absent { close: pos, empty });
    }
    loop {
        empty = false;
        let key_end = string_end(bytes, pos)?;
        let name: String = std::str::from_utf8(&bytes[pos..key_end])
            .ok()
            .and_then(|token| serde_json::from_str(token).ok())
            .ok_or(SetError::Malformed { at: pos })?;
        pos = skip_ws(bytes, key_end);
        if bytes.get(pos) != Some(&b':') {
            return Err(SetError::Malformed { at: pos });
        }
        let start = skip_ws(bytes, pos + 1);
        if name == key {
            found = Some(start);
        }
        pos = skip_ws(bytes, value_end(bytes, start)?);
        match bytes.get(pos) {
            Some(b',') => pos = skip_ws(bytes, pos + 1),
            Some(b'}') => break,
            _ => return Err(SetError::Malformed { at: pos }),
        }
    }
    Ok(match found {
        Some(start) => Member::Found(start),
        None => Member::Absent { close: pos, empty },
    })
}

/// The starts of the items of the array that starts at `open` (its `[`), and
/// the position just after its `]`.
fn array_items(bytes: &[u8], open: usize) -> Result<(Vec<usize>, usize), SetError> {
    let mut items = Vec::new();
    let mut pos = skip_ws(bytes, open + 1);
    if bytes.get(pos) == Some(&b']') {
        return Ok((items, pos + 1));
    }
    loop {
        items.push(pos);
        pos = skip_ws(bytes, value_end(bytes, pos)?);
        match bytes.get(pos) {
            Some(b',') => pos = skip_ws(bytes, pos + 1),
            Some(b']') => return Ok((items, pos + 1)),
            _ => return Err(SetError::Malformed { at: pos }),
        }
    }
}

/// The position just after the value that starts at `start`.
fn value_end(bytes: &[u8], start: usize) -> Result<usize, SetError> {
    match bytes.get(start) {
        Some(b'"') => string_end(bytes, start),
        Some(b'{') => {
            let mut pos = skip_ws(bytes, start + 1);
            if bytes.get(pos) == Some(&b'}') {
                return Ok(pos + 1);
            }
            loop {
                pos = skip_ws(bytes, string_end(bytes, pos)?);
                if bytes.get(pos) != Some(&b':') {
                    return Err(SetError::Malformed { at: pos });
                }
                pos = skip_ws(bytes, value_end(bytes, skip_ws(bytes, pos + 1))?);
                match bytes.get(pos) {
                    Some(b',') => pos = skip_ws(bytes, pos + 1),
                    Some(b'}') => return Ok(pos + 1),
                    _ => return Err(SetError::Malformed { at: pos }),
                }
            }
        }
        Some(b'[') => array_items(bytes, start).map(|(_, end)| end),
        Some(c) if c.is_ascii_alphanumeric() || *c == b'-' => {
            let len = bytes[start..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
                .count();
            Ok(start + len)
        }
        _ => Err(SetError::Malformed { at: start }),
    }
}

/// The position just after the string that starts at `start` (its `"`).
fn string_end(bytes: &[u8], start: usize) -> Result<usize, SetError> {
    if bytes.get(start) != Some(&b'"') {
        return Err(SetError::Malformed { at: start });
    }
    let mut pos = start + 1;
    while let Some(&c) = bytes.get(pos) {
        match c {
            b'"' => return Ok(pos + 1),
            b'\\' => pos += 2,
            _ => pos += 1,
        }
    }
    Err(SetError::Malformed { at: start })
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while bytes
        .get(pos)
        .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
    {
        pos += 1;
    }
    pos
}

/// Valid JSON `text` written again without its whitespace (`indent: None`)
/// or indented as serde_json's pretty printer does (`Some("  ")`), its keys
/// and values in the order and spelling they have.
pub fn reformat(text: &str, indent: Option<&str>) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut pos = 0;
    let newline = |out: &mut String, depth: usize| {
        if let Some(indent) = indent {
            out.push('\n');
            for _ in 0..depth {
                out.push_str(indent);
            }
        }
    };
    while pos < bytes.len() {
        let c = bytes[pos];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => pos += 1,
            b'"' => {
                let end = string_end(bytes, pos).unwrap_or(bytes.len());
                out.push_str(&text[pos..end]);
                pos = end;
            }
            b'{' | b'[' => {
                let close = if c == b'{' { b'}' } else { b']' };
                let next = skip_ws(bytes, pos + 1);
                out.push(char::from(c));
                if bytes.get(next) == Some(&close) {
                    out.push(char::from(close));
                    pos = next + 1;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                    pos = next;
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(char::from(c));
                pos += 1;
            }
            b',' => {
                out.push(',');
                newline(&mut out, depth);
                pos += 1;
            }
            b':' => {
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                pos += 1;
            }
            _ => {
                // A number or a literal, up to the next delimiter; a byte
                // that starts neither is copied as it is (with the UTF-8
                // character it starts).
                let len = text[pos..]
                    .find(|c: char| {
                        matches!(
                            c,
                            ',' | ':' | '{' | '}' | '[' | ']' | '"' | ' ' | '\t' | '\n' | '\r'
                        )
                    })
                    .unwrap_or(text.len() - pos)
                    .max(1);
                let end = (pos + len..=text.len())
                    .find(|&end| text.is_char_boundary(end))
                    .unwrap_or(text.len());
                out.push_str(&text[pos..end]);
                pos = end;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(dotted: &str) -> Vec<String> {
        dotted.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn set_replaces_or_adds_and_keeps_the_rest_in_place() {
        let text = r#"{"z":1,"a":{"y":[1,{"k":"v"}],"b":"\"q\""},"m":null}"#;
        assert_eq!(
            set(text, &path("a.y.1.k"), "2").unwrap(),
            r#"{"z":1,"a":{"y":[1,{"k":2}],"b":"\"q\""},"m":null}"#
        );
        assert_eq!(
            set(text, &path("a.new"), r#"{"d":1,"c":2}"#).unwrap(),
            r#"{"z":1,"a":{"y":[1,{"k":"v"}],"b":"\"q\"","new":{"d":1,"c":2}},"m":null}"#
        );
        assert_eq!(set("{}", &path("x"), "1").unwrap(), r#"{"x":1}"#);
        assert_eq!(set(text, &[], "3").unwrap(), "3");
        assert_eq!(
            set(text, &path("a.nope.x"), "1"),
            Err(SetError::Missing { depth: 1 })
        );
        assert_eq!(
            set(text, &path("a.y.2"), "1"),
            Err(SetError::Index { depth: 2, len: 2 })
        );
        assert_eq!(
            set(text, &path("z.x"), "1"),
            Err(SetError::NotContainer { depth: 1 })
        );
        for broken in ["", "{", r#"{"a""#, r#"{"a":[1,"#, r#"{"a":"\"#] {
            assert!(set(broken, &path("a.b"), "1").is_err(), "{broken}");
        }
    }

    #[test]
    fn reformat_writes_what_serde_json_writes() {
        let value = serde_json::json!({"a": [], "b": {}, "c": [1, {"d": "x,y:{}"}], "e": -1.5e3});
        let compact = serde_json::to_string(&value).unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        assert_eq!(reformat(&pretty, None), compact);
        assert_eq!(reformat(&compact, Some("  ")), pretty);
        // Malformed text comes back without a panic.
        for broken in ["{\"a", "}}]]", "é{", "[tru\u{e9}"] {
            reformat(broken, Some("  "));
        }
    }
}
