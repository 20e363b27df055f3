//! `kyc-webhooks inbox`: operate a `kyc-webhooks-inbox` database.

use std::fmt::Write as _;
use std::path::Path;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use kyc_webhooks::predictaid::{self, Secrets};
use kyc_webhooks_inbox::{
    DeadLetter, Inbox, Outcome as Stored, Provider as InboxProvider, RetentionPolicy, State,
    StoredEvent,
};
use serde::Serialize;

use crate::input::SecretArgs;
use crate::text::{escape, escape_bytes, json};
use crate::{print, print_err, Failure, Outcome, Provider, EXIT_CODES};

/// Operate an inbox: counts, dead letters, parked events, re-queue, replay
///
/// Works on the database of `kyc-webhooks-receiver` (or of your own use of
/// the `kyc-webhooks-inbox` crate), through that crate's API.
///
/// Examples:
///   kyc-webhooks inbox --database sqlite://webhooks.db stats
///   kyc-webhooks inbox --database sqlite://webhooks.db parked
///   kyc-webhooks inbox --database sqlite://webhooks.db requeue 686f58da3b9059f19eb2d066
///   kyc-webhooks inbox --database sqlite://webhooks.db requeue --all-parked
#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES, verbatim_doc_comment)]
pub struct InboxArgs {
    /// The inbox database: sqlite://PATH or postgres://...
    #[arg(long, env = "RECEIVER_DATABASE", value_name = "URL")]
    database: String,
    /// Print JSON instead of text (one object, or one object per line for
    /// lists)
    #[arg(long, global = true)]
    json: bool,
    /// Create the SQLite database when its file does not exist (without it,
    /// a missing file is an error: a mistyped path would otherwise be a new,
    /// empty inbox)
    #[arg(long, global = true)]
    create: bool,
    #[command(subcommand)]
    command: InboxCommand,
}

#[derive(Debug, Subcommand)]
enum InboxCommand {
    /// Count the events in each state, and the dead letters
    #[command(after_help = EXIT_CODES)]
    Stats,
    /// List dead letters (what could not be stored as an event), oldest first
    #[command(after_help = EXIT_CODES)]
    DeadLetters {
        /// At most this many
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// List parked events (out of attempts) with their last error, oldest first
    #[command(after_help = EXIT_CODES)]
    Parked {
        /// At most this many
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Put parked events back in the queue, with their attempts reset
    #[command(after_help = EXIT_CODES)]
    Requeue {
        /// The ids of the parked events
        #[arg(required_unless_present = "all_parked", conflicts_with = "all_parked")]
        ids: Vec<String>,
        /// Every parked event
        #[arg(long)]
        all_parked: bool,
        /// The provider of the ids (needed only when both providers have a
        /// parked event with the same id)
        #[arg(long, value_enum)]
        provider: Option<Provider>,
    },
    /// Prune what has been kept long enough: the bodies of done events
    /// finished more than --older-than ago (their ids are kept, so that a
    /// redelivery is still recognised), and with --dead-letters-older-than
    /// the dead letters received before that. Pending and parked events are
    /// never pruned.
    #[command(after_help = EXIT_CODES)]
    Prune {
        /// Done events finished this long ago or more (e.g. 30d, 12h)
        #[arg(long, value_name = "DURATION", value_parser = parse_period)]
        older_than: std::time::Duration,
        /// Also remove dead letters received this long ago or more (e.g. 90d)
        #[arg(long, value_name = "DURATION", value_parser = parse_period)]
        dead_letters_older_than: Option<std::time::Duration>,
        /// Count what would be pruned, and prune nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Ingest the dead letters again with this version of the crate
    ///
    /// Those that now decode become events (and are handled by the workers);
    /// the others stay dead letters. A dead letter whose events are all
    /// stored now is removed (after their commit); running this again stores
    /// nothing twice. One that cannot be ingested (the inbox refuses it, or
    /// the database fails) is reported on stderr and counted, and the others
    /// are still replayed: the exit status is then 1. PredictaID dead letters
    /// were checked when received, but their signature was not kept: they
    /// are signed again with the secret (--secret-env or --secret-file) to
    /// pass the inbox's check.
    #[command(after_help = EXIT_CODES)]
    ReplayDeadLetters {
        #[command(flatten)]
        secret: SecretArgs,
    },
}

pub fn run(args: InboxArgs) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::usage(format!("cannot start the async runtime: {e}")))?;
    if let Some(path) = args.database.strip_prefix("sqlite://") {
        // `try_exists` fails when it cannot tell (a directory it may not
        // search): the inbox's own open then says why.
        if !args.create && !path.is_empty() && matches!(Path::new(path).try_exists(), Ok(false)) {
            return Err(Failure::usage(format!(
                "the SQLite database {path} does not exist (check the path, or pass --create to make a new inbox there)"
            )));
        }
    }
    runtime.block_on(async {
        let inbox = Inbox::open(&args.database).await.map_err(|e| {
            Failure::usage(format!(
                "cannot open the inbox: {e} (pass --database sqlite://PATH or postgres://...)"
            ))
        })?;
        match args.command {
            InboxCommand::Stats => stats(&inbox, args.json).await,
            InboxCommand::DeadLetters { limit } => dead_letters(&inbox, limit, args.json).await,
            InboxCommand::Parked { limit } => parked(&inbox, limit, args.json).await,
            InboxCommand::Requeue {
                ids,
                all_parked,
                provider,
            } => requeue(&inbox, ids, all_parked, provider, args.json).await,
            InboxCommand::ReplayDeadLetters { secret } => replay(&inbox, &secret, args.json).await,
            InboxCommand::Prune {
                older_than,
                dead_letters_older_than,
                dry_run,
            } => {
                let mut policy = RetentionPolicy::new().done_after(older_than);
                policy.dead_letters = dead_letters_older_than;
                prune(&inbox, policy, dry_run, args.json).await
            }
        }
    })
}

/// A period such as `30d`, `12h` or `90s` (humantime's syntax).
fn parse_period(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| format!("{e} (e.g. 30d, 12h, 15m)"))
}

