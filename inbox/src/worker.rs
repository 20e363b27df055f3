//! Workers: claim a stored event under a lease, run the handler on it, mark
//! it done, or retry it with backoff, or park it.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kyc_webhooks::{predictaid, spektr};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::store::{AfterFailure, Claimed};
use crate::{decode, ingest, Inbox, Provider, Result, StoredEvent};

/// A stored event, decoded, as a handler receives it.
#[derive(Debug)]
pub struct Delivered {
    /// The typed event.
    pub event: Event,
    /// What the inbox stored: ids, subject, times, the attempt number
    /// ([`StoredEvent::attempts`], 1 on the first run) and the text exactly as received.
    pub stored: StoredEvent,
}

/// A typed event of either provider (boxed: the events are a few hundred
/// bytes each).
#[derive(Debug)]
pub enum Event {
    /// A Spektr event.
    Spektr(Box<spektr::Event>),
    /// A PredictaID event.
    PredictaId(Box<predictaid::Event>),
}

/// How workers claim, retry and park.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Handler runs at once in this process (each its own claim loop).
    pub concurrency: usize,
    /// How long a claim holds an event; renewed every third of it while the
    /// handler runs. A worker that dies lets its events be claimed again
    /// after at most this long.
    pub lease: Duration,
    /// Runs of a failing handler before the event is parked.
    pub max_attempts: u32,
    /// The delay before the second run; doubled for each further run.
    pub retry_base: Duration,
    /// The longest delay between two runs.
    pub retry_max: Duration,
    /// The longest wait between two looks for work when idle (new events
    /// stored through this [`Inbox`] wake the workers at once).
    pub idle_max: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            concurrency: 1,
            lease: Duration::from_secs(30),
            max_attempts: 10,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            idle_max: Duration::from_secs(1),
        }
    }
}

impl WorkerOptions {
    fn after_failure(&self, attempts: u32) -> AfterFailure {
        if attempts >= self.max_attempts {
            return AfterFailure::Park;
        }
        let doublings = attempts.saturating_sub(1).min(30);
        let delay = self.retry_base.saturating_mul(1 << doublings);
        AfterFailure::RetryIn(delay.min(self.retry_max))
    }
}

type BoxedHandler = Arc<
    dyn Fn(Delivered) -> Pin<Box<dyn Future<Output = std::result::Result<(), String>> + Send>>
        + Send
        + Sync,
>;

/// The user's handler, boxed: any `Fn(Delivered) -> impl Future<Output =
/// Result<(), E>>` with `E: Display`.
#[derive(Clone)]
pub struct Handler(BoxedHandler);

impl Handler {
    /// Wraps a handler function.
    pub fn new<H, Fut, E>(handler: H) -> Handler
    where
        H: Fn(Delivered) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<(), E>> + Send + 'static,
        E: Display + 'static,
    {
        let handler = Arc::new(handler);
        Handler(Arc::new(move |delivered| {
            let future = handler(delivered);
            Box::pin(async move { future.await.map_err(|e| e.to_string()) })
        }))
    }
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handler(..)")
    }
}

/// What one [`Inbox::handle_next`] call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// No event was claimable.
    Idle,
    /// The handler succeeded and the event is done.
    Done,
    /// The handler failed; the event will be retried.
    WillRetry(String),
    /// The handler failed for the last allowed time; the event is parked.
    Parked(String),
    /// The lease was lost while the handler ran (another worker may have the
    /// event now): nothing was recorded.
    LeaseLost,
}

static CLAIMS: AtomicU64 = AtomicU64::new(0);

fn claim_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{nanos:x}-{}",
        std::process::id(),
        CLAIMS.fetch_add(1, Ordering::Relaxed)
    )
}

fn typed(stored: &StoredEvent) -> std::result::Result<Event, kyc_webhooks::Error> {
    let raw = stored.body.as_bytes();
    Ok(match stored.provider {
        Provider::Spektr => Event::Spektr(Box::new(decode::spektr_event(raw)?.0)),
        Provider::PredictaId => Event::PredictaId(Box::new(decode::predictaid_event(raw)?.0)),
    })
}

