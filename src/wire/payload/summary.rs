//! Helpers for the one-line summaries that both providers' events write as
//! their `Display`.

use std::fmt::{self, Display, Write};

/// A writer that keeps what goes through it on one line: control characters
/// (line breaks and tabs included) and the line and paragraph separators are
/// written escaped (`\n`, `\r`, `\t`, `\u{1b}`), as Rust writes them in a
/// string literal. Backslashes are written as they are: the line is shown,
/// not parsed back.
pub(crate) struct OneLine<'a, 'b>(pub(crate) &'a mut fmt::Formatter<'b>);

impl Write for OneLine<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let breaks = |c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}');
        let mut rest = text;
        while let Some(at) = rest.find(breaks) {
            self.0.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            match c {
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\t' => self.0.write_str("\\t")?,
                c => write!(self.0, "\\u{{{:x}}}", u32::from(c))?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

/// An optional field: its value, or `default` when it is absent.
pub(crate) struct Or<'a, T>(pub(crate) &'a Option<T>, pub(crate) &'static str);

impl<T: Display> Display for Or<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(value) => value.fmt(f),
            None => f.write_str(self.1),
        }
    }
}

/// A name in double quotes, with quotes and backslashes in it escaped (as
/// `{:?}` writes a string), so that where it ends is clear.
pub(crate) struct Quoted<T>(pub(crate) T);

impl<T: Display> Display for Quoted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0.to_string())
    }
}

/// JSON text without the whitespace between its tokens (a pretty-printed
/// object becomes one line); strings are written as they are.
pub(crate) struct Compact<'a>(pub(crate) &'a str);

impl Display for Compact<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut in_string = false;
        let mut escaped = false;
        let mut start = 0;
        for (at, c) in self.0.char_indices() {
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
            } else if c == '"' {
                in_string = true;
            } else if matches!(c, ' ' | '\n' | '\r' | '\t') {
                f.write_str(&self.0[start..at])?;
                start = at + c.len_utf8();
            }
        }
        f.write_str(&self.0[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Through<T>(T);

    impl<T: Display> Display for Through<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(OneLine(f), "{}", self.0)
        }
    }

    #[test]
    fn one_line_escapes_what_would_break_or_drive_the_line() {
        let text = "a\nb\r\tc\u{1b}[2J\u{9b}\u{2028}é\\n";
        assert_eq!(
            Through(text).to_string(),
            "a\\nb\\r\\tc\\u{1b}[2J\\u{9b}\\u{2028}é\\n"
        );
        assert_eq!(Through("plain").to_string(), "plain");
    }

    #[test]
    fn compact_drops_whitespace_between_tokens_only() {
        let json = "{\n  \"a b\": [1, 2],\n  \"c\\\" d\": \"x \\\\\" , \"e\" : {}\n}";
        assert_eq!(
            Compact(json).to_string(),
            "{\"a b\":[1,2],\"c\\\" d\":\"x \\\\\",\"e\":{}}"
        );
    }
}
