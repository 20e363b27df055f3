//! Retention: bodies of handled events go after a period, their ids stay.
//!
//! A compliance team must recognise an event id seen once for ever (a
//! redelivery years later is still "already stored"), while bodies holding
//! personal data go after a retention period. Pruning a done event empties
//! its body and keeps its row: provider, event id, type, subject, the times
//! it occurred, was received and was finished, and the SHA-256 of the body it
//! had (`content_sha256`), with `pruned_at` set. Pending, running and parked
//! events are never pruned. Dead letters older than their own period are
//! removed whole.
//!
//! Pruning works in batches of [`RetentionPolicy::batch_size`] rows, each
//! its own short transaction (PostgreSQL skips rows another session holds
//! rather than waiting for them), with a pause between batches, so that it
//! never holds a long lock and ingestion goes on meanwhile.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{Error, Inbox, Result};

/// What to prune: done events finished, and dead letters received, longer
/// ago than their periods. A period left `None` prunes nothing of that kind.
///
/// ```
/// use std::time::Duration;
/// use kyc_webhooks_inbox::RetentionPolicy;
///
/// let policy = RetentionPolicy::new()
///     .done_after(Duration::from_secs(30 * 24 * 3600))
///     .dead_letters_after(Duration::from_secs(90 * 24 * 3600));
/// assert_eq!(policy.done, Some(Duration::from_secs(2_592_000)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetentionPolicy {
    /// Prune the body of a done event this long after it was finished.
    pub done: Option<Duration>,
    /// Remove a dead letter this long after it was received.
    pub dead_letters: Option<Duration>,
    /// Rows per transaction.
    pub batch_size: u32,
    /// The pause between two batches, leaving the database to the writers.
    pub pause: Duration,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            done: None,
            dead_letters: None,
            batch_size: 1_000,
            pause: Duration::from_millis(10),
        }
    }
}

impl RetentionPolicy {
    /// A policy that prunes nothing until given periods.
    pub fn new() -> RetentionPolicy {
        RetentionPolicy::default()
    }

    /// Prunes done events' bodies `period` after they were finished.
    pub fn done_after(mut self, period: Duration) -> RetentionPolicy {
        self.done = Some(period);
        self
    }

    /// Removes dead letters `period` after they were received.
    pub fn dead_letters_after(mut self, period: Duration) -> RetentionPolicy {
        self.dead_letters = Some(period);
        self
    }

    /// Rows per transaction (at least 1).
    pub fn batch_size(mut self, rows: u32) -> RetentionPolicy {
        self.batch_size = rows.max(1);
        self
    }

    /// The cutoffs at `now`: what was finished or received before them goes.
    fn cutoffs(&self, now: DateTime<Utc>) -> Result<Cutoffs> {
        let cutoff = |period: Option<Duration>| -> Result<Option<DateTime<Utc>>> {
            period
                .map(|p| {
                    chrono::Duration::from_std(p)
                        .ok()
                        .and_then(|p| now.checked_sub_signed(p))
                        .ok_or(Error::RetentionPeriod { period: p })
                })
                .transpose()
        };
        Ok((cutoff(self.done)?, cutoff(self.dead_letters)?))
    }
}

/// The cutoffs of done events and of dead letters (`None`: keep them all).
type Cutoffs = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// What a prune removed (or, for [`Inbox::prunable`], would remove).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pruned {
    /// Done events whose bodies were pruned (their rows kept).
    pub events: u64,
    /// Dead letters removed.
    pub dead_letters: u64,
}

impl Inbox {
    /// Prunes what `policy` says has been kept long enough (see the
    /// [`retention`](crate::retention) module), batch by batch, until nothing
    /// is left to prune; returns how much went. A pruned event keeps its row,
    /// so that a redelivery is still "already stored"; reading it
    /// ([`Inbox::event`]) gives an empty `body`.
    pub async fn prune(&self, policy: RetentionPolicy) -> Result<Pruned> {
        let (done, dead_letters) = policy.cutoffs(Utc::now())?;
        let batch = i64::from(policy.batch_size.max(1));
        let mut pruned = Pruned::default();
        if let Some(cutoff) = done {
            pruned.events =
                in_batches(&policy, "events", || self.backend.prune_done(cutoff, batch)).await?;
        }
        if let Some(cutoff) = dead_letters {
            pruned.dead_letters = in_batches(&policy, "dead_letters", || {
                self.backend.prune_dead_letters(cutoff, batch)
            })
            .await?;
        }
        Ok(pruned)
    }

    /// What [`Inbox::prune`] with `policy` would remove now (a dry run: it
    /// counts, and changes nothing).
    pub async fn prunable(&self, policy: &RetentionPolicy) -> Result<Pruned> {
        let (done, dead_letters) = policy.cutoffs(Utc::now())?;
        let (events, dead_letters) = self.backend.prunable(done, dead_letters).await?;
        Ok(Pruned {
            events,
            dead_letters,
        })
    }
}

/// Runs `batch` until it removes fewer than a full batch, pausing between
/// two; counts what went (in total, and in the metrics under `kind`).
async fn in_batches<F, Fut>(
    policy: &RetentionPolicy,
    kind: &'static str,
    mut batch: F,
) -> Result<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64>>,
{
    let full = u64::from(policy.batch_size.max(1));
    let mut total = 0;
    loop {
        let n = batch().await?;
        total += n;
        crate::metrics::pruned(kind, n);
        if n < full {
            return Ok(total);
        }
        tokio::time::sleep(policy.pause).await;
    }
}