impl Inbox {
    /// Claims the next claimable event, runs `handler` on it and records the
    /// outcome. Events of one subject come oldest first (by the event's own
    /// timestamp, then arrival) and never to two workers at once.
    pub async fn handle_next(&self, options: &WorkerOptions, handler: &Handler) -> Result<Handled> {
        let Some(claimed) = self.backend.claim(claim_token(), options.lease).await? else {
            return Ok(Handled::Idle);
        };
        let Claimed { seq, token, event } = claimed;
        let attempts = event.attempts;
        tracing::debug!(provider = %event.provider, id = %event.event_id, attempt = attempts, "claimed");
        let outcome = match typed(&event) {
            Err(error) => Err(format!("the stored text no longer decodes: {error}")),
            Ok(typed) => {
                let run = tokio::spawn((handler.0)(Delivered {
                    event: typed,
                    stored: event,
                }));
                self.run_with_lease(run, seq, &token, options.lease).await
            }
        };
        match outcome {
            Ok(()) => Ok(if self.backend.complete(seq, &token).await? {
                Handled::Done
            } else {
                Handled::LeaseLost
            }),
            Err(error) => {
                let error = ingest::bounded(error);
                let then = options.after_failure(attempts);
                if !self.backend.fail(seq, &token, &error, then).await? {
                    return Ok(Handled::LeaseLost);
                }
                Ok(match then {
                    AfterFailure::Park => Handled::Parked(error),
                    AfterFailure::RetryIn(_) => Handled::WillRetry(error),
                })
            }
        }
    }

    /// Waits for the handler while renewing the lease.
    async fn run_with_lease(
        &self,
        mut run: JoinHandle<std::result::Result<(), String>>,
        seq: i64,
        token: &str,
        lease: Duration,
    ) -> std::result::Result<(), String> {
        let mut renew = tokio::time::interval(lease / 3);
        renew.tick().await;
        loop {
            tokio::select! {
                joined = &mut run => {
                    return match joined {
                        Ok(result) => result,
                        Err(error) => Err(format!("the handler panicked: {error}")),
                    };
                }
                _ = renew.tick() => {
                    if let Err(error) = self.backend.extend(seq, token, lease).await {
                        tracing::warn!(%error, "could not renew a lease");
                    }
                }
            }
        }
    }

    /// Starts `options.concurrency` claim loops running `handler` until
    /// [`Workers::shutdown`].
    pub fn run_workers(&self, options: WorkerOptions, handler: Handler) -> Workers {
        let (stop, stopped) = watch::channel(false);
        let tasks = (0..options.concurrency.max(1))
            .map(|_| {
                let inbox = self.clone();
                let (options, handler) = (options.clone(), handler.clone());
                let mut stopped = stopped.clone();
                tokio::spawn(async move {
                    let mut idle = Duration::from_millis(10);
                    while !*stopped.borrow() {
                        let wait = match inbox.handle_next(&options, &handler).await {
                            Ok(Handled::Idle) => {
                                idle = (idle * 2).min(options.idle_max);
                                idle
                            }
                            Ok(_) => {
                                idle = Duration::from_millis(10);
                                continue;
                            }
                            Err(error) => {
                                tracing::warn!(%error, "a worker could not reach the store");
                                options.idle_max
                            }
                        };
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = inbox.stored.notified() => idle = Duration::from_millis(10),
                            _ = stopped.changed() => {}
                        }
                    }
                })
            })
            .collect();
        Workers { stop, tasks }
    }
}

/// Running claim loops, from [`Inbox::run_workers`].
#[derive(Debug)]
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Stops claiming and waits for the handler runs in progress to finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_exponentially_then_park() {
        let options = WorkerOptions {
            max_attempts: 4,
            retry_base: Duration::from_millis(100),
            retry_max: Duration::from_millis(300),
            ..WorkerOptions::default()
        };
        let delays: Vec<_> = (1..=4)
            .map(|attempt| match options.after_failure(attempt) {
                AfterFailure::RetryIn(d) => Some(d.as_millis()),
                AfterFailure::Park => None,
            })
            .collect();
        assert_eq!(delays, [Some(100), Some(200), Some(300), None]);
    }
}
