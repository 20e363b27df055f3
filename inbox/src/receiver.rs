//! The webhook receiver: an HTTP server with one route per provider, storing
//! each delivery in an [`Inbox`] before it answers 2xx. The
//! `kyc-webhooks-receiver` binary runs it; [`serve`] runs it in your process.
//!
//! Every limit comes from a layer or the connection builder: hyper's
//! header-read timeout (also for idle keep-alive connections), a cap on open
//! connections, a request timeout and a body-read timeout, a cap on requests
//! in flight, and per route a body limit and (Spektr) a cap on concurrent
//! batches, so that unauthenticated 16 MiB bodies cannot exhaust memory.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use kyc_webhooks::predictaid::{Secrets, EVENT_ID_HEADER, SIGNATURE_HEADER};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::{Error, Handler, Inbox, WorkerOptions};

/// The receiver's settings: each a flag or an environment variable.
#[derive(Debug, Clone, clap::Parser)]
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
        default_value = "sqlite://webhooks.db"
    )]
    pub database: String,
    /// The PredictaID webhook secret; repeat the flag during a rotation,
    /// newest first. Prefer the environment: command lines show in `ps`.
    #[arg(
        long = "secret",
        env = "PREDICTAID_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub secrets: Vec<String>,
    /// The previous PredictaID secret, still accepted during a rotation.
    #[arg(
        long,
        env = "PREDICTAID_WEBHOOK_SECRET_PREVIOUS",
        hide_env_values = true
    )]
    pub secret_previous: Option<String>,
    /// Handler runs at once in this process (0: store only; run workers elsewhere).
    #[arg(long, env = "RECEIVER_WORKERS", default_value_t = 1)]
    pub workers: usize,
    /// Runs of a failing handler before its event is parked.
    #[arg(long, env = "RECEIVER_MAX_ATTEMPTS", default_value_t = 10)]
    pub max_attempts: u32,
    /// How long a worker's claim on an event lasts, in seconds (renewed while
    /// the handler runs; a dead worker's events are claimable after it).
    #[arg(long, env = "RECEIVER_LEASE_SECS", default_value_t = 30.0)]
    pub lease_secs: f64,
    /// The delay before a failed event's second run, in milliseconds (doubled for each further run).
    #[arg(long, env = "RECEIVER_RETRY_BASE_MS", default_value_t = 1_000)]
    pub retry_base_ms: u64,
    /// The Spektr route's body limit, in bytes.
    #[arg(long, env = "RECEIVER_SPEKTR_BODY_LIMIT", default_value_t = 16 * 1024 * 1024)]
    pub spektr_body_limit: usize,
    /// The PredictaID route's body limit, in bytes (one event per delivery).
    #[arg(long, env = "RECEIVER_PREDICTAID_BODY_LIMIT", default_value_t = 256 * 1024)]
    pub predictaid_body_limit: usize,
    /// Spektr batches read and stored at once; more wait (unread) for a turn.
    #[arg(long, env = "RECEIVER_SPEKTR_CONCURRENCY", default_value_t = 4)]
    pub spektr_concurrency: usize,
    /// Requests handled at once, all routes together.
    #[arg(long, env = "RECEIVER_MAX_REQUESTS", default_value_t = 512)]
    pub max_requests: usize,
    /// Open connections; more wait in the listen queue.
    #[arg(long, env = "RECEIVER_MAX_CONNECTIONS", default_value_t = 1_024)]
    pub max_connections: usize,
    /// Seconds allowed to send a request's headers (also how long an idle
    /// keep-alive connection is kept).
    #[arg(long, env = "RECEIVER_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Seconds allowed to send a request's body.
    #[arg(long, env = "RECEIVER_BODY_TIMEOUT_SECS", default_value_t = 30)]
    pub body_timeout_secs: u64,
    /// Seconds allowed for a whole request, waiting for a turn included.
    #[arg(long, env = "RECEIVER_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
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
}

impl Config {
    /// The PredictaID secrets, newest first.
    pub fn secret_set(&self) -> Secrets {
        Secrets::new(self.secrets.iter().chain(self.secret_previous.as_ref()))
    }

