//! `kyc-webhooks-receiver`: receives Spektr and PredictaID webhooks into a
//! durable inbox and handles them. `--help` lists the flags and their
//! environment variables.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use kyc_webhooks_inbox::receiver::{self, Config};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    // A flag that cannot work exits with status 2 (clap's usage error).
    let mut config = Config::parse();
    if let Err(message) = config.load_files() {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer().with_ansi(std::io::stdout().is_terminal());
    #[cfg(feature = "otel")]
    let (spans, provider) = match otel::exporter() {
        Ok(Some(provider)) => (Some(otel::layer(&provider)), Some(provider)),
        Ok(None) => (None, None),
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let registry = tracing_subscriber::registry().with(filter).with(logs);
    #[cfg(feature = "otel")]
    let registry = registry.with(spans);
    registry.init();
    let code = match receiver::serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    };
    // Sends the spans still buffered before the process ends.
    #[cfg(feature = "otel")]
    if let Some(provider) = provider {
        if let Err(error) = provider.shutdown() {
            eprintln!("warning: exporting the last spans: {error}");
        }
    }
    code
}

/// Spans exported with OpenTelemetry (OTLP over HTTP, protobuf), feature
/// `otel`: on when `OTEL_EXPORTER_OTLP_ENDPOINT` or
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (the SDK reads the other
/// `OTEL_*` settings, `OTEL_SERVICE_NAME` among them).
#[cfg(feature = "otel")]
mod otel {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use opentelemetry_sdk::Resource;

    /// The tracer provider, when an endpoint is configured.
    pub fn exporter() -> Result<Option<SdkTracerProvider>, String> {
        let configured = [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()));
        if !configured {
            return Ok(None);
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
            .map_err(|e| format!("OTEL_EXPORTER_OTLP_ENDPOINT: {e}"))?;
        // OTEL_SERVICE_NAME, when set, wins over this default.
        let service = std::env::var("OTEL_SERVICE_NAME")
            .unwrap_or_else(|_| "kyc-webhooks-receiver".to_owned());
        Ok(Some(
            SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(Resource::builder().with_service_name(service).build())
                .build(),
        ))
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans.
    pub fn layer<S>(provider: &SdkTracerProvider) -> impl tracing_subscriber::Layer<S>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(provider.tracer("kyc-webhooks-receiver"))
    }
}