async fn prune(inbox: &Inbox, policy: RetentionPolicy, dry_run: bool, as_json: bool) -> Outcome {
    let pruned = if dry_run {
        inbox.prunable(&policy).await
    } else {
        inbox.prune(policy).await
    }
    .map_err(failed("prune"))?;
    if as_json {
        let record = serde_json::json!({
            "dry_run": dry_run,
            "events": pruned.events,
            "dead_letters": pruned.dead_letters,
        });
        print(&format!("{}\n", json(&record)));
    } else {
        let verb = if dry_run { "would prune" } else { "pruned" };
        print(&format!(
            "{verb}: {} done event bodies (ids kept), {} dead letters\n",
            pruned.events, pruned.dead_letters
        ));
    }
    Ok(0)
}

/// A database failure, as one line.
fn failed(what: &str) -> impl Fn(kyc_webhooks_inbox::Error) -> Failure + '_ {
    move |e| {
        Failure::check(format!(
            "cannot {what}: {e} (check that the database is reachable)"
        ))
    }
}

async fn stats(inbox: &Inbox, as_json: bool) -> Outcome {
    let counts = inbox.counts().await.map_err(failed("count the events"))?;
    if as_json {
        let by_type: Vec<serde_json::Value> = counts
            .by_type
            .iter()
            .map(|row| {
                serde_json::json!({
                    "provider": row.provider.as_str(),
                    "type": row.event_type,
                    "state": row.state.as_str(),
                    "count": row.count,
                })
            })
            .collect();
        let record = serde_json::json!({
            "pending": counts.pending,
            "running": counts.running,
            "done": counts.done,
            "parked": counts.parked,
            "dead_letters": counts.dead_letters,
            "by_type": by_type,
        });
        print(&format!("{}\n", json(&record)));
    } else {
        let mut out = format!(
            "events: {} (pending {}, running {}, done {}, parked {})\ndead letters: {}\n",
            counts.events(),
            counts.pending,
            counts.running,
            counts.done,
            counts.parked,
            counts.dead_letters
        );
        for row in &counts.by_type {
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\n",
                row.provider,
                escape(&row.event_type),
                row.state.as_str(),
                row.count
            ));
        }
        print(&out);
    }
    Ok(0)
}

/// A dead letter, as a JSON line.
#[derive(Serialize)]
struct DeadLetterLine<'a> {
    provider: &'static str,
    content_sha256: &'a str,
    batch_index: Option<u64>,
    received_at: String,
    error: &'a str,
    body: String,
}

async fn dead_letters(inbox: &Inbox, limit: u32, as_json: bool) -> Outcome {
    let letters = inbox
        .dead_letters(limit)
        .await
        .map_err(failed("list the dead letters"))?;
    let mut out = String::new();
    for letter in &letters {
        if as_json {
            let line = DeadLetterLine {
                provider: letter.provider.as_str(),
                content_sha256: &letter.content_sha256,
                batch_index: letter.batch_index,
                received_at: letter.received_at.to_rfc3339(),
                error: &letter.error,
                body: String::from_utf8_lossy(&letter.body).into_owned(),
            };
            let _ = writeln!(out, "{}", json(&line));
        } else {
            let (digest, at) = short_name(letter);
            let _ = writeln!(
                out,
                "{} {} received {}{at}\n    error: {}\n    body: {}",
                letter.provider,
                escape(&digest),
                letter.received_at.to_rfc3339(),
                escape(&letter.error),
                escape_bytes(&letter.body)
            );
        }
    }
    if !as_json {
        let total = inbox
            .counts()
            .await
            .map_err(failed("count the dead letters"))?
            .dead_letters;
        let _ = writeln!(out, "{}", shown("dead letter(s)", letters.len(), total));
    }
    print(&out);
    Ok(0)
}

