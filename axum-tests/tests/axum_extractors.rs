//! The axum extractors, driven with `tower::ServiceExt::oneshot`: every way a
//! request is refused, and what a handler gets when it is not.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use http_body::Frame;
use kyc_webhooks::axum::{
    PredictaIdDelivery, PredictaIdRejection, SpektrDelivery, SpektrRejection, DEFAULT_BODY_LIMIT,
};
use kyc_webhooks::predictaid::{self, Secrets};
use kyc_webhooks::ErrorKind;
use tower::ServiceExt;

const SECRET: &str = "whsec_extractor_test";

/// A request body that fails when it is read, like a dropped connection: tells
/// whether (and when) an extractor reads the body.
struct FailingBody;

impl HttpBody for FailingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::other("connection lost"))))
    }
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Answers with what the extractor handed over: the ids of the good events,
/// then each rejected event's index and raw text.
async fn spektr_handler(delivery: SpektrDelivery) -> String {
    let mut out = String::new();
    for event in &delivery.events {
        out.push_str(&format!("event {}\n", event.id));
    }
    for rejected in &delivery.rejected {
        out.push_str(&format!(
            "rejected {} {}\n",
            rejected.index(),
            rejected.raw_json()
        ));
    }
    out
}

/// 200 with the event id, or 202 with the parse error's kind and the raw body.
async fn predictaid_handler(delivery: PredictaIdDelivery) -> Response {
    match delivery.event {
        Ok(event) => (StatusCode::OK, format!("event {}", event.id)).into_response(),
        Err(error) => {
            let mut out = format!("unparsed {:?}\n", error.kind()).into_bytes();
            out.extend_from_slice(&delivery.body);
            (StatusCode::ACCEPTED, out).into_response()
        }
    }
}

/// Reports the rejection's error kind, to check the kinds through the extractor.
async fn predictaid_kind_handler(
    delivery: Result<PredictaIdDelivery, PredictaIdRejection>,
) -> Response {
    match delivery {
        Ok(_) => "ok".into_response(),
        Err(rejection) => {
            let kind = rejection.error().map(|e| e.kind());
            (rejection.status(), format!("{kind:?}")).into_response()
        }
    }
}

fn app(secrets: Secrets) -> Router {
    Router::new()
        .route("/spektr", post(spektr_handler))
        .route("/predictaid", post(predictaid_handler))
        .route("/predictaid/kind", post(predictaid_kind_handler))
        .with_state(secrets)
}

fn request(uri: &str, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Request<Body> {
    let mut builder = Request::builder().method("POST").uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(body.into())).unwrap()
}

fn signed(uri: &str, body: &[u8], secret: &str) -> Request<Body> {
    let signature = predictaid::sign(body, secret.as_bytes());
    request(
        uri,
        &[(predictaid::SIGNATURE_HEADER, &signature)],
        body.to_vec(),
    )
}

async fn send(app: Router, request: Request<Body>) -> (StatusCode, Bytes) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, body)
}

async fn send_text(app: Router, request: Request<Body>) -> (StatusCode, String) {
    let (status, body) = send(app, request).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

// ---- Spektr ----

#[tokio::test]
async fn spektr_batch_hands_over_every_event() {
    let body = fixture("spektr/batches/all-types.json");
    let expected = kyc_webhooks::spektr::parse_batch(&body).unwrap();
    let (status, text) = send_text(app(Secrets::from(SECRET)), request("/spektr", &[], body)).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = text
        .lines()
        .map(|l| l.trim_start_matches("event "))
        .collect();
    let expected: Vec<&str> = expected.results.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn spektr_broken_event_comes_raw_beside_the_good_ones() {
    let broken = r#"{ "id" : "b1", "spektrId": "s", "eventType": "step_init", "timestamp": 1, "data": {"processId": 7} }"#;
    // A documented event from the fixtures, with the id "g2".
    let mut tag: serde_json::Value =
        serde_json::from_slice(&fixture("spektr/customer_tag_add.json")).unwrap();
    tag["id"] = "g2".into();
    let body = format!(
        r#"{{"results": [
  {{"id": "g1", "spektrId": "s", "eventType": "a_future_type", "timestamp": 1, "data": {{}}}},
  {broken},
  {tag}
]}}"#
    );
    let (status, text) = send_text(app(Secrets::from(SECRET)), request("/spektr", &[], body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        text,
        format!("event g1\nevent g2\nrejected 1 {broken}\n"),
        "raw text must be byte-exact"
    );
}

