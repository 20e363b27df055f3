//! Runs the `kyc-webhooks` binary as a process against real inputs: the
//! repository's fixtures, the signature vectors, and a tiny HTTP server on
//! 127.0.0.1 that records what `send` POSTs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::thread::JoinHandle;

use kyc_webhooks::{predictaid, spektr, testing};
use serde_json::Value;

/// A path in the repository's `fixtures/`.
fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(path)
}

/// The binary, with no secret in its environment.
fn cli() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kyc-webhooks"));
    command
        .env_remove("PREDICTAID_WEBHOOK_SECRET")
        .env_remove("KYC_WEBHOOKS_SECRET_FILE");
    command
}

/// Runs the command with `stdin` as its input.
fn run_with(command: &mut Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn run(args: &[&str]) -> Output {
    run_with(cli().args(args), b"")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Asserts the exit code, showing the output when it is not the one expected.
fn assert_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(output),
        stderr(output)
    );
}

/// Asserts that stderr is one `error: ` line.
fn assert_one_error_line(output: &Output, contains: &str) {
    let err = stderr(output);
    assert!(
        err.starts_with("error: ") && err.lines().count() == 1,
        "{err}"
    );
    assert!(err.contains(contains), "{err}");
}

#[test]
fn decode_prints_one_line_per_event_of_a_fixture_batch() {
    let output = run(&[
        "decode",
        fixture("spektr/batches/all-types.json").to_str().unwrap(),
    ]);
    assert_code(&output, 0);
    let text = stdout(&output);
    let mut lines = text.lines();
    // The all-types batch holds one event of each documented type.
    let count = spektr::EventType::ALL.len();
    let header = format!("Spektr batch: {count} event(s)");
    assert_eq!(lines.next(), Some(header.as_str()));
    let events: Vec<&str> = lines.collect();
    assert_eq!(events.len(), count, "{text}");
    for (index, line) in events.iter().enumerate() {
        assert!(line.starts_with(&format!("[{index}] ")), "{line}");
    }
    assert!(
        events[2].starts_with("[2] process_run_end id=686f58da3b9059f19eb2d066 "),
        "{}",
        events[2]
    );
}

#[test]
fn decode_reports_a_rejected_event_in_full_and_exits_1() {
    let body = br#"{"results": [
        {"id": "e1", "spektrId": "s1", "eventType": "step_init", "timestamp": 1, "data": {"processId": 7}},
        {"id": "e2", "spektrId": "s1", "eventType": "customer_tag_add", "timestamp": 1, "data": {"action": "add"}}
    ]}"#;
    let output = run_with(cli().arg("decode"), body);
    assert_code(&output, 1);
    let text = stdout(&output);
    assert!(
        text.contains("[0] REJECTED: Spektr event of type \"step_init\": results[0].data.processId: invalid type"),
        "{text}"
    );
    assert!(text.contains(r#"raw: {"id": "e1""#), "{text}");
    assert!(text.contains("[1] customer_tag_add id=e2"), "{text}");
    assert_eq!(stderr(&output), "1 event(s) rejected\n");
}

#[test]
fn decode_json_lines_carry_the_typed_event_or_the_error() {
    let body = br#"{"results": [
        {"id": "e1", "spektrId": "s1", "eventType": "step_init", "timestamp": 1, "data": {"processId": 7}},
        {"id": "e2", "spektrId": "s1", "eventType": "customer_tag_add", "timestamp": 1, "data": {"action": "add"}}
    ]}"#;
    let output = run_with(cli().args(["decode", "--json", "-"]), body);
    assert_code(&output, 1);
    let lines: Vec<Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["index"], 0);
    assert_eq!(lines[0]["provider"], "spektr");
    assert_eq!(lines[0]["error"]["kind"], "data");
    assert_eq!(lines[0]["error"]["path"], "results[0].data.processId");
    assert_eq!(
        lines[1]["event"],
        serde_json::json!({"id": "e2", "eventType": "customer_tag_add", "timestamp": 1,
                           "spektrId": "s1", "data": {"action": "add"}})
    );
}

