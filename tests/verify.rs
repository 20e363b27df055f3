//! PredictaID signature verification against fixed vectors: RFC 4231's, and
//! signatures over the fixture bodies computed independently (Python's `hmac`
//! module) and kept in `fixtures/predictaid/signatures/vectors.json`. Adding a
//! vector there adds a test case.

mod common;

use common::fixture;
use kyc_webhooks::predictaid::{self, Secrets};
use kyc_webhooks::{Error, ErrorKind, Provider};
use serde::Deserialize;

/// RFC 4231, test case 2.
const RFC4231_2_KEY: &[u8] = b"Jefe";
const RFC4231_2_DATA: &[u8] = b"what do ya want for nothing?";
const RFC4231_2_HMAC_SHA256: &str =
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

#[test]
fn rfc4231_test_case_2() {
    assert_eq!(
        predictaid::sign(RFC4231_2_DATA, RFC4231_2_KEY),
        RFC4231_2_HMAC_SHA256
    );
    predictaid::verify(RFC4231_2_DATA, RFC4231_2_HMAC_SHA256, RFC4231_2_KEY).unwrap();
}

#[test]
fn rfc4231_test_cases_1_and_6() {
    // Case 1: a 20-byte key; case 6: a 131-byte key, longer than the block, hashed first.
    let cases: [(&[u8], &[u8], &str); 2] = [
        (
            &[0x0b; 20],
            b"Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
    ];
    for (key, data, expected) in cases {
        assert_eq!(predictaid::sign(data, key), expected);
        predictaid::verify(data, expected, key).unwrap();
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    /// Relative to `fixtures/predictaid/`.
    file: String,
    /// Used as its UTF-8 bytes.
    secret: String,
    /// Lowercase hex, as computed by Python's `hmac`.
    signature: String,
}

fn vectors() -> Vec<(Vector, Vec<u8>)> {
    let text = fixture("predictaid/signatures/vectors.json");
    let vectors: Vec<Vector> = serde_json::from_slice(&text).unwrap();
    assert!(vectors.len() >= 5, "too few signature vectors");
    vectors
        .into_iter()
        .map(|vector| {
            let body = fixture(&format!("predictaid/{}", vector.file));
            (vector, body)
        })
        .collect()
}

#[test]
fn fixture_vectors_verify_and_sign_alike() {
    for (vector, body) in vectors() {
        let secret = vector.secret.as_bytes();
        let context = &vector.file;
        assert_eq!(
            predictaid::sign(&body, secret),
            vector.signature,
            "{context}"
        );
        predictaid::verify(&body, &vector.signature, secret)
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        predictaid::verify(&body, &vector.signature.to_uppercase(), secret)
            .unwrap_or_else(|e| panic!("{context} (uppercase): {e}"));
        let event = predictaid::construct_event(&body, &vector.signature, secret)
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_eq!(event, predictaid::parse(&body).unwrap(), "{context}");
        predictaid::check_event_id(&event, Some(&event.id)).unwrap();
    }
}

#[test]
fn fixture_vectors_refuse_any_other_secret_or_body() {
    let vectors = vectors();
    for (vector, body) in &vectors {
        let context = &vector.file;
        // Every other vector's secret is a wrong secret for this body.
        for (other, _) in vectors.iter().filter(|(o, _)| o.secret != vector.secret) {
            let err =
                predictaid::verify(body, &vector.signature, other.secret.as_bytes()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::SignatureMismatch, "{context}");
        }
        // Each single-byte change of the body is caught (first, middle, last byte).
        for at in [0, body.len() / 2, body.len() - 1] {
            let mut tampered = body.clone();
            tampered[at] ^= 0x01;
            let err = predictaid::verify(&tampered, &vector.signature, vector.secret.as_bytes())
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::SignatureMismatch, "{context} @{at}");
        }
    }
}

/// A body, its secret and the signature PredictaID would send.
fn signed() -> (Vec<u8>, &'static [u8], String) {
    let body = fixture("predictaid/session.created.json");
    let secret: &[u8] = b"whsec_5f2a0c9e1b7d4a38";
    let signature = predictaid::sign(&body, secret);
    (body, secret, signature)
}

/// Asserts the error's kind and provider, and that its message (and Debug
/// output) reveals no part of the expected signature.
fn assert_refused(err: &Error, kind: ErrorKind, expected_signature: &str, context: &str) {
    assert_eq!(err.kind(), kind, "{context}: {err}");
    assert_eq!(err.provider(), Some(Provider::PredictaId), "{context}");
    assert_eq!(err.index(), None, "{context}");
    assert!(!err.is_envelope(), "{context}");
    for shown in [err.to_string(), format!("{err:?}")] {
        let shown = shown.to_lowercase();
        // No 8 consecutive hex digits of the expected value, anywhere.
        for window in expected_signature.as_bytes().windows(8) {
            let window = std::str::from_utf8(window).unwrap();
            assert!(
                !shown.contains(window),
                "{context}: message reveals part of the signature: {shown}"
            );
        }
    }
}

#[test]
fn headers_that_carry_no_signature_are_missing() {
    let (body, secret, expected) = signed();
    for header in ["", " ", "\t \r\n"] {
        let err = predictaid::verify(&body, header, secret).unwrap_err();
        assert_refused(
            &err,
            ErrorKind::MissingSignature,
            &expected,
            &format!("{header:?}"),
        );
    }
}

#[test]
fn headers_that_are_not_64_hex_digits_are_malformed() {
    let (body, secret, expected) = signed();
    let cases = [
        ("odd length", expected[..63].to_owned()),
        ("truncated to 32 digits", expected[..32].to_owned()),
        ("truncated to 2 digits", expected[..2].to_owned()),
        ("one digit too many", format!("{expected}0")),
        ("doubled", expected.repeat(2)),
        ("non-hex digit", format!("{}g", &expected[..63])),
        ("non-hex only", "z".repeat(64)),
        ("sha256= prefix", format!("sha256={expected}")),
        ("0x prefix", format!("0x{}", &expected[..62])),
        (
            "space inside",
            format!("{} {}", &expected[..32], &expected[33..]),
        ),
        ("sign character", format!("+{}", &expected[1..])),
        ("multi-byte character", format!("é{}", &expected[2..])),
        (
            "base64 of the tag",
            "Tui4nRhAZ2sMuXeH/dlJVT9NvtbSvbsG5wArGFmrJcg=".to_owned(),
        ),
    ];
    for (what, header) in cases {
        let err = predictaid::verify(&body, &header, secret).unwrap_err();
        assert_refused(&err, ErrorKind::MalformedSignature, &expected, what);
    }
}

#[test]
fn uppercase_mixed_case_and_surrounding_whitespace_are_accepted() {
    let (body, secret, expected) = signed();
    let mixed: String = expected
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    for header in [
        expected.to_uppercase(),
        mixed,
        format!("  {expected}"),
        format!("{expected}\t"),
        format!(" \t{}\r\n", expected.to_uppercase()),
    ] {
        predictaid::verify(&body, &header, secret).unwrap_or_else(|e| panic!("{header:?}: {e}"));
    }
}

#[test]
fn a_wrong_secret_a_tampered_body_or_a_wrong_signature_mismatch() {
    let (body, secret, expected) = signed();

    let err = predictaid::verify(&body, &expected, b"whsec_5f2a0c9e1b7d4a39").unwrap_err();
    assert_refused(
        &err,
        ErrorKind::SignatureMismatch,
        &expected,
        "wrong secret",
    );

    let mut tampered = body.clone();
    let at = tampered.iter().position(|&b| b == b'P').unwrap(); // "PENDING" -> "QENDING"
    tampered[at] = b'Q';
    let err = predictaid::verify(&tampered, &expected, secret).unwrap_err();
    let tampered_expected = predictaid::sign(&tampered, secret);
    assert_refused(
        &err,
        ErrorKind::SignatureMismatch,
        &tampered_expected,
        "tampered",
    );

    // One extra byte at the end (a trailing newline added by a proxy).
    let mut longer = body.clone();
    longer.push(b'\n');
    let err = predictaid::verify(&longer, &expected, secret).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignatureMismatch);

    // Well-formed but wrong: all zeros, and the right tag with its last digit changed.
    let mut off_by_one = expected.clone().into_bytes();
    let last = off_by_one.len() - 1;
    off_by_one[last] = if off_by_one[last] == b'0' { b'1' } else { b'0' };
    for header in ["0".repeat(64), String::from_utf8(off_by_one).unwrap()] {
        let err = predictaid::verify(&body, &header, secret).unwrap_err();
        assert_refused(&err, ErrorKind::SignatureMismatch, &expected, &header);
    }

    // The signature of the empty body does not pass for this one.
    let err = predictaid::verify(&body, &predictaid::sign(b"", secret), secret).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignatureMismatch);
}

