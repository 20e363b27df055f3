//! `kyc-webhooks send`: POST a delivery to an endpoint as the provider would.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use kyc_webhooks::predictaid;
use serde::Deserialize;
use serde_json::json;

use crate::input::{detect, display_name, read_body, SecretArgs};
use crate::sample::{self, AnyType};
use crate::text::{escape, json};
use crate::{print, print_err, Failure, Outcome, Provider, EXIT_CODES};

/// Send a delivery to your endpoint, with the provider's headers
///
/// POSTs the body with `Content-Type: application/json`; for PredictaID also
/// the `User-Agent` PredictaID sends, `X-PredictAid-Event-ID` (the body's
/// `id`) and `X-PredictAid-Signature` (the body signed with the secret from
/// --secret-env or --secret-file). Prints the status, the latency and the
/// response body; with --repeat, a progress bar and a summary (statuses,
/// p50/p99 latency) instead. Every repeat sends the same body: a duplicate
/// delivery, as a retrying provider would make.
///
/// Redirects are not followed: a 3xx answer is a failure, reported with its
/// Location, so that the body and its signature go to no other URL than
/// the one given. Control characters in the answer are printed escaped.
///
/// Examples:
///   kyc-webhooks send http://127.0.0.1:3000/webhooks/spektr --sample process_run_end
///   PREDICTAID_WEBHOOK_SECRET=whsec_test kyc-webhooks send http://127.0.0.1:3000/webhooks/predictaid --sample session.created
///   kyc-webhooks send http://127.0.0.1:3000/hook captured.json --repeat 200 --concurrency 8
#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES, verbatim_doc_comment)]
pub struct SendArgs {
    /// The endpoint, e.g. http://127.0.0.1:3000/webhooks (http:// or
    /// https://)
    #[arg(value_parser = parse_url)]
    url: String,
    /// The body to send, byte for byte: a file, or - for stdin
    #[arg(required_unless_present = "sample", conflicts_with_all = ["sample", "overrides"])]
    file: Option<PathBuf>,
    /// Send the sample of this event type instead of a file (as one line of
    /// JSON, as the providers send it), changed by --id, --set, --count and
    /// --now as `kyc-webhooks sample` changes it
    #[arg(long, value_name = "TYPE")]
    sample: Option<String>,
    #[command(flatten)]
    overrides: sample::Overrides,
    /// The provider, instead of recognising it from the body or the type
    #[arg(long, value_enum)]
    provider: Option<Provider>,
    #[command(flatten)]
    secret: SecretArgs,
    /// Send a PredictaID delivery without X-PredictAid-Signature (to check
    /// that your endpoint refuses it)
    #[arg(long)]
    unsigned: bool,
    /// How many times to send the body
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    repeat: u32,
    /// How many requests to have in flight at once
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    concurrency: u32,
    /// Seconds to wait for each response (1 to 86400)
    #[arg(long, default_value_t = 30, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    timeout: u64,
    /// Print one JSON object: {"requests", "statuses": {"200": n},
    /// "errors": {message: n}, "latency_ms": {"p50", "p99", "max"},
    /// "first": {"status", "body", "location"}}
    #[arg(long)]
    json: bool,
}

/// The result of one request.
struct Shot {
    latency: Duration,
    result: Result<Answer, String>,
}

/// What the endpoint answered.
struct Answer {
    status: u16,
    body: String,
    /// The `Location` header of a 3xx answer (not followed).
    location: Option<String>,
}

pub fn run(args: SendArgs) -> Outcome {
    let (body, provider, name) = match (&args.sample, &args.file) {
        (Some(type_name), _) => {
            let event_type = AnyType::parse(type_name, args.provider)?;
            let options = sample::Options::new(args.overrides.clone(), true);
            let provider = match event_type {
                AnyType::Spektr(_) => Provider::Spektr,
                AnyType::Predictaid(_) => Provider::Predictaid,
            };
            (
                sample::build(event_type, &options)?,
                provider,
                type_name.clone(),
            )
        }
        (None, Some(path)) => {
            let body = read_body(path)?;
            let name = display_name(path);
            let provider = match args.provider {
                Some(provider) => provider,
                None => detect(&name, &body)?,
            };
            (body, provider, name)
        }
        (None, None) => unreachable!("clap requires FILE or --sample"),
    };
    let headers = headers(&args, provider, &body, &name)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // A 3xx is the answer: following it would send the body and its
        // signature to a URL the user did not give.
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(args.timeout)))
        .max_idle_connections_per_host(args.concurrency as usize)
        .user_agent(match provider {
            Provider::Predictaid => predictaid::USER_AGENT.to_owned(),
            Provider::Spektr => format!("kyc-webhooks/{}", env!("CARGO_PKG_VERSION")),
        })
        .build()
        .into();
    let start = Instant::now();
    let shots = fire(&agent, &args, &headers, &body);
    report(&args, &shots, start.elapsed())
}