#[tokio::test]
async fn spektr_body_that_is_not_a_batch_is_400() {
    for body in [
        &b"not json"[..],
        b"",
        b"{}",
        b"[]",
        br#"{"results": {}}"#,
        br#"{"results": ["#,
        b"\xff\xfe",
    ] {
        let (status, text) =
            send_text(app(Secrets::from(SECRET)), request("/spektr", &[], body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}");
        assert!(text.starts_with("not a Spektr delivery: "), "{text}");
    }
}

#[tokio::test]
async fn spektr_body_over_the_route_limit_is_413() {
    let app = app(Secrets::from(SECRET)).layer(DefaultBodyLimit::max(1024));
    let body = fixture("spektr/batches/all-types.json");
    assert!(body.len() > 1024);
    let (status, _) = send(app, request("/spektr", &[], body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// A valid batch of about 3 MB: over axum's 2 MB default, under DEFAULT_BODY_LIMIT.
fn big_batch() -> Vec<u8> {
    let one: serde_json::Value =
        serde_json::from_slice(&fixture("spektr/batches/all-types.json")).unwrap();
    let events = one["results"].as_array().unwrap();
    let mut results = Vec::new();
    let mut size = 0;
    while size < 3_000_000 {
        for event in events {
            size += event.to_string().len();
            results.push(event.clone());
        }
    }
    serde_json::to_vec(&serde_json::json!({ "results": results })).unwrap()
}

#[tokio::test]
async fn axum_default_limit_refuses_a_large_batch_that_default_body_limit_accepts() {
    let body = big_batch();
    assert!(body.len() > 2_097_152 && body.len() < DEFAULT_BODY_LIMIT);

    let (status, _) = send(
        app(Secrets::from(SECRET)),
        request("/spektr", &[], body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "axum's 2 MB default");

    let raised = app(Secrets::from(SECRET)).layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT));
    let (status, _) = send(raised, request("/spektr", &[], body)).await;
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn spektr_rejection_statuses() {
    let error = kyc_webhooks::spektr::parse_batch_lenient(b"x").unwrap_err();
    let rejection = SpektrRejection::NotABatch(error);
    assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
    assert!(std::error::Error::source(&rejection).is_some());
}

// ---- PredictaID ----

#[tokio::test]
async fn predictaid_signed_event_is_handed_over() {
    let body = fixture("predictaid/session.created.json");
    let (status, text) = send_text(
        app(Secrets::from(SECRET)),
        signed("/predictaid", &body, SECRET),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text, "event evt_203b878966105af9dd9a68b9");
}

#[tokio::test]
async fn predictaid_bad_signatures_are_401_with_one_generic_text() {
    let body = fixture("predictaid/session.created.json");
    let good = predictaid::sign(&body, SECRET.as_bytes());
    let wrong_secret = predictaid::sign(&body, b"whsec_other");
    let mut tampered = body.clone();
    tampered[10] ^= 1;

    let cases: Vec<(&str, Request<Body>, ErrorKind)> = vec![
        (
            "missing header",
            request("/predictaid", &[], body.clone()),
            ErrorKind::MissingSignature,
        ),
        (
            "empty header",
            request(
                "/predictaid",
                &[(predictaid::SIGNATURE_HEADER, "")],
                body.clone(),
            ),
            ErrorKind::MissingSignature,
        ),
        (
            "truncated",
            request(
                "/predictaid",
                &[(predictaid::SIGNATURE_HEADER, &good[..40])],
                body.clone(),
            ),
            ErrorKind::MalformedSignature,
        ),
        (
            "not hex",
            request(
                "/predictaid",
                &[(predictaid::SIGNATURE_HEADER, &"g".repeat(64))],
                body.clone(),
            ),
            ErrorKind::MalformedSignature,
        ),
        (
            "prefixed",
            request(
                "/predictaid",
                &[(predictaid::SIGNATURE_HEADER, &format!("sha256={good}"))],
                body.clone(),
            ),
            ErrorKind::MalformedSignature,
        ),
        (
            "two headers",
            request(
                "/predictaid",
                &[
                    (predictaid::SIGNATURE_HEADER, &good),
                    (predictaid::SIGNATURE_HEADER, &good),
                ],
                body.clone(),
            ),
            ErrorKind::MalformedSignature,
        ),
        (
            "wrong secret",
            request(
                "/predictaid",
                &[(predictaid::SIGNATURE_HEADER, &wrong_secret)],
                body.clone(),
            ),
            ErrorKind::SignatureMismatch,
        ),
        (
            "tampered body",
            request(
                "/predictaid",
                &[(predictaid::SIGNATURE_HEADER, &good)],
                tampered.clone(),
            ),
            ErrorKind::SignatureMismatch,
        ),
    ];
    for (what, req, kind) in cases {
        // The plain extractor: 401 and a text that says nothing more.
        let (mut parts, req_body) = req.into_parts();
        let bytes = axum::body::to_bytes(req_body, usize::MAX).await.unwrap();
        let plain = Request::from_parts(parts.clone(), Body::from(bytes.clone()));
        let (status, text) = send_text(app(Secrets::from(SECRET)), plain).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(text, "invalid webhook signature", "{what}");
        assert!(!text.contains(&good));

        // Through Result<_, Rejection>: the kind is there for the logs.
        parts.uri = "/predictaid/kind".parse().unwrap();
        let detailed = Request::from_parts(parts, Body::from(bytes));
        let (status, text) = send_text(app(Secrets::from(SECRET)), detailed).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(text, format!("{:?}", Some(kind)), "{what}");
    }
}

#[tokio::test]
async fn predictaid_header_that_is_not_ascii_is_401() {
    let body = fixture("predictaid/session.created.json");
    let mut req = request("/predictaid/kind", &[], body);
    req.headers_mut().insert(
        predictaid::SIGNATURE_HEADER,
        HeaderValue::from_bytes(&[0xe9; 64]).unwrap(),
    );
    let (status, text) = send_text(app(Secrets::from(SECRET)), req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(text, format!("{:?}", Some(ErrorKind::MalformedSignature)));
}

#[tokio::test]
async fn predictaid_header_name_and_value_are_read_leniently() {
    let body = fixture("predictaid/session.created.json");
    let signature = predictaid::sign(&body, SECRET.as_bytes()).to_uppercase();
    let req = request(
        "/predictaid",
        &[("x-predictaid-signature", &format!(" {signature} "))],
        body,
    );
    let (status, _) = send_text(app(Secrets::from(SECRET)), req).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn predictaid_headers_are_checked_before_the_body_is_read() {
    // A body far over the limit: had it been read first, the answer would be 413.
    let big = vec![b'x'; 64 * 1024];
    let app = || app(Secrets::from(SECRET)).layer(DefaultBodyLimit::max(1024));
    let (status, _) = send(app(), request("/predictaid", &[], big.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(
        app(),
        request(
            "/predictaid",
            &[(predictaid::SIGNATURE_HEADER, "nothex")],
            big.clone(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A well-formed header: the body is read, and the limit applies.
    let (status, _) = send(app(), signed("/predictaid", &big, SECRET)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_body_that_fails_to_arrive_is_400_but_only_once_read() {
    let failing = |uri: &str, headers: &[(&str, &str)]| {
        let mut builder = Request::builder().method("POST").uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::new(FailingBody)).unwrap()
    };
    let (status, _) = send(app(Secrets::from(SECRET)), failing("/spektr", &[])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // No signature: refused on the headers, the body never read.
    let (status, text) = send_text(app(Secrets::from(SECRET)), failing("/predictaid", &[])).await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid webhook signature")
    );
    // A well-formed one: the body is read, and its failure answered.
    let signature = "ab".repeat(32);
    let (status, _) = send(
        app(Secrets::from(SECRET)),
        failing("/predictaid", &[(predictaid::SIGNATURE_HEADER, &signature)]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn predictaid_event_id_header_must_agree_with_the_body() {
    let body = fixture("predictaid/session.created.json");
    let signature = predictaid::sign(&body, SECRET.as_bytes());
    let with_id = |id: &str| {
        request(
            "/predictaid/kind",
            &[
                (predictaid::SIGNATURE_HEADER, &signature),
                (predictaid::EVENT_ID_HEADER, id),
            ],
            body.clone(),
        )
    };
    let (status, text) = send_text(
        app(Secrets::from(SECRET)),
        with_id("evt_203b878966105af9dd9a68b9"),
    )
    .await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "ok"));

    let (status, text) = send_text(app(Secrets::from(SECRET)), with_id("evt_replayed")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(text, format!("{:?}", Some(ErrorKind::EventIdMismatch)));

    // The plain extractor's answer.
    let mut req = with_id("evt_replayed");
    *req.uri_mut() = "/predictaid".parse().unwrap();
    let (status, text) = send_text(app(Secrets::from(SECRET)), req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(text, "the event id header does not match the signed body");

    // A second, disagreeing header is caught too.
    let mut req = with_id("evt_203b878966105af9dd9a68b9");
    req.headers_mut().append(
        predictaid::EVENT_ID_HEADER,
        HeaderValue::from_static("evt_other"),
    );
    let (status, _) = send_text(app(Secrets::from(SECRET)), req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn predictaid_authentic_body_that_does_not_parse_is_handed_over_raw() {
    let cases: [(&[u8], ErrorKind); 4] = [
        (b"not json \xff at all", ErrorKind::Syntax),
        (br#"{"id": "evt_1", "type": "session.created""#, ErrorKind::Eof),
        (
            br#"{"id": "evt_1", "type": "kyt.transaction.pipeline.completed", "occurredAt": "2026-03-23T12:00:00.000Z",
                "companyId": "c", "aggregateType": "KYT_TRANSACTION", "aggregateId": "a", "version": "v1",
                "data": {"alertCount": "many"}}"#,
            ErrorKind::Data,
        ),
        (b"", ErrorKind::Eof),
    ];
    for (body, kind) in cases {
        // The event-id header cannot be compared with an unreadable body: not a refusal.
        let signature = predictaid::sign(body, SECRET.as_bytes());
        let req = request(
            "/predictaid",
            &[
                (predictaid::SIGNATURE_HEADER, &signature),
                (predictaid::EVENT_ID_HEADER, "evt_whatever"),
            ],
            body,
        );
        let (status, answer) = send(app(Secrets::from(SECRET)), req).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body:?}");
        let mut expected = format!("unparsed {kind:?}\n").into_bytes();
        expected.extend_from_slice(body);
        assert_eq!(&answer[..], &expected[..], "raw body must be byte-exact");
    }
}

/// What a `tracing` subscriber writes, for the test that reads it.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn predictaid_without_a_secret_is_500_and_logged() {
    let body = fixture("predictaid/session.created.json");
    for secrets in [Secrets::new(Vec::<String>::new()), Secrets::from("")] {
        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        // The test runtime is single-threaded: the extractor runs here.
        let _guard = tracing::subscriber::set_default(subscriber);
        let (status, text) = send_text(
            app(secrets),
            signed("/predictaid", &body, ""), // signed with the empty key: still refused
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(text, "webhook receiver not ready");
        let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        assert!(
            log.contains("ERROR")
                && log.contains("kyc_webhooks::axum::rejection")
                && log.contains("status=500")
                && log.contains("no PredictaID webhook secret is configured"),
            "the server's own failure must be logged as an error: {log:?}"
        );
    }
}

#[tokio::test]
async fn predictaid_rotated_secrets_both_verify() {
    let body = fixture("predictaid/kyt.transaction.pipeline.completed.json");
    let secrets = Secrets::new(["whsec_new", "whsec_old"]);
    for secret in ["whsec_new", "whsec_old"] {
        let (status, _) = send(app(secrets.clone()), signed("/predictaid", &body, secret)).await;
        assert_eq!(status, StatusCode::OK, "{secret}");
    }
    let (status, _) = send(app(secrets), signed("/predictaid", &body, "whsec_older")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[derive(Clone)]
struct AppState {
    secrets: Secrets,
    #[allow(dead_code)]
    name: &'static str,
}

impl FromRef<AppState> for Secrets {
    fn from_ref(state: &AppState) -> Secrets {
        state.secrets.clone()
    }
}

#[tokio::test]
async fn predictaid_secrets_come_from_a_larger_state() {
    let state = AppState {
        secrets: Secrets::from(SECRET),
        name: "receiver",
    };
    let app = Router::new()
        .route("/predictaid", post(predictaid_handler))
        .with_state(state);
    let body = fixture("predictaid/session.created.json");
    let (status, _) = send(app.clone(), signed("/predictaid", &body, SECRET)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(app, signed("/predictaid", &body, "whsec_other")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[test]
fn predictaid_rejection_statuses_and_messages() {
    assert_eq!(
        PredictaIdRejection::NoSecret.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert!(PredictaIdRejection::NoSecret.error().is_none());
    let error = predictaid::verify(b"{}", "", b"k").unwrap_err();
    let rejection = PredictaIdRejection::Signature(error);
    assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        rejection.error().map(|e| e.kind()),
        Some(ErrorKind::MissingSignature)
    );
    assert!(rejection.to_string().contains(predictaid::SIGNATURE_HEADER));
}
