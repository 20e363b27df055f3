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
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::store::{AfterFailure, Claimed};
use crate::{decode, ingest, Inbox, Provider, Result, StoredEvent};

/// A stored event, decoded, as a handler receives it.
#[derive(Debug)]
pub struct Delivered {
    /// The typed event.
    pub event: InboxEvent,
    /// What the inbox stored: ids, subject, times, the attempt number
    /// ([`StoredEvent::attempts`], 1 on the first run) and the text exactly as received.
    pub stored: StoredEvent,
    fencing_token: i64,
    cancellation: CancellationToken,
}

impl Delivered {
    /// A delivery as a worker would hand it over, for testing a handler:
    /// fencing token 0 and a cancellation token of its own, not cancelled.
    pub fn new(event: InboxEvent, stored: StoredEvent) -> Delivered {
        Delivered {
            event,
            stored,
            fencing_token: 0,
            cancellation: CancellationToken::new(),
        }
    }

    /// A first run of `event` as a worker would hand it over, for testing a
    /// handler with any event (the core's `kyc_webhooks::testing` samples,
    /// say): its [`StoredEvent`] is filled from the event (`body` is the
    /// event written back as JSON, `received_at` now, `attempts` 1, state
    /// running, not authenticated: Spektr signs nothing), with fencing token 0.
    ///
    /// ```
    /// use kyc_webhooks_inbox::kyc_webhooks::spektr;
    /// use kyc_webhooks_inbox::{Delivered, InboxEvent};
    ///
    /// async fn on_event(delivered: Delivered) -> Result<(), String> {
    ///     match &delivered.event {
    ///         InboxEvent::Spektr(event) if event.id.is_empty() => Err("no id".into()),
    ///         _ => Ok(()),
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let body = br#"{"id": "evt_1", "spektrId": "cust_1", "eventType": "customer_tag_add",
    ///     "timestamp": 1752127706390, "data": {"tagName": "vip", "action": "add"}}"#;
    /// let event = spektr::parse_event(body)?;
    /// let delivered = Delivered::from_spektr(event.clone());
    /// // The stored text is the event, as a worker would decode it again.
    /// assert_eq!(spektr::parse_event(delivered.stored.body.as_bytes())?, event);
    /// assert_eq!(delivered.stored.event_id, "evt_1");
    /// assert_eq!(delivered.stored.subject, "cust_1");
    /// assert_eq!(on_event(delivered).await, Ok(()));
    /// # Ok::<(), kyc_webhooks_inbox::kyc_webhooks::Error>(()) }).unwrap();
    /// ```
    pub fn from_spektr(event: spektr::Event) -> Delivered {
        let stored = test_stored(Provider::Spektr, &event, decode::spektr_meta(&event), false);
        Delivered::new(InboxEvent::Spektr(Box::new(event)), stored)
    }

    /// [`from_spektr`](Delivered::from_spektr) for a PredictaID event
    /// (authenticated: its signature would have been verified).
    pub fn from_predictaid(event: predictaid::Event) -> Delivered {
        let stored = test_stored(
            Provider::PredictaId,
            &event,
            decode::predictaid_meta(&event),
            true,
        );
        Delivered::new(InboxEvent::PredictaId(Box::new(event)), stored)
    }

    /// This run's fencing token: greater than that of every earlier claim of
    /// the event (it counts the event's claims, and a requeue does not reset
    /// it). Make your own writes conditional on it (store it with what the
    /// handler writes and refuse a write carrying a smaller one) so that a
    /// run whose lease was lost cannot overwrite the work of the run after it.
    pub fn fencing_token(&self) -> i64 {
        self.fencing_token
    }

    /// Cancelled when this run's lease is lost (the worker could not renew it
    /// before it expired, or the store refused the renewal: another worker
    /// may be running the event now) or the worker stops waiting for it
    /// (its [`Inbox::handle_next`] future or its [`Workers`] was dropped).
    /// The handler's task is aborted right after, at its next `.await`;
    /// select on [`CancellationToken::cancelled`] to stop cleanly first.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancellation
    }

    /// Whether [`Delivered::cancellation`] is cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancellation.is_cancelled()
    }
}

/// A typed event of either provider, as a handler receives it in
/// [`Delivered::event`] (boxed: the events are a few hundred
/// bytes each).
#[derive(Debug)]
pub enum InboxEvent {
    /// A Spektr event.
    Spektr(Box<spektr::Event>),
    /// A PredictaID event.
    PredictaId(Box<predictaid::Event>),
}