/// The provider's headers for this body (beside `User-Agent`).
fn headers(
    args: &SendArgs,
    provider: Provider,
    body: &[u8],
    name: &str,
) -> Result<Vec<(&'static str, String)>, Failure> {
    let mut headers = vec![("Content-Type", "application/json".to_owned())];
    if provider == Provider::Spektr {
        return Ok(headers);
    }
    #[derive(Deserialize)]
    struct Envelope {
        id: Option<String>,
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope { id: Some(id) }) => headers.push((predictaid::EVENT_ID_HEADER, id)),
        _ => print_err(&format!(
            "warning: {name} has no string `id`: sending it without {}",
            predictaid::EVENT_ID_HEADER
        )),
    }
    if !args.unsigned {
        let secret = args.secret.load_optional()?.ok_or_else(|| {
            Failure::usage(format!(
                "PredictaID deliveries are signed and the environment variable {} is not set (export the endpoint's secret there, pass --secret-env VAR or --secret-file PATH, or --unsigned)",
                args.secret.secret_env
            ))
        })?;
        headers.push((
            predictaid::SIGNATURE_HEADER,
            predictaid::sign(body, &secret),
        ));
    }
    Ok(headers)
}

/// Sends the body `--repeat` times, `--concurrency` at once.
fn fire(
    agent: &ureq::Agent,
    args: &SendArgs,
    headers: &[(&'static str, String)],
    body: &[u8],
) -> Vec<Shot> {
    let total = args.repeat;
    let bar = if total > 1 {
        let bar = ProgressBar::new(u64::from(total));
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:40} {pos}/{len} requests, {elapsed} elapsed, eta {eta}",
        ) {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let next = AtomicU32::new(0);
    let shots = Mutex::new(Vec::with_capacity(total as usize));
    std::thread::scope(|scope| {
        for _ in 0..args.concurrency.min(total) {
            scope.spawn(|| {
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let shot = send_one(agent, &args.url, headers, body);
                    bar.inc(1);
                    shots.lock().expect("no worker panics").push(shot);
                }
            });
        }
    });
    bar.finish_and_clear();
    shots.into_inner().expect("no worker panics")
}

/// One POST, timed from the first byte sent to the last byte of the answer.
fn send_one(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&'static str, String)],
    body: &[u8],
) -> Shot {
    let start = Instant::now();
    let mut request = agent.post(url);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let result = request
        .send(body)
        .and_then(|response| {
            let status = response.status().as_u16();
            let location = (300..400).contains(&status).then(|| {
                response.headers().get("location").map_or_else(
                    || "(none)".to_owned(),
                    |value| String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            });
            let text = response.into_body().read_to_vec()?;
            Ok(Answer {
                status,
                body: String::from_utf8_lossy(&text).into_owned(),
                location,
            })
        })
        .map_err(|error| describe(&error));
    Shot {
        latency: start.elapsed(),
        result,
    }
}

/// The latency at quantile `q` (nearest rank) of sorted latencies, in ms.
fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    millis(sorted[rank - 1])
}

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10_000.0).round() / 10.0
}