#[test]
fn decode_recognises_a_predictaid_event_and_refuses_what_is_not_a_delivery() {
    let output = run(&[
        "decode",
        fixture("predictaid/session.created.json").to_str().unwrap(),
    ]);
    assert_code(&output, 0);
    assert!(stdout(&output).starts_with(
        "session.created id=evt_203b878966105af9dd9a68b9 company=comp_123 SESSION=sess_123 "
    ));

    let output = run_with(cli().arg("decode"), b"[1, 2]");
    assert_code(&output, 2);
    assert_one_error_line(&output, "stdin is not a webhook delivery");

    let output = run(&["decode", "no-such-body.json"]);
    assert_code(&output, 2);
    assert_one_error_line(
        &output,
        "cannot read no-such-body.json: No such file or directory (pass a file or - for stdin)",
    );
}

#[test]
fn decode_with_provider_reads_the_body_as_that_providers() {
    // A PredictaID event read as Spektr is missing Spektr's fields.
    let path = fixture("predictaid/session.created.json");
    let output = run(&["decode", "--provider", "spektr", path.to_str().unwrap()]);
    assert_code(&output, 1);
    assert!(stdout(&output).contains("REJECTED"), "{}", stdout(&output));
}

#[test]
fn every_listed_type_has_a_sample_that_decodes_as_that_type() {
    let output = run(&["sample", "--list"]);
    assert_code(&output, 0);
    let listed: Vec<(String, String)> = stdout(&output)
        .lines()
        .map(|line| {
            let mut columns = line.split('\t');
            (
                columns.next().unwrap().to_owned(),
                columns.next().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = spektr::EventType::ALL
        .iter()
        .map(|t| ("spektr".to_owned(), t.as_str().to_owned()))
        .chain(
            predictaid::EventType::ALL
                .iter()
                .map(|t| ("predictaid".to_owned(), t.as_str().to_owned())),
        )
        .collect();
    assert_eq!(listed, expected);

    for (provider, event_type) in &listed {
        let sample = run(&["sample", event_type]);
        assert_code(&sample, 0);
        let decoded = run_with(cli().args(["decode", "--json"]), &sample.stdout);
        assert_code(&decoded, 0);
        let line: Value = serde_json::from_str(stdout(&decoded).trim_end()).unwrap();
        assert_eq!(&line["provider"], provider.as_str());
        let type_key = if provider == "spektr" {
            "eventType"
        } else {
            "type"
        };
        assert_eq!(&line["event"][type_key], event_type.as_str());
    }
}

#[test]
fn the_testing_module_has_a_sample_of_every_type_that_round_trips() {
    for &event_type in spektr::EventType::ALL {
        let event = testing::spektr::sample(event_type);
        assert_eq!(event.event_type(), Some(event_type));
        let json = serde_json::to_vec(&event).unwrap();
        assert_eq!(spektr::parse_event(&json).unwrap(), event, "{event_type}");
        assert_eq!(
            serde_json::from_slice::<spektr::Event>(&json).unwrap(),
            event
        );
    }
    for &event_type in predictaid::EventType::ALL {
        let event = testing::predictaid::sample(event_type);
        assert_eq!(event.event_type(), Some(event_type));
        let json = serde_json::to_vec(&event).unwrap();
        assert_eq!(predictaid::parse(&json).unwrap(), event, "{event_type}");
    }
}

#[test]
fn sample_count_makes_a_batch_of_distinct_ids() {
    let output = run(&[
        "sample",
        "process_run_end",
        "--count",
        "3",
        "--id",
        "686f58da3b9059f19eb2d0fe",
    ]);
    assert_code(&output, 0);
    let batch = spektr::parse_batch(&output.stdout).unwrap();
    let ids: Vec<&str> = batch.results.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "686f58da3b9059f19eb2d0fe",
            "686f58da3b9059f19eb2d0ff",
            "686f58da3b9059f19eb2d100"
        ]
    );
}

#[test]
fn sample_set_changes_a_field_and_keeps_the_event_typed() {
    let output = run(&[
        "sample",
        "customer_status_changed",
        "--set",
        "data.newStatus=rejected",
        "--set",
        "spektrId=cust_1",
    ]);
    assert_code(&output, 0);
    assert_eq!(stderr(&output), "");
    let event = &spektr::parse_batch(&output.stdout).unwrap().results[0];
    assert_eq!(event.spektr_id, "cust_1");
    match &event.data {
        spektr::Payload::CustomerStatusChanged(data) => {
            assert_eq!(data.new_status, spektr::CustomerStatus::Rejected)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn sample_refuses_an_unknown_type_with_a_hint() {
    let output = run(&["sample", "customer_status_chnged"]);
    assert_code(&output, 2);
    assert_one_error_line(&output, "run `kyc-webhooks sample --list`");
}

#[test]
fn sign_gives_the_signature_of_every_vector() {
    let vectors: Vec<Value> = serde_json::from_slice(
        &std::fs::read(fixture("predictaid/signatures/vectors.json")).unwrap(),
    )
    .unwrap();
    assert!(!vectors.is_empty());
    for vector in &vectors {
        let path = fixture(&format!("predictaid/{}", vector["file"].as_str().unwrap()));
        let output = run_with(
            cli()
                .args(["sign", "--secret-env", "TEST_SECRET"])
                .arg(&path)
                .env("TEST_SECRET", vector["secret"].as_str().unwrap()),
            b"",
        );
        assert_code(&output, 0);
        assert_eq!(
            stdout(&output),
            format!("{}\n", vector["signature"].as_str().unwrap())
        );
    }
}

#[test]
fn verify_says_valid_or_which_failure() {
    let path = fixture("predictaid/session.created.json");
    let good = "4ee8b89d1840676b0cb97787fdd949553f4dbed6d2bdbb06e7002b1859ab25c8";
    let verify = |signature: &str| {
        run_with(
            cli()
                .args(["verify", "--signature", signature])
                .arg(&path)
                .env("PREDICTAID_WEBHOOK_SECRET", "whsec_5f2a0c9e1b7d4a38"),
            b"",
        )
    };
    let output = verify(good);
    assert_code(&output, 0);
    assert_eq!(stdout(&output), "valid\n");

    let forged = format!("0{}", &good[1..]);
    let output = verify(&forged);
    assert_code(&output, 1);
    assert!(stdout(&output).starts_with("invalid: the signature does not match"));

    let output = verify("sha256=abc");
    assert_code(&output, 1);
    assert!(stdout(&output).starts_with("invalid: the signature is not 64 hexadecimal digits"));
}

#[test]
fn verify_reads_the_secret_from_a_file_and_json_is_stable() {
    let dir = std::env::temp_dir().join(format!("kyc-webhooks-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("secret");
    // As `echo test-secret > secret` writes it: the newline is not part of it.
    std::fs::write(&secret, "test-secret\n").unwrap();
    let output = run(&[
        "verify",
        "--json",
        "--secret-file",
        secret.to_str().unwrap(),
        "--signature",
        "effe881d9ea732f6e662676f474745a57fd503ac64f322ac321b438839ae2b39",
        fixture("predictaid/kyt.transaction.pipeline.completed.json")
            .to_str()
            .unwrap(),
    ]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_code(&output, 0);
    let answer: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        answer,
        serde_json::json!({"valid": true, "failure": null, "message": "valid"})
    );
}

#[test]
fn a_missing_secret_is_one_line_that_says_what_to_do() {
    let output = run(&[
        "sign",
        fixture("predictaid/session.created.json").to_str().unwrap(),
    ]);
    assert_code(&output, 2);
    assert_one_error_line(
        &output,
        "the environment variable PREDICTAID_WEBHOOK_SECRET is not set (export it",
    );
}

/// A request the test server received.
#[derive(Debug)]
struct Received {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// An HTTP server on 127.0.0.1 that answers `requests` requests with
/// `status` and `answer`, one connection each, then returns what it got.
fn serve(
    requests: usize,
    status: u16,
    answer: &'static str,
) -> (String, JoinHandle<Vec<Received>>) {
    serve_with(requests, status, String::new(), answer)
}

/// [`serve`], with `extra` headers (each line ending in CRLF) in every answer.
fn serve_with(
    requests: usize,
    status: u16,
    extra: String,
    answer: &'static str,
) -> (String, JoinHandle<Vec<Received>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/webhooks", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut received = Vec::new();
        for _ in 0..requests {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                headers.push((name.to_owned(), value.trim().to_owned()));
            }
            let length: usize = headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                .map_or(0, |(_, value)| value.parse().unwrap());
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut stream = reader.into_inner();
            write!(
                stream,
                "HTTP/1.1 {status} X\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            )
            .unwrap();
            received.push(Received {
                request_line: request_line.trim_end().to_owned(),
                headers,
                body,
            });
        }
        received
    });
    (url, handle)
}

/// `send URL --sample session.created`, signed with `whsec_test` (read from
/// the variable `--secret-env` names), with `extra` arguments.
fn send_signed_session_created(url: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "send",
        url,
        "--sample",
        "session.created",
        "--secret-env",
        "MY_SECRET",
    ];
    args.extend_from_slice(extra);
    run_with(cli().args(args).env("MY_SECRET", "whsec_test"), b"")
}

#[test]
fn send_posts_a_signed_predictaid_sample_with_the_providers_headers() {
    let (url, server) = serve(1, 200, "received");
    let output = send_signed_session_created(&url, &[]);
    assert_code(&output, 0);
    let text = stdout(&output);
    assert!(text.starts_with("200 OK in "), "{text}");
    assert!(text.ends_with(" ms\nreceived\n"), "{text}");

    let request = &server.join().unwrap()[0];
    assert_eq!(request.request_line, "POST /webhooks HTTP/1.1");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("user-agent"), Some(predictaid::USER_AGENT));
    let signature = request.header(predictaid::SIGNATURE_HEADER).unwrap();
    let event = predictaid::construct_event(&request.body, signature, b"whsec_test").unwrap();
    assert_eq!(event, testing::predictaid::session_created());
    assert_eq!(
        request.header(predictaid::EVENT_ID_HEADER),
        Some(event.id.as_str())
    );
}

#[test]
fn send_posts_a_spektr_file_unsigned_and_byte_for_byte() {
    let (url, server) = serve(1, 204, "");
    let path = fixture("spektr/batches/all-types.json");
    let output = run(&["send", &url, path.to_str().unwrap()]);
    assert_code(&output, 0);
    let request = &server.join().unwrap()[0];
    assert_eq!(request.body, std::fs::read(&path).unwrap());
    assert_eq!(request.header(predictaid::SIGNATURE_HEADER), None);
    assert_eq!(request.header("content-type"), Some("application/json"));
}

#[test]
fn send_repeat_summarises_statuses_and_fails_on_non_2xx() {
    let (url, server) = serve(6, 500, "boom");
    let output = run(&[
        "send",
        &url,
        "--sample",
        "process_run_end",
        "--repeat",
        "6",
        "--concurrency",
        "3",
        "--json",
    ]);
    assert_code(&output, 1);
    let received = server.join().unwrap();
    assert_eq!(received.len(), 6);
    assert!(received.windows(2).all(|pair| pair[0].body == pair[1].body));
    let summary: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(summary["requests"], 6);
    assert_eq!(summary["statuses"], serde_json::json!({"500": 6}));
    assert_eq!(summary["first"]["body"], "boom");
    let p50 = summary["latency_ms"]["p50"].as_f64().unwrap();
    let p99 = summary["latency_ms"]["p99"].as_f64().unwrap();
    assert!(p50 > 0.0 && p50 <= p99, "{summary}");
}

#[test]
fn send_refuses_to_send_a_predictaid_delivery_it_cannot_sign() {
    let output = run(&["send", "http://127.0.0.1:9/", "--sample", "session.created"]);
    assert_code(&output, 2);
    assert_one_error_line(&output, "PredictaID deliveries are signed");
}

#[test]
fn send_to_a_closed_port_fails_with_exit_1() {
    // Bind and drop a listener to get a port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let output = run(&["send", &url, "--sample", "process_run_end"]);
    assert_code(&output, 1);
    assert_one_error_line(&output, "is the endpoint running");
}

#[test]
fn completions_and_help_of_every_command() {
    let output = run(&["completions", "bash"]);
    assert_code(&output, 0);
    assert!(stdout(&output).contains("complete -F _kyc__webhooks"));
    for command in ["decode", "sample", "sign", "verify", "send", "completions"] {
        let output = run(&[command, "--help"]);
        assert_code(&output, 0);
        assert!(stdout(&output).contains("Exit status:"), "{command}");
    }
}

#[test]
fn sample_now_stamps_the_current_time() {
    let before = chrono::Utc::now();
    let output = run(&["sample", "session.created", "--now"]);
    assert_code(&output, 0);
    let event = predictaid::parse(&output.stdout).unwrap();
    assert!(event.occurred_at >= before - chrono::Duration::seconds(1));
    assert!(event.occurred_at <= chrono::Utc::now());
}

#[test]
fn sample_count_is_refused_for_predictaid_which_does_not_batch() {
    let output = run(&["sample", "session.created", "--count", "2"]);
    assert_code(&output, 2);
    assert_one_error_line(&output, "PredictaID sends one event per delivery");
}

#[test]
fn send_unsigned_leaves_out_the_signature_but_not_the_event_id() {
    let (url, server) = serve(1, 401, "unsigned");
    let path = fixture("predictaid/session.created.json");
    let output = run(&["send", &url, "--unsigned", path.to_str().unwrap()]);
    assert_code(&output, 1);
    assert!(stdout(&output).starts_with("401 Unauthorized in "));
    let request = &server.join().unwrap()[0];
    assert_eq!(request.header(predictaid::SIGNATURE_HEADER), None);
    assert_eq!(
        request.header(predictaid::EVENT_ID_HEADER),
        Some("evt_203b878966105af9dd9a68b9")
    );
}

#[test]
fn send_repeat_prints_a_text_summary() {
    let (url, server) = serve(3, 200, "ok");
    let output = run(&["send", &url, "--sample", "step_init", "--repeat", "3"]);
    assert_code(&output, 0);
    assert_eq!(server.join().unwrap().len(), 3);
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with(&format!("sent 3 request(s) to {url}, 1 at a time, in ")),
        "{text}"
    );
    assert_eq!(lines[1], "statuses: 200 x3");
    assert!(lines[2].starts_with("latency: p50 "), "{text}");
}

#[test]
fn send_follows_no_redirect_and_sends_nothing_to_another_host() {
    for status in [301, 302, 303, 307, 308] {
        // Where the redirect points: it must receive no connection at all.
        let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
        elsewhere.set_nonblocking(true).unwrap();
        let location = format!("http://{}/stolen", elsewhere.local_addr().unwrap());
        let (url, server) = serve_with(1, status, format!("Location: {location}\r\n"), "moved");
        let output = send_signed_session_created(&url, &["--timeout", "5"]);
        assert_code(&output, 1);
        assert!(
            stdout(&output).starts_with(&format!("{status} ")),
            "{}",
            stdout(&output)
        );
        assert_one_error_line(&output, &format!("answered {status} "));
        assert!(
            stderr(&output).contains(&format!("to {location}: not followed")),
            "{}",
            stderr(&output)
        );
        let request = &server.join().unwrap()[0];
        assert!(request.header(predictaid::SIGNATURE_HEADER).is_some());
        match elsewhere.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("{status}: the redirect's target was connected to: {other:?}"),
        }
    }
}

#[test]
fn send_json_reports_a_redirects_location() {
    let (url, server) = serve_with(
        1,
        307,
        "Location: http://127.0.0.1:9/elsewhere\r\n".to_owned(),
        "",
    );
    let output = run(&["send", &url, "--sample", "step_init", "--json"]);
    assert_code(&output, 1);
    server.join().unwrap();
    let summary: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(summary["statuses"], serde_json::json!({"307": 1}));
    assert_eq!(summary["first"]["location"], "http://127.0.0.1:9/elsewhere");
}

/// Whether the output holds a byte that a terminal takes as a command: ESC,
/// CR, BEL or another C0 control (newline and tab aside), DEL, or a C1
/// control in UTF-8.
fn has_raw_control(output: &[u8]) -> bool {
    let text = String::from_utf8_lossy(output);
    text.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
}

#[test]
fn send_prints_the_servers_answer_with_control_characters_escaped() {
    let (url, server) = serve(1, 200, "\x1b[2J\x1b]0;pwned\x07\r\u{9b}31m done\n");
    let output = run(&["send", &url, "--sample", "step_init"]);
    assert_code(&output, 0);
    server.join().unwrap();
    let text = stdout(&output);
    assert!(!has_raw_control(&output.stdout), "{text:?}");
    assert!(
        text.ends_with(" ms\n\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\r\\u{9b}31m done\\n\n"),
        "{text:?}"
    );
}

#[test]
fn decode_escapes_control_characters_of_the_body() {
    // An id holding an escaped ESC (the decoded id holds a raw ESC), and a
    // rejected event whose raw text holds a C1 CSI and a bidi override (JSON
    // allows both raw in a string) and a line break.
    let mut good = serde_json::to_value(testing::spektr::step_init()).unwrap();
    good["id"] = "\u{1b}[31mred\u{1b}[0m\u{2028}".into();
    let body = format!(
        "{{\"results\": [{good}, {{\"id\": \"e2\",\n \"eventType\": \"step_init\", \"x\": \"\u{9b}2J\u{202e}\"}}]}}"
    );
    assert!(body.contains(r"\u001b[31m"), "{body}");
    let output = run_with(cli().arg("decode"), body.as_bytes());
    assert_code(&output, 1);
    let text = stdout(&output);
    assert!(!has_raw_control(&output.stdout), "{text:?}");
    assert!(
        text.contains("[0] step_init id=\\u{1b}[31mred\\u{1b}[0m\\u{2028} "),
        "{text}"
    );
    assert!(
        text.contains(r#"raw: {"id": "e2",\n "eventType": "step_init", "x": "\u{9b}2J\u{202e}"}"#),
        "{text}"
    );
    assert!(
        !text.contains('\u{202e}') && !text.contains('\u{2028}'),
        "{text}"
    );

    // JSON lines stay JSON, with the same id, and hold no raw control.
    let output = run_with(cli().args(["decode", "--json"]), body.as_bytes());
    assert!(!has_raw_control(&output.stdout), "{:?}", stdout(&output));
    let text = stdout(&output);
    assert!(
        !text.contains('\u{202e}') && !text.contains('\u{2028}'),
        "{text}"
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines[0]["event"]["id"], good["id"]);
    assert!(lines[1]["raw"]
        .as_str()
        .unwrap()
        .contains("\u{9b}2J\u{202e}"));
}

#[test]
fn send_refuses_a_timeout_it_cannot_wait_for() {
    for timeout in ["18446744073709551615", "0"] {
        let output = run(&[
            "send",
            "http://127.0.0.1:9/",
            "--sample",
            "step_init",
            "--timeout",
            timeout,
        ]);
        assert_code(&output, 2);
        assert!(stderr(&output).contains("--timeout"), "{}", stderr(&output));
    }
}

/// The binary, with no secret in its environment, killed after 60 s (exit
/// status 124) should it hang.
fn bounded() -> Command {
    let mut command = Command::new("timeout");
    command
        .args(["60", env!("CARGO_BIN_EXE_kyc-webhooks")])
        .env_remove("PREDICTAID_WEBHOOK_SECRET")
        .env_remove("KYC_WEBHOOKS_SECRET_FILE");
    command
}

fn run_bounded(args: &[&str]) -> Output {
    run_with(bounded().args(args), b"")
}

/// A port on 127.0.0.1 that nothing listens on.
fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn send_sample_takes_the_id_and_the_other_sample_overrides() {
    let (url, server) = serve(1, 200, "ok");
    let output = run_with(
        bounded()
            .args([
                "send",
                &url,
                "--sample",
                "session.created",
                "--timeout",
                "10",
            ])
            .args([
                "--id",
                "evt_custom",
                "--set",
                "data.status=processing",
                "--now",
            ])
            .env("PREDICTAID_WEBHOOK_SECRET", "whsec_test"),
        b"",
    );
    assert_code(&output, 0);
    let request = &server.join().unwrap()[0];
    assert_eq!(
        request.header(predictaid::EVENT_ID_HEADER),
        Some("evt_custom")
    );
    let signature = request.header(predictaid::SIGNATURE_HEADER).unwrap();
    let event = predictaid::construct_event(&request.body, signature, b"whsec_test").unwrap();
    assert_eq!(event.id, "evt_custom");
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["data"]["status"], "processing");
    assert_ne!(
        event.occurred_at,
        testing::predictaid::session_created().occurred_at
    );

    // A Spektr batch of two, the second event changed alone.
    let (url, server) = serve(1, 200, "ok");
    let output = run_bounded(&[
        "send",
        &url,
        "--sample",
        "customer_status_changed",
        "--timeout",
        "10",
        "--id",
        "686f58da3b9059f19eb2d0fe",
        "--count",
        "2",
        "--set",
        "results.1.spektrId=cust_2",
    ]);
    assert_code(&output, 0);
    let request = &server.join().unwrap()[0];
    let batch = spektr::parse_batch(&request.body).unwrap();
    let events: Vec<(&str, &str)> = batch
        .results
        .iter()
        .map(|e| (e.id.as_str(), e.spektr_id.as_str()))
        .collect();
    assert_eq!(
        events,
        [
            ("686f58da3b9059f19eb2d0fe", "68777232009ac594ff34644f"),
            ("686f58da3b9059f19eb2d0ff", "cust_2")
        ]
    );

    // They change a sample: with a file they are refused.
    let path = fixture("spektr/batches/all-types.json");
    let output = run_bounded(&[
        "send",
        "http://127.0.0.1:9/",
        path.to_str().unwrap(),
        "--id",
        "x",
    ]);
    assert_code(&output, 2);
    assert!(stderr(&output).contains("--id"), "{}", stderr(&output));
}

#[test]
fn sample_set_reaches_one_event_of_a_batch_through_results() {
    let output = run_bounded(&[
        "sample",
        "customer_status_changed",
        "--count",
        "3",
        "--set",
        "results.1.data.newStatus=rejected",
    ]);
    assert_code(&output, 0);
    assert_eq!(stderr(&output), "");
    let batch = spektr::parse_batch(&output.stdout).unwrap();
    let statuses: Vec<spektr::CustomerStatus> = batch
        .results
        .iter()
        .map(|event| match &event.data {
            spektr::Payload::CustomerStatusChanged(data) => data.new_status.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        statuses,
        [
            spektr::CustomerStatus::Approved,
            spektr::CustomerStatus::Rejected,
            spektr::CustomerStatus::Approved
        ]
    );

    let output = run_bounded(&[
        "sample",
        "customer_status_changed",
        "--count",
        "3",
        "--set",
        "results.3.spektrId=x",
    ]);
    assert_code(&output, 2);
    assert_one_error_line(&output, "`results` is a list of 3 item(s)");
}

#[test]
fn sample_set_that_breaks_the_event_keeps_the_key_order() {
    let good = run_bounded(&["sample", "customer_status_changed", "--compact"]);
    assert_code(&good, 0);
    let output = run_bounded(&[
        "sample",
        "customer_status_changed",
        "--compact",
        "--set",
        "data.oldStatus=7",
    ]);
    assert_code(&output, 0);
    assert!(
        stderr(&output).starts_with("warning: after --set the event no longer decodes"),
        "{}",
        stderr(&output)
    );
    let expected = stdout(&good).replace(r#""oldStatus":"pending""#, r#""oldStatus":7"#);
    assert_ne!(expected, stdout(&good));
    assert_eq!(stdout(&output), expected);

    // Indented, the same keys in the same order.
    let output = run_bounded(&[
        "sample",
        "customer_status_changed",
        "--set",
        "data.oldStatus=7",
    ]);
    assert_code(&output, 0);
    assert!(stdout(&output).starts_with("{\n  \"results\": [\n    {\n      \"id\": "));
    assert_eq!(without_whitespace(&stdout(&output)), expected.trim_end());
}

/// JSON `text` without the whitespace outside its strings.
fn without_whitespace(text: &str) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c.is_whitespace() {
            continue;
        }
        out.push(c);
    }
    out
}

#[test]
fn send_repeat_to_a_dead_port_counts_failures_apart_from_answers() {
    let url = format!("http://127.0.0.1:{}/", dead_port());
    let output = run_bounded(&["send", &url, "--sample", "step_init", "--repeat", "3"]);
    assert_code(&output, 1);
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with(&format!("sent 3 request(s) to {url}, 1 at a time, in ")),
        "{text}"
    );
    assert!(lines[0].ends_with(": none answered, 3 failed"), "{text}");
    assert!(!text.contains("per second"), "{text}");
    assert_eq!(lines[1], "statuses: none");
    assert!(lines[2].starts_with("failed: "), "{text}");
    assert!(lines[2].ends_with(" x3"), "{text}");
    assert_eq!(lines.len(), 3, "no latency of failed connects: {text}");
    assert_one_error_line(&output, "3 of 3 request(s)");

    let output = run_bounded(&[
        "send",
        &url,
        "--sample",
        "step_init",
        "--repeat",
        "3",
        "--json",
    ]);
    assert_code(&output, 1);
    let summary: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(summary["requests"], 3);
    assert_eq!(summary["answered"], 0);
    assert_eq!(summary["failed"], 3);
    assert_eq!(summary["statuses"], serde_json::json!({}));
    assert_eq!(
        summary["latency_ms"],
        serde_json::json!({"p50": null, "p99": null, "max": null})
    );
}

