//! Turning a delivery into rows: decode, judge each event, hash dead letters.

use chrono::Datelike;
use kyc_webhooks::predictaid::Secrets;

use crate::decode::{self, Meta};
use crate::recover::{self, Part, Split};
use crate::store::{NewDeadLetter, NewEvent, Row};
use crate::{Error, Provider, Result};

/// Longest error text kept with a dead letter, in bytes: the core's messages
/// can quote the offending value, which a sender controls.
pub const MAX_ERROR_LEN: usize = 1_000;

/// One event of a delivery, judged, before it is stored.
pub(crate) struct Planned {
    pub index: Option<usize>,
    pub id: Option<String>,
    pub row: Row,
}

/// Cuts `text` to [`MAX_ERROR_LEN`] bytes at a character boundary, with any
/// NUL (which a sender can have quoted into a message, and which PostgreSQL's
/// `text` cannot hold) written as `\0`.
pub(crate) fn bounded(mut text: String) -> String {
    if text.contains('\0') {
        text = text.replace('\0', "\\0");
    }
    if text.len() > MAX_ERROR_LEN {
        let mut end = MAX_ERROR_LEN - 3;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// A piece of a delivery planned as a dead letter (it has no id to report).
fn dead(provider: Provider, index: Option<usize>, bytes: &[u8], error: String) -> Planned {
    Planned {
        index,
        id: None,
        row: Row::Dead(NewDeadLetter::new(
            provider,
            index.map(|i| i as i64),
            bytes.to_vec(),
            error,
        )),
    }
}

const EMPTY_ID: &str = "the event's id is empty: it cannot be deduplicated";

/// Longest id or subject stored as an event, in bytes: both are indexed, and
/// PostgreSQL refuses an index entry of more than about 2.7 kB. A longer one
/// is a dead letter on either backend, so that both keep the same promise.
pub const MAX_ID_LEN: usize = 1_000;

/// Why an event that decoded cannot be stored as an event, if it cannot: what
/// either backend would refuse is found here, before the insert, so that the
/// event becomes a dead letter with the reason instead of failing the commit
/// it shares with other deliveries.
fn unstorable(meta: &Meta) -> Option<String> {
    if meta.id.is_empty() {
        return Some(EMPTY_ID.to_owned());
    }
    for (what, text) in [
        ("id", &meta.id),
        ("subject", &meta.subject),
        ("type", &meta.type_name),
    ] {
        if text.contains('\0') {
            return Some(format!(
                "the event's {what} holds a NUL character (\\u0000), which the database cannot store"
            ));
        }
        if text.len() > MAX_ID_LEN {
            return Some(format!(
                "the event's {what} is {} bytes long, more than the {MAX_ID_LEN} the inbox stores",
                text.len()
            ));
        }
    }
    // PostgreSQL's timestamptz starts in 4714 BC; chrono goes further back.
    if meta.occurred_at.year() < -4712 {
        return Some(format!(
            "the event's timestamp {} is before 4713 BC, out of the database's range",
            meta.occurred_at
        ));
    }
    None
}

/// Most pieces of one Spektr delivery stored as dead letters one by one:
/// past them, the rest of the body is one dead letter, unread. A body of
/// millions of tiny broken events so costs a bounded number of rows (and of
/// error messages), not millions.
pub const MAX_DEAD_LETTERS_PER_DELIVERY: usize = 1_000;

/// Plans a Spektr batch: every event a row, good or dead. Linear in the body.
pub(crate) fn plan_spektr(body: &[u8]) -> Result<Vec<Planned>> {
    let mut planned = Vec::new();
    plan_spektr_with(body, |_, row| planned.push(row))?;
    Ok(planned)
}

/// Plans a Spektr batch, handing each row to `each` with the offset in the
/// body where its bytes start, in body order. At most
/// [`MAX_DEAD_LETTERS_PER_DELIVERY`] + 1 dead letters.
pub(crate) fn plan_spektr_with(body: &[u8], mut each: impl FnMut(usize, Planned)) -> Result<()> {
    let pieces = match recover::split(body) {
        Split::Pieces(pieces) => pieces,
        Split::NotABatch(reason) => return Err(Error::NotABatch(bounded(reason))),
    };
    let whole_reason = pieces.whole_reason();
    let mut rejected = 0usize;
    let mut pieces = pieces.peekable();
    while let Some(piece) = pieces.next() {
        let index = piece.index;
        let planned = match piece.part {
            Part::Event => match decode::spektr_event(piece.bytes) {
                Ok((_, meta)) => decoded(Provider::Spektr, index, piece.bytes, meta),
                Err(error) => {
                    let error = format!("results[{}]: {error}", index.unwrap_or(0));
                    dead(Provider::Spektr, index, piece.bytes, error)
                }
            },
            Part::Whole => {
                let error = match whole_reason {
                    Some(reason) => format!("{reason}: kept whole"),
                    None => match decode::spektr_event(piece.bytes) {
                        Ok(_) => "the body is one event, not a batch".to_owned(),
                        Err(error) => format!("the body could not be split into events: {error}"),
                    },
                };
                dead(Provider::Spektr, index, piece.bytes, error)
            }
            Part::Before => {
                let error = "text before the batch's \"results\" key".to_owned();
                dead(Provider::Spektr, index, piece.bytes, error)
            }
            Part::After => {
                let error = "bytes after the batch's \"results\" array".to_owned();
                dead(Provider::Spektr, index, piece.bytes, error)
            }
        };
        if matches!(planned.row, Row::Dead(_)) {
            rejected += 1;
            if rejected > MAX_DEAD_LETTERS_PER_DELIVERY && pieces.peek().is_some() {
                // Too many: this piece and everything after it, as sent.
                let rest = &body[piece.start..];
                let what = match index {
                    Some(i) => format!("results[{i}] and the rest of the body"),
                    None => "the rest of the body".to_owned(),
                };
                let error = format!(
                    "{what} ({} bytes), kept as one dead letter unread: more than \
                     {MAX_DEAD_LETTERS_PER_DELIVERY} pieces of this delivery could not be stored as \
                     events",
                    rest.len()
                );
                each(piece.start, dead(Provider::Spektr, index, rest, error));
                return Ok(());
            }
        }
        each(piece.start, planned);
    }
    Ok(())
}

/// The row of an event that decoded: an event, or a dead letter when it
/// cannot be stored as one (an empty id cannot deduplicate; see [`unstorable`]).
fn decoded(provider: Provider, index: Option<usize>, bytes: &[u8], meta: Meta) -> Planned {
    if let Some(reason) = unstorable(&meta) {
        let reason = match index {
            Some(i) => format!("results[{i}]: {reason}"),
            None => reason,
        };
        return dead(provider, index, bytes, reason);
    }
    Planned {
        index,
        id: Some(meta.id.clone()),
        row: Row::Event(NewEvent {
            provider,
            event_id: meta.id,
            event_type: meta.type_name,
            subject: meta.subject,
            occurred_at: meta.occurred_at,
            // Decoding succeeded, so the bytes are UTF-8.
            body: String::from_utf8_lossy(bytes).into_owned(),
            batch_index: index.map(|i| i as i64),
            // PredictaID's are, once verified: see `plan_predictaid`.
            authenticated: false,
        }),
    }
}

/// Plans a PredictaID delivery: authenticated first, then one row.
pub(crate) fn plan_predictaid(
    secrets: &Secrets,
    body: &[u8],
    signature: Option<&str>,
    event_id_header: Option<&str>,
) -> Result<Planned> {
    secrets
        .verify(body, signature.unwrap_or(""))
        .map_err(Error::Unauthenticated)?;
    Ok(match decode::predictaid_event(body) {
        Ok((event, meta)) => {
            decode::check_predictaid_event_id(&event, event_id_header)
                .map_err(Error::EventIdMismatch)?;
            let mut planned = decoded(Provider::PredictaId, None, body, meta);
            if let Row::Event(event) = &mut planned.row {
                event.authenticated = true;
            }
            planned
        }
        Err(error) => dead(Provider::PredictaId, None, body, error.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_are_cut_at_a_character_boundary() {
        let cut = bounded("é".repeat(2_000));
        assert!(cut.len() <= MAX_ERROR_LEN);
        assert!(cut.ends_with('…'));
        assert_eq!(bounded("short".to_owned()), "short");
    }
}
