//! Turning a delivery into rows: decode, judge each event, hash dead letters.

use kyc_webhooks::predictaid::Secrets;
use sha2::{Digest, Sha256};

use crate::decode::{self, Meta};
use crate::recover::{self, Split};
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

/// Cuts `text` to [`MAX_ERROR_LEN`] bytes at a character boundary.
pub(crate) fn bounded(mut text: String) -> String {
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

fn dead(provider: Provider, index: Option<usize>, bytes: &[u8], error: String) -> Row {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    Row::Dead(NewDeadLetter {
        provider,
        content_sha256: hex,
        batch_index: index.map(|i| i as i64),
        error: bounded(error),
        body: bytes.to_vec(),
    })
}

const EMPTY_ID: &str = "the event's id is empty: it cannot be deduplicated";

/// Plans a Spektr batch: every event a row, good or dead. Linear in the body.
pub(crate) fn plan_spektr(body: &[u8]) -> Result<Vec<Planned>> {
    let pieces = match recover::split(body) {
        Split::Pieces(pieces) => pieces,
        Split::NotABatch(reason) => return Err(Error::NotABatch(bounded(reason))),
    };
    Ok(pieces
        .into_iter()
        .map(|piece| {
            let index = piece.index;
            match decode::spektr_event(piece.bytes) {
                Ok((_, meta)) => decoded(Provider::Spektr, index, piece.bytes, meta),
                Err(error) => {
                    let error = match index {
                        Some(i) => format!("results[{i}]: {error}"),
                        None => format!("the body could not be split into events: {error}"),
                    };
                    Planned {
                        index,
                        id: None,
                        row: dead(Provider::Spektr, index, piece.bytes, error),
                    }
                }
            }
        })
        .collect())
}

/// The row of an event that decoded: an event, or a dead letter when its id
/// is empty (an empty id cannot deduplicate).
fn decoded(provider: Provider, index: Option<usize>, bytes: &[u8], meta: Meta) -> Planned {
    if meta.id.is_empty() {
        return Planned {
            index,
            id: None,
            row: dead(provider, index, bytes, EMPTY_ID.to_owned()),
        };
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
            decoded(Provider::PredictaId, None, body, meta)
        }
        Err(error) => Planned {
            index: None,
            id: None,
            row: dead(Provider::PredictaId, None, body, error.to_string()),
        },
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