/// The [`StoredEvent`] of a first run of `event`, for
/// [`Delivered::from_spektr`] and [`Delivered::from_predictaid`].
fn test_stored(
    provider: Provider,
    event: &impl serde::Serialize,
    meta: decode::Meta,
    authenticated: bool,
) -> StoredEvent {
    StoredEvent {
        provider,
        event_id: meta.id,
        event_type: meta.type_name,
        subject: meta.subject,
        occurred_at: meta.occurred_at,
        received_at: chrono::Utc::now(),
        state: crate::State::Running,
        attempts: 1,
        last_error: None,
        // The crate's events always serialize (string keys, finite numbers
        // kept as their text); say so rather than panic if one ever did not.
        body: serde_json::to_string(event)
            .unwrap_or_else(|error| format!("(the event could not be written as JSON: {error})")),
        authenticated,
    }
}

/// The old name of [`InboxEvent`] (it shared its name with `spektr::Event`
/// and `predictaid::Event`).
#[deprecated(note = "renamed InboxEvent")]
pub type Event = InboxEvent;

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
    dyn Fn(Delivered) -> Pin<Box<dyn Future<Output = std::result::Result<Decision, String>> + Send>>
        + Send
        + Sync,
>;

/// What a handler decided about its event, when it did not fail. A handler
/// that returns `Ok(())` decided [`Decision::Done`]; an `Err` is a failure,
/// retried with backoff until `max_attempts`, then parked.
///
/// ```
/// use std::time::Duration;
/// use kyc_webhooks_inbox::{Decision, Handler};
///
/// let handler = Handler::new(|delivered| async move {
///     match delivered.stored.event_type.as_str() {
///         // The customer's record is not there yet: ask again in a minute,
///         // without using up an attempt.
///         "customer_record_changed" => Ok(Decision::RetryAfter(Duration::from_secs(60))),
///         // Never handled here: park it with a reason, now.
///         "flow.version.published" => Ok(Decision::Park("flows are managed elsewhere".into())),
///         _ => Ok::<_, std::io::Error>(Decision::Done),
///     }
/// });
/// # drop(handler);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Handled: the event is done.
    Done,
    /// Not now: claimable again after this delay (a snooze). The run does
    /// not count as an attempt, and `last_error` is kept.
    RetryAfter(Duration),
    /// Never: park the event now with this reason (a poison event), whatever
    /// attempts are left. `kyc-webhooks inbox requeue` takes it back.
    Park(String),
}

impl From<()> for Decision {
    /// `Ok(())` from a handler is [`Decision::Done`].
    fn from((): ()) -> Decision {
        Decision::Done
    }
}

/// The user's handler, boxed: any `Fn(Delivered) -> impl Future<Output =
/// Result<T, E>>` with `T` `()` or a [`Decision`] and `E: Display`.
#[derive(Clone)]
pub struct Handler(BoxedHandler);

