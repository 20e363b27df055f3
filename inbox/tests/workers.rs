//! Workers: claims that do not walk a subject's backlog, handlers stopped
//! when their lease is lost or their worker goes away, fencing tokens,
//! abandoned events parked, and workers that stop when dropped. On SQLite and
//! (when `KYC_WEBHOOKS_TEST_POSTGRES` names a server) PostgreSQL.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{batch, spektr_event, Db};
use kyc_webhooks_inbox::{
    Decision, Delivered, Handled, Handler, Inbox, Provider, State, WorkerOptions,
};
use tokio::time::{timeout, Instant};
use tokio_util::sync::CancellationToken;

on_both_backends!(
    a_claim_uses_the_subjects_index_and_never_scans_the_events,
    a_held_subjects_backlog_does_not_hold_up_the_others,
    an_event_older_than_a_held_head_waits_for_the_holder_then_comes_first,
    the_migration_indexes_the_subjects_of_events_already_stored,
    a_handler_that_ignores_cancellation_is_aborted_when_its_lease_is_lost,
    a_lease_that_cannot_be_renewed_until_it_expires_stops_its_handler,
    dropping_handle_next_aborts_the_handler,
    an_event_abandoned_max_attempts_times_is_parked_by_the_next_claim,
    fencing_tokens_increase_across_claims_even_after_a_requeue,
    a_handler_snoozes_without_using_an_attempt_and_parks_a_poison_event_at_once,
);

fn opts() -> WorkerOptions {
    WorkerOptions {
        concurrency: 1,
        lease: Duration::from_secs(30),
        max_attempts: 3,
        retry_base: Duration::from_millis(10),
        retry_max: Duration::from_millis(40),
        idle_max: Duration::from_millis(20),
    }
}

fn ok_handler() -> Handler {
    Handler::new(|_| async { Ok::<(), String>(()) })
}

/// A handler that never returns (nor looks at its cancellation token).
fn hanging_handler() -> Handler {
    Handler::new(|_| async {
        std::future::pending::<()>().await;
        Ok::<(), String>(())
    })
}

/// Stores `n` events of `subject`, timestamps `first..first + n`, in batches.
async fn store_events(inbox: &Inbox, prefix: &str, subject: &str, first: i64, n: i64) {
    let mut i = 0;
    while i < n {
        let texts: Vec<_> = (i..(i + 1_000).min(n))
            .map(|k| spektr_event(&format!("{prefix}_{k}"), subject, first + k))
            .collect();
        inbox.ingest_spektr(batch(&texts)).await.unwrap();
        i += 1_000;
    }
}

