//! Splitting a Spektr body into its events' texts, also when its JSON is
//! broken: each event is judged on its own, so one bad byte costs one event.
//!
//! The split is lazy ([`Pieces`] is an iterator over the body, holding a
//! position and a counter), so that a body of millions of tiny events costs
//! no memory per event here. Every step of every loop consumes at least one
//! byte, so that each pass is linear in the body's length whatever its bytes.
//!
//! What is not an element of `results` is kept too, when it is not the
//! envelope itself: text before the batch's `"results"` key of a body whose
//! JSON is broken, and bytes after the batch (`{"results": [...]} garbage`).

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserializer;

/// Which part of the body a piece is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// An element of `results`.
    Event,
    /// The whole body: no `results` array could be found in it.
    Whole,
    /// Text before the `"results"` key that is not the envelope's `{`.
    Before,
    /// Bytes after the `results` array that are not the envelope's `}`.
    After,
}

/// One event's bytes (or another part of the body to keep), as they stand in
/// the body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Piece<'a> {
    /// Its index in `results`, for [`Part::Event`].
    pub index: Option<usize>,
    /// Its offset in the body.
    pub start: usize,
    pub bytes: &'a [u8],
    pub part: Part,
}

/// What a Spektr body holds.
#[derive(Debug)]
pub(crate) enum Split<'a> {
    /// The events' texts, in order (decoding each is up to the caller).
    Pieces(Pieces<'a>),
    /// Well-formed JSON that is not a batch: nothing to keep.
    NotABatch(String),
}

/// Splits `body` into its events. A well-formed batch is checked by serde
/// (without keeping anything per event) and then walked; a body whose JSON
/// is broken is scanned byte by byte for the elements of its `results`
/// array, and what cannot be delimited is kept as one piece.
pub(crate) fn split(body: &[u8]) -> Split<'_> {
    if let Ok(text) = std::str::from_utf8(body) {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        match EnvelopeCheck.deserialize(&mut deserializer) {
            Ok(Envelope::Batch) if deserializer.end().is_ok() => {
                if let Some(layout) = walk_object(body) {
                    return Split::Pieces(Pieces::new(body, layout.array, Prefix::Envelope));
                }
                // The walk agrees with serde on every well-formed body; if it
                // ever did not, the scan below still keeps every byte.
            }
            Ok(Envelope::TwoResults) if deserializer.end().is_ok() => {
                // Well-formed, but which array is the batch? Keep it whole
                // for a person to read rather than guess (or refuse it, and
                // have Spektr give up on its events).
                return Split::Pieces(Pieces::whole(body, TWO_RESULTS));
            }
            _ => {
                if let Err(error) = serde_json::from_str::<Envelope>(text) {
                    if serde_json::from_str::<IgnoredAny>(text).is_ok() {
                        return Split::NotABatch(error.to_string());
                    }
                }
            }
        }
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Split::NotABatch("the body is empty".to_owned());
    }
    Split::Pieces(scan(body))
}

/// Why a well-formed body with two `results` keys is kept whole.
pub(crate) const TWO_RESULTS: &str = "the body has more than one \"results\" key";

/// What the serde check found.
enum Envelope {
    /// An object with one `results` array.
    Batch,
    /// An object with more than one `results` key, each an array.
    TwoResults,
}

/// Checks that a body is `{"results": [...]}` (other keys ignored) without
/// keeping anything of it.
struct EnvelopeCheck;

impl<'de> DeserializeSeed<'de> for EnvelopeCheck {
    type Value = Envelope;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Envelope, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> de::Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Envelope, D::Error> {
        EnvelopeCheck.deserialize(deserializer)
    }
}

impl<'de> Visitor<'de> for EnvelopeCheck {
    type Value = Envelope;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"a batch object, {"results": [...]}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
        let mut arrays = 0usize;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "results" {
                map.next_value_seed(ArrayCheck)?;
                arrays += 1;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        match arrays {
            0 => Err(de::Error::missing_field("results")),
            1 => Ok(Envelope::Batch),
            _ => Ok(Envelope::TwoResults),
        }
    }
}

