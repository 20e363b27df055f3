//! The webhook receiver: an HTTP server with one route per provider, storing
//! each delivery in an [`Inbox`] before it answers 2xx. The
//! `kyc-webhooks-receiver` binary runs it; [`serve`] runs it in your process.
//!
//! The limits: hyper's header-read timeout (also for idle keep-alive
//! connections); a cap on open connections, at which the oldest idle one is
//! closed for a new one; a request timeout and one deadline for a whole body;
//! a cap on requests in flight; per route a body limit; and for Spektr a
//! budget of body bytes being read and a cap on batches decoded and stored at
//! once, taken only once the body is in, so that unauthenticated 16 MiB bodies
//! cannot exhaust memory and slow senders cannot hold the route.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::BodyExt as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use kyc_webhooks::predictaid::{Secrets, EVENT_ID_HEADER, SIGNATURE_HEADER};
use tokio::net::TcpListener;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::{Error, Handler, Inbox, WorkerOptions};

/// The receiver's settings: each a flag or an environment variable.
///
/// Its `Debug` output shows no secret, token or database password.
/// [`Config::load_files`] reads `--secret-file` and `--spektr-token-file`
/// ([`serve`] calls it).
#[derive(Clone, clap::Parser)]
#[command(
    name = "kyc-webhooks-receiver",
    version,
    about = "Receives Spektr and PredictaID webhooks into a durable inbox (SQLite or PostgreSQL) and handles them"
)]
pub struct Config {
    /// The address to listen on (port 0: any free port; the log says which).
    #[arg(long, env = "RECEIVER_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// The database: `sqlite://PATH` (a file, created if missing) or `postgres://...`.
    #[arg(
        long,
        env = "RECEIVER_DATABASE",
        default_value = "sqlite://webhooks.db",
        hide_env_values = true
    )]
    pub database: String,
    /// The PredictaID webhook secret; repeat the flag during a rotation,
    /// newest first. Prefer the environment or --secret-file: command lines
    /// show in `ps`.
    #[arg(
        long = "secret",
        env = "PREDICTAID_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub secrets: Vec<String>,
    /// A file of PredictaID secrets, one a line, newest first (blank lines
    /// ignored); used after those of --secret.
    #[arg(long, env = "PREDICTAID_WEBHOOK_SECRET_FILE", value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
    /// The previous PredictaID secret, still accepted during a rotation.
    #[arg(
        long,
        env = "PREDICTAID_WEBHOOK_SECRET_PREVIOUS",
        hide_env_values = true
    )]
    pub secret_previous: Option<String>,
    /// The Spektr route becomes `POST /webhooks/spektr/TOKEN` (every other
    /// path under /webhooks/spektr is 404). Spektr signs nothing: without a
    /// token anyone who can reach the port can store Spektr events. At least
    /// 16 characters of `A-Z a-z 0-9 - . _ ~` (e.g. `openssl rand -hex 32`).
    #[arg(
        long,
        env = "RECEIVER_SPEKTR_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        conflicts_with = "spektr_token_file"
    )]
    pub spektr_token: Option<String>,
    /// A file holding the Spektr token (a trailing newline is ignored).
    #[arg(long, env = "RECEIVER_SPEKTR_TOKEN_FILE", value_name = "PATH")]
    pub spektr_token_file: Option<PathBuf>,
    /// Spektr deliveries are accepted only from these peer addresses (a CIDR
    /// range or one address; repeat the flag, or comma-separate in the
    /// environment); others get 403. The peer is the TCP peer: behind a
    /// proxy, that is the proxy.
    #[arg(
        long = "spektr-allow",
        env = "RECEIVER_SPEKTR_ALLOW",
        value_delimiter = ',',
        value_name = "CIDR",
        value_parser = parse_cidr
    )]
    pub spektr_allow: Vec<ipnet::IpNet>,
    /// Handler runs at once in this process (0: store only; run workers elsewhere).
    #[arg(long, env = "RECEIVER_WORKERS", default_value_t = 1)]
    pub workers: usize,
    /// Runs of a failing handler before its event is parked.
    #[arg(long, env = "RECEIVER_MAX_ATTEMPTS", default_value_t = 10)]
    pub max_attempts: u32,
    /// How long a worker's claim on an event lasts, in seconds, 0.1 to 86400
    /// (renewed while the handler runs; a dead worker's events are claimable
    /// after it).
    #[arg(long, env = "RECEIVER_LEASE_SECS", default_value_t = 30.0, value_parser = parse_lease_secs)]
    pub lease_secs: f64,
    /// The delay before a failed event's second run, in milliseconds (doubled for each further run).
    #[arg(long, env = "RECEIVER_RETRY_BASE_MS", default_value_t = 1_000)]
    pub retry_base_ms: u64,
    /// The Spektr route's body limit, in bytes (at most 1 GiB).
    #[arg(
        long,
        env = "RECEIVER_SPEKTR_BODY_LIMIT",
        default_value_t = 16 * 1024 * 1024,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_BODY_LIMIT)
    )]
    pub spektr_body_limit: usize,
    /// The PredictaID route's body limit, in bytes (one event per delivery; at most 1 GiB).
    #[arg(
        long,
        env = "RECEIVER_PREDICTAID_BODY_LIMIT",
        default_value_t = 256 * 1024,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_BODY_LIMIT)
    )]
    pub predictaid_body_limit: usize,
    /// Spektr batches decoded and stored at once; more wait, read, for a
    /// turn. Bodies are read before the turn, within a budget of
    /// SPEKTR_CONCURRENCY x SPEKTR_BODY_LIMIT bytes (64 MiB by default; at
    /// least the body limit plus 16 KiB per request in flight).
    #[arg(
        long,
        env = "RECEIVER_SPEKTR_CONCURRENCY",
        default_value_t = 4,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4_096)
    )]
    pub spektr_concurrency: usize,
    /// Requests handled at once, all routes together.
    #[arg(
        long,
        env = "RECEIVER_MAX_REQUESTS",
        default_value_t = 512,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000)
    )]
    pub max_requests: usize,
    /// Open connections. At the cap, a new connection closes the oldest idle
    /// one (no request in progress); with none idle it waits in the listen
    /// queue.
    #[arg(
        long,
        env = "RECEIVER_MAX_CONNECTIONS",
        default_value_t = 1_024,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000)
    )]
    pub max_connections: usize,
    /// Seconds allowed to send a request's headers (also how long an idle
    /// keep-alive connection is kept), 1 to 86400.
    #[arg(
        long,
        env = "RECEIVER_HEADER_TIMEOUT_SECS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECS)
    )]
    pub header_timeout_secs: u64,
    /// Seconds allowed to send a request's whole body (one deadline, however
    /// the bytes trickle in), 1 to 86400.
    #[arg(
        long,
        env = "RECEIVER_BODY_TIMEOUT_SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECS)
    )]
    pub body_timeout_secs: u64,
    /// Seconds allowed for a whole request, waiting for a turn included, 1 to 86400.
    #[arg(
        long,
        env = "RECEIVER_REQUEST_TIMEOUT_SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECS)
    )]
    pub request_timeout_secs: u64,
    /// Milliseconds the default handler waits before it logs an event (to
    /// stand in for real work in tests and demos).
    #[arg(
        long,
        env = "RECEIVER_HANDLER_SLEEP_MS",
        default_value_t = 0,
        hide = true
    )]
    pub handler_sleep_ms: u64,
    /// On SIGTERM or Ctrl-C, the seconds given to the requests in flight to
    /// be answered and to the running handlers to finish (at once, not one
    /// after the other); a handler still running then is stopped, and its
    /// event released to be claimed again at once.
    #[arg(
        long,
        env = "RECEIVER_SHUTDOWN_TIMEOUT_SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(0..=MAX_TIMEOUT_SECS)
    )]
    pub shutdown_timeout_secs: u64,
    /// Serve Prometheus metrics (`GET /metrics`) and the health checks
    /// (`/healthz`, `/readyz`) on this address too: a listener of its own,
    /// never the webhook port. Off unless given.
    #[arg(long, env = "RECEIVER_METRICS_ADDR", value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Prune the bodies of done events this long after they were finished
    /// (e.g. `30d`, `12h`), keeping their ids so that a redelivery is still
    /// recognised; checked every --prune-every. Off unless given.
    #[arg(long, env = "RECEIVER_RETAIN_DONE", value_name = "DURATION", value_parser = parse_period)]
    pub retain_done: Option<Duration>,
    /// Remove dead letters this long after they were received (e.g. `90d`).
    /// Off unless given.
    #[arg(long, env = "RECEIVER_RETAIN_DEAD_LETTERS", value_name = "DURATION", value_parser = parse_period)]
    pub retain_dead_letters: Option<Duration>,
    /// How often the receiver prunes, with --retain-done or
    /// --retain-dead-letters (e.g. `15m`).
    #[arg(long, env = "RECEIVER_PRUNE_EVERY", value_name = "DURATION", default_value = "15m", value_parser = parse_period)]
    pub prune_every: Duration,
}