impl Handler {
    /// Wraps a handler function.
    pub fn new<H, Fut, T, E>(handler: H) -> Handler
    where
        H: Fn(Delivered) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<T, E>> + Send + 'static,
        T: Into<Decision> + 'static,
        E: Display + 'static,
    {
        let handler = Arc::new(handler);
        Handler(Arc::new(move |delivered| {
            let future = handler(delivered);
            Box::pin(async move { future.await.map(Into::into).map_err(|e| e.to_string()) })
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
    /// The handler failed for the last allowed time, or decided
    /// [`Decision::Park`]: the event is parked, with this error or reason.
    Parked(String),
    /// The handler decided [`Decision::RetryAfter`]: the event is claimable
    /// again after this delay, the run not counted as an attempt.
    Snoozed(Duration),
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

fn typed(stored: &StoredEvent) -> std::result::Result<InboxEvent, kyc_webhooks::Error> {
    let raw = stored.body.as_bytes();
    Ok(match stored.provider {
        Provider::Spektr => InboxEvent::Spektr(Box::new(decode::spektr_event(raw)?.0)),
        Provider::PredictaId => InboxEvent::PredictaId(Box::new(decode::predictaid_event(raw)?.0)),
    })
}

/// A running handler: cancelled, then aborted, when dropped (when the
/// [`Inbox::handle_next`] future holding it is dropped, or the lease is lost).
struct HandlerRun {
    task: JoinHandle<std::result::Result<Decision, String>>,
    cancellation: CancellationToken,
}

impl HandlerRun {
    fn stop(&self) {
        self.cancellation.cancel();
        self.task.abort();
    }
}

impl Drop for HandlerRun {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How a handler run ended.
enum Run {
    Finished(std::result::Result<Decision, String>),
    LeaseLost,
    /// The workers were stopped ([`Workers::shutdown_within`]) while the
    /// handler ran: it was stopped, and its event is to be released.
    Stopped,
}

/// What a stopped run records as its error.
const STOPPED: &str = "the workers shut down while the handler ran (their shutdown timeout passed); the event was released to be claimed again";

/// The event an attempt was about, for the workers' logs.
struct Attempt {
    provider: Provider,
    event_type: String,
    id: String,
    attempt: u32,
}

/// `at + duration`, or (for a duration beyond what an [`Instant`] can hold)
/// about a century later.
fn later(at: Instant, duration: Duration) -> Instant {
    at.checked_add(duration)
        .or_else(|| at.checked_add(Duration::from_secs(3_155_760_000)))
        .unwrap_or(at)
}

impl Inbox {
    /// Claims the next claimable event, runs `handler` on it and records the
    /// outcome. Events of one subject come oldest first (by the event's own
    /// timestamp, then arrival) and never to two workers at once.
    ///
    /// The lease is renewed every third of `options.lease` while the handler
    /// runs. When it cannot be renewed before it expires (the store refuses,
    /// or fails until then), the handler's [`Delivered::cancellation`] is
    /// cancelled, its task aborted, and the result is [`Handled::LeaseLost`].
    /// Dropping this future does the same to the handler. An event whose
    /// `options.max_attempts` runs all started and none finished (their
    /// workers died) is parked by the claim instead of being claimed again.
    pub async fn handle_next(&self, options: &WorkerOptions, handler: &Handler) -> Result<Handled> {
        let never = CancellationToken::new();
        Ok(self.handle_one(options, handler, &never).await?.0)
    }

    /// The query plan of each statement a claim runs (SQLite: `EXPLAIN QUERY
    /// PLAN`; PostgreSQL: `EXPLAIN` of the generic plan): finding the ready
    /// subject with the oldest head, claiming that head, parking it when it
    /// was abandoned, and the lookups that update the subject's row. For the
    /// tests and for operators checking that no claim scans `inbox_events`;
    /// not a stable interface.
    #[doc(hidden)]
    pub async fn explain_claim(&self) -> Result<Vec<String>> {
        self.backend.explain_claim().await
    }

    /// [`Inbox::handle_next`], with the event it was about.
    async fn handle_one(
        &self,
        options: &WorkerOptions,
        handler: &Handler,
        stop: &CancellationToken,
    ) -> Result<(Handled, Option<Attempt>)> {
        // Before the claim: the lease ends no earlier than this plus `lease`.
        let asked = Instant::now();
        let claim = self
            .backend
            .claim(claim_token(), options.lease, options.max_attempts)
            .await?;
        let Some(claimed) = claim else {
            return Ok((Handled::Idle, None));
        };
        let Claimed {
            seq,
            token,
            epoch,
            event,
        } = claimed;
        let attempt = Attempt {
            provider: event.provider,
            event_type: event.event_type.clone(),
            id: event.event_id.clone(),
            attempt: event.attempts,
        };
        tracing::debug!(provider = %attempt.provider, id = %attempt.id, attempt = attempt.attempt, fencing_token = epoch, "claimed");
        let outcome = match typed(&event) {
            Err(error) => Run::Finished(Err(format!("the stored text no longer decodes: {error}"))),
            Ok(typed) => {
                let cancellation = CancellationToken::new();
                // The run is a span: what the handler logs carries the event.
                let span = tracing::info_span!(
                    "handle",
                    provider = %attempt.provider,
                    event_type = %attempt.event_type,
                    id = %attempt.id,
                    attempt = attempt.attempt,
                );
                let mut run = HandlerRun {
                    task: tokio::spawn(
                        (handler.0)(Delivered {
                            event: typed,
                            stored: event,
                            fencing_token: epoch,
                            cancellation: cancellation.clone(),
                        })
                        .instrument(span),
                    ),
                    cancellation,
                };
                self.run_with_lease(
                    &mut run,
                    seq,
                    &token,
                    options.lease,
                    later(asked, options.lease),
                    stop,
                )
                .await
            }
        };
        let handled = match outcome {
            Run::LeaseLost => Handled::LeaseLost,
            // Released now, not at the lease's end: another worker (or the
            // next process) takes it at once. The run counts as an attempt,
            // as one cut by a crash does.
            Run::Stopped => {
                let then = AfterFailure::RetryIn(Duration::ZERO);
                if self.backend.fail(seq, &token, STOPPED, then).await? {
                    Handled::WillRetry(STOPPED.to_owned())
                } else {
                    Handled::LeaseLost
                }
            }
            Run::Finished(Ok(Decision::Done)) => {
                if self.backend.complete(seq, &token).await? {
                    Handled::Done
                } else {
                    Handled::LeaseLost
                }
            }
            Run::Finished(Ok(Decision::RetryAfter(delay))) => {
                let then = AfterFailure::Snooze(delay);
                if self.backend.fail(seq, &token, "", then).await? {
                    Handled::Snoozed(delay)
                } else {
                    Handled::LeaseLost
                }
            }
            Run::Finished(Ok(Decision::Park(reason))) => {
                let reason = ingest::bounded(format!("parked by the handler: {reason}"));
                if self
                    .backend
                    .fail(seq, &token, &reason, AfterFailure::Park)
                    .await?
                {
                    Handled::Parked(reason)
                } else {
                    Handled::LeaseLost
                }
            }
            Run::Finished(Err(error)) => {
                let error = ingest::bounded(error);
                let then = options.after_failure(attempt.attempt);
                if !self.backend.fail(seq, &token, &error, then).await? {
                    Handled::LeaseLost
                } else {
                    match then {
                        AfterFailure::Park => Handled::Parked(error),
                        AfterFailure::RetryIn(_) | AfterFailure::Snooze(_) => {
                            Handled::WillRetry(error)
                        }
                    }
                }
            }
        };
        crate::metrics::handler_ran(
            attempt.provider,
            &attempt.event_type,
            &handled,
            asked.elapsed(),
        );
        Ok((handled, Some(attempt)))
    }

    /// Waits for the handler while renewing the lease, which holds until
    /// `expires`; when it is lost, cancels and aborts the handler.
    async fn run_with_lease(
        &self,
        run: &mut HandlerRun,
        seq: i64,
        token: &str,
        lease: Duration,
        mut expires: Instant,
        stop: &CancellationToken,
    ) -> Run {
        let mut renew = tokio::time::interval((lease / 3).max(Duration::from_millis(1)));
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        renew.tick().await;
        loop {
            tokio::select! {
                joined = &mut run.task => {
                    return Run::Finished(match joined {
                        Ok(result) => result,
                        Err(error) => Err(format!("the handler panicked: {error}")),
                    });
                }
                _ = renew.tick() => {
                    let asked = Instant::now();
                    match tokio::time::timeout_at(expires, self.backend.extend(seq, token, lease)).await {
                        Ok(Ok(true)) => expires = later(asked, lease),
                        Ok(Ok(false)) => {
                            tracing::warn!("the store refused to renew a lease: another worker may hold the event");
                            break;
                        }
                        Ok(Err(error)) => {
                            tracing::warn!(%error, "could not renew a lease; trying again until it expires");
                        }
                        Err(_) => break,
                    }
                }
                _ = tokio::time::sleep_until(expires) => break,
                _ = stop.cancelled() => {
                    run.stop();
                    return Run::Stopped;
                }
            }
        }
        run.stop();
        Run::LeaseLost
    }

    /// Starts `options.concurrency` claim loops running `handler` until
    /// [`Workers::shutdown`], or until the [`Workers`] is dropped: dropping it
    /// stops the loops at once, cancelling and aborting the handlers running
    /// (their events are claimed again once their leases expire). Keep it for
    /// as long as the workers are to run.
    pub fn run_workers(&self, options: WorkerOptions, handler: Handler) -> Workers {
        let (stop, stopped) = watch::channel(false);
        let stop_handlers = CancellationToken::new();
        // Woken by other processes' commits too (PostgreSQL), until the
        // workers stop.
        let listener = self
            .backend
            .listen(Arc::clone(&self.stored), stop_handlers.child_token());
        let tasks = (0..options.concurrency.max(1))
            .map(|_| {
                let inbox = self.clone();
                let (options, handler) = (options.clone(), handler.clone());
                let mut stopped = stopped.clone();
                let stop_handlers = stop_handlers.clone();
                tokio::spawn(async move {
                    let mut idle = Duration::from_millis(10);
                    while !*stopped.borrow() {
                        // Registered before the claim: an event stored while
                        // it runs wakes the wait after an idle claim.
                        let woken = inbox.stored.notified();
                        tokio::pin!(woken);
                        woken.as_mut().enable();
                        let wait = match inbox.handle_one(&options, &handler, &stop_handlers).await
                        {
                            Ok((Handled::Idle, _)) => {
                                idle = (idle * 2).min(options.idle_max);
                                idle
                            }
                            Ok((handled, attempt)) => {
                                log_handled(&handled, attempt.as_ref());
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
                            _ = &mut woken => idle = Duration::from_millis(10),
                            changed = stopped.changed() => {
                                // The sender is gone: nobody can stop us any
                                // more, so stop now (never spin on it).
                                if changed.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        Workers {
            stop,
            stop_handlers,
            tasks,
            listener,
        }
    }
}

/// What the workers log of an attempt that did not end in `Done`.
fn log_handled(handled: &Handled, attempt: Option<&Attempt>) {
    let Some(Attempt {
        provider,
        event_type,
        id,
        attempt,
    }) = attempt
    else {
        return;
    };
    match handled {
        Handled::Idle => {}
        Handled::Done => {
            tracing::debug!(%provider, %event_type, %id, attempt, "handled");
        }
        Handled::WillRetry(error) => {
            tracing::warn!(%provider, %event_type, %id, attempt, %error, "the handler failed; the event will be retried");
        }
        Handled::Parked(error) => {
            tracing::error!(%provider, %event_type, %id, attempt, %error, "the event is parked (the handler failed for the last allowed time, or parked it)");
        }
        Handled::Snoozed(delay) => {
            tracing::debug!(%provider, %event_type, %id, attempt, ?delay, "the handler asked to be called again later");
        }
        Handled::LeaseLost => {
            tracing::warn!(%provider, %event_type, %id, attempt, "the lease was lost while the handler ran; nothing was recorded");
        }
    }
}

/// Running claim loops, from [`Inbox::run_workers`]. Dropping it stops them
/// at once (as dropping a `JoinSet` does): the loops and the handlers they
/// run are aborted, the handlers' [`Delivered::cancellation`] cancelled.
/// Call [`Workers::shutdown`] to let the running handlers finish instead.
#[derive(Debug)]
#[must_use = "dropping Workers stops its workers at once"]
pub struct Workers {
    stop: watch::Sender<bool>,
    /// Stops the handlers still running, and releases their events.
    stop_handlers: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    /// The PostgreSQL listener that wakes the loops for other processes'
    /// events.
    listener: Option<JoinHandle<()>>,
}

impl Workers {
    /// Stops claiming and waits for the handler runs in progress to finish.
    /// (Dropping this future before then stops the rest at once.)
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in &mut self.tasks {
            let _ = task.await;
        }
    }

    /// Stops claiming and gives the handler runs in progress `timeout` to
    /// finish; a handler still running then is stopped (its
    /// [`Delivered::cancellation`] cancelled, its task aborted) and its event
    /// released at once, to be claimed again by the next worker (the run
    /// counts as an attempt, with a `last_error` that says so) rather than
    /// held until its lease expires. Returns whether every run finished in
    /// time.
    pub async fn shutdown_within(mut self, timeout: Duration) -> bool {
        let _ = self.stop.send(true);
        let deadline = Instant::now() + timeout;
        let mut in_time = true;
        for task in &mut self.tasks {
            if tokio::time::timeout_at(deadline, &mut *task).await.is_err() {
                in_time = false;
                break;
            }
        }
        if !in_time {
            self.stop_handlers.cancel();
            // Each loop now records its release: one write each, bounded.
            let release = Instant::now() + RELEASE_TIMEOUT;
            for task in &mut self.tasks {
                let _ = tokio::time::timeout_at(release, &mut *task).await;
            }
        }
        in_time
    }
}

/// How long [`Workers::shutdown_within`] waits for the stopped runs' releases
/// to be written, after its timeout.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

impl Drop for Workers {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
        if let Some(listener) = &self.listener {
            listener.abort();
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
                AfterFailure::Snooze(_) => unreachable!("a failure is never a snooze"),
            })
            .collect();
        assert_eq!(delays, [Some(100), Some(200), Some(300), None]);
    }
}