/// Checks that a value is an array, skipping its elements.
struct ArrayCheck;

impl<'de> DeserializeSeed<'de> for ArrayCheck {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ArrayCheck {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// Where the batch's `results` array is.
struct Layout {
    /// The offset of the `"results"` key.
    key: usize,
    /// The offset just past the array's `[`.
    array: usize,
}

/// What precedes the array, as far as the pieces are concerned.
#[derive(Debug, Clone, Copy)]
enum Prefix {
    /// The envelope (a well-formed batch, whose other keys are ignored).
    Envelope,
    /// The piece `body[..key]` is to be kept, before the events.
    Keep { key: usize },
}

/// Walks the top-level object of `body` for its `"results"` key (not one
/// nested in a value): the layout when it holds an array.
fn walk_object(body: &[u8]) -> Option<Layout> {
    let mut at = skip_whitespace(body, 0);
    if body.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    loop {
        at = skip_whitespace(body, at);
        if body.get(at) != Some(&b'"') {
            return None;
        }
        let key = at;
        let key_end = end_of_string(body, at)?;
        at = skip_whitespace(body, key_end);
        if body.get(at) != Some(&b':') {
            return None;
        }
        at = skip_whitespace(body, at + 1);
        if &body[key..key_end] == b"\"results\"" && body.get(at) == Some(&b'[') {
            return Some(Layout { key, array: at + 1 });
        }
        if at >= body.len() {
            return None;
        }
        // Some other key's value: skip it (at least one byte), then its comma.
        at = end_of_value(body, at)?.max(at + 1);
        at = skip_whitespace(body, at);
        if body.get(at) != Some(&b',') {
            return None;
        }
        at += 1;
    }
}

/// The offset just past the first `"results": [` anywhere in the body (for a
/// body whose top level cannot be walked).
fn find_results_array(body: &[u8]) -> Option<Layout> {
    const KEY: &[u8] = b"\"results\"";
    let mut from = 0;
    while let Some(found) = find(&body[from..], KEY) {
        let key = from + found;
        let mut at = skip_whitespace(body, key + KEY.len());
        if body.get(at) == Some(&b':') {
            at = skip_whitespace(body, at + 1);
            if body.get(at) == Some(&b'[') {
                return Some(Layout { key, array: at + 1 });
            }
        }
        // Past this occurrence: every search starts further on.
        from = key + 1;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn skip_whitespace(body: &[u8], mut at: usize) -> usize {
    while at < body.len() && body[at].is_ascii_whitespace() {
        at += 1;
    }
    at
}

/// Finds the elements of the `results` array in a body that serde refused.
fn scan(body: &[u8]) -> Pieces<'_> {
    let layout = walk_object(body).or_else(|| find_results_array(body));
    let Some(layout) = layout else {
        return Pieces::whole(body, "");
    };
    // Only a `{` (and white space) may stand before the key unkept.
    let before = &body[..layout.key];
    let braces = before.iter().filter(|&&b| b == b'{').count();
    let only_brace = braces <= 1 && before.iter().all(|&b| b == b'{' || b.is_ascii_whitespace());
    let prefix = if only_brace {
        Prefix::Envelope
    } else {
        Prefix::Keep { key: layout.key }
    };
    let mut pieces = Pieces::new(body, layout.array, prefix);
    pieces.broken = true;
    pieces
}

/// The pieces of a body, lazily, in order: each iteration consumes at least
/// one byte of the body, so that the iterator ends after at most as many
/// steps as the body has bytes.
#[derive(Debug, Clone)]
pub(crate) struct Pieces<'a> {
    body: &'a [u8],
    /// Where the next element may start.
    at: usize,
    state: State,
    prefix: Prefix,
    /// Elements found so far (the next element's index).
    index: usize,
    /// Whether the body's JSON is broken (then an empty result is kept whole).
    broken: bool,
    /// Why the whole body is one piece (for [`Part::Whole`]), if it is.
    whole_reason: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The text before the array, if kept, comes first.
    Start,
    /// Inside the array.
    Elements,
    /// After the array (`at` is where it ended).
    After,
    /// The whole body is the one piece.
    Whole,
    Done,
}

impl<'a> Pieces<'a> {
    fn new(body: &'a [u8], array: usize, prefix: Prefix) -> Pieces<'a> {
        Pieces {
            body,
            at: array,
            state: State::Start,
            prefix,
            index: 0,
            broken: false,
            whole_reason: "",
        }
    }

    fn whole(body: &'a [u8], reason: &'static str) -> Pieces<'a> {
        Pieces {
            body,
            at: 0,
            state: State::Whole,
            prefix: Prefix::Envelope,
            index: 0,
            broken: true,
            whole_reason: reason,
        }
    }