#[test]
fn send_repeat_rates_and_latencies_are_of_the_answered_requests() {
    let (url, server) = serve(2, 200, "ok");
    let output = run_bounded(&[
        "send",
        &url,
        "--sample",
        "step_init",
        "--repeat",
        "2",
        "--json",
        "--timeout",
        "10",
    ]);
    assert_code(&output, 0);
    server.join().unwrap();
    let summary: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        (&summary["answered"], &summary["failed"]),
        (&2.into(), &0.into())
    );
    assert!(
        summary["latency_ms"]["p50"].as_f64().unwrap() > 0.0,
        "{summary}"
    );
}

#[test]
fn send_prints_the_canonical_reason_phrase() {
    for (status, line) in [
        (413, "413 Payload Too Large in "),
        (418, "418 I'm a teapot in "),
        (599, "599 in "),
    ] {
        let (url, server) = serve(1, status, "no");
        let output = run_bounded(&["send", &url, "--sample", "step_init", "--timeout", "10"]);
        assert_code(&output, 1);
        server.join().unwrap();
        assert!(stdout(&output).starts_with(line), "{}", stdout(&output));
    }
}

#[test]
fn send_refuses_a_url_without_http_or_https_as_bad_arguments() {
    for (url, says) in [
        (
            "127.0.0.1:9/webhooks",
            "no scheme: write it as http://127.0.0.1:9/webhooks",
        ),
        ("ftp://127.0.0.1:9/", "send speaks http:// and https://"),
        ("http:///webhooks", "http://HOST"),
    ] {
        let output = run_bounded(&["send", url, "--sample", "step_init"]);
        assert_code(&output, 2);
        let err = stderr(&output);
        assert!(err.starts_with("error: invalid value"), "{err}");
        assert!(err.contains(says), "{url}: {err}");
    }
}