/// A period such as `30d`, `12h` or `90s` (humantime's syntax).
pub(crate) fn parse_period(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| format!("{e} (e.g. 30d, 12h, 15m)"))
}

/// The largest body limit accepted, in bytes.
const MAX_BODY_LIMIT: u64 = 1 << 30;
/// The longest timeout accepted, in seconds (a day).
const MAX_TIMEOUT_SECS: u64 = 86_400;
/// The shortest Spektr token accepted.
const MIN_TOKEN_LEN: usize = 16;

fn parse_lease_secs(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| "not a number of seconds".to_owned())?;
    if secs.is_finite() && (0.1..=86_400.0).contains(&secs) {
        Ok(secs)
    } else {
        Err("must be a number of seconds from 0.1 to 86400".to_owned())
    }
}

fn parse_cidr(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| "not a CIDR range (10.0.0.0/8, fd00::/8) or an address".to_owned())
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |n: usize| format!("[{n} hidden]");
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("database", &crate::error::redact_url(&self.database))
            .field("secrets", &format_args!("{}", hidden(self.secrets.len())))
            .field("secret_file", &self.secret_file)
            .field(
                "secret_previous",
                &self.secret_previous.as_ref().map(|_| "***"),
            )
            .field("spektr_token", &self.spektr_token.as_ref().map(|_| "***"))
            .field("spektr_token_file", &self.spektr_token_file)
            .field("spektr_allow", &self.spektr_allow)
            .field("workers", &self.workers)
            .field("max_attempts", &self.max_attempts)
            .field("lease_secs", &self.lease_secs)
            .field("retry_base_ms", &self.retry_base_ms)
            .field("spektr_body_limit", &self.spektr_body_limit)
            .field("predictaid_body_limit", &self.predictaid_body_limit)
            .field("spektr_concurrency", &self.spektr_concurrency)
            .field("max_requests", &self.max_requests)
            .field("max_connections", &self.max_connections)
            .field("header_timeout_secs", &self.header_timeout_secs)
            .field("body_timeout_secs", &self.body_timeout_secs)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("handler_sleep_ms", &self.handler_sleep_ms)
            .field("shutdown_timeout_secs", &self.shutdown_timeout_secs)
            .field("metrics_addr", &self.metrics_addr)
            .field("retain_done", &self.retain_done)
            .field("retain_dead_letters", &self.retain_dead_letters)
            .field("prune_every", &self.prune_every)
            .finish()
    }
}

