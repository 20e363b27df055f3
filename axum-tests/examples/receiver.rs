//! A webhook receiver for both providers, to copy and adapt: an axum server
//! that stores each accepted event durably before it answers 2xx.
//!
//! ```text
//! PREDICTAID_WEBHOOK_SECRET=whsec_... cargo run --example receiver --features axum -- \
//!     --addr 127.0.0.1:3000 --events events.jsonl --dead-letters dead-letters.log
//! ```
//!
//! Endpoints:
//! - `POST /webhooks/spektr`: a Spektr batch. The events that decode are
//!   stored; the ones that do not are dead-lettered raw; answers 200. A body
//!   that is not a batch at all is 400.
//! - `POST /webhooks/predictaid`: one PredictaID event, signed. A missing,
//!   malformed or wrong `X-PredictAid-Signature` is 401 and nothing is kept.
//!   An authentic body this crate cannot parse is dead-lettered raw and
//!   answered 200: it is genuine, and a 4xx would end PredictaID's retries.
//!
//! Either is 413 over the body limit, and 500 when storing failed (the
//! provider then retries).
//!
//! Storage:
//! - the events file (JSON lines): one `{"provider", "id", "event"}` object per
//!   accepted event, written and `fsync`ed before the 2xx. An event whose
//!   provider and id are already in the file is skipped (providers redeliver);
//!   the ids are loaded from the file at start-up.
//! - the dead-letter file: for each event that could not be decoded, a JSON
//!   header line (`provider`, `reason`, `index`, `received_at_ms`, `bytes`)
//!   followed by exactly `bytes` raw bytes and a newline. Raw bytes, not a
//!   JSON string: an unparseable body need not be UTF-8. Not deduplicated: a
//!   redelivery adds the same bytes again.
//!
//! Configuration, each from a flag or else the environment:
//!
//! | flag | environment | default |
//! |---|---|---|
//! | `--addr` | `RECEIVER_ADDR` | `127.0.0.1:3000` |
//! | `--secret` (repeat it for a rotation, newest first) | `PREDICTAID_WEBHOOK_SECRET`, `PREDICTAID_WEBHOOK_SECRET_PREVIOUS` | none: required |
//! | `--events` | `RECEIVER_EVENTS` | `events.jsonl` |
//! | `--dead-letters` | `RECEIVER_DEAD_LETTERS` | `dead-letters.log` |
//! | `--body-limit` (bytes) | `RECEIVER_BODY_LIMIT` | 16 MiB (`kyc_webhooks::axum::DEFAULT_BODY_LIMIT`) |
//!
//! Prefer the environment for the secret: command lines show up in `ps`.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use kyc_webhooks::axum::{
    PredictaIdDelivery, PredictaIdRejection, SpektrDelivery, SpektrRejection, DEFAULT_BODY_LIMIT,
};
use kyc_webhooks::predictaid::Secrets;
use serde::{Deserialize, Serialize};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_args(std::env::args().skip(1), |name| std::env::var(name).ok())
    {
        Ok(config) => config,
        Err(message) => {
            eprintln!("receiver: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let store = match Store::open(&config.events, &config.dead_letters) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("receiver: opening the store: {error}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("receiver: binding {}: {error}", config.addr);
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "receiver: listening on http://{} ({} seen events; POST /webhooks/spektr, /webhooks/predictaid)",
        config.addr,
        store.seen.len()
    );
    let app = router(config.secrets, store, config.body_limit);
    let shutdown = async {
        // Ctrl-C: finish the requests in flight, then stop.
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("receiver: {error}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: receiver [--addr HOST:PORT] [--secret SECRET]... [--events FILE] \
[--dead-letters FILE] [--body-limit BYTES]
(or RECEIVER_ADDR, PREDICTAID_WEBHOOK_SECRET, PREDICTAID_WEBHOOK_SECRET_PREVIOUS, RECEIVER_EVENTS,
RECEIVER_DEAD_LETTERS, RECEIVER_BODY_LIMIT)";

/// What the receiver is told on start-up.
pub struct Config {
    pub addr: SocketAddr,
    pub secrets: Secrets,
    pub events: PathBuf,
    pub dead_letters: PathBuf,
    pub body_limit: usize,
}

impl Config {
    /// Reads the flags, and the environment (through `env`) for what they leave out.
    pub fn from_args(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, String> {
        let mut addr = None;
        let mut secrets = Vec::new();
        let mut events = None;
        let mut dead_letters = None;
        let mut body_limit = None;
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let (name, inline) = match flag.split_once('=') {
                Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                None => (flag.clone(), None),
            };
            if name == "--help" || name == "-h" {
                return Err("help requested".to_owned());
            }
            let value = match inline.or_else(|| args.next()) {
                Some(value) => value,
                None => return Err(format!("{name} needs a value")),
            };
            match name.as_str() {
                "--addr" => addr = Some(value),
                "--secret" => secrets.push(value),
                "--events" => events = Some(value),
                "--dead-letters" => dead_letters = Some(value),
                "--body-limit" => body_limit = Some(value),
                _ => return Err(format!("unknown flag {name}")),
            }
        }
        if secrets.is_empty() {
            secrets.extend(env("PREDICTAID_WEBHOOK_SECRET"));
            secrets.extend(env("PREDICTAID_WEBHOOK_SECRET_PREVIOUS"));
        }
        let secrets = Secrets::new(secrets);
        if secrets.is_empty() {
            return Err(
                "no PredictaID secret: pass --secret or set PREDICTAID_WEBHOOK_SECRET".to_owned(),
            );
        }
        let addr = addr
            .or_else(|| env("RECEIVER_ADDR"))
            .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let body_limit = match body_limit.or_else(|| env("RECEIVER_BODY_LIMIT")) {
            None => DEFAULT_BODY_LIMIT,
            Some(text) => text
                .parse()
                .map_err(|_| format!("body limit {text:?} is not a number of bytes"))?,
        };
        Ok(Config {
            addr: addr
                .parse()
                .map_err(|_| format!("{addr:?} is not an address (HOST:PORT)"))?,
            secrets,
            events: events
                .or_else(|| env("RECEIVER_EVENTS"))
                .unwrap_or_else(|| "events.jsonl".to_owned())
                .into(),
            dead_letters: dead_letters
                .or_else(|| env("RECEIVER_DEAD_LETTERS"))
                .unwrap_or_else(|| "dead-letters.log".to_owned())
                .into(),
            body_limit,
        })
    }
}

/// The router with both endpoints, the body limit and the state.
pub fn router(secrets: Secrets, store: Store, body_limit: usize) -> Router {
    Router::new()
        .route("/webhooks/spektr", post(on_spektr))
        .route("/webhooks/predictaid", post(on_predictaid))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(AppState {
            secrets,
            store: Arc::new(Mutex::new(store)),
        })
}

#[derive(Clone)]
struct AppState {
    secrets: Secrets,
    store: Arc<Mutex<Store>>,
}

impl FromRef<AppState> for Secrets {
    fn from_ref(state: &AppState) -> Secrets {
        state.secrets.clone()
    }
}

async fn on_spektr(
    State(state): State<AppState>,
    delivery: Result<SpektrDelivery, SpektrRejection>,
) -> Response {
    let delivery = match delivery {
        Ok(delivery) => delivery,
        Err(rejection) => {
            eprintln!("spektr: refused ({}): {rejection}", rejection.status());
            return rejection.into_response();
        }
    };
    let mut records = Vec::with_capacity(delivery.events.len());
    for event in &delivery.events {
        match Record::line("spektr", &event.id, event) {
            Ok(line) => records.push((event.id.clone(), line)),
            Err(error) => return storage_failed("spektr", &error),
        }
    }
    let dead = delivery
        .rejected
        .into_iter()
        .map(|rejected| {
            let index = rejected.index();
            let (raw, error) = rejected.into_parts();
            DeadLetter {
                reason: error.to_string(),
                index: Some(index),
                raw: raw.into_bytes(),
            }
        })
        .collect();
    match store(&state, "spektr", records, dead).await {
        Ok(outcome) => (
            StatusCode::OK,
            format!(
                "stored {}, already stored {}, dead-lettered {}\n",
                outcome.stored, outcome.duplicates, outcome.dead_lettered
            ),
        )
            .into_response(),
        Err(error) => storage_failed("spektr", &error),
    }
}

async fn on_predictaid(
    State(state): State<AppState>,
    delivery: Result<PredictaIdDelivery, PredictaIdRejection>,
) -> Response {
    let delivery = match delivery {
        Ok(delivery) => delivery,
        Err(rejection) => {
            // The detail goes to the log; the sender gets the generic answer.
            eprintln!("predictaid: refused ({}): {rejection}", rejection.status());
            return rejection.into_response();
        }
    };
    let (records, dead) = match &delivery.event {
        Ok(event) => match Record::line("predictaid", &event.id, event) {
            Ok(line) => (vec![(event.id.clone(), line)], Vec::new()),
            Err(error) => return storage_failed("predictaid", &error),
        },
        Err(error) => {
            eprintln!("predictaid: authentic but unparseable, dead-lettered: {error}");
            let dead = DeadLetter {
                reason: error.to_string(),
                index: None,
                raw: delivery.body.to_vec(),
            };
            (Vec::new(), vec![dead])
        }
    };
    match store(&state, "predictaid", records, dead).await {
        Ok(outcome) if outcome.dead_lettered > 0 => {
            (StatusCode::OK, "dead-lettered\n").into_response()
        }
        Ok(outcome) if outcome.duplicates > 0 => {
            (StatusCode::OK, "already stored\n").into_response()
        }
        Ok(_) => (StatusCode::OK, "stored\n").into_response(),
        Err(error) => storage_failed("predictaid", &error),
    }
}

fn storage_failed(provider: &str, error: &io::Error) -> Response {
    eprintln!("{provider}: storing failed, answering 500 for a retry: {error}");
    (StatusCode::INTERNAL_SERVER_ERROR, "storage failed\n").into_response()
}

/// Runs the blocking file work off the async threads.
async fn store(
    state: &AppState,
    provider: &'static str,
    records: Vec<(String, String)>,
    dead: Vec<DeadLetter>,
) -> io::Result<Outcome> {
    let store = Arc::clone(&state.store);
    let work = tokio::task::spawn_blocking(move || {
        let mut store = store
            .lock()
            .map_err(|_| io::Error::other("the store's lock is poisoned"))?;
        store.append(provider, records, dead)
    });
    match work.await {
        Ok(result) => result,
        Err(error) => Err(io::Error::other(error)),
    }
}

/// One line of the events file.
#[derive(Serialize)]
struct Record<'a, E> {
    provider: &'a str,
    id: &'a str,
    event: &'a E,
}

impl<E: Serialize> Record<'_, E> {
    fn line(provider: &str, id: &str, event: &E) -> io::Result<String> {
        let mut line = serde_json::to_string(&Record {
            provider,
            id,
            event,
        })?;
        line.push('\n');
        Ok(line)
    }
}

/// What start-up reads back from a line of the events file.
#[derive(Deserialize)]
struct StoredKey {
    provider: String,
    id: String,
}

/// An event or body to keep raw.
struct DeadLetter {
    reason: String,
    /// The event's index in a Spektr batch.
    index: Option<usize>,
    raw: Vec<u8>,
}

/// The header line before a dead letter's raw bytes.
#[derive(Serialize)]
struct DeadLetterHeader<'a> {
    provider: &'a str,
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
    received_at_ms: u128,
    bytes: usize,
}

struct Outcome {
    stored: usize,
    duplicates: usize,
    dead_lettered: usize,
}

/// The two append-only files, and the (provider, id) of every stored event.
pub struct Store {
    events: File,
    dead_letters: File,
    seen: HashSet<(String, String)>,
}

impl Store {
    /// Opens (or creates) both files and loads the ids already stored.
    pub fn open(events: &Path, dead_letters: &Path) -> io::Result<Store> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(events)?;
        let mut seen = HashSet::new();
        for line in BufReader::new(&mut file).split(b'\n') {
            let line = line?;
            if line.is_empty() {
                continue;
            }
            match serde_json::from_slice::<StoredKey>(&line) {
                Ok(key) => {
                    seen.insert((key.provider, key.id));
                }
                // A torn last line: the process died mid-write, before any 2xx.
                Err(error) => eprintln!(
                    "receiver: skipping an unreadable line of {}: {error}",
                    events.display()
                ),
            }
        }
        // `split` hides whether the last line was complete: look at the last byte.
        let mut last = [b'\n'];
        if file.seek(SeekFrom::End(0))? > 0 {
            file.seek(SeekFrom::End(-1))?;
            file.read_exact(&mut last)?;
        }
        if last[0] != b'\n' {
            // Start the next record on a line of its own.
            file.write_all(b"\n")?;
            file.sync_data()?;
        }
        let dead_letters = OpenOptions::new()
            .append(true)
            .create(true)
            .open(dead_letters)?;
        Ok(Store {
            events: file,
            dead_letters,
            seen,
        })
    }

    /// Appends the new events and the dead letters, and syncs both files:
    /// when this returns `Ok`, everything is on disk. On an error, the events
    /// file is cut back to where it was, so that the retry does not add a
    /// line twice.
    fn append(
        &mut self,
        provider: &str,
        records: Vec<(String, String)>,
        dead: Vec<DeadLetter>,
    ) -> io::Result<Outcome> {
        let mut outcome = Outcome {
            stored: 0,
            duplicates: 0,
            dead_lettered: dead.len(),
        };
        let mut fresh = Vec::new();
        let mut text = String::new();
        for (id, line) in records {
            let key = (provider.to_owned(), id);
            if self.seen.contains(&key) || fresh.contains(&key) {
                outcome.duplicates += 1;
            } else {
                text.push_str(&line);
                fresh.push(key);
            }
        }
        if !dead.is_empty() {
            let received_at_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_millis());
            let mut bytes = Vec::new();
            for letter in &dead {
                let header = DeadLetterHeader {
                    provider,
                    reason: &letter.reason,
                    index: letter.index,
                    received_at_ms,
                    bytes: letter.raw.len(),
                };
                serde_json::to_writer(&mut bytes, &header)?;
                bytes.push(b'\n');
                bytes.extend_from_slice(&letter.raw);
                bytes.push(b'\n');
            }
            self.dead_letters.write_all(&bytes)?;
            self.dead_letters.sync_data()?;
        }
        if !text.is_empty() {
            let before = self.events.metadata()?.len();
            let written = self
                .events
                .write_all(text.as_bytes())
                .and_then(|()| self.events.sync_data());
            if let Err(error) = written {
                let _ = self.events.set_len(before);
                return Err(error);
            }
            outcome.stored = fresh.len();
            self.seen.extend(fresh);
        }
        Ok(outcome)
    }
}