#[test]
fn an_empty_secret_is_refused_even_with_its_own_signature() {
    let (body, _, _) = signed();
    let forged = predictaid::sign(&body, b"");
    let err = predictaid::verify(&body, &forged, b"").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignatureMismatch);
    let err = predictaid::verify_any(&body, &forged, &[b"", b""]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignatureMismatch);
    assert!(Secrets::new([""]).is_empty());
}

#[test]
fn a_rotated_secret_is_accepted_in_either_position() {
    let (body, old, _) = signed();
    let new: &[u8] = b"whsec_rotated_2026";
    for signing_secret in [old, new] {
        let header = predictaid::sign(&body, signing_secret);
        for secrets in [[old, new], [new, old]] {
            predictaid::verify_any(&body, &header, &secrets).unwrap();
            predictaid::construct_event_any(&body, &header, &secrets).unwrap();
            let set = Secrets::new(secrets);
            assert_eq!(set.len(), 2);
            set.verify(&body, &header).unwrap();
            set.construct_event(&body, &header).unwrap();
        }
        // An empty secret beside the right one is skipped, not fatal.
        predictaid::verify_any(&body, &header, &[b"", signing_secret]).unwrap();
    }
    // Neither secret: refused, and the message does not reveal either expected value.
    let header = predictaid::sign(&body, b"whsec_third");
    let err = predictaid::verify_any(&body, &header, &[old, new]).unwrap_err();
    assert_refused(
        &err,
        ErrorKind::SignatureMismatch,
        &predictaid::sign(&body, old),
        "two secrets",
    );
    assert_refused(
        &err,
        ErrorKind::SignatureMismatch,
        &predictaid::sign(&body, new),
        "two secrets",
    );
}

