//! `kyc-webhooks-receiver`: receives Spektr and PredictaID webhooks into a
//! durable inbox and handles them. `--help` lists the flags and their
//! environment variables.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use kyc_webhooks_inbox::receiver::{self, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    // A flag that cannot work exits with status 2 (clap's usage error).
    let mut config = Config::parse();
    if let Err(message) = config.load_files() {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    match receiver::serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}
