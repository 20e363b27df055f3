//! The README's "In your own axum app": a complete program, compiled by CI
//! (`inbox/tests/readme.rs` checks that the README holds this text).
//! `cargo run -p kyc-webhooks-inbox --features axum --example axum_app`
use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::HeaderMap,
    routing::post,
    Router,
};
use kyc_webhooks_inbox::kyc_webhooks::predictaid::{Secrets, EVENT_ID_HEADER, SIGNATURE_HEADER};
use kyc_webhooks_inbox::{Delivered, Error, Handler, Inbox, InboxEvent, WorkerOptions};

#[derive(Clone)]
struct App {
    inbox: Inbox,
    secrets: Secrets,
}

// `Ok` only once the delivery is committed; an `Error` answers its own
// status (400, 401, 503: the provider retries) and logs why.
async fn spektr(State(app): State<App>, body: Bytes) -> Result<String, Error> {
    let receipt = app.inbox.ingest_spektr(body).await?;
    Ok(format!("{receipt:?}\n"))
}

async fn predictaid(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<String, Error> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let (signature, event_id) = (header(SIGNATURE_HEADER), header(EVENT_ID_HEADER));
    let receipt = app
        .inbox
        .ingest_predictaid(&app.secrets, body, signature, event_id)
        .await?;
    Ok(format!("{receipt:?}\n"))
}

async fn on_event(delivered: Delivered) -> Result<(), String> {
    match &delivered.event {
        InboxEvent::Spektr(event) => println!("Spektr {}", event.type_name()),
        InboxEvent::PredictaId(event) => println!("PredictaID {}", event.type_name()),
    }
    Ok(()) // Err(..) is retried with backoff, then parked
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let inbox = Inbox::open("sqlite://webhooks.db").await?; // or "postgres://app@db/app"
                                                            // An unset or blank secret is an error here, at start.
    let secrets = Secrets::try_new([std::env::var("PREDICTAID_WEBHOOK_SECRET")?])?;
    let workers = inbox.run_workers(WorkerOptions::default(), Handler::new(on_event));
    let app = Router::new()
        // axum's default body limit, 2 MB, is too small for a Spektr batch.
        .route(
            "/webhooks/spektr",
            post(spektr).layer(DefaultBodyLimit::max(16 << 20)),
        )
        .route(
            "/webhooks/predictaid",
            post(predictaid).layer(DefaultBodyLimit::max(256 << 10)),
        )
        .with_state(App { inbox, secrets });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async { tokio::signal::ctrl_c().await.unwrap_or(()) })
        .await?;
    // Requests answered: let the running handlers finish, then exit.
    workers.shutdown().await;
    Ok(())
}
