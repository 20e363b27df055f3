//! Printing text that came from outside (a body, a dead letter, an error
//! message, a server's answer) so that it cannot drive the terminal.
//!
//! Every such piece goes through [`escape`] (or [`escape_bytes`]) before it
//! is printed as text, and every JSON line through [`json`]: a raw ESC, CR or
//! BEL in received data would otherwise reach the terminal as a command
//! (colours, a cursor move that overwrites a line, a title change), and a
//! newline or a bidi override could make a forged line look like the CLI's.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Serialize;

/// Whether `c` must not reach a terminal raw: the C0 controls (newline and
/// tab included: a record stays on its line and its column), DEL, the C1
/// controls (NEL and the 8-bit CSI among them), the line and paragraph
/// separators, and the bidi controls that reorder what is shown.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' // line and paragraph separators
                | '\u{061c}' | '\u{200e}' | '\u{200f}' // bidi marks
                | '\u{202a}'..='\u{202e}' // bidi embeddings and overrides
                | '\u{2066}'..='\u{2069}' // bidi isolates
        )
}

/// `text` with every control character escaped: `\n`, `\r` and `\t` as
/// such, the others as `\u{1b}` (as Rust writes them). Backslashes are left
/// as they are: the text is shown, not meant to be parsed back.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    push_escaped(&mut out, text);
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// Bytes that are not necessarily UTF-8 (a dead letter's body), as
/// [`escape`]d text; a byte that is not part of valid UTF-8 is written
/// `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        push_escaped(&mut out, chunk.valid());
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// `value` as one line of JSON whose strings hold no raw control character:
/// serde_json escapes the C0 ones; DEL, the C1 controls, the separators and
/// the bidi controls, which JSON allows raw, are written `\uXXXX` too (each
/// is in the Basic Multilingual Plane, and can only stand inside a string,
/// so the line stays the same JSON value).
pub fn json<T: Serialize + ?Sized>(value: &T) -> String {
    // Serializing the CLI's own records (derived `Serialize`, string keys)
    // cannot fail.
    let line = serde_json::to_string(value).expect("a JSON record serializes");
    if !line.chars().any(is_unsafe) {
        return line;
    }
    let mut out = String::with_capacity(line.len() + 16);
    for c in line.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_the_rest_kept() {
        assert_eq!(escape("plain \"text\" é ✓"), "plain \"text\" é ✓");
        assert_eq!(
            escape("a\u{1b}[31mred\r\n\t\u{7}\u{7f}\u{9b}\u{85}\u{2028}\u{202e}z"),
            "a\\u{1b}[31mred\\r\\n\\t\\u{7}\\u{7f}\\u{9b}\\u{85}\\u{2028}\\u{202e}z"
        );
        assert_eq!(escape_bytes(b"ok\x1b\xff\xc3\xa9"), "ok\\u{1b}\\xffé");
    }

    #[test]
    fn json_stays_the_same_value_without_raw_controls() {
        let value = serde_json::json!({"s": "\u{1b}[31m \u{9b} \u{2028} \u{202e} \u{7f}"});
        let line = json(&value);
        assert!(!line.chars().any(is_unsafe), "{line}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&line).unwrap(),
            value
        );
    }
}
