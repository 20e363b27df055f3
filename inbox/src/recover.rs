//! Splitting a Spektr body into its events' texts, also when its JSON is
//! broken: each event is judged on its own, so one bad byte costs one event.
//!
//! Every step is linear in the body's length.

use serde::Deserialize;
use serde_json::value::RawValue;

/// One event's bytes, as they stand in the body.
#[derive(Debug)]
pub(crate) struct Piece<'a> {
    /// Its index in `results`; `None` for a body with no readable structure,
    /// kept whole.
    pub index: Option<usize>,
    pub bytes: &'a [u8],
}

/// What a Spektr body holds.
#[derive(Debug)]
pub(crate) enum Split<'a> {
    /// The events' texts, in order (decoding each is up to the caller).
    Pieces(Vec<Piece<'a>>),
    /// Well-formed JSON that is not a batch: nothing to keep.
    NotABatch(String),
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    results: Vec<&'a RawValue>,
}

/// Splits `body` into its events. A well-formed batch is read by serde; a
/// body whose JSON is broken is scanned byte by byte for the elements of its
/// `results` array, and what cannot be delimited is kept as one piece.
pub(crate) fn split(body: &[u8]) -> Split<'_> {
    if let Ok(text) = std::str::from_utf8(body) {
        match serde_json::from_str::<Envelope<'_>>(text) {
            Ok(envelope) => {
                let pieces = envelope
                    .results
                    .into_iter()
                    .enumerate()
                    .map(|(index, raw)| Piece {
                        index: Some(index),
                        bytes: raw.get().as_bytes(),
                    })
                    .collect();
                return Split::Pieces(pieces);
            }
            Err(error) => {
                if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
                    return Split::NotABatch(error.to_string());
                }
            }
        }
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Split::NotABatch("the body is empty".to_owned());
    }
    Split::Pieces(scan(body))
}

/// Finds the elements of the `results` array in a body that serde refused.
fn scan(body: &[u8]) -> Vec<Piece<'_>> {
    let whole = || {
        vec![Piece {
            index: None,
            bytes: body,
        }]
    };
    let Some(mut at) = find_results_array(body) else {
        return whole();
    };
    let mut pieces = Vec::new();
    loop {
        while at < body.len() && (body[at].is_ascii_whitespace() || body[at] == b',') {
            at += 1;
        }
        if at >= body.len() || body[at] == b']' {
            break;
        }
        let start = at;
        match end_of_value(body, start) {
            Some(end) => {
                pieces.push(Piece {
                    index: Some(pieces.len()),
                    bytes: &body[start..end],
                });
                at = end;
            }
            None => {
                // The value never closes: keep the rest as one piece.
                pieces.push(Piece {
                    index: Some(pieces.len()),
                    bytes: &body[start..],
                });
                break;
            }
        }
    }
    if pieces.is_empty() {
        return whole();
    }
    pieces
}

/// The offset just past `[` of the first `"results": [`.
fn find_results_array(body: &[u8]) -> Option<usize> {
    const KEY: &[u8] = b"\"results\"";
    let mut from = 0;
    while let Some(found) = find(&body[from..], KEY) {
        let mut at = from + found + KEY.len();
        while at < body.len() && body[at].is_ascii_whitespace() {
            at += 1;
        }
        if body.get(at) == Some(&b':') {
            at += 1;
            while at < body.len() && body[at].is_ascii_whitespace() {
                at += 1;
            }
            if body.get(at) == Some(&b'[') {
                return Some(at + 1);
            }
        }
        from += found + 1;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The end of the JSON value starting at `start`: objects and arrays by their
/// brackets (outside strings), anything else up to the next `,` or `]`.
/// A string ends at its closing quote or, broken, at a raw line break (which
/// JSON strings cannot hold), so that an unclosed string in a pretty-printed
/// batch costs one event. `None` when the body ends first.
fn end_of_value(body: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = start;
    let mut in_string = false;
    while at < body.len() {
        let byte = body[at];
        if in_string {
            match byte {
                b'\\' => at += 1,
                b'"' | b'\n' | b'\r' => in_string = false,
                _ => {}
            }
        } else {
            match byte {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    if depth == 0 {
                        return Some(at);
                    }
                    depth -= 1;
                    if depth == 0 {
                        return Some(at + 1);
                    }
                }
                b',' if depth == 0 => return Some(at),
                _ => {}
            }
        }
        at += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(body: &[u8]) -> Vec<(Option<usize>, String)> {
        match split(body) {
            Split::Pieces(pieces) => pieces
                .into_iter()
                .map(|p| (p.index, String::from_utf8_lossy(p.bytes).into_owned()))
                .collect(),
            Split::NotABatch(reason) => panic!("not a batch: {reason}"),
        }
    }

    #[test]
    fn a_bad_byte_inside_a_string_costs_one_event() {
        let body = b"{\"results\": [{\"id\": \"a\"}, {\"id\": \"b\xff\"}, {\"id\": \"c\"}]}";
        let pieces = texts(body);
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces[0], (Some(0), r#"{"id": "a"}"#.to_owned()));
        assert_eq!(pieces[2], (Some(2), r#"{"id": "c"}"#.to_owned()));
    }

    #[test]
    fn an_unclosed_string_in_a_pretty_batch_costs_one_event() {
        let body = b"{\"results\": [\n {\"id\": \"a\"},\n {\"id\": \"b,\n  \"x\": 1},\n {\"id\": \"c\"}\n]}";
        let pieces = texts(body);
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces[2].1, r#"{"id": "c"}"#);
    }

    #[test]
    fn a_truncated_body_keeps_the_complete_events_and_the_rest_whole() {
        let body = br#"{"results": [{"id": "a"}, {"id": "b", "data": {"#;
        let pieces = texts(body);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[1].1, r#"{"id": "b", "data": {"#);
    }

    #[test]
    fn a_body_without_a_results_array_is_one_piece() {
        let body = b"\xff\xfe not json";
        assert_eq!(
            texts(body),
            vec![(None, String::from_utf8_lossy(body).into_owned())]
        );
    }

    #[test]
    fn well_formed_json_that_is_not_a_batch_is_refused() {
        assert!(matches!(split(b"{\"result\": []}"), Split::NotABatch(_)));
        assert!(matches!(split(b"[1, 2]"), Split::NotABatch(_)));
        assert!(matches!(split(b"  "), Split::NotABatch(_)));
    }
}