impl Config {
    /// Reads `--secret-file` (its secrets are appended to `secrets`) and
    /// `--spektr-token-file` (into `spektr_token`), clears both paths, and
    /// checks the token. Calling it again does nothing.
    ///
    /// # Errors
    ///
    /// A file that cannot be read, a secret file with no secret, or a token
    /// that is too short or holds characters other than `A-Z a-z 0-9 - . _ ~`
    /// (the message repeats no secret).
    pub fn load_files(&mut self) -> Result<(), String> {
        if let Some(path) = self.secret_file.take() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("--secret-file {}: {e}", path.display()))?;
            let before = self.secrets.len();
            self.secrets.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .map(str::to_owned),
            );
            if self.secrets.len() == before {
                return Err(format!("--secret-file {}: holds no secret", path.display()));
            }
        }
        if let Some(path) = self.spektr_token_file.take() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("--spektr-token-file {}: {e}", path.display()))?;
            let token = text.strip_suffix('\n').unwrap_or(&text);
            let token = token.strip_suffix('\r').unwrap_or(token);
            self.spektr_token = Some(token.to_owned());
        }
        if let Some(token) = &self.spektr_token {
            let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
            if token.chars().count() < MIN_TOKEN_LEN || !token.chars().all(allowed) {
                return Err(format!(
                    "--spektr-token: the token must be at least {MIN_TOKEN_LEN} characters of A-Z a-z 0-9 - . _ ~ (it is part of the URL path)"
                ));
            }
        }
        Ok(())
    }

    /// The PredictaID secrets, newest first.
    ///
    /// # Errors
    ///
    /// None given, or one that is empty or only whitespace (an unset
    /// variable expanded): [`Secrets::try_new`]'s error.
    pub fn secret_set(&self) -> Result<Secrets, kyc_webhooks::Error> {
        Secrets::try_new(self.secrets.iter().chain(self.secret_previous.as_ref()))
    }

    /// The workers' settings.
    pub fn worker_options(&self) -> WorkerOptions {
        // A config not parsed by clap may hold any value: never panic on it.
        let lease = if self.lease_secs.is_finite() {
            self.lease_secs.clamp(0.1, 86_400.0)
        } else {
            30.0
        };
        WorkerOptions {
            concurrency: self.workers,
            lease: Duration::from_secs_f64(lease),
            max_attempts: self.max_attempts.max(1),
            retry_base: Duration::from_millis(self.retry_base_ms),
            ..WorkerOptions::default()
        }
    }
}

#[derive(Clone)]
struct AppState {
    inbox: Inbox,
    secrets: Secrets,
    spektr: Arc<SpektrGate>,
    /// Turns to decode and store a Spektr batch, taken once its body is read.
    spektr_turns: Arc<Semaphore>,
    /// The budget of Spektr body bytes being read or held, in KiB.
    spektr_budget: Arc<Semaphore>,
    spektr_body_limit: usize,
    body_timeout: Duration,
}

/// What a Spektr body reserves of the budget before it is read; the rest of
/// its length is reserved once this much has arrived, so that a body that
/// trickles in holds no more than this.
const FIRST_RESERVATION: usize = 16 * 1024;