    /// The workers' settings.
    pub fn worker_options(&self) -> WorkerOptions {
        WorkerOptions {
            concurrency: self.workers,
            lease: Duration::from_secs_f64(self.lease_secs.max(0.1)),
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
}

/// The two routes with their limits and timeouts.
pub fn router(inbox: Inbox, secrets: Secrets, config: &Config) -> Router {
    let spektr = Router::new()
        .route("/webhooks/spektr", post(on_spektr))
        .layer(
            ServiceBuilder::new()
                .layer(GlobalConcurrencyLimitLayer::new(
                    config.spektr_concurrency.max(1),
                ))
                .layer(RequestBodyLimitLayer::new(config.spektr_body_limit)),
        );
    let predictaid = Router::new()
        .route("/webhooks/predictaid", post(on_predictaid))
        .layer(RequestBodyLimitLayer::new(config.predictaid_body_limit));
    spektr
        .merge(predictaid)
        .with_state(AppState { inbox, secrets })
        .layer(
            ServiceBuilder::new()
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    Duration::from_secs(config.request_timeout_secs),
                ))
                .layer(GlobalConcurrencyLimitLayer::new(config.max_requests.max(1)))
                .layer(RequestBodyTimeoutLayer::new(Duration::from_secs(
                    config.body_timeout_secs,
                ))),
        )
}

/// Reads a body, mapping the limit and timeout layers' errors to 413 and 408.
async fn read_body(body: Body) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|error| {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
            while let Some(e) = source {
                if e.is::<http_body_util::LengthLimitError>() {
                    return (StatusCode::PAYLOAD_TOO_LARGE, "body too large\n").into_response();
                }
                if e.is::<tower_http::timeout::TimeoutError>() {
                    return (StatusCode::REQUEST_TIMEOUT, "body read timed out\n").into_response();
                }
                source = e.source();
            }
            (StatusCode::BAD_REQUEST, "the body could not be read\n").into_response()
        })
}

fn refused(provider: &str, error: &Error) -> Response {
    let status =
        StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    if status.is_server_error() {
        tracing::error!(provider, %error, "not stored; answering {status} so that the provider retries");
        (status, "not stored, retry later\n").into_response()
    } else if status == StatusCode::UNAUTHORIZED {
        // The detail goes to the log; the sender gets the generic answer.
        tracing::warn!(provider, %error, "refused");
        (status, "invalid webhook signature\n").into_response()
    } else {
        tracing::warn!(provider, %error, "refused");
        (status, format!("{error}\n")).into_response()
    }
}

async fn on_spektr(State(state): State<AppState>, body: Body) -> Response {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let bytes = body.len();
    match state.inbox.ingest_spektr(body).await {
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
        Err(error) => refused("spektr", &error),
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
    let body = match read_body(body).await {
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
        Err(error) => refused("predictaid", &error),
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

/// Accepts connections on `listener` and serves `app` until `shutdown`
/// resolves, with hyper's header-read timeout and a cap on open connections.
pub async fn serve_on(
    listener: TcpListener,
    app: Router,
    config: &Config,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let connections = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let header_timeout = Duration::from_secs(config.header_timeout_secs);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => return,
            permit = Arc::clone(&connections).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let (stream, _peer) = tokio::select! {
            _ = &mut shutdown => return,
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
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            if let Err(error) = builder
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection ended");
            }
            drop(permit);
        });
    }
}

/// Opens the inbox, starts the workers and serves until Ctrl-C or SIGTERM.
pub async fn serve(config: Config) -> Result<(), String> {
    let secrets = config.secret_set();
    if secrets.is_empty() {
        return Err(
            "no PredictaID secret: pass --secret or set PREDICTAID_WEBHOOK_SECRET".to_owned(),
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
    let workers = (config.workers > 0).then(|| {
        inbox.run_workers(
            config.worker_options(),
            logging_handler(Duration::from_millis(config.handler_sleep_ms)),
        )
    });
    tracing::info!(
        workers = config.workers,
        "listening on http://{local} (POST /webhooks/spektr, /webhooks/predictaid)"
    );
    let app = router(inbox, secrets, &config);
    serve_on(listener, app, &config, shutdown_signal()).await;
    tracing::info!("shutting down");
    if let Some(workers) = workers {
        workers.shutdown().await;
    }
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