/// Prints the result and picks the exit code: 0 when every request was
/// answered with a 2xx. Requests that got no answer (a refused connection, a
/// timeout) are counted apart: the rate and the latencies are those of the
/// answered ones. What the endpoint answered is printed [`escape`]d.
fn report(args: &SendArgs, shots: &[Shot], elapsed: Duration) -> Outcome {
    let mut statuses: BTreeMap<u16, u32> = BTreeMap::new();
    let mut errors: BTreeMap<&str, u32> = BTreeMap::new();
    let mut redirect = None;
    let mut latencies: Vec<Duration> = Vec::with_capacity(shots.len());
    for shot in shots {
        match &shot.result {
            Ok(answer) => {
                *statuses.entry(answer.status).or_default() += 1;
                latencies.push(shot.latency);
                if let Some(location) = &answer.location {
                    redirect.get_or_insert((answer.status, location));
                }
            }
            Err(error) => *errors.entry(error).or_default() += 1,
        }
    }
    latencies.sort();
    let answered = latencies.len();
    let failed = shots.len() - answered;
    let all_ok = failed == 0 && statuses.keys().all(|s| (200..300).contains(s));
    let Some(first) = shots.first() else {
        return Err(Failure::check("no request was sent"));
    };
    if args.json {
        let latency = |value: f64| if answered == 0 { None } else { Some(value) };
        let record = json!({
            "url": args.url,
            "requests": shots.len(),
            "answered": answered,
            "failed": failed,
            "statuses": statuses.iter().map(|(s, n)| (s.to_string(), *n)).collect::<BTreeMap<_, _>>(),
            "errors": errors,
            "latency_ms": {
                "p50": latency(percentile(&latencies, 0.5)),
                "p99": latency(percentile(&latencies, 0.99)),
                "max": latencies.last().copied().map(millis),
            },
            "first": match &first.result {
                Ok(answer) => json!({"status": answer.status, "body": answer.body, "location": answer.location}),
                Err(error) => json!({"status": null, "error": error}),
            },
        });
        print(&format!("{}\n", json(&record)));
    } else if shots.len() == 1 {
        match &first.result {
            Ok(answer) => print(&format!(
                "{} in {} ms\n{}{}",
                status_line(answer.status),
                millis(first.latency),
                escape(&answer.body),
                if answer.body.is_empty() { "" } else { "\n" }
            )),
            Err(error) => {
                return Err(Failure::check(format!(
                    "cannot send to {}: {error} (is the endpoint running, and the URL right?)",
                    args.url
                )))
            }
        }
    } else {
        let mut out = format!(
            "sent {} request(s) to {}, {} at a time, in {:.2} s: ",
            shots.len(),
            escape(&args.url),
            args.concurrency.min(args.repeat),
            elapsed.as_secs_f64(),
        );
        if answered == 0 {
            out.push_str("none answered");
        } else {
            let _ = write!(
                out,
                "{answered} answered ({:.0} per second)",
                answered as f64 / elapsed.as_secs_f64().max(1e-9)
            );
        }
        if failed > 0 {
            let _ = write!(out, ", {failed} failed");
        }
        let counts: Vec<String> = statuses.iter().map(|(s, n)| format!("{s} x{n}")).collect();
        let _ = writeln!(
            out,
            "\nstatuses: {}",
            if counts.is_empty() {
                "none".to_owned()
            } else {
                counts.join(", ")
            }
        );
        if failed > 0 {
            let failures: Vec<String> = errors
                .iter()
                .map(|(e, n)| format!("{} x{n}", escape(e)))
                .collect();
            let _ = writeln!(out, "failed: {}", failures.join(", "));
        }
        if answered > 0 {
            let _ = writeln!(
                out,
                "latency: p50 {} ms, p99 {} ms, max {} ms (of the answered requests)",
                percentile(&latencies, 0.5),
                percentile(&latencies, 0.99),
                latencies.last().copied().map_or(0.0, millis),
            );
        }
        print(&out);
    }
    if failed > 0 && shots.len() > 1 {
        print_err(&format!(
            "error: {failed} of {} request(s) to {} got no answer (is the endpoint running, and the URL right?)",
            shots.len(),
            args.url
        ));
    }
    if let Some((status, location)) = redirect {
        print_err(&format!(
            "error: {} answered {}, to {location}: not followed (send follows no redirect, so that the body and its signature go to no other URL; send to that URL if it is your endpoint)",
            args.url,
            status_line(status)
        ));
    }
    Ok(if all_ok { 0 } else { 1 })
}

/// A status with its canonical reason phrase (`413 Payload Too Large`), or
/// alone when it has none (`599`).
fn status_line(status: u16) -> String {
    match ureq::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// A request's error with its whole chain of causes: ureq's message, then
/// each source that it does not already spell out.
fn describe(error: &ureq::Error) -> String {
    let mut message = error.to_string();
    let mut source: Option<&(dyn std::error::Error + 'static)> = match error {
        ureq::Error::Io(io) => io.source(),
        other => std::error::Error::source(other),
    };
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// The endpoint URL: an absolute http:// or https:// URL with a host,
/// checked when the arguments are parsed (a bad one is a usage error, exit
/// status 2).
fn parse_url(url: &str) -> Result<String, String> {
    let Some((scheme, _)) = url.split_once("://") else {
        return Err(format!("no scheme: write it as http://{url} (or https://)"));
    };
    if !matches!(scheme, "http" | "https") {
        return Err(format!(
            "the scheme is {scheme}://: send speaks http:// and https://"
        ));
    }
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|e| format!("not a URL ({e}): write it as http://HOST[:PORT]/PATH"))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err("no host: write it as http://HOST[:PORT]/PATH".to_owned());
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error whose message leaves its cause to `source()`.
    #[derive(Debug)]
    struct Wrapper(std::io::Error);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("connecting through the proxy")
        }
    }

    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn an_error_is_described_with_its_whole_chain() {
        let cause =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused by 10.0.0.1");
        let error = ureq::Error::Io(std::io::Error::other(Wrapper(cause)));
        assert_eq!(
            describe(&error),
            "io: connecting through the proxy: refused by 10.0.0.1"
        );
        // A cause the message already spells out is not repeated.
        let error = ureq::Error::Io(std::io::Error::other("refused"));
        assert_eq!(describe(&error), "io: refused");
    }

    #[test]
    fn urls_are_checked_without_a_panic() {
        for url in [
            "",
            "://",
            "http://",
            "http://[",
            "https://h:99999/",
            "ht tp://x",
            "http://é/",
        ] {
            let _ = parse_url(url);
        }
        assert!(parse_url("http://127.0.0.1:3000/webhooks").is_ok());
        assert!(parse_url("https://example.com").is_ok());
    }
}