/// The Spektr body budget, in KiB: `spektr_concurrency` bodies of the limit,
/// and at least one body of the limit besides a first reservation for every
/// request in flight (then a body that has its first reservation always gets
/// the rest eventually).
fn spektr_budget_kib(config: &Config) -> usize {
    let limit = config.spektr_body_limit.max(1) as u64;
    let bytes = (config.spektr_concurrency.max(1) as u64)
        .saturating_mul(limit)
        .max(limit.saturating_add(
            (config.max_requests.max(1) as u64).saturating_mul(FIRST_RESERVATION as u64),
        ));
    usize::try_from(bytes.div_ceil(1024))
        .unwrap_or(usize::MAX)
        .min(Semaphore::MAX_PERMITS)
}

/// Reserves `bytes` of the Spektr body budget.
async fn reserve(budget: &Arc<Semaphore>, bytes: usize) -> Result<OwnedSemaphorePermit, Response> {
    let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
    Arc::clone(budget)
        .acquire_many_owned(kib)
        .await
        .map_err(|_| (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response())
}

/// Who may post to the Spektr route.
struct SpektrGate {
    /// The SHA-256 digest of the URL token, compared in constant time.
    token: Option<[u8; 32]>,
    /// The peer ranges allowed (empty: any).
    allow: Vec<ipnet::IpNet>,
}

impl SpektrGate {
    fn token_matches(&self, given: &str) -> bool {
        use sha2::Digest as _;
        use subtle::ConstantTimeEq as _;
        match &self.token {
            // Digests of equal length: the comparison's time says nothing
            // about the token, its length included.
            Some(token) => bool::from(sha2::Sha256::digest(given.as_bytes()).ct_eq(token)),
            None => false,
        }
    }

    /// Whether a delivery from `peer` is allowed (an unknown peer is not,
    /// when there is an allow-list).
    fn allows(&self, peer: Option<SocketAddr>) -> bool {
        if self.allow.is_empty() {
            return true;
        }
        peer.is_some_and(|peer| {
            let ip = peer.ip().to_canonical();
            self.allow.iter().any(|net| net.contains(&ip))
        })
    }
}

/// The Spektr route's path prefix; with a token the route is `PREFIX/TOKEN`.
const SPEKTR_PATH: &str = "/webhooks/spektr";
/// The PredictaID route.
const PREDICTAID_PATH: &str = "/webhooks/predictaid";

/// The two webhook routes with their limits and timeouts, and the health
/// checks: `GET /healthz` (the process serves: always 200) and `GET /readyz`
/// (200 when the database answers with the current schema, else 503 with a
/// JSON body naming the failing check).
///
/// With `config.spektr_token` the Spektr route is `POST
/// /webhooks/spektr/{TOKEN}`. With `config.spektr_allow`, the peer address is
/// read from the request's [`ConnectInfo<SocketAddr>`] extension ([`serve_on`]
/// inserts it; elsewhere use axum's `into_make_service_with_connect_info`):
/// without it every Spektr delivery is refused.
pub fn router(inbox: Inbox, secrets: Secrets, config: &Config) -> Router {
    use sha2::Digest as _;
    let health_inbox = inbox.clone();
    let gate = SpektrGate {
        token: config
            .spektr_token
            .as_ref()
            .map(|token| sha2::Sha256::digest(token.as_bytes()).into()),
        allow: config.spektr_allow.clone(),
    };
    let spektr_path = if gate.token.is_some() {
        format!("{SPEKTR_PATH}/{{token}}")
    } else {
        SPEKTR_PATH.to_owned()
    };
    // No concurrency cap around the route: it would be held while bodies
    // are read, and four slow senders would hold the route. The handler
    // takes a turn once the body is in.
    let spektr = Router::new()
        .route(&spektr_path, post(on_spektr))
        .layer(RequestBodyLimitLayer::new(config.spektr_body_limit));
    let predictaid = Router::new()
        .route(PREDICTAID_PATH, post(on_predictaid))
        .layer(RequestBodyLimitLayer::new(config.predictaid_body_limit));
    spektr
        .merge(predictaid)
        .with_state(AppState {
            inbox,
            secrets,
            spektr: Arc::new(gate),
            spektr_turns: Arc::new(Semaphore::new(config.spektr_concurrency.max(1))),
            spektr_budget: Arc::new(Semaphore::new(spektr_budget_kib(config))),
            spektr_body_limit: config.spektr_body_limit.max(1),
            body_timeout: Duration::from_secs(config.body_timeout_secs),
        })
        .layer(
            ServiceBuilder::new()
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    Duration::from_secs(config.request_timeout_secs),
                ))
                .layer(GlobalConcurrencyLimitLayer::new(config.max_requests.max(1))),
        )
        // Outermost: it sees every answer, the limits' and timeouts' too.
        .layer(axum::middleware::from_fn(count_delivery))
        .merge(health_routes(health_inbox))
}

/// Records each webhook request's answer and duration
/// ([`metrics::DELIVERIES_TOTAL`](crate::metrics::DELIVERIES_TOTAL),
/// [`REQUEST_DURATION_SECONDS`](crate::metrics::REQUEST_DURATION_SECONDS)).
async fn count_delivery(request: Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path();
    let provider = if path == SPEKTR_PATH || path.starts_with(&format!("{SPEKTR_PATH}/")) {
        "spektr"
    } else if path == PREDICTAID_PATH {
        "predictaid"
    } else {
        return next.run(request).await;
    };
    let started = Instant::now();
    let response = next.run(request).await;
    crate::metrics::delivery_answered(provider, response.status().as_u16(), started.elapsed());
    response
}

