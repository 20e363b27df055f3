//! `kyc-webhooks`: decode, sample, sign, verify and send Spektr and PredictaID
//! webhook deliveries, and operate a `kyc-webhooks-inbox` database, without
//! writing code.
//!
//! ```text
//! kyc-webhooks sample customer_status_changed            # a Spektr delivery body
//! kyc-webhooks sample session.created > body.json         # a PredictaID event
//! kyc-webhooks sign --secret-env WEBHOOK_SECRET body.json # its signature
//! kyc-webhooks send http://127.0.0.1:3000/webhooks --sample session.created --secret-env WEBHOOK_SECRET
//! kyc-webhooks decode captured.json
//! kyc-webhooks inbox --database sqlite://webhooks.db requeue --all-parked
//! ```
//!
//! Exit status: 0 success, 1 the check failed (events rejected, signature
//! invalid, a request failed or got a non-2xx answer), 2 the input or the
//! command line cannot be used.

mod decode;
mod inbox;
mod input;
mod jsontext;
mod sample;
mod send;
mod signature;
mod text;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

/// The exit codes, shown after every command's help.
const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  the check failed: events rejected (decode), signature invalid (verify),
     a request failed or was answered with a non-2xx status (send), a
     database call failed, no parked event has the id or a dead letter
     could not be replayed (inbox)
  2  the input or the command line cannot be used: not a delivery, unreadable
     file, missing secret, unknown event type, an inbox that cannot be
     opened, bad arguments";

/// Work with Spektr and PredictaID webhook deliveries, without writing code
///
/// Every command, by family:
///   decode       what a captured delivery holds, event by event
///   sample       a realistic delivery of every documented event type
///   sign/verify  the X-PredictAid-Signature of a body
///   send         a delivery to your endpoint, with the provider's headers
///   inbox        a kyc-webhooks-inbox database: counts, dead letters,
///                parked events, re-queue, replay
///   completions  a shell completion script
#[derive(Debug, Parser)]
#[command(name = "kyc-webhooks", version, after_help = EXIT_CODES, propagate_version = true,
          verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Decode(decode::DecodeArgs),
    Sample(sample::SampleArgs),
    Sign(signature::SignArgs),
    Verify(signature::VerifyArgs),
    Send(send::SendArgs),
    Inbox(inbox::InboxArgs),
    /// Print a shell completion script
    ///
    /// For example: `kyc-webhooks completions bash > ~/.local/share/bash-completion/completions/kyc-webhooks`.
    #[command(after_help = EXIT_CODES)]
    Completions {
        /// The shell to complete for
        shell: clap_complete::Shell,
    },
}

/// The provider of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Provider {
    /// Spektr: a batch, `{"results": [...]}`, unsigned
    Spektr,
    /// PredictaID: one event per delivery, signed
    Predictaid,
}

/// Why a command stopped: the exit code and a one-line message that says what
/// to do.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// Exit status 1: the check the command made failed.
    fn check(message: impl Into<String>) -> Failure {
        Failure {
            code: 1,
            message: message.into(),
        }
    }

    /// Exit status 2: the input or the command line cannot be used.
    fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
}

/// What a command returns: its exit code, or a failure to report.
type Outcome = Result<u8, Failure>;

/// Writes `text` to stdout at once; a closed pipe (`| head`) is not an error.
/// Text from outside in it must be [`text::escape`]d already.
fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Writes a one-line message to stderr, [`text::escape`]d whole (it may quote
/// received data); a closed stderr is not an error.
fn print_err(message: &str) {
    let mut line = text::escape(message).into_owned();
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Decode(args) => decode::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Sign(args) => signature::sign(args),
        Command::Verify(args) => signature::verify(args),
        Command::Send(args) => send::run(args),
        Command::Inbox(args) => inbox::run(args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "kyc-webhooks", &mut script);
            print(&String::from_utf8_lossy(&script));
            Ok(0)
        }
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            print_err(&format!("error: {}", failure.message));
            ExitCode::from(failure.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
