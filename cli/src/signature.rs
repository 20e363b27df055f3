//! `kyc-webhooks sign` and `verify`: the PredictaID signature of a body.

use std::path::PathBuf;

use clap::Args;
use kyc_webhooks::{predictaid, ErrorKind};
use serde_json::json;

use crate::input::{read_body, SecretArgs};
use crate::{print, Outcome, EXIT_CODES};

/// Print the X-PredictAid-Signature value of a body
///
/// The HMAC-SHA256 of the file's exact bytes under the webhook secret, in
/// lowercase hex, as PredictaID sends it. The secret is read from an
/// environment variable (--secret-env, PREDICTAID_WEBHOOK_SECRET by default)
/// or a file (--secret-file), never from the command line.
#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
pub struct SignArgs {
    #[command(flatten)]
    secret: SecretArgs,
    /// The body to sign, byte for byte: a file, or - for stdin
    file: PathBuf,
}

/// Check a body's X-PredictAid-Signature
///
/// Prints `valid`, or `invalid: ` and which failure (missing, malformed,
/// mismatch). Check the body exactly as received: a body that was re-indented
/// or re-encoded no longer matches.
#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
pub struct VerifyArgs {
    #[command(flatten)]
    secret: SecretArgs,
    /// The X-PredictAid-Signature header value received with the body
    #[arg(long, value_name = "SIG")]
    signature: String,
    /// Print {"valid": bool, "failure": null|"missing_signature"|
    /// "malformed_signature"|"signature_mismatch", "message": ...}
    #[arg(long)]
    json: bool,
    /// The body as received: a file, or - for stdin
    file: PathBuf,
}

pub fn sign(args: SignArgs) -> Outcome {
    let secret = args.secret.load()?;
    let body = read_body(&args.file)?;
    print(&format!("{}\n", predictaid::sign(&body, &secret)));
    Ok(0)
}

pub fn verify(args: VerifyArgs) -> Outcome {
    let secret = args.secret.load()?;
    let body = read_body(&args.file)?;
    let result = predictaid::verify(&body, &args.signature, &secret);
    let (failure, message) = match &result {
        Ok(()) => (None, "valid".to_owned()),
        Err(error) => {
            let (name, hint) = match error.kind() {
                ErrorKind::MissingSignature => (
                    "missing_signature",
                    "the signature is empty: pass the X-PredictAid-Signature header's value",
                ),
                ErrorKind::MalformedSignature => (
                    "malformed_signature",
                    "the signature is not 64 hexadecimal digits: pass the header's value as received",
                ),
                _ => (
                    "signature_mismatch",
                    "the signature does not match this body under this secret: a wrong secret, or a body changed after it was received",
                ),
            };
            (Some(name), format!("invalid: {hint}"))
        }
    };
    if args.json {
        let record = json!({"valid": result.is_ok(), "failure": failure, "message": message});
        print(&format!("{}\n", crate::text::json(&record)));
    } else {
        print(&format!("{message}\n"));
    }
    Ok(if result.is_ok() { 0 } else { 1 })
}