/// `GET /healthz` and `GET /readyz`, on the webhook port and the metrics
/// port.
fn health_routes(inbox: Inbox) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(inbox)
}

/// How long `/readyz` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The process serves: 200 whatever the database does (a liveness probe
/// that restarts the process would not mend a database).
async fn healthz() -> Response {
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        "{\"status\":\"ok\"}\n",
    )
        .into_response()
}

/// The database answers within [`READY_TIMEOUT`] and holds the schema this
/// version writes: 200; otherwise 503 with a JSON body naming the failing
/// check, so that an orchestrator sends no traffic until it is fixed.
async fn readyz(State(inbox): State<Inbox>) -> Response {
    let database = match tokio::time::timeout(READY_TIMEOUT, inbox.check_ready()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!(
            "no answer within {} s",
            READY_TIMEOUT.as_secs_f64()
        )),
    };
    let (status, body) = match database {
        Ok(()) => (
            StatusCode::OK,
            serde_json::json!({"status": "ready", "checks": {"database": "ok"}}),
        ),
        Err(error) => {
            tracing::warn!(%error, "not ready: the database check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"status": "unavailable", "checks": {"database": error}}),
            )
        }
    };
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        format!("{body}\n"),
    )
        .into_response()
}

/// The answer to a body that could not be read: 413 over the limit layer's
/// limit, else 400.
fn unreadable(error: &axum::Error) -> Response {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return too_large();
        }
        source = e.source();
    }
    (StatusCode::BAD_REQUEST, "the body could not be read\n").into_response()
}

fn too_large() -> Response {
    (StatusCode::PAYLOAD_TOO_LARGE, "body too large\n").into_response()
}

fn too_slow() -> Response {
    (StatusCode::REQUEST_TIMEOUT, "body read timed out\n").into_response()
}

/// Reads a whole body within one deadline (408 past it, however the bytes
/// trickle in), mapping the limit layer's error to 413.
async fn read_body(body: Body, timeout: Duration) -> Result<Bytes, Response> {
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, usize::MAX)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => Err(unreadable(&error)),
        Err(_) => Err(too_slow()),
    }
}

/// Reads a Spektr body within the body budget and one deadline (which does
/// not run while the body waits for budget: the sender is not the slow one
/// then). Returns the body and its reservations, to hold while it is decoded.
async fn read_spektr_body(
    state: &AppState,
    content_length: Option<u64>,
    mut body: Body,
) -> Result<(Vec<u8>, Vec<OwnedSemaphorePermit>), Response> {
    let limit = state.spektr_body_limit;
    let full = content_length.map_or(limit, |n| usize::try_from(n).unwrap_or(limit).min(limit));
    let mut reserved_bytes = full.min(FIRST_RESERVATION);
    let mut reservations = vec![reserve(&state.spektr_budget, reserved_bytes).await?];
    let mut bytes = Vec::with_capacity(reserved_bytes);
    let mut deadline = Instant::now() + state.body_timeout;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(too_slow()),
            Ok(None) => break,
            Ok(Some(Err(error))) => return Err(unreadable(&error)),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let needed = bytes.len() + data.len();
        if needed > limit {
            return Err(too_large());
        }
        if needed > reserved_bytes {
            // The rest of the declared length (or of the limit) at once: a
            // body never waits for budget twice, so bodies cannot each hold
            // part of the budget waiting for more.
            let more = full.max(needed) - reserved_bytes;
            let waited = Instant::now();
            reservations.push(reserve(&state.spektr_budget, more).await?);
            deadline += waited.elapsed();
            reserved_bytes += more;
            bytes.reserve_exact(reserved_bytes - bytes.len());
        }
        bytes.extend_from_slice(&data);
    }
    Ok((bytes, reservations))
}

/// The answer to a delivery the inbox did not store: [`Error`]'s own, logged
/// under the provider's name.
fn refused(provider: &str, error: Error) -> Response {
    tracing::warn_span!("delivery", provider).in_scope(|| error.into_response())
}