#[test]
fn an_empty_secret_list_is_refused() {
    let (body, secret, expected) = signed();
    let err = predictaid::verify_any(&body, &expected, &[]).unwrap_err();
    assert_refused(&err, ErrorKind::SignatureMismatch, &expected, "no secrets");
    let err = predictaid::construct_event_any(&body, &expected, &[]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignatureMismatch);

    let none = Secrets::new(Vec::<&[u8]>::new());
    assert!(none.is_empty());
    assert_eq!(
        none.verify(&body, &expected).unwrap_err().kind(),
        ErrorKind::SignatureMismatch
    );
    // The header is still checked first: a missing one says so.
    assert_eq!(
        none.verify(&body, "").unwrap_err().kind(),
        ErrorKind::MissingSignature
    );
    Secrets::from(secret).verify(&body, &expected).unwrap();
}

#[test]
fn secrets_do_not_show_in_debug_output() {
    let secrets = Secrets::new(["whsec_new_123", "whsec_old_456"]);
    let shown = format!("{secrets:?}");
    assert_eq!(shown, "Secrets { count: 2, .. }");
    let single: Secrets = String::from("whsec_only").into();
    assert_eq!(single.len(), 1);
    let collected: Secrets = ["a", "", "b"].into_iter().collect();
    assert_eq!(collected.len(), 2);
}

#[test]
fn nothing_is_parsed_before_the_signature_holds() {
    let secret: &[u8] = b"whsec_test";
    let not_json = b"\xff\xfe not json at all";
    // Unsigned or wrongly signed: a signature error, not a parse error.
    for header in ["", "abc", &predictaid::sign(not_json, b"other")] {
        let err = predictaid::construct_event(not_json, header, secret).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::MissingSignature
                    | ErrorKind::MalformedSignature
                    | ErrorKind::SignatureMismatch
            ),
            "{header:?}: {err}"
        );
    }
    // Authentic but not an event: now the parse error, for a dead-letter store.
    let header = predictaid::sign(not_json, secret);
    let err = predictaid::construct_event(not_json, &header, secret).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Syntax);
    let truncated = br#"{"id": "evt_1", "type": "session.created""#;
    let header = predictaid::sign(truncated, secret);
    let err = predictaid::construct_event(truncated, &header, secret).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Eof);
}

#[test]
fn the_event_id_header_must_agree_with_the_body() {
    let (body, secret, header) = signed();
    let event = predictaid::construct_event(&body, &header, secret).unwrap();
    assert_eq!(event.id, "evt_203b878966105af9dd9a68b9");

    predictaid::check_event_id(&event, None).unwrap();
    predictaid::check_event_id(&event, Some("evt_203b878966105af9dd9a68b9")).unwrap();
    predictaid::check_event_id(&event, Some(" evt_203b878966105af9dd9a68b9 ")).unwrap();

    for replayed_as in ["evt_someone_else", "", "EVT_203B878966105AF9DD9A68B9"] {
        let err = predictaid::check_event_id(&event, Some(replayed_as)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::EventIdMismatch, "{replayed_as:?}");
        assert_eq!(err.provider(), Some(Provider::PredictaId));
    }
    // A huge header is quoted shortened.
    let huge = "x".repeat(10_000);
    let err = predictaid::check_event_id(&event, Some(&huge)).unwrap_err();
    assert!(err.to_string().len() < 500, "{err}");
}

#[test]
fn header_name_constants() {
    assert_eq!(predictaid::SIGNATURE_HEADER, "X-PredictAid-Signature");
    assert_eq!(predictaid::EVENT_ID_HEADER, "X-PredictAid-Event-ID");
    assert_eq!(predictaid::USER_AGENT, "PredictAid-Webhook-Dispatcher/1.0");
}