/// The last line of a listing: `3 dead letter(s)`, or, when --limit cut it
/// short, `showing 2 of 3 dead letter(s) (pass a larger --limit for more)`.
/// `total` comes from a count made after the listing; should rows have come
/// or gone in between, the listing is not called short of what it shows.
fn shown(what: &str, listed: usize, total: u64) -> String {
    let listed = listed as u64;
    if total > listed {
        format!("showing {listed} of {total} {what} (pass a larger --limit for more)")
    } else {
        format!("{listed} {what}")
    }
}

/// A parked event, as a JSON line.
#[derive(Serialize)]
struct ParkedLine<'a> {
    provider: &'static str,
    id: &'a str,
    event_type: &'a str,
    subject: &'a str,
    attempts: u32,
    last_error: Option<&'a str>,
    received_at: String,
}

async fn parked(inbox: &Inbox, limit: u32, as_json: bool) -> Outcome {
    let events = inbox
        .parked(limit)
        .await
        .map_err(failed("list the parked events"))?;
    let mut out = String::new();
    for event in &events {
        if as_json {
            let line = ParkedLine {
                provider: event.provider.as_str(),
                id: &event.event_id,
                event_type: &event.event_type,
                subject: &event.subject,
                attempts: event.attempts,
                last_error: event.last_error.as_deref(),
                received_at: event.received_at.to_rfc3339(),
            };
            let _ = writeln!(out, "{}", json(&line));
        } else {
            let _ = writeln!(
                out,
                "{} {} {} subject={} attempts={}\n    error: {}",
                event.provider,
                escape(&event.event_type),
                escape(&event.event_id),
                escape(&event.subject),
                event.attempts,
                escape(event.last_error.as_deref().unwrap_or("-"))
            );
        }
    }
    if !as_json {
        let total = inbox
            .counts()
            .await
            .map_err(failed("count the parked events"))?
            .parked;
        let _ = writeln!(out, "{}", shown("parked event(s)", events.len(), total));
    }
    print(&out);
    Ok(0)
}

/// The parked event with this id, of `provider` when given.
async fn find_parked(
    inbox: &Inbox,
    id: &str,
    provider: Option<Provider>,
) -> Result<StoredEvent, Failure> {
    let providers: &[InboxProvider] = match provider {
        Some(Provider::Spektr) => &[InboxProvider::Spektr],
        Some(Provider::Predictaid) => &[InboxProvider::PredictaId],
        None => &[InboxProvider::Spektr, InboxProvider::PredictaId],
    };
    let mut found = Vec::new();
    for &provider in providers {
        if let Some(event) = inbox
            .event(provider, id)
            .await
            .map_err(failed("look the event up"))?
        {
            if event.state == State::Parked {
                found.push(event);
            }
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Failure::check(format!(
            "no parked event has id {id:?} (run `kyc-webhooks inbox parked` to list them)"
        ))),
        _ => Err(Failure::usage(format!(
            "both providers have a parked event with id {id:?}: pass --provider"
        ))),
    }
}

async fn requeue(
    inbox: &Inbox,
    ids: Vec<String>,
    all_parked: bool,
    provider: Option<Provider>,
    as_json: bool,
) -> Outcome {
    let mut targets = Vec::new();
    if all_parked {
        let counts = inbox.counts().await.map_err(failed("count the events"))?;
        let limit = u32::try_from(counts.parked).unwrap_or(u32::MAX);
        for event in inbox
            .parked(limit)
            .await
            .map_err(failed("list the parked events"))?
        {
            targets.push((event.provider, event.event_id));
        }
    } else {
        for id in &ids {
            let event = find_parked(inbox, id, provider).await?;
            targets.push((event.provider, event.event_id));
        }
    }
    let bar = progress(targets.len());
    for (provider, id) in &targets {
        inbox
            .requeue(*provider, id)
            .await
            .map_err(failed("re-queue the event"))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    if as_json {
        print(&format!(
            "{}\n",
            json(&serde_json::json!({"requeued": targets.len()}))
        ));
    } else {
        print(&format!("re-queued {} event(s)\n", targets.len()));
    }
    Ok(0)
}

/// A progress bar on stderr for long runs (hidden when stderr is not a
/// terminal, and for short ones).
fn progress(len: usize) -> ProgressBar {
    if len < 50 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len}, eta {eta}") {
        bar.set_style(style);
    }
    bar
}