async fn on_spektr(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    // Refused before the body is read.
    if !state.spektr.allows(peer) {
        tracing::warn!(
            provider = "spektr",
            ?peer,
            "refused: peer not in --spektr-allow"
        );
        return (StatusCode::FORBIDDEN, "forbidden\n").into_response();
    }
    let authenticated = state.spektr.token.is_some();
    if authenticated {
        let given = parts
            .uri
            .path()
            .strip_prefix(SPEKTR_PATH)
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or("");
        if !state.spektr.token_matches(given) {
            // The path is not logged: it may be a near miss of the token.
            tracing::warn!(
                provider = "spektr",
                ?peer,
                "refused: wrong token in the path"
            );
            return StatusCode::NOT_FOUND.into_response();
        }
    }
    let content_length = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let (body, _reservations) = match read_spektr_body(&state, content_length, body).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    // Only now a turn to decode and store: slow senders hold none.
    let Ok(_turn) = state.spektr_turns.acquire().await else {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    };
    let bytes = body.len();
    let ingested = if authenticated {
        state.inbox.ingest_spektr_authenticated(body).await
    } else {
        state.inbox.ingest_spektr(body).await
    };
    match ingested {
        Ok(receipt) => {
            let (stored, already, dead) = (
                receipt.stored(),
                receipt.already_stored(),
                receipt.dead_lettered(),
            );
            tracing::info!(
                provider = "spektr",
                bytes,
                stored,
                already_stored = already,
                dead_lettered = dead,
                "delivery stored"
            );
            (
                StatusCode::OK,
                format!("stored {stored}, already stored {already}, dead-lettered {dead}\n"),
            )
                .into_response()
        }
        Err(error) => refused("spektr", error),
    }
}

async fn on_predictaid(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signature = header(SIGNATURE_HEADER).map(str::to_owned);
    // Refused before the body is read: a delivery with no signature cannot be authentic.
    if signature.as_deref().is_none_or(|s| s.trim().is_empty()) {
        tracing::warn!(provider = "predictaid", "refused: no signature header");
        return (StatusCode::UNAUTHORIZED, "invalid webhook signature\n").into_response();
    }
    let event_id = header(EVENT_ID_HEADER).map(str::to_owned);
    let body = match read_body(body, state.body_timeout).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    match state
        .inbox
        .ingest_predictaid(
            &state.secrets,
            body,
            signature.as_deref(),
            event_id.as_deref(),
        )
        .await
    {
        Ok(receipt) => {
            let answer = match receipt.events.first().map(|e| &e.outcome) {
                Some(crate::Outcome::Stored) => "stored\n",
                Some(crate::Outcome::AlreadyStored) => "already stored\n",
                _ => "dead-lettered\n",
            };
            let id = receipt
                .events
                .first()
                .and_then(|e| e.id.as_deref())
                .unwrap_or("");
            tracing::info!(
                provider = "predictaid",
                id,
                outcome = answer.trim_end(),
                "delivery stored"
            );
            (StatusCode::OK, answer).into_response()
        }
        Err(error) => refused("predictaid", error),
    }
}

/// The handler the binary runs: logs each event (after an optional pause).
/// A run's start is logged at debug level, its end at info.
pub fn logging_handler(sleep: Duration) -> Handler {
    Handler::new(move |delivered: crate::Delivered| async move {
        tracing::debug!(
            provider = %delivered.stored.provider,
            id = %delivered.stored.event_id,
            subject = %delivered.stored.subject,
            attempt = delivered.stored.attempts,
            "handling event"
        );
        if !sleep.is_zero() {
            tokio::time::sleep(sleep).await;
        }
        let stored = &delivered.stored;
        tracing::info!(
            provider = %stored.provider,
            id = %stored.event_id,
            event_type = %stored.event_type,
            subject = %stored.subject,
            attempt = stored.attempts,
            "handled event"
        );
        Ok::<(), std::convert::Infallible>(())
    })
}

/// The open connections, oldest first, and how many requests each has in
/// progress (from the call of the service to the end of the response body).
#[derive(Default)]
struct Connections {
    open: Mutex<ConnectionTable>,
    /// Signalled when a connection's last request in progress ends.
    became_idle: Notify,
    /// Signalled when the last open connection ends.
    all_closed: Notify,
}

#[derive(Default)]
struct ConnectionTable {
    next: u64,
    open: BTreeMap<u64, Tracked>,
}

struct Tracked {
    in_progress: usize,
    /// Set once the connection was asked to close.
    closing: bool,
    close: Arc<Notify>,
}

impl Connections {
    fn table(&self) -> std::sync::MutexGuard<'_, ConnectionTable> {
        // The table stays consistent whatever panicked while holding it.
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn add(&self) -> (u64, Arc<Notify>) {
        let mut table = self.table();
        let id = table.next;
        table.next += 1;
        let close = Arc::new(Notify::new());
        table.open.insert(
            id,
            Tracked {
                in_progress: 0,
                closing: false,
                close: Arc::clone(&close),
            },
        );
        (id, close)
    }

    fn remove(&self, id: u64) {
        let mut table = self.table();
        table.open.remove(&id);
        if table.open.is_empty() {
            self.all_closed.notify_waiters();
        }
    }

    /// Asks every connection to close: at once when idle, else once its
    /// request is answered. Returns how many requests are in progress.
    fn close_all(&self) -> usize {
        let mut table = self.table();
        let mut in_progress = 0;
        for tracked in table.open.values_mut() {
            in_progress += tracked.in_progress;
            if !tracked.closing {
                tracked.closing = true;
                tracked.close.notify_one();
            }
        }
        in_progress
    }