/// Waits (at most 10 s) until `n` events are running.
async fn until_running(inbox: &Inbox, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while inbox.counts().await.unwrap().running != n {
        assert!(Instant::now() < deadline, "never {n} running");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits (at most 10 s) until `flag` is set.
async fn until_set(flag: &AtomicBool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !flag.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the flag was never set");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Claims the oldest event with a handler that never returns, in a task of
/// its own (abort it to make that worker die).
fn hold(
    inbox: &Inbox,
    options: &WorkerOptions,
) -> tokio::task::JoinHandle<kyc_webhooks_inbox::Result<Handled>> {
    let (inbox, options) = (inbox.clone(), options.clone());
    tokio::spawn(async move { inbox.handle_next(&options, &hanging_handler()).await })
}

// The plans this test prints (`cargo test --test workers -- --nocapture
// a_claim_uses`), with 5,000 open events in the held subject and 300 other
// subjects: finding the subject, claiming its head, parking an abandoned
// head, then the subject's next head and its holder (refreshing its row).
//
// SQLite (EXPLAIN QUERY PLAN):
//   SCAN inbox_subjects USING COVERING INDEX inbox_subjects_by_head
//
//   SEARCH t USING INTEGER PRIMARY KEY (rowid=?)
//   CORRELATED SCALAR SUBQUERY 1
//   SEARCH o USING INDEX inbox_events_open_by_subject (provider=? AND subject=?)
//   CORRELATED SCALAR SUBQUERY 2
//   SEARCH r USING INDEX inbox_events_running_by_subject (provider=? AND subject=?)
//
//   (parking: the same)
//
//   SEARCH inbox_events USING INDEX inbox_events_open_by_subject (provider=? AND subject=?)
//
//   SEARCH inbox_events USING INDEX inbox_events_running_by_subject (provider=? AND subject=?)
//
// PostgreSQL 15 (EXPLAIN of the generic plans, after ANALYZE):
//   Limit  (cost=0.27..0.66 rows=1 width=33)
//     ->  LockRows  (cost=0.27..39.26 rows=100 width=33)
//           ->  Index Scan using inbox_subjects_by_head on inbox_subjects  (cost=0.27..38.26 rows=100 width=33)
//                 Filter: (ready_at <= clock_timestamp())
//
//   Update on inbox_events t  (cost=0.28..18.89 rows=1 width=90)
//     ->  Index Scan using inbox_events_pkey on inbox_events t  (cost=0.28..18.89 rows=1 width=90)
//           Index Cond: (seq = $1)
//           Filter: (((state <> 'running'::text) OR (attempts < $4)) AND (((state = 'pending'::text) AND (run_after <= clock_timestamp())) OR ((state = 'running'::text) AND (lease_until <= clock_timestamp()))) AND ((SubPlan 1) = $1) AND (NOT (SubPlan 2)))
//           SubPlan 1
//             ->  Limit  (cost=0.28..2.40 rows=1 width=16)
//                   ->  Index Only Scan using inbox_events_open_by_subject on inbox_events o  (cost=0.28..38.39 rows=18 width=16)
//                         Index Cond: ((provider = t.provider) AND (subject = t.subject))
//           SubPlan 2
//             ->  Index Scan using inbox_events_running_by_subject on inbox_events r  (cost=0.12..8.15 rows=1 width=0)
//                   Index Cond: ((provider = t.provider) AND (subject = t.subject))
//                   Filter: ((seq <> t.seq) AND (lease_until > clock_timestamp()))
//
//   Update on inbox_events t  (cost=0.12..18.72 rows=0 width=0)
//     ->  Index Scan using inbox_events_running_by_subject on inbox_events t  (cost=0.12..18.72 rows=1 width=118)
//           Filter: ((attempts >= $3) AND (seq = $1) AND (state = 'running'::text) AND ...)
//           (SubPlans 1 and 2 as above; this walks the running events only:
//           one per handler running)
//
//   Limit  (cost=0.28..2.40 rows=1 width=16)
//     ->  Index Only Scan using inbox_events_open_by_subject on inbox_events e  (cost=0.28..38.39 rows=18 width=16)
//           Index Cond: ((provider = $1) AND (subject = $2))
//
//   Aggregate  (cost=8.15..8.16 rows=1 width=8)
//     ->  Index Scan using inbox_events_running_by_subject on inbox_events r  (cost=0.12..8.14 rows=1 width=8)
//           Index Cond: ((provider = $1) AND (subject = $2))
async fn a_claim_uses_the_subjects_index_and_never_scans_the_events(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    store_events(&inbox, "backlog", "backlog", 1, 5_000).await;
    let others: Vec<_> = (0..300)
        .map(|i| spektr_event(&format!("other_{i}"), &format!("s{i}"), 100_000 + i))
        .collect();
    inbox.ingest_spektr(batch(&others)).await.unwrap();
    let holder = hold(&inbox, &opts());
    until_running(&inbox, 1).await;
    if db.is_postgres() {
        // Autovacuum is off on the test server: the planner needs statistics.
        db.execute("ANALYZE").await;
    }
    let plans = timeout(Duration::from_secs(30), inbox.explain_claim())
        .await
        .unwrap()
        .unwrap();
    for plan in &plans {
        eprintln!("{plan}\n");
    }
    assert_eq!(plans.len(), 5);
    assert!(
        plans[0].contains("inbox_subjects_by_head"),
        "the claim does not walk the subjects index:\n{}",
        plans[0]
    );
    for plan in &plans {
        for line in plan.lines() {
            let scan = line.trim_start().starts_with("SCAN ") || line.contains("Seq Scan");
            assert!(
                !scan || line.contains("inbox_subjects_by_head"),
                "a claim scans a table:\n{plan}"
            );
            assert!(!line.contains("Sort"), "a claim sorts:\n{plan}");
        }
    }
    for plan in &plans[1..] {
        assert!(
            plan.contains("inbox_events_open_by_subject")
                || plan.contains("inbox_events_running_by_subject"),
            "{plan}"
        );
    }
    holder.abort();
}

async fn a_held_subjects_backlog_does_not_hold_up_the_others(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    store_events(&inbox, "backlog", "backlog", 1, 3_000).await;
    let holder = hold(&inbox, &opts());
    until_running(&inbox, 1).await;
    // Stored after the hold: they enter inbox_subjects by the trigger.
    let later: Vec<_> = (0..20)
        .map(|i| spektr_event(&format!("later_{i}"), &format!("s{}", i % 5), 10_000 + i))
        .collect();
    inbox.ingest_spektr(batch(&later)).await.unwrap();
    let mut done = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while done.len() < 20 {
        assert!(Instant::now() < deadline, "handled only {done:?}");
        let seen = Arc::new(Mutex::new(None));
        let handler = {
            let seen = Arc::clone(&seen);
            Handler::new(move |d: Delivered| {
                *seen.lock().unwrap() = Some(d.stored.event_id.clone());
                async { Ok::<(), String>(()) }
            })
        };
        match inbox.handle_next(&opts(), &handler).await.unwrap() {
            Handled::Done => done.push(seen.lock().unwrap().take().unwrap()),
            Handled::Idle => tokio::time::sleep(Duration::from_millis(5)).await,
            other => panic!("{other:?}"),
        }
    }
    let expected: Vec<_> = (0..20).map(|i| format!("later_{i}")).collect();
    assert_eq!(done, expected, "oldest first, none of the held subject");
    assert_eq!(
        inbox.handle_next(&opts(), &ok_handler()).await.unwrap(),
        Handled::Idle
    );
    holder.abort();
}

async fn an_event_older_than_a_held_head_waits_for_the_holder_then_comes_first(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    inbox
        .ingest_spektr(batch(&[spektr_event("head", "c", 10)]))
        .await
        .unwrap();
    let options = WorkerOptions {
        lease: Duration::from_millis(400),
        ..opts()
    };
    let holder = hold(&inbox, &options);
    until_running(&inbox, 1).await;
    inbox
        .ingest_spektr(batch(&[spektr_event("older", "c", 5)]))
        .await
        .unwrap();
    // The subject is held: its new head waits.
    assert_eq!(
        inbox.handle_next(&options, &ok_handler()).await.unwrap(),
        Handled::Idle
    );
    holder.abort();
    let _ = holder.await;
    let order = Arc::new(Mutex::new(Vec::new()));
    let handler = {
        let order = Arc::clone(&order);
        Handler::new(move |d: Delivered| {
            order.lock().unwrap().push(d.stored.event_id.clone());
            async { Ok::<(), String>(()) }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while order.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline);
        if inbox.handle_next(&options, &handler).await.unwrap() == Handled::Idle {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(*order.lock().unwrap(), ["older", "head"]);
}

async fn the_migration_indexes_the_subjects_of_events_already_stored(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    store_events(&inbox, "a", "a", 1, 3).await;
    store_events(&inbox, "b", "b", 10, 2).await;
    assert_eq!(
        inbox.handle_next(&opts(), &ok_handler()).await.unwrap(),
        Handled::Done
    );
    drop(inbox);
    // Back to the schema before 0003_claims, as a database written by the
    // previous release: 0004_operations undone first.
    if db.is_postgres() {
        db.execute(
            "DROP TRIGGER inbox_tally_events_stored ON inbox_events;
             DROP TRIGGER inbox_tally_events_moved ON inbox_events;
             DROP TRIGGER inbox_tally_events_removed ON inbox_events;
             DROP TRIGGER inbox_tally_dead_letters_stored ON inbox_dead_letters;
             DROP TRIGGER inbox_tally_dead_letters_removed ON inbox_dead_letters;
             DROP FUNCTION inbox_tally_events(), inbox_tally_dead_letters(), inbox_fold_tallies();
             DROP TABLE inbox_tallies, inbox_tally_changes;
             DROP INDEX inbox_events_pending_by_received, inbox_events_prunable,
                 inbox_dead_letters_by_received;
             ALTER TABLE inbox_events DROP COLUMN content_sha256, DROP COLUMN pruned_at;
             DELETE FROM inbox_migrations WHERE version = 4;
             DROP TRIGGER inbox_events_wake_subjects ON inbox_events;
             DROP FUNCTION inbox_events_wake_subjects(), inbox_fold_wakeups(INTEGER),
                 inbox_refresh_subject(TEXT, TEXT);
             DROP TABLE inbox_subjects, inbox_wakeups;
             ALTER TABLE inbox_events DROP COLUMN lease_epoch;
             DELETE FROM inbox_migrations WHERE version = 3;",
        )
        .await;
    } else {
        db.execute(
            "DROP TRIGGER inbox_tally_event_stored;
             DROP TRIGGER inbox_tally_event_moved;
             DROP TRIGGER inbox_tally_event_removed;
             DROP TRIGGER inbox_tally_dead_letter_stored;
             DROP TRIGGER inbox_tally_dead_letter_removed;
             DROP TABLE inbox_tallies;
             DROP INDEX inbox_events_pending_by_received;
             DROP INDEX inbox_events_prunable;
             DROP INDEX inbox_dead_letters_by_received;
             ALTER TABLE inbox_events DROP COLUMN content_sha256;
             ALTER TABLE inbox_events DROP COLUMN pruned_at;
             DELETE FROM inbox_migrations WHERE version = 4;
             DROP TRIGGER inbox_events_enter_subject;
             DROP TABLE inbox_subjects;
             ALTER TABLE inbox_events DROP COLUMN lease_epoch;
             DELETE FROM inbox_migrations WHERE version = 3;",
        )
        .await;
    }
    let inbox = Inbox::open(&db.url).await.unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let handler = {
        let order = Arc::clone(&order);
        Handler::new(move |d: Delivered| {
            order.lock().unwrap().push(d.stored.event_id.clone());
            async { Ok::<(), String>(()) }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while order.lock().unwrap().len() < 4 {
        assert!(Instant::now() < deadline, "{:?}", order.lock().unwrap());
        if inbox.handle_next(&opts(), &handler).await.unwrap() == Handled::Idle {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    assert_eq!(*order.lock().unwrap(), ["a_1", "a_2", "b_0", "b_1"]);
}

/// A handler that ignores cancellation and sleeps `ms`: whether it started
/// and finished, and its run's cancellation token, are for the test to read.
struct Stubborn {
    handler: Handler,
    started: Arc<AtomicBool>,
    finished: Arc<AtomicBool>,
    token: Arc<Mutex<Option<CancellationToken>>>,
}

fn stubborn_handler(ms: u64) -> Stubborn {
    let started = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let token: Arc<Mutex<Option<CancellationToken>>> = Arc::default();
    let handler = {
        let (started, finished, token) = (started.clone(), finished.clone(), token.clone());
        Handler::new(move |d: Delivered| {
            *token.lock().unwrap() = Some(d.cancellation().clone());
            let (started, finished) = (started.clone(), finished.clone());
            async move {
                started.store(true, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                finished.store(true, Ordering::SeqCst);
                Ok::<(), String>(())
            }
        })
    };
    Stubborn {
        handler,
        started,
        finished,
        token,
    }
}

async fn a_handler_that_ignores_cancellation_is_aborted_when_its_lease_is_lost(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    inbox
        .ingest_spektr(batch(&[spektr_event("slow", "c", 1)]))
        .await
        .unwrap();
    let Stubborn {
        handler,
        started,
        finished,
        token,
    } = stubborn_handler(1_500);
    let options = WorkerOptions {
        lease: Duration::from_millis(600),
        ..opts()
    };
    let began = Instant::now();
    let worker = {
        let (inbox, options) = (inbox.clone(), options.clone());
        tokio::spawn(async move { inbox.handle_next(&options, &handler).await })
    };
    until_set(&started).await;
    // Another worker takes the event over: the next renewal is refused.
    db.execute("UPDATE inbox_events SET lease_token = 'someone else'")
        .await;
    let handled = timeout(Duration::from_secs(5), worker)
        .await
        .expect("handle_next never returned")
        .unwrap()
        .unwrap();
    assert_eq!(handled, Handled::LeaseLost);
    assert!(
        began.elapsed() < Duration::from_millis(1_500),
        "not stopped before the handler would have ended"
    );
    let token = token.lock().unwrap().clone().unwrap();
    assert!(token.is_cancelled());
    tokio::time::sleep_until(began + Duration::from_millis(2_200)).await;
    assert!(
        !finished.load(Ordering::SeqCst),
        "the handler went on after its lease was lost"
    );
}

/// The store answers every renewal with an error (not a refusal): the worker
/// keeps trying while the lease holds, and when it expires the handler is
/// cancelled and aborted, before anyone else may claim the event.
async fn a_lease_that_cannot_be_renewed_until_it_expires_stops_its_handler(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    inbox
        .ingest_spektr(batch(&[spektr_event("stuck", "c", 1)]))
        .await
        .unwrap();
    // Renewing a lease is the one update that keeps a running event running
    // with a new `lease_until`: make exactly that fail.
    if db.is_postgres() {
        db.execute(
            "CREATE FUNCTION fail_renewal() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN RAISE EXCEPTION 'injected: the lease cannot be renewed'; END $$;
             CREATE TRIGGER fail_renewal BEFORE UPDATE OF lease_until ON inbox_events
             FOR EACH ROW WHEN (OLD.state = 'running' AND NEW.state = 'running')
             EXECUTE FUNCTION fail_renewal();",
        )
        .await;
    } else {
        db.execute(
            "CREATE TRIGGER fail_renewal BEFORE UPDATE OF lease_until ON inbox_events
             WHEN OLD.state = 'running' AND NEW.state = 'running'
             BEGIN SELECT RAISE(ABORT, 'injected: the lease cannot be renewed'); END;",
        )
        .await;
    }
    let Stubborn {
        handler,
        started,
        finished,
        token,
    } = stubborn_handler(3_000);
    let lease = Duration::from_millis(900);
    let options = WorkerOptions { lease, ..opts() };
    let began = Instant::now();
    let worker = {
        let (inbox, options) = (inbox.clone(), options.clone());
        tokio::spawn(async move { inbox.handle_next(&options, &handler).await })
    };
    until_set(&started).await;
    let handled = timeout(Duration::from_secs(5), worker)
        .await
        .expect("handle_next never returned")
        .unwrap()
        .unwrap();
    let stopped_after = began.elapsed();
    assert_eq!(handled, Handled::LeaseLost);
    // Not at the first failed renewal (a third of the lease): at expiry.
    assert!(
        stopped_after >= lease - Duration::from_millis(100),
        "stopped after {stopped_after:?}, before the lease of {lease:?} ran out"
    );
    assert!(
        stopped_after < Duration::from_millis(2_500),
        "stopped after {stopped_after:?}, long after the lease of {lease:?} ran out"
    );
    assert!(token.lock().unwrap().clone().unwrap().is_cancelled());
    tokio::time::sleep_until(began + Duration::from_millis(3_600)).await;
    assert!(
        !finished.load(Ordering::SeqCst),
        "the handler went on after its lease ran out"
    );
}

async fn dropping_handle_next_aborts_the_handler(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    inbox
        .ingest_spektr(batch(&[spektr_event("e", "c", 1)]))
        .await
        .unwrap();
    let started = Arc::new(AtomicBool::new(false));
    let after_await = Arc::new(AtomicBool::new(false));
    let token: Arc<Mutex<Option<CancellationToken>>> = Arc::default();
    let handler = {
        let (started, after_await, token) = (started.clone(), after_await.clone(), token.clone());
        Handler::new(move |d: Delivered| {
            *token.lock().unwrap() = Some(d.cancellation().clone());
            let (started, after_await) = (started.clone(), after_await.clone());
            async move {
                started.store(true, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(300)).await;
                after_await.store(true, Ordering::SeqCst);
                Ok::<(), String>(())
            }
        })
    };
    let worker = {
        let inbox = inbox.clone();
        tokio::spawn(async move { inbox.handle_next(&opts(), &handler).await })
    };
    until_set(&started).await;
    worker.abort();
    let _ = worker.await;
    assert!(token.lock().unwrap().clone().unwrap().is_cancelled());
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !after_await.load(Ordering::SeqCst),
        "the handler went on after handle_next was dropped"
    );
}

async fn an_event_abandoned_max_attempts_times_is_parked_by_the_next_claim(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    inbox
        .ingest_spektr(batch(&[
            spektr_event("doomed", "c", 1),
            spektr_event("fine", "d", 2),
        ]))
        .await
        .unwrap();
    let options = WorkerOptions {
        lease: Duration::from_millis(300),
        max_attempts: 2,
        ..opts()
    };
    for attempt in 1..=2 {
        // A worker claims it, then dies; its lease runs out.
        let holder = hold(&inbox, &options);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let stored = inbox.event(Provider::Spektr, "doomed").await.unwrap();
            let stored = stored.unwrap();
            if stored.attempts == attempt {
                assert_eq!(stored.state, State::Running);
                break;
            }
            assert!(Instant::now() < deadline, "never claimed {attempt} times");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        holder.abort();
        let _ = holder.await;
        tokio::time::sleep(Duration::from_millis(450)).await;
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler = {
        let seen = Arc::clone(&seen);
        Handler::new(move |d: Delivered| {
            seen.lock().unwrap().push(d.stored.event_id.clone());
            async { Ok::<(), String>(()) }
        })
    };
    assert_eq!(
        inbox.handle_next(&options, &handler).await.unwrap(),
        Handled::Done
    );
    assert_eq!(*seen.lock().unwrap(), ["fine"], "parked, then the next one");
    let doomed = inbox
        .event(Provider::Spektr, "doomed")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((doomed.state, doomed.attempts), (State::Parked, 2));
    let error = doomed.last_error.unwrap_or_default();
    assert!(error.starts_with("abandoned"), "{error}");
    assert_eq!(inbox.parked(10).await.unwrap().len(), 1);
    assert_eq!(
        inbox.handle_next(&options, &handler).await.unwrap(),
        Handled::Idle
    );
}

async fn fencing_tokens_increase_across_claims_even_after_a_requeue(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    inbox
        .ingest_spektr(batch(&[spektr_event("e", "c", 1)]))
        .await
        .unwrap();
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let failing = {
        let tokens = Arc::clone(&tokens);
        Handler::new(move |d: Delivered| {
            tokens.lock().unwrap().push(d.fencing_token());
            async { Err::<(), _>("down") }
        })
    };
    let options = WorkerOptions {
        max_attempts: 2,
        ..opts()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut outcomes = Vec::new();
    while outcomes.len() < 2 {
        assert!(Instant::now() < deadline);
        match inbox.handle_next(&options, &failing).await.unwrap() {
            Handled::Idle => tokio::time::sleep(Duration::from_millis(5)).await,
            other => outcomes.push(other),
        }
    }
    assert_eq!(
        outcomes,
        [
            Handled::WillRetry("down".into()),
            Handled::Parked("down".into())
        ]
    );
    inbox.requeue(Provider::Spektr, "e").await.unwrap();
    assert_eq!(
        inbox.handle_next(&options, &failing).await.unwrap(),
        Handled::WillRetry("down".into())
    );
    let tokens = tokens.lock().unwrap().clone();
    assert_eq!(tokens.len(), 3);
    assert!(
        tokens.windows(2).all(|w| w[0] < w[1]) && tokens[0] > 0,
        "{tokens:?}"
    );
}

#[tokio::test]
async fn a_delivery_built_for_a_test_has_fencing_token_0_and_is_not_cancelled() {
    let db = Db::sqlite();
    let inbox = Inbox::open(&db.url).await.unwrap();
    let text = spektr_event("e", "c", 1);
    inbox
        .ingest_spektr(batch(std::slice::from_ref(&text)))
        .await
        .unwrap();
    let stored = inbox.event(Provider::Spektr, "e").await.unwrap().unwrap();
    let event = kyc_webhooks::spektr::parse_event(text.as_bytes()).unwrap();
    let delivered = Delivered::new(
        kyc_webhooks_inbox::InboxEvent::Spektr(Box::new(event)),
        stored,
    );
    assert_eq!(delivered.fencing_token(), 0);
    assert!(!delivered.is_cancelled());
    delivered.cancellation().cancel();
    assert!(delivered.is_cancelled());
}

/// The CPU time (user + system) of this process's threads named `name`.
fn cpu_of_threads(name: &str) -> Duration {
    // /proc reports clock ticks of USER_HZ, 1/100 s on Linux.
    let mut ticks = 0u64;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = task.unwrap().path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        // Fields after the command's closing parenthesis: state is the 3rd
        // field of the line, utime the 14th and stime the 15th.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        if fields.len() > 12 {
            ticks +=
                fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0);
        }
    }
    Duration::from_millis(ticks * 10)
}

fn dropping_workers_stops_them(db: impl FnOnce() -> Option<Db> + Send) {
    const THREADS: &str = "idle-cpu-probe";
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(THREADS)
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = db() else {
        return;
    };
    runtime.block_on(async {
        let inbox = Inbox::open(&db.url).await.unwrap();
        inbox
            .ingest_spektr(batch(&[spektr_event("e", "c", 1)]))
            .await
            .unwrap();
        // Each worker task holds a clone of the handler, and so of `alive`.
        let alive = Arc::new(());
        let handler = {
            let alive = Arc::clone(&alive);
            Handler::new(move |_| {
                let _alive = &alive;
                async { Ok::<(), String>(()) }
            })
        };
        let workers = inbox.run_workers(
            WorkerOptions {
                concurrency: 2,
                ..opts()
            },
            handler,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while inbox.counts().await.unwrap().done < 1 {
            assert!(Instant::now() < deadline, "the workers never ran");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(workers);
        let deadline = Instant::now() + Duration::from_secs(2);
        while Arc::strong_count(&alive) > 1 {
            assert!(
                Instant::now() < deadline,
                "the workers' tasks go on after Workers was dropped"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let before = cpu_of_threads(THREADS);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let used = cpu_of_threads(THREADS) - before;
        assert!(
            used < Duration::from_millis(200),
            "{used:?} of CPU in 2 idle seconds after the workers were dropped"
        );
    });
}

#[test]
fn dropping_workers_stops_them_on_sqlite() {
    dropping_workers_stops_them(|| Some(Db::sqlite()));
}

#[test]
#[cfg_attr(
    not(kyc_webhooks_test_postgres),
    ignore = "set KYC_WEBHOOKS_TEST_POSTGRES when building the tests to run them on PostgreSQL"
)]
fn dropping_workers_stops_them_on_postgres() {
    dropping_workers_stops_them(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(Db::postgres())
    });
}

/// `Delivered::from_predictaid` fills the `StoredEvent` as the inbox would
/// have stored the event: same ids, subject, times and authentication, and a
/// body that decodes to the same event.
#[tokio::test]
async fn a_delivery_built_from_an_event_holds_what_the_inbox_would_store() {
    let db = Db::sqlite();
    let inbox = Inbox::open(&db.url).await.unwrap();
    let text = common::predictaid_event("evt_p", "sess_9", 1_752_127_706_390);
    inbox
        .ingest_predictaid(
            &common::secrets(),
            text.clone(),
            Some(&common::sign(text.as_bytes())),
            None,
        )
        .await
        .unwrap();
    let stored = inbox
        .event(Provider::PredictaId, "evt_p")
        .await
        .unwrap()
        .unwrap();
    let event = kyc_webhooks::predictaid::parse(text.as_bytes()).unwrap();
    let built = Delivered::from_predictaid(event.clone()).stored;
    assert_eq!(
        (
            built.provider,
            &built.event_id,
            &built.event_type,
            &built.subject,
            built.occurred_at,
            built.authenticated,
        ),
        (
            stored.provider,
            &stored.event_id,
            &stored.event_type,
            &stored.subject,
            stored.occurred_at,
            stored.authenticated,
        )
    );
    assert_eq!((built.attempts, built.state), (1, State::Running));
    assert_eq!(
        kyc_webhooks::predictaid::parse(built.body.as_bytes()).unwrap(),
        event
    );
}

async fn a_handler_snoozes_without_using_an_attempt_and_parks_a_poison_event_at_once(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    // The first run of "later" asks to be called again in 300 ms, the second
    // is done; "poison" is parked by its first run, attempts left or not.
    let runs = Arc::new(Mutex::new(0u32));
    let handler = {
        let runs = runs.clone();
        Handler::new(move |d: Delivered| {
            let runs = runs.clone();
            async move {
                if d.stored.event_id == "poison" {
                    return Ok(Decision::Park("cannot ever be handled".to_owned()));
                }
                let mut runs = runs.lock().unwrap();
                *runs += 1;
                Ok::<_, String>(if *runs == 1 {
                    Decision::RetryAfter(Duration::from_millis(300))
                } else {
                    Decision::Done
                })
            }
        })
    };
    let stored = |id: &'static str| {
        let inbox = inbox.clone();
        async move { inbox.event(Provider::Spektr, id).await.unwrap().unwrap() }
    };
    inbox
        .ingest_spektr(batch(&[spektr_event("later", "subject_later", 1)]))
        .await
        .unwrap();
    let snoozed_at = Instant::now();
    assert_eq!(
        inbox.handle_next(&opts(), &handler).await.unwrap(),
        Handled::Snoozed(Duration::from_millis(300))
    );
    let event = stored("later").await;
    assert_eq!(
        (event.state, event.attempts, event.last_error),
        (State::Pending, 0, None),
        "a snooze is not a failed attempt"
    );
    // Not claimable before its time...
    assert_eq!(
        inbox.handle_next(&opts(), &handler).await.unwrap(),
        Handled::Idle
    );
    // ... and claimable after it.
    let done = loop {
        let handled = inbox.handle_next(&opts(), &handler).await.unwrap();
        if handled != Handled::Idle {
            break handled;
        }
        assert!(
            snoozed_at.elapsed() < Duration::from_secs(5),
            "the snoozed event never came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(done, Handled::Done);
    assert!(
        snoozed_at.elapsed() >= Duration::from_millis(300),
        "claimed before its delay"
    );
    let event = stored("later").await;
    assert_eq!((event.state, event.attempts), (State::Done, 1));

    inbox
        .ingest_spektr(batch(&[spektr_event("poison", "subject_poison", 2)]))
        .await
        .unwrap();
    let reason = "parked by the handler: cannot ever be handled".to_owned();
    assert_eq!(
        inbox.handle_next(&opts(), &handler).await.unwrap(),
        Handled::Parked(reason.clone())
    );
    let event = stored("poison").await;
    assert_eq!(
        (event.state, event.attempts, event.last_error),
        (State::Parked, 1, Some(reason)),
        "parked by its first run, with 2 of 3 attempts left"
    );
}

/// Waits (at most 10 s) until the handler has seen `n` events; returns when.
async fn until_seen(seen: &Mutex<Vec<Instant>>, n: usize) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(at) = seen.lock().unwrap().get(n - 1) {
            return *at;
        }
        assert!(
            Instant::now() < deadline,
            "the handler never saw {n} events"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// On PostgreSQL an event stored by another process (another `Inbox` on the
/// same database) wakes idle workers at once through LISTEN/NOTIFY, long
/// before their next poll; after the listener's connection is killed it
/// reconnects and the next event wakes them at once again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(kyc_webhooks_test_postgres),
    ignore = "set KYC_WEBHOOKS_TEST_POSTGRES when building the tests to run them on PostgreSQL"
)]
async fn on_postgres_an_event_stored_by_another_process_wakes_idle_workers_at_once() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    let storing = Inbox::open(&db.url).await.unwrap();
    let working = Inbox::open(&db.url).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler = {
        let seen = Arc::clone(&seen);
        Handler::new(move |_| {
            seen.lock().unwrap().push(Instant::now());
            async { Ok::<(), String>(()) }
        })
    };
    // Idle waits double from 10 ms: after 6 s idle a worker sleeps for
    // seconds at a time, so an event handled within 1 s was not polled for.
    let options = WorkerOptions {
        idle_max: Duration::from_secs(60),
        ..opts()
    };
    let workers = working.run_workers(options, handler);
    for (n, first) in [(1, true), (2, false)] {
        if !first {
            // The listener's connection dies; the workers keep polling and
            // the listener reconnects (after 100 ms) on its own.
            db.terminate_connections().await;
        }
        tokio::time::sleep(Duration::from_secs(6)).await;
        let text = spektr_event(&format!("woken_{n}"), "c", n);
        storing
            .ingest_spektr(batch(std::slice::from_ref(&text)))
            .await
            .unwrap();
        let stored = Instant::now();
        let started = until_seen(&seen, n as usize).await;
        let latency = started.saturating_duration_since(stored);
        assert!(
            latency < Duration::from_secs(1),
            "event {n}: the handler started {latency:?} after the commit"
        );
    }
    workers.shutdown().await;
}