async fn replay(inbox: &Inbox, secret: &SecretArgs, as_json: bool) -> Outcome {
    let counts = inbox
        .counts()
        .await
        .map_err(failed("count the dead letters"))?;
    let limit = u32::try_from(counts.dead_letters).unwrap_or(u32::MAX);
    let letters = inbox
        .dead_letters(limit)
        .await
        .map_err(failed("list the dead letters"))?;
    let needs_secret = letters
        .iter()
        .any(|letter| letter.provider == InboxProvider::PredictaId);
    let secret = if needs_secret {
        Some(secret.load()?)
    } else {
        None
    };
    let (mut now_events, mut already, mut still_dead, mut failed_letters) =
        (0usize, 0usize, 0usize, 0usize);
    let bar = progress(letters.len());
    for letter in &letters {
        // One that cannot be ingested (refused, or the database failed) is
        // reported and counted; the others are still replayed.
        match replay_one(inbox, letter, secret.as_deref()).await {
            Ok(None) => still_dead += 1,
            Ok(Some(receipt)) => {
                for event in &receipt.events {
                    match event.outcome {
                        Stored::Stored => now_events += 1,
                        Stored::AlreadyStored => already += 1,
                        _ => still_dead += 1,
                    }
                }
                // Everything in it is now an event (committed above): the
                // dead letter goes. One that still does not decode, even in
                // part, stays.
                let all_events = receipt
                    .events
                    .iter()
                    .all(|event| matches!(event.outcome, Stored::Stored | Stored::AlreadyStored));
                if all_events && !receipt.events.is_empty() {
                    if let Err(e) = inbox
                        .remove_dead_letter(letter.provider, &letter.content_sha256)
                        .await
                    {
                        failed_letters += 1;
                        bar.suspend(|| {
                            print_err(&format!(
                                "error: {}: its events are stored, but it cannot be removed: {e} (the next run removes it)",
                                describe(letter)
                            ))
                        });
                    }
                }
            }
            Err(e) => {
                failed_letters += 1;
                bar.suspend(|| {
                    print_err(&format!(
                        "error: {}: cannot ingest it again: {e} (it stays a dead letter)",
                        describe(letter)
                    ))
                });
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if as_json {
        let record = serde_json::json!({
            "dead_letters": letters.len(),
            "now_events": now_events,
            "already_events": already,
            "still_dead": still_dead,
            "failed": failed_letters,
        });
        print(&format!("{}\n", json(&record)));
    } else {
        print(&format!(
            "replayed {} dead letter(s): {now_events} now stored as events, {already} already were, {still_dead} still do not decode, {failed_letters} could not be replayed\n",
            letters.len()
        ));
    }
    if failed_letters > 0 {
        print_err(&format!(
            "{failed_letters} of {} dead letter(s) could not be replayed (see the errors above)",
            letters.len()
        ));
        Ok(1)
    } else {
        Ok(0)
    }
}

/// A dead letter in a message: provider, the start of its digest, its batch
/// index.
fn describe(letter: &DeadLetter) -> String {
    let (digest, at) = short_name(letter);
    format!("dead letter {} {digest}{at}", letter.provider)
}

/// How a dead letter is named to a reader: the first 12 characters of its
/// digest (characters, not bytes: the column is text the database gave back,
/// not necessarily hex) and ` (batch index N)` when it has one.
fn short_name(letter: &DeadLetter) -> (String, String) {
    let digest = letter.content_sha256.chars().take(12).collect();
    let at = letter
        .batch_index
        .map_or_else(String::new, |i| format!(" (batch index {i})"));
    (digest, at)
}

/// Ingests one dead letter again: a Spektr event slice wrapped in a batch, a
/// whole Spektr body as it is, a PredictaID body signed again. `None` for a
/// Spektr slice that is not one well-formed JSON value: no version can decode
/// it as an event, and wrapped in a batch it would be a broken body (or, with
/// a comma in it, a batch of several events made from one dead letter).
async fn replay_one(
    inbox: &Inbox,
    letter: &DeadLetter,
    secret: Option<&[u8]>,
) -> Result<Option<kyc_webhooks_inbox::Receipt>, kyc_webhooks_inbox::Error> {
    match letter.provider {
        InboxProvider::Spektr => {
            let mut body = letter.body.clone();
            if letter.batch_index.is_some() {
                if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() {
                    return Ok(None);
                }
                let mut batch = b"{\"results\":[".to_vec();
                batch.extend_from_slice(&body);
                batch.extend_from_slice(b"]}");
                body = batch;
            }
            inbox.ingest_spektr(body).await.map(Some)
        }
        InboxProvider::PredictaId => {
            let secret = secret.expect("loaded when a PredictaID dead letter exists");
            let signature = predictaid::sign(&letter.body, secret);
            let secrets = Secrets::new([secret.to_vec()]);
            inbox
                .ingest_predictaid(&secrets, letter.body.clone(), Some(&signature), None)
                .await
                .map(Some)
        }
    }
}