    /// Waits until every connection has ended, or `deadline`; returns how
    /// many are still open.
    async fn drained(&self, deadline: Instant) -> usize {
        loop {
            let closed = self.all_closed.notified();
            tokio::pin!(closed);
            // Registered before the check: a last close in between is seen.
            closed.as_mut().enable();
            let open = self.table().open.len();
            if open == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, closed).await.is_err() {
                return self.table().open.len();
            }
        }
    }

    fn start_request(self: &Arc<Self>, id: u64) -> RequestInProgress {
        if let Some(tracked) = self.table().open.get_mut(&id) {
            tracked.in_progress += 1;
        }
        RequestInProgress {
            connections: Arc::clone(self),
            id,
        }
    }

    /// Asks the oldest connection with no request in progress to close;
    /// false when every connection has one.
    fn close_oldest_idle(&self) -> bool {
        let mut table = self.table();
        let idle = table
            .open
            .values_mut()
            .find(|tracked| tracked.in_progress == 0 && !tracked.closing);
        match idle {
            Some(tracked) => {
                tracked.closing = true;
                tracked.close.notify_one();
                true
            }
            None => false,
        }
    }

    /// Whether the connection, asked to close, can be dropped right away (no
    /// request in progress); else it closes once its request is answered.
    fn is_idle(&self, id: u64) -> bool {
        self.table()
            .open
            .get(&id)
            .is_none_or(|tracked| tracked.in_progress == 0)
    }
}

/// Held while a request is in progress on a connection.
struct RequestInProgress {
    connections: Arc<Connections>,
    id: u64,
}

impl Drop for RequestInProgress {
    fn drop(&mut self) {
        let now_idle = match self.connections.table().open.get_mut(&self.id) {
            Some(tracked) => {
                tracked.in_progress = tracked.in_progress.saturating_sub(1);
                tracked.in_progress == 0
            }
            None => false,
        };
        if now_idle {
            self.connections.became_idle.notify_one();
        }
    }
}

/// Accepts connections on `listener` and serves `app` until `shutdown`
/// resolves, with hyper's header-read timeout and a cap on open connections:
/// at the cap, a new connection closes the oldest one with no request in
/// progress (idle keep-alive, or still sending its headers), and waits in the
/// listen queue only while every connection has a request in progress. Each
/// request carries the peer address as [`ConnectInfo<SocketAddr>`].
pub async fn serve_on(
    listener: TcpListener,
    app: Router,
    config: &Config,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let connections = Arc::new(Connections::default());
    let header_timeout = Duration::from_secs(config.header_timeout_secs);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let permit = loop {
            if let Ok(permit) = Arc::clone(&permits).try_acquire_owned() {
                break Some(permit);
            }
            connections.close_oldest_idle();
            tokio::select! {
                _ = &mut shutdown => break None,
                permit = Arc::clone(&permits).acquire_owned() => match permit {
                    Ok(permit) => break Some(permit),
                    Err(_) => break None,
                },
                // None was idle (or the one asked to close took a request
                // meanwhile): try again when one is.
                _ = connections.became_idle.notified() => {}
            }
        };
        let Some(permit) = permit else {
            break;
        };
        let (id, close) = connections.add();
        let app = app.clone();
        let tracker = Arc::clone(&connections);
        // The peer address goes with each request, for --spektr-allow.
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                let in_progress = tracker.start_request(id);
                let app = app.clone();
                async move {
                    let response = tower::ServiceExt::oneshot(app, request).await?;
                    // In progress until hyper drops the response body, sent.
                    Ok::<_, std::convert::Infallible>(response.map(|body| {
                        Body::new(body.map_frame(move |frame| {
                            let _in_progress = &in_progress;
                            frame
                        }))
                    }))
                }
            },
        );
        let connections = Arc::clone(&connections);
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => Some(ended),
                _ = close.notified() => None,
            };
            let ended = match ended {
                Some(ended) => ended,
                // Closed for a new connection: dropped if still idle, else
                // once its request is answered.
                None if connections.is_idle(id) => Ok(()),
                None => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = ended {
                tracing::debug!(%error, "connection ended");
            }
            connections.remove(id);
            drop(permit);
        });
    }
    // Stop accepting (new connections are refused), then let the requests in
    // flight be answered, each connection closing after its answer.
    drop(listener);
    let deadline = Instant::now() + Duration::from_secs(config.shutdown_timeout_secs);
    let in_flight = connections.close_all();
    tracing::info!(
        requests_in_flight = in_flight,
        "shutting down: no new connections; answering the requests in flight"
    );
    let open = connections.drained(deadline).await;
    if open > 0 {
        tracing::warn!(
            connections = open,
            "--shutdown-timeout-secs passed with connections still open: they are cut"
        );
    }
}