#[test]
fn a_failed_connect_is_reported_with_its_cause() {
    let url = format!("http://127.0.0.1:{}/", dead_port());
    let output = run_bounded(&["send", &url, "--sample", "step_init"]);
    assert_code(&output, 1);
    assert_one_error_line(&output, "Connection refused");
}

#[test]
fn the_top_level_help_names_every_command_family() {
    let output = run_bounded(&["--help"]);
    assert_code(&output, 0);
    let text = stdout(&output);
    let about = &text[..text.find("Usage:").unwrap()];
    for family in [
        "decode",
        "sample",
        "sign/verify",
        "send",
        "inbox",
        "completions",
    ] {
        let lines = about
            .lines()
            .filter(|line| line.trim_start().starts_with(&format!("{family} ")))
            .count();
        assert_eq!(lines, 1, "{family}: {about}");
    }
    let output = run_bounded(&["inbox", "--help"]);
    assert_code(&output, 0);
    assert!(stdout(&output).contains("Exit status:"));
}

/// A file of the repository.
fn repository_file(path: &str) -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn the_readmes_install_the_command_line_with_its_lockfile() {
    for readme in ["README.md", "../README.md"] {
        let text = repository_file(readme);
        assert!(
            text.contains("cargo install --locked --path cli"),
            "{readme}"
        );
        assert!(!text.contains("cargo install --path cli"), "{readme}");
    }
    let readme = repository_file("README.md");
    assert!(readme.starts_with("# kyc-webhooks-cli\n"), "{readme}");
}

#[test]
fn the_receivers_database_is_ignored_by_git() {
    let ignore = repository_file("../.gitignore");
    assert!(
        ignore.lines().any(|line| line == "/webhooks.db*"),
        "{ignore}"
    );
}