    /// Why the body is kept whole, when [`Part::Whole`] is given a reason
    /// other than the decoder's.
    pub(crate) fn whole_reason(&self) -> Option<&'static str> {
        (!self.whole_reason.is_empty()).then_some(self.whole_reason)
    }

    /// The next element of the array, or the end of the array.
    fn next_element(&mut self) -> Option<Piece<'a>> {
        let body = self.body;
        while self.at < body.len() && (body[self.at].is_ascii_whitespace() || body[self.at] == b',')
        {
            self.at += 1;
        }
        match body.get(self.at) {
            // The end of the array; a `}` where an element should start ends
            // it too (its `]` is missing): what follows is the rest.
            None | Some(b']' | b'}') => return None,
            Some(_) => {}
        }
        let start = self.at;
        // A value starting with anything but `}` or `]` is at least one byte
        // long; `max` makes the step's progress plain.
        let end = match end_of_value(body, start) {
            Some(end) => trim_end(body, start, end.max(start + 1)),
            // The value never closes: keep the rest as one piece.
            None => body.len(),
        };
        self.at = end;
        let index = self.index;
        self.index += 1;
        Some(Piece {
            index: Some(index),
            start,
            bytes: &body[start..end],
            part: Part::Event,
        })
    }

    /// The bytes after the array worth keeping: all but white space, the
    /// array's `]` and the envelope's `}`.
    fn after(&self) -> Option<Piece<'a>> {
        let body = self.body;
        let mut at = skip_whitespace(body, self.at);
        if body.get(at) == Some(&b']') {
            at = skip_whitespace(body, at + 1);
        }
        if body.get(at) == Some(&b'}') {
            at = skip_whitespace(body, at + 1);
        }
        (at < body.len()).then(|| Piece {
            index: None,
            start: at,
            bytes: &body[at..],
            part: Part::After,
        })
    }
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Piece<'a>> {
        loop {
            match self.state {
                State::Done => return None,
                State::Whole => {
                    self.state = State::Done;
                    return Some(Piece {
                        index: None,
                        start: 0,
                        bytes: self.body,
                        part: Part::Whole,
                    });
                }
                State::Start => {
                    self.state = State::Elements;
                    if let Prefix::Keep { key } = self.prefix {
                        // Nothing before the key may be lost, but an empty
                        // batch whose only fault is its prefix is the
                        // prefix piece and nothing more.
                        return Some(Piece {
                            index: None,
                            start: 0,
                            bytes: &self.body[..key],
                            part: Part::Before,
                        });
                    }
                }
                State::Elements => match self.next_element() {
                    Some(piece) => return Some(piece),
                    None => self.state = State::After,
                },
                State::After => {
                    self.state = State::Done;
                    if !self.broken {
                        // Well-formed: what follows is the envelope's other
                        // keys and its `}`.
                        return None;
                    }
                    let after = self.after();
                    let nothing_yet = self.index == 0 && matches!(self.prefix, Prefix::Envelope);
                    if self.broken && nothing_yet && after.is_none() {
                        // A broken body with no element (`{"results": [}`):
                        // nothing was read, so keep it whole.
                        self.state = State::Whole;
                        continue;
                    }
                    return after;
                }
            }
        }
    }
}