/// Opens the inbox, starts the workers and serves until Ctrl-C or SIGTERM.
pub async fn serve(config: Config) -> Result<(), String> {
    let mut config = config;
    config.load_files()?;
    if config.secrets.is_empty() && config.secret_previous.is_none() {
        return Err(
            "no PredictaID secret: pass --secret or --secret-file, or set PREDICTAID_WEBHOOK_SECRET"
                .to_owned(),
        );
    }
    // A blank --secret (an unset variable expanded) is refused, not dropped.
    let secrets = config
        .secret_set()
        .map_err(|e| format!("--secret / PREDICTAID_WEBHOOK_SECRET: {e}"))?;
    if config.spektr_token.is_none() {
        tracing::warn!(
            "no --spektr-token: anyone who can reach the port can store Spektr events (Spektr signs nothing); set one and configure https://your-host/webhooks/spektr/<TOKEN> in Spektr"
        );
    }
    let inbox = Inbox::open(&config.database)
        .await
        .map_err(|e| format!("opening the inbox: {e}"))?;
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|e| format!("binding {}: {e}", config.addr))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("reading the bound address: {e}"))?;
    // Before the workers and the webhook port: metrics and probes are up
    // once the log says "listening".
    if let Some(addr) = config.metrics_addr {
        serve_metrics(addr, local, inbox.clone()).await?;
    }
    if config.retain_done.is_some() || config.retain_dead_letters.is_some() {
        let mut policy = crate::RetentionPolicy::new();
        policy.done = config.retain_done;
        policy.dead_letters = config.retain_dead_letters;
        tokio::spawn(prune_periodically(
            inbox.clone(),
            policy,
            config.prune_every.max(Duration::from_secs(1)),
        ));
    }
    let workers = (config.workers > 0).then(|| {
        inbox.run_workers(
            config.worker_options(),
            logging_handler(Duration::from_millis(config.handler_sleep_ms)),
        )
    });
    tracing::info!(
        workers = config.workers,
        "listening on http://{local} (POST {}, /webhooks/predictaid)",
        if config.spektr_token.is_some() {
            "/webhooks/spektr/<TOKEN>"
        } else {
            SPEKTR_PATH
        }
    );
    let app = router(inbox, secrets, &config);
    // One signal stops both: the webhook port drains its requests while the
    // workers stop claiming and their handlers finish, within one timeout.
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn({
        let stop = stop.clone();
        async move {
            shutdown_signal().await;
            stop.cancel();
        }
    });
    let timeout = Duration::from_secs(config.shutdown_timeout_secs);
    let handlers = async {
        stop.cancelled().await;
        if let Some(workers) = workers {
            if !workers.shutdown_within(timeout).await {
                tracing::warn!(
                    "--shutdown-timeout-secs passed with handlers still running: they were stopped and their events released"
                );
            }
        }
    };
    tokio::join!(
        serve_on(listener, app, &config, stop.clone().cancelled_owned()),
        handlers
    );
    tracing::info!("stopped");
    Ok(())
}

/// Prunes with `policy` at start and then every `every`, logging what went
/// (a failure is logged and tried again next time).
async fn prune_periodically(inbox: Inbox, policy: crate::RetentionPolicy, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match inbox.prune(policy.clone()).await {
            Ok(pruned) => tracing::info!(
                events = pruned.events,
                dead_letters = pruned.dead_letters,
                "pruned"
            ),
            Err(error) => tracing::warn!(%error, "pruning failed; trying again later"),
        }
    }
}

/// Installs the Prometheus recorder and serves `GET /metrics` with the health
/// checks on `addr`, a listener of its own, in a task of its own.
async fn serve_metrics(addr: SocketAddr, webhooks: SocketAddr, inbox: Inbox) -> Result<(), String> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    if addr == webhooks {
        return Err(format!(
            "--metrics-addr {addr} is the webhook address: give the metrics a port of their own"
        ));
    }
    // Histograms with buckets (without them the exporter writes summaries),
    // from a millisecond to half a minute.
    let buckets = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &buckets)
        .map_err(|e| format!("configuring the metrics: {e}"))?
        .set_buckets_for_metric(
            Matcher::Suffix("_rows".to_owned()),
            &[
                1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0,
            ],
        )
        .map_err(|e| format!("configuring the metrics: {e}"))?
        .install_recorder()
        .map_err(|e| format!("installing the metrics recorder: {e}"))?;
    crate::metrics::describe();
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("binding --metrics-addr {addr}: {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("reading the bound metrics address: {e}"))?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        // Drains the histograms' pending samples between scrapes.
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    let scraped = inbox.clone();
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let (handle, inbox) = (handle.clone(), scraped.clone());
                async move {
                    // The gauges read from the database: tallies and one
                    // index lookup per provider, never a scan. A database
                    // that does not answer leaves them as last read (the
                    // error is counted and /readyz says so).
                    match inbox.depth().await {
                        Ok(depth) => crate::metrics::record_depth(&depth, chrono::Utc::now()),
                        Err(error) => {
                            tracing::warn!(%error, "reading the inbox's depth for the metrics")
                        }
                    }
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        handle.render(),
                    )
                }
            }),
        )
        .merge(health_routes(inbox));
    tracing::info!("metrics on http://{local}/metrics");
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the metrics listener failed");
        }
    });
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
