//! Reading bodies and secrets, and recognising a delivery's provider.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::de::IgnoredAny;

use crate::{Failure, Provider};

/// The environment variable `--secret-env` names when not given.
pub const DEFAULT_SECRET_ENV: &str = "PREDICTAID_WEBHOOK_SECRET";

/// Reads a body from a file, or from stdin for `-`, as raw bytes.
pub fn read_body(path: &Path) -> Result<Vec<u8>, Failure> {
    if path == Path::new("-") {
        let mut body = Vec::new();
        std::io::stdin()
            .read_to_end(&mut body)
            .map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
        return Ok(body);
    }
    std::fs::read(path).map_err(|e| {
        Failure::usage(format!(
            "cannot read {}: {} (pass a file or - for stdin)",
            path.display(),
            io_reason(&e)
        ))
    })
}

/// An I/O error's reason without the `(os error 2)` suffix.
fn io_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(end) => text[..end].to_owned(),
        None => text,
    }
}

/// Where the PredictaID webhook secret comes from: never the command line.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// The environment variable that holds the webhook secret
    #[arg(long, value_name = "VAR", default_value = DEFAULT_SECRET_ENV)]
    pub secret_env: String,
    /// A file that holds the webhook secret (one trailing newline is ignored);
    /// used instead of --secret-env
    #[arg(long, value_name = "PATH", env = "KYC_WEBHOOKS_SECRET_FILE")]
    pub secret_file: Option<PathBuf>,
}

impl SecretArgs {
    /// The secret, or `None` when the variable is unset (and no file given).
    pub fn load_optional(&self) -> Result<Option<Vec<u8>>, Failure> {
        let secret = if let Some(path) = &self.secret_file {
            let mut secret = std::fs::read(path).map_err(|e| {
                Failure::usage(format!(
                    "cannot read the secret file {}: {} (pass --secret-file PATH of a readable file)",
                    path.display(),
                    io_reason(&e)
                ))
            })?;
            if secret.ends_with(b"\n") {
                secret.pop();
                if secret.ends_with(b"\r") {
                    secret.pop();
                }
            }
            secret
        } else {
            match std::env::var_os(&self.secret_env) {
                Some(value) => value.into_encoded_bytes(),
                None => return Ok(None),
            }
        };
        if secret.is_empty() {
            let from = match &self.secret_file {
                Some(path) => format!("the secret file {}", path.display()),
                None => format!("the environment variable {}", self.secret_env),
            };
            return Err(Failure::usage(format!(
                "{from} is empty (put the endpoint's webhook secret there)"
            )));
        }
        Ok(Some(secret))
    }

    /// The secret; a one-line error when there is none.
    pub fn load(&self) -> Result<Vec<u8>, Failure> {
        self.load_optional()?.ok_or_else(|| {
            Failure::usage(format!(
                "the environment variable {} is not set (export it with the webhook secret, or pass --secret-env VAR or --secret-file PATH)",
                self.secret_env
            ))
        })
    }
}

/// The provider a body comes from, judged by its top-level keys: `results`
/// (a batch) or `eventType` (a single event) is Spektr, `type` PredictaID.
pub fn detect(name: &str, body: &[u8]) -> Result<Provider, Failure> {
    let keys = top_level_keys(name, body)?;
    if keys.contains_key("results") || keys.contains_key("eventType") {
        Ok(Provider::Spektr)
    } else if keys.contains_key("type") {
        Ok(Provider::Predictaid)
    } else {
        Err(Failure::usage(format!(
            "{name} is not a webhook delivery: no `results`, `eventType` or `type` key (pass a Spektr batch or a PredictaID event, or --provider)"
        )))
    }
}

/// The keys of a JSON object; an error when the body is not one.
pub fn top_level_keys(name: &str, body: &[u8]) -> Result<HashMap<String, IgnoredAny>, Failure> {
    serde_json::from_slice(body).map_err(|e| {
        Failure::usage(format!(
            "{name} is not a webhook delivery: {e} (pass a JSON object: a Spektr batch or a PredictaID event)"
        ))
    })
}

/// How a body is named in messages: its path, or `stdin`.
pub fn display_name(path: &Path) -> String {
    if path == Path::new("-") {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    }
}