/// `end` moved back over white space (not before `start + 1`).
fn trim_end(body: &[u8], start: usize, mut end: usize) -> usize {
    while end > start + 1 && body[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    end
}

/// The offset just past the string starting at `start` (a `"`): its closing
/// quote or, broken, a raw line break; `None` when the body ends first.
fn end_of_string(body: &[u8], start: usize) -> Option<usize> {
    let mut at = start + 1;
    while at < body.len() {
        match body[at] {
            b'\\' => at += 1,
            b'"' | b'\n' | b'\r' => return Some(at + 1),
            _ => {}
        }
        at += 1;
    }
    None
}

/// The end of the JSON value starting at `start`: objects and arrays by their
/// brackets (outside strings), anything else up to the next `,`, `]` or `}`.
/// A string ends at its closing quote or, broken, at a raw line break (which
/// JSON strings cannot hold), so that an unclosed string in a pretty-printed
/// batch costs one event. `None` when the body ends first. The result is
/// `start` only when `body[start]` is `}` or `]`.
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

    fn pieces(body: &[u8]) -> Vec<(Part, Option<usize>, String)> {
        match split(body) {
            // Any runaway fails here rather than filling the memory.
            Split::Pieces(pieces) => pieces
                .take(body.len() + 2)
                .map(|p| {
                    assert_eq!(&body[p.start..p.start + p.bytes.len()], p.bytes);
                    (
                        p.part,
                        p.index,
                        String::from_utf8_lossy(p.bytes).into_owned(),
                    )
                })
                .collect(),
            Split::NotABatch(reason) => panic!("not a batch: {reason}"),
        }
    }

    fn texts(body: &[u8]) -> Vec<(Option<usize>, String)> {
        pieces(body)
            .into_iter()
            .map(|(_, index, text)| (index, text))
            .collect()
    }

    fn event(index: usize, text: &str) -> (Part, Option<usize>, String) {
        (Part::Event, Some(index), text.to_owned())
    }

    fn part(part: Part, text: &str) -> (Part, Option<usize>, String) {
        (part, None, text.to_owned())
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
            pieces(body),
            vec![part(Part::Whole, &String::from_utf8_lossy(body))]
        );
    }

    #[test]
    fn well_formed_json_that_is_not_a_batch_is_refused() {
        assert!(matches!(split(b"{\"result\": []}"), Split::NotABatch(_)));
        assert!(matches!(split(b"[1, 2]"), Split::NotABatch(_)));
        assert!(matches!(split(b"{\"results\": {}}"), Split::NotABatch(_)));
        assert!(matches!(split(b"  "), Split::NotABatch(_)));
    }

    /// A closer where an element should start once made the scan push empty
    /// pieces for ever (14 bytes took the receiver to 6 GB).
    #[test]
    fn a_closer_where_an_element_should_start_ends_the_array() {
        let whole = |body: &[u8]| vec![part(Part::Whole, std::str::from_utf8(body).unwrap())];
        assert_eq!(pieces(b"{\"results\": [}"), whole(b"{\"results\": [}"));
        assert_eq!(pieces(b"{\"results\": [1}"), vec![event(0, "1")]);
        assert_eq!(
            pieces(br#"{"results": [{"id":"a"}}"#),
            vec![event(0, r#"{"id":"a"}"#)]
        );
        assert_eq!(
            pieces(br#"{"results": [{"id":"a"},}"#),
            vec![event(0, r#"{"id":"a"}"#)]
        );
        assert_eq!(
            pieces(br#"{"results": [1}, {"id":"b"}]}"#),
            vec![event(0, "1"), part(Part::After, r#", {"id":"b"}]}"#)]
        );
        assert_eq!(
            pieces(br#"{"results": [}}}}"#),
            vec![part(Part::After, "}}}")]
        );
        assert_eq!(
            pieces(br#"{"results": [{}}]}"#),
            vec![event(0, "{}"), part(Part::After, "]}")]
        );
        assert_eq!(pieces(b"{\"results\": ["), whole(b"{\"results\": ["));
        assert_eq!(pieces(b"{\"results\": [,,,"), whole(b"{\"results\": [,,,"));
        assert_eq!(pieces(b"{\"results\": [\"a"), vec![event(0, "\"a")]);
        assert_eq!(pieces(b"{\"results\": [\"a\\"), vec![event(0, "\"a\\")]);
        assert_eq!(pieces(b"{\"results\":[1 2]"), vec![event(0, "1 2")]);
    }

    #[test]
    fn bytes_after_a_batch_are_kept() {
        assert_eq!(
            pieces(br#"{"results":[{"id":"a"}]} garbage"#),
            vec![event(0, r#"{"id":"a"}"#), part(Part::After, "garbage")]
        );
        assert_eq!(
            pieces(br#"{"results":[{"id":"a"}]}}"#),
            vec![event(0, r#"{"id":"a"}"#), part(Part::After, "}")]
        );
        assert_eq!(
            pieces(br#"{"results":[]} {"results":[{"id":"b"}]}"#),
            vec![part(Part::After, r#"{"results":[{"id":"b"}]}"#)]
        );
        // A truncated envelope loses nothing and keeps nothing more.
        assert_eq!(
            pieces(br#"{"results":[{"id":"a"}] "#),
            vec![event(0, r#"{"id":"a"}"#)]
        );
    }

    #[test]
    fn text_before_a_broken_batch_is_kept() {
        assert_eq!(
            pieces(br#"garbage {"results":[{"id":"a"}]}"#),
            vec![part(Part::Before, "garbage {"), event(0, r#"{"id":"a"}"#)]
        );
        assert_eq!(
            pieces(br#"{"x": 1, "results":[{"id":"a"}, 2"#),
            vec![
                part(Part::Before, r#"{"x": 1, "#),
                event(0, r#"{"id":"a"}"#),
                event(1, "2")
            ]
        );
    }

    #[test]
    fn only_the_top_level_results_key_is_the_batch() {
        // Well-formed: other keys (a nested `results` among them) are ignored.
        let body = br#"{"meta": {"results": [1]}, "note": "\"results\": [2]", "results": [{"id":"a"}, 3 ]}"#;
        assert_eq!(pieces(body), vec![event(0, r#"{"id":"a"}"#), event(1, "3")]);
        // Broken after the batch: the same walk finds the top-level key.
        let body = br#"{"meta": {"results": [1]}, "results": [{"id":"a"}]} x"#;
        assert_eq!(
            pieces(body),
            vec![
                part(Part::Before, r#"{"meta": {"results": [1]}, "#),
                event(0, r#"{"id":"a"}"#),
                part(Part::After, "x")
            ]
        );
    }

    #[test]
    fn a_second_results_key_keeps_the_body_whole() {
        let body = br#"{"results": [{"id":"a"}], "results": [{"id":"b"}]}"#;
        let Split::Pieces(split) = split(body) else {
            panic!("refused")
        };
        assert_eq!(split.whole_reason(), Some(TWO_RESULTS));
        assert_eq!(
            pieces(body),
            vec![part(Part::Whole, std::str::from_utf8(body).unwrap())]
        );
    }

    #[test]
    fn a_well_formed_batch_is_split_as_serde_reads_it() {
        let body = b"{ \"results\" : [ {\"id\": \"a\", \"x\": [1, {\"y\": \"]}\"}]} ,\n\"s\\\"\" , 12.5e3 , null ] , \"n\": 1 }";
        assert_eq!(
            pieces(body),
            vec![
                event(0, r#"{"id": "a", "x": [1, {"y": "]}"}]}"#),
                event(1, r#""s\"""#),
                event(2, "12.5e3"),
                event(3, "null")
            ]
        );
    }
}
