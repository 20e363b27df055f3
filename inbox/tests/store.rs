//! The inbox's behaviour through its library API, on SQLite and (when
//! `KYC_WEBHOOKS_TEST_POSTGRES` names a server) PostgreSQL.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{batch, predictaid_event, secrets, sign, spektr_event, Db};
use kyc_webhooks_inbox::{
    Error, Handled, Handler, Inbox, Outcome, Provider, Pruned, RetentionPolicy, State,
    WorkerOptions, MAX_ERROR_LEN,
};

on_both_backends!(
    a_batch_is_stored_once_with_each_events_own_text,
    the_same_event_sent_50_times_at_once_is_stored_once,
    a_broken_event_is_dead_lettered_and_its_neighbours_stored,
    a_body_with_no_readable_structure_is_dead_lettered_whole,
    an_empty_id_is_a_dead_letter,
    dead_letters_are_stored_once_per_content_with_a_bounded_error,
    predictaid_is_authenticated_before_anything_is_stored,
    an_authentic_predictaid_body_that_does_not_decode_is_dead_lettered,
    a_failed_commit_leaves_nothing_of_the_delivery_stored,
    a_batch_larger_than_one_transaction_is_stored_whole,
    a_failing_handler_is_retried_then_parked_and_can_be_requeued,
    events_of_one_subject_are_handled_in_order_one_at_a_time,
    an_expired_lease_makes_the_event_claimable_again,
    each_event_records_whether_its_delivery_was_authenticated,
    the_depth_agrees_with_a_full_count_after_every_kind_of_change,
    pruning_empties_done_bodies_keeps_their_ids_and_never_touches_open_or_parked_events,
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

async fn a_batch_is_stored_once_with_each_events_own_text(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    // Odd spacing: what is stored is the text as received, not re-serialized.
    let first = r#"{ "id":"e1" ,"spektrId": "cust_1", "eventType": "inbox_test", "timestamp": 1752127706390, "data": {"n":  1} }"#;
    let second = spektr_event("e2", "cust_2", 1752127706391);
    let body = batch(&[first.to_owned(), second.clone()]);
    let receipt = inbox.ingest_spektr(body.clone()).await.unwrap();
    assert_eq!(
        receipt
            .events
            .iter()
            .map(|e| &e.outcome)
            .collect::<Vec<_>>(),
        [&Outcome::Stored, &Outcome::Stored]
    );
    let stored = inbox.event(Provider::Spektr, "e1").await.unwrap().unwrap();
    assert_eq!(stored.body, first);
    assert_eq!(stored.event_type, "inbox_test");
    assert_eq!(stored.subject, "cust_1");
    assert_eq!(stored.occurred_at.timestamp_millis(), 1752127706390);
    assert_eq!(stored.state, State::Pending);
    let stored = inbox.event(Provider::Spektr, "e2").await.unwrap().unwrap();
    assert_eq!(stored.body, second);

    // Redelivered, and once more in a batch with a new event.
    let again = inbox.ingest_spektr(body).await.unwrap();
    assert_eq!(again.already_stored(), 2);
    let third = spektr_event("e3", "cust_1", 1752127706392);
    let mixed = inbox.ingest_spektr(batch(&[second, third])).await.unwrap();
    assert_eq!((mixed.stored(), mixed.already_stored()), (1, 1));
    assert_eq!(inbox.counts().await.unwrap().events(), 3);

    // The same id from the other provider is another event.
    let body = predictaid_event("e1", "sess_1", 1752127706390);
    let receipt = inbox
        .ingest_predictaid(
            &secrets(),
            body.clone(),
            Some(&sign(body.as_bytes())),
            Some("e1"),
        )
        .await
        .unwrap();
    assert_eq!(receipt.stored(), 1);
    let stored = inbox
        .event(Provider::PredictaId, "e1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.body.as_str(), stored.subject.as_str()),
        (body.as_str(), "sess_1")
    );
}

async fn the_same_event_sent_50_times_at_once_is_stored_once(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    let body = predictaid_event("evt_once", "sess_1", 1752127706390);
    let signature = sign(body.as_bytes());
    let sends = (0..50).map(|i| {
        let (inbox, body, signature) = (inbox.clone(), body.clone(), signature.clone());
        tokio::spawn(async move {
            if i % 2 == 0 {
                inbox
                    .ingest_predictaid(&secrets(), body, Some(&signature), None)
                    .await
            } else {
                let event = spektr_event("evt_once", "cust_1", 1752127706390);
                inbox.ingest_spektr(batch(&[event])).await
            }
        })
    });
    let mut outcomes = Vec::new();
    for send in sends.collect::<Vec<_>>() {
        outcomes.extend(
            send.await
                .unwrap()
                .unwrap()
                .events
                .into_iter()
                .map(|e| e.outcome),
        );
    }
    let stored = outcomes.iter().filter(|o| **o == Outcome::Stored).count();
    let already = outcomes
        .iter()
        .filter(|o| **o == Outcome::AlreadyStored)
        .count();
    // Once per provider: 25 PredictaID and 25 Spektr deliveries of one id each.
    assert_eq!((stored, already), (2, 48));
    assert_eq!(inbox.counts().await.unwrap().events(), 2);
}

async fn a_broken_event_is_dead_lettered_and_its_neighbours_stored(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    // A byte that is not UTF-8 inside a string breaks the body's JSON.
    let mut body = Vec::new();
    body.extend_from_slice(b"{\"results\": [");
    body.extend_from_slice(spektr_event("good_1", "c", 1).as_bytes());
    body.extend_from_slice(b", ");
    let bad_start = body.len();
    body.extend_from_slice(b"{\"id\": \"bad\xff\", \"spektrId\": \"c\", \"eventType\": \"x\", \"timestamp\": 2, \"data\": {}}");
    let bad = body[bad_start..].to_vec();
    body.extend_from_slice(b",\n");
    // An unclosed string in a pretty-printed batch.
    body.extend_from_slice(b"{\"id\": \"unclosed, \"spektrId\": \"c\",\n \"eventType\": \"x\"},\n");
    body.extend_from_slice(spektr_event("good_2", "c", 3).as_bytes());
    // And a well-formed event whose data does not fit its type.
    body.extend_from_slice(b", {\"id\": \"typed\", \"spektrId\": \"c\", \"eventType\": \"step_init\", \"timestamp\": 4, \"data\": {\"processId\": 7}}");
    body.extend_from_slice(b"]}");
    let receipt = inbox.ingest_spektr(body).await.unwrap();
    assert_eq!(receipt.events.len(), 5);
    assert_eq!((receipt.stored(), receipt.dead_lettered()), (2, 3));
    assert_eq!(receipt.events[3].id.as_deref(), Some("good_2"));
    assert!(inbox
        .event(Provider::Spektr, "good_2")
        .await
        .unwrap()
        .is_some());
    let dead = inbox.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 3);
    assert_eq!(
        dead[0].body, bad,
        "a dead letter keeps its bytes as received"
    );
    assert_eq!(
        dead.iter().map(|d| d.batch_index).collect::<Vec<_>>(),
        [Some(1), Some(2), Some(4)]
    );
    assert!(dead[2].error.contains("processId"), "{}", dead[2].error);
}

async fn a_body_with_no_readable_structure_is_dead_lettered_whole(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    let body = b"\x00\xffnot a batch at all".to_vec();
    let receipt = inbox.ingest_spektr(body.clone()).await.unwrap();
    assert_eq!(receipt.dead_lettered(), 1);
    let dead = inbox.dead_letters(10).await.unwrap();
    assert_eq!(
        (dead[0].body.as_slice(), dead[0].batch_index),
        (body.as_slice(), None)
    );
    // Well-formed JSON that is not a batch is refused, and nothing is kept.
    let error = inbox
        .ingest_spektr(br#"{"result": []}"#.to_vec())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotABatch(_)), "{error}");
    assert_eq!(error.http_status(), 400);
    assert_eq!(inbox.counts().await.unwrap().dead_letters, 1);
}

async fn an_empty_id_is_a_dead_letter(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    let one = spektr_event("", "c", 1);
    let other = spektr_event("", "d", 2);
    let receipt = inbox.ingest_spektr(batch(&[one, other])).await.unwrap();
    assert_eq!((receipt.stored(), receipt.dead_lettered()), (0, 2));
    // Two different events with the id "" are two dead letters, not a duplicate.
    assert!(receipt
        .events
        .iter()
        .all(|e| matches!(e.outcome, Outcome::DeadLettered(_))));
    let body = predictaid_event("", "s", 1);
    let receipt = inbox
        .ingest_predictaid(&secrets(), body.clone(), Some(&sign(body.as_bytes())), None)
        .await
        .unwrap();
    assert_eq!(receipt.dead_lettered(), 1);
    let counts = inbox.counts().await.unwrap();
    assert_eq!((counts.events(), counts.dead_letters), (0, 3));
}

async fn dead_letters_are_stored_once_per_content_with_a_bounded_error(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    // A 30 KB value where a number belongs: the core's message may quote it.
    let huge = "x".repeat(30_000);
    let event = format!(
        r#"{{"id": "big", "spektrId": "c", "eventType": "step_init", "timestamp": 1, "data": {{"processId": "{huge}"}}}}"#
    );
    let body = batch(&[event]);
    let first = inbox.ingest_spektr(body.clone()).await.unwrap();
    assert!(matches!(first.events[0].outcome, Outcome::DeadLettered(_)));
    let again = inbox.ingest_spektr(body).await.unwrap();
    assert!(matches!(
        again.events[0].outcome,
        Outcome::DeadLetterAlreadyStored(_)
    ));
    let dead = inbox.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0].error.len() <= MAX_ERROR_LEN,
        "{}",
        dead[0].error.len()
    );
    assert!(dead[0].body.len() > 30_000);

    // Removed by its provider and content hash, once; then it may come again.
    let (provider, sha) = (dead[0].provider, dead[0].content_sha256.clone());
    assert!(inbox.remove_dead_letter(provider, &sha).await.unwrap());
    assert!(!inbox.remove_dead_letter(provider, &sha).await.unwrap());
    assert_eq!(inbox.counts().await.unwrap().dead_letters, 0);
}

async fn predictaid_is_authenticated_before_anything_is_stored(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    let body = predictaid_event("evt_1", "sess_1", 1);
    for signature in [None, Some("zz"), Some(&*sign(b"another body"))] {
        let error = inbox
            .ingest_predictaid(&secrets(), body.clone(), signature, None)
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Unauthenticated(_)), "{error}");
        assert_eq!(error.http_status(), 401);
    }
    // Authentic, but the event-ID header names another event.
    let error = inbox
        .ingest_predictaid(
            &secrets(),
            body.clone(),
            Some(&sign(body.as_bytes())),
            Some("evt_2"),
        )
        .await
        .unwrap_err();
    assert_eq!(error.http_status(), 400);
    let counts = inbox.counts().await.unwrap();
    assert_eq!((counts.events(), counts.dead_letters), (0, 0));
}

async fn an_authentic_predictaid_body_that_does_not_decode_is_dead_lettered(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    let body = b"{\"id\": \"evt_1\", \"type\": \"session.created\", \"data\": \xff".to_vec();
    let receipt = inbox
        .ingest_predictaid(&secrets(), body.clone(), Some(&sign(&body)), None)
        .await
        .unwrap();
    assert_eq!(receipt.dead_lettered(), 1);
    assert_eq!(inbox.dead_letters(1).await.unwrap()[0].body, body);
}

async fn a_failed_commit_leaves_nothing_of_the_delivery_stored(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    // The database refuses the third event of the batch.
    if db.is_postgres() {
        db.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
             CREATE TRIGGER refuse BEFORE INSERT ON inbox_events
                 FOR EACH ROW WHEN (NEW.event_id = 'e3') EXECUTE FUNCTION refuse();",
        )
        .await;
    } else {
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON inbox_events
                 WHEN NEW.event_id = 'e3' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
        )
        .await;
    }
    let events: Vec<_> = (1..=5)
        .map(|i| spektr_event(&format!("e{i}"), "c", i))
        .collect();
    let mut with_dead = events.clone();
    with_dead.push(spektr_event("", "c", 9));
    let body = batch(&with_dead);
    let error = inbox.ingest_spektr(body.clone()).await.unwrap_err();
    assert!(error.http_status() >= 500, "{error}");
    let counts = inbox.counts().await.unwrap();
    assert_eq!((counts.events(), counts.dead_letters), (0, 0));

    // The provider retries once the database accepts writes again.
    if db.is_postgres() {
        db.execute("DROP TRIGGER refuse ON inbox_events").await;
    } else {
        db.execute("DROP TRIGGER refuse").await;
    }
    let receipt = inbox.ingest_spektr(body).await.unwrap();
    assert_eq!((receipt.stored(), receipt.dead_lettered()), (5, 1));
}

async fn a_batch_larger_than_one_transaction_is_stored_whole(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    let events: Vec<_> = (0..5_500)
        .map(|i| spektr_event(&format!("big_{i}"), &format!("c{}", i % 7), i))
        .collect();
    let receipt = inbox.ingest_spektr(batch(&events)).await.unwrap();
    assert_eq!(receipt.stored(), 5_500);
    assert_eq!(
        receipt.events.iter().map(|e| e.index).collect::<Vec<_>>(),
        (0..5_500).map(Some).collect::<Vec<_>>()
    );
    assert_eq!(inbox.counts().await.unwrap().pending, 5_500);
}

async fn a_failing_handler_is_retried_then_parked_and_can_be_requeued(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    inbox
        .ingest_spektr(batch(&[spektr_event("flaky", "c", 1)]))
        .await
        .unwrap();
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handler = {
        let healthy = Arc::clone(&healthy);
        Handler::new(move |_| {
            let healthy = healthy.load(std::sync::atomic::Ordering::SeqCst);
            async move {
                if healthy {
                    Ok(())
                } else {
                    Err("downstream is down")
                }
            }
        })
    };
    let options = opts();
    let mut outcomes = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while outcomes.len() < 3 && tokio::time::Instant::now() < deadline {
        match inbox.handle_next(&options, &handler).await.unwrap() {
            Handled::Idle => tokio::time::sleep(Duration::from_millis(5)).await,
            other => outcomes.push(other),
        }
    }
    assert_eq!(
        outcomes,
        [
            Handled::WillRetry("downstream is down".into()),
            Handled::WillRetry("downstream is down".into()),
            Handled::Parked("downstream is down".into()),
        ]
    );
    assert_eq!(
        inbox.handle_next(&options, &handler).await.unwrap(),
        Handled::Idle
    );
    let parked = inbox.parked(10).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(
        (
            parked[0].event_id.as_str(),
            parked[0].attempts,
            parked[0].last_error.as_deref()
        ),
        ("flaky", 3, Some("downstream is down"))
    );
    healthy.store(true, std::sync::atomic::Ordering::SeqCst);
    inbox.requeue(Provider::Spektr, "flaky").await.unwrap();
    assert!(matches!(
        inbox.requeue(Provider::Spektr, "flaky").await,
        Err(Error::NoSuchEvent { .. })
    ));
    assert_eq!(
        inbox.handle_next(&options, &handler).await.unwrap(),
        Handled::Done
    );
    let stored = inbox
        .event(Provider::Spektr, "flaky")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.state, stored.attempts), (State::Done, 1));
}

async fn events_of_one_subject_are_handled_in_order_one_at_a_time(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    // 4 subjects x 15 events, delivered out of order in several batches.
    let mut events: Vec<(String, String, i64)> = Vec::new();
    for subject in 0..4 {
        for n in 0..15 {
            events.push((
                format!("s{subject}_{n}"),
                format!("subject_{subject}"),
                1_000 + n,
            ));
        }
    }
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| (i * 7919) % events.len()); // a fixed shuffle
    for chunk in order.chunks(12) {
        let texts: Vec<_> = chunk
            .iter()
            .map(|&i| spektr_event(&events[i].0, &events[i].1, events[i].2))
            .collect();
        inbox.ingest_spektr(batch(&texts)).await.unwrap();
    }
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    let seen: Arc<Mutex<HashMap<String, Vec<i64>>>> = Arc::default();
    let overlaps = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let handler = {
        let (in_flight, seen, overlaps) = (in_flight.clone(), seen.clone(), overlaps.clone());
        Handler::new(move |delivered: kyc_webhooks_inbox::Delivered| {
            let (in_flight, seen, overlaps) = (in_flight.clone(), seen.clone(), overlaps.clone());
            async move {
                let subject = delivered.stored.subject.clone();
                if !in_flight.lock().unwrap().insert(subject.clone()) {
                    overlaps.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(3)).await;
                seen.lock()
                    .unwrap()
                    .entry(subject.clone())
                    .or_default()
                    .push(delivered.stored.occurred_at.timestamp_millis());
                in_flight.lock().unwrap().remove(&subject);
                Ok::<(), String>(())
            }
        })
    };
    let workers = inbox.run_workers(
        WorkerOptions {
            concurrency: 4,
            ..opts()
        },
        handler,
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while inbox.counts().await.unwrap().done < 60 {
        assert!(tokio::time::Instant::now() < deadline, "not all handled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    workers.shutdown().await;
    assert_eq!(overlaps.load(std::sync::atomic::Ordering::SeqCst), 0);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 4);
    for (subject, times) in seen.iter() {
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(times, &sorted, "{subject} out of order");
        assert_eq!(times.len(), 15);
    }
}

async fn an_expired_lease_makes_the_event_claimable_again(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    inbox
        .ingest_spektr(batch(&[
            spektr_event("held", "c", 1),
            spektr_event("next_of_same_subject", "c", 2),
        ]))
        .await
        .unwrap();
    let options = WorkerOptions {
        lease: Duration::from_millis(600),
        ..opts()
    };
    // A worker that hangs inside its handler, then dies (its task is aborted).
    let hanging = Handler::new(|_| async {
        std::future::pending::<()>().await;
        Ok::<(), String>(())
    });
    let doomed = {
        let (inbox, options) = (inbox.clone(), options.clone());
        tokio::spawn(async move { inbox.handle_next(&options, &hanging).await })
    };
    while inbox.counts().await.unwrap().running == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // While it lives, its lease is renewed: nothing of the subject is claimable.
    let ok = Handler::new(|_| async { Ok::<(), String>(()) });
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        inbox.handle_next(&options, &ok).await.unwrap(),
        Handled::Idle
    );
    doomed.abort();
    let _ = doomed.await;
    let started = tokio::time::Instant::now();
    let mut handled = Vec::new();
    while handled.len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(10));
        match inbox.handle_next(&options, &ok).await.unwrap() {
            Handled::Idle => tokio::time::sleep(Duration::from_millis(20)).await,
            other => handled.push(other),
        }
    }
    assert_eq!(handled, [Handled::Done, Handled::Done]);
    let held = inbox
        .event(Provider::Spektr, "held")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.attempts, 2, "claimed by the dead worker, then again");
    let next = inbox
        .event(Provider::Spektr, "next_of_same_subject")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refuses_to_acknowledge_once_its_file_is_gone() {
    let db = Db::sqlite();
    let inbox = Inbox::open(&db.url).await.unwrap();
    inbox
        .ingest_spektr(batch(&[spektr_event("before", "c", 1)]))
        .await
        .unwrap();
    std::fs::remove_dir_all(db.dir().unwrap()).unwrap();
    for i in 0..3 {
        let error = inbox
            .ingest_spektr(batch(&[spektr_event(&format!("after_{i}"), "c", 2)]))
            .await
            .unwrap_err();
        assert!(error.http_status() >= 500, "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(kyc_webhooks_test_postgres),
    ignore = "set KYC_WEBHOOKS_TEST_POSTGRES when building the tests to run them on PostgreSQL"
)]
async fn postgres_writer_reconnects_after_its_connection_is_lost() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    let inbox = Inbox::open(&db.url).await.unwrap();
    inbox
        .ingest_spektr(batch(&[spektr_event("before", "c", 1)]))
        .await
        .unwrap();
    db.terminate_connections().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The writer notices the lost connection, reconnects and retries: the
    // delivery is stored, not answered 503.
    let receipt = inbox
        .ingest_spektr(batch(&[spektr_event("after", "c", 2)]))
        .await
        .unwrap();
    assert_eq!(receipt.stored(), 1);
}

#[tokio::test]
async fn an_unknown_url_scheme_is_refused() {
    let error = Inbox::open("mysql://localhost/db").await.unwrap_err();
    assert!(matches!(error, Error::Url { .. }), "{error}");
}

async fn each_event_records_whether_its_delivery_was_authenticated(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    inbox
        .ingest_spektr(batch(&[spektr_event("open", "c", 1)]))
        .await
        .unwrap();
    inbox
        .ingest_spektr_authenticated(batch(&[spektr_event("through_the_token", "c", 2)]))
        .await
        .unwrap();
    let body = predictaid_event("evt_signed", "s", 1);
    let signature = sign(body.as_bytes());
    inbox
        .ingest_predictaid(&secrets(), body, Some(&signature), None)
        .await
        .unwrap();
    for (provider, id, authenticated) in [
        (Provider::Spektr, "open", false),
        (Provider::Spektr, "through_the_token", true),
        (Provider::PredictaId, "evt_signed", true),
    ] {
        let stored = inbox.event(provider, id).await.unwrap().unwrap();
        assert_eq!(stored.authenticated, authenticated, "{id}");
    }
}

/// The depth is what the metrics' gauges show: it must agree with a full
/// count (`counts`, which scans) after each way an event moves: stored,
/// stored again, dead-lettered, claimed, done, failed, parked, requeued,
/// dead letter removed; and the oldest pending event's age is that of the
/// oldest one received, per provider.
async fn the_depth_agrees_with_a_full_count_after_every_kind_of_change(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    let agree = |step: &'static str| {
        let inbox = inbox.clone();
        async move {
            let depth = inbox.depth().await.unwrap();
            let counts = inbox.counts().await.unwrap();
            for provider in Provider::ALL {
                for state in State::ALL {
                    let counted: u64 = counts
                        .by_type
                        .iter()
                        .filter(|t| t.provider == provider && t.state == state)
                        .map(|t| t.count)
                        .sum();
                    assert_eq!(
                        depth.events(provider, state),
                        counted,
                        "{step}: {provider} {state:?}"
                    );
                }
            }
            let dead: u64 = depth.dead_letters.iter().map(|d| d.1).sum();
            assert_eq!(dead, counts.dead_letters, "{step}: dead letters");
            depth
        }
    };
    let empty = agree("empty").await;
    assert!(empty.oldest_pending.iter().all(|(_, at)| at.is_none()));

    let before = chrono::Utc::now();
    let events: Vec<_> = (0..5)
        .map(|i| spektr_event(&format!("d{i}"), &format!("s{i}"), i))
        .collect();
    inbox.ingest_spektr(batch(&events)).await.unwrap();
    inbox.ingest_spektr(batch(&events[..2])).await.unwrap();
    let depth = agree("stored, some twice").await;
    assert_eq!(depth.events(Provider::Spektr, State::Pending), 5);
    let age = depth.oldest_pending_age(Provider::Spektr, chrono::Utc::now());
    // Received after `before` (SQLite keeps milliseconds: 1 ms of slack).
    let since = (chrono::Utc::now() - before).to_std().unwrap();
    assert!(
        age <= since + Duration::from_millis(1),
        "{age:?} > {since:?}"
    );
    assert_eq!(
        depth.oldest_pending_age(Provider::PredictaId, chrono::Utc::now()),
        Duration::ZERO
    );

    inbox
        .ingest_spektr(batch(&["{\"id\": 5, \"broken\"".to_owned()]))
        .await
        .unwrap();
    let text = predictaid_event("p1", "sess", 1);
    inbox
        .ingest_predictaid(&secrets(), text.clone(), Some(&sign(text.as_bytes())), None)
        .await
        .unwrap();
    agree("a dead letter and a PredictaID event").await;

    let ok = Handler::new(|_| async { Ok::<(), String>(()) });
    let failing = Handler::new(|_| async { Err::<(), _>("no") });
    let once = WorkerOptions {
        max_attempts: 1,
        ..opts()
    };
    assert_eq!(
        inbox.handle_next(&opts(), &ok).await.unwrap(),
        Handled::Done
    );
    agree("one done").await;
    assert!(matches!(
        inbox.handle_next(&opts(), &failing).await.unwrap(),
        Handled::WillRetry(_)
    ));
    agree("one failed, to be retried").await;
    assert!(matches!(
        inbox.handle_next(&once, &failing).await.unwrap(),
        Handled::Parked(_)
    ));
    let depth = agree("one parked").await;
    assert_eq!(
        State::ALL
            .iter()
            .map(|&s| depth.events(Provider::Spektr, s))
            .sum::<u64>(),
        5
    );
    let parked = inbox.parked(10).await.unwrap();
    inbox
        .requeue(parked[0].provider, &parked[0].event_id)
        .await
        .unwrap();
    agree("requeued").await;
    let dead = inbox.dead_letters(10).await.unwrap();
    inbox
        .remove_dead_letter(dead[0].provider, &dead[0].content_sha256)
        .await
        .unwrap();
    let depth = agree("a dead letter removed").await;
    assert_eq!(depth.dead_letters.iter().map(|d| d.1).sum::<u64>(), 0);
}

/// Retention: a done event's body goes, its row stays (a redelivery is
/// still "already stored"); pending and parked events are never pruned; dead
/// letters go whole; a period not yet over prunes nothing; batches smaller
/// than the work still prune it all.
async fn pruning_empties_done_bodies_keeps_their_ids_and_never_touches_open_or_parked_events(
    db: &Db,
) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    // One subject each, so that any event can be claimed next.
    let events: Vec<_> = (0..5)
        .map(|i| spektr_event(&format!("r{i}"), &format!("s{i}"), i))
        .collect();
    inbox.ingest_spektr(batch(&events)).await.unwrap();
    inbox
        .ingest_spektr(batch(&["{\"id\": 9, \"broken\"".to_owned()]))
        .await
        .unwrap();
    let ok = Handler::new(|_| async { Ok::<(), String>(()) });
    let failing = Handler::new(|_| async { Err::<(), _>("no") });
    for _ in 0..3 {
        assert_eq!(
            inbox.handle_next(&opts(), &ok).await.unwrap(),
            Handled::Done
        );
    }
    let once = WorkerOptions {
        max_attempts: 1,
        ..opts()
    };
    assert!(matches!(
        inbox.handle_next(&once, &failing).await.unwrap(),
        Handled::Parked(_)
    ));
    // Finished strictly before the cutoff (SQLite keeps milliseconds).
    tokio::time::sleep(Duration::from_millis(5)).await;

    let not_yet = RetentionPolicy::new()
        .done_after(Duration::from_secs(3_600))
        .dead_letters_after(Duration::from_secs(3_600));
    assert_eq!(inbox.prunable(&not_yet).await.unwrap(), Pruned::default());
    assert_eq!(inbox.prune(not_yet).await.unwrap(), Pruned::default());

    let now = RetentionPolicy::new()
        .done_after(Duration::ZERO)
        .dead_letters_after(Duration::ZERO)
        .batch_size(2);
    let expected = inbox.prunable(&now).await.unwrap();
    assert_eq!((expected.events, expected.dead_letters), (3, 1));
    assert_eq!(inbox.prune(now.clone()).await.unwrap(), expected);
    assert_eq!(
        inbox.prune(now).await.unwrap(),
        Pruned::default(),
        "all gone at once"
    );

    let mut by_state: HashMap<State, Vec<String>> = HashMap::new();
    for (i, text) in events.iter().enumerate() {
        let event = inbox
            .event(Provider::Spektr, &format!("r{i}"))
            .await
            .unwrap()
            .expect("every row is kept");
        if event.state == State::Done {
            assert_eq!(event.body, "", "a done event's body is pruned");
        } else {
            assert_eq!(&event.body, text, "an open or parked event is whole");
        }
        by_state
            .entry(event.state)
            .or_default()
            .push(event.event_id);
    }
    assert_eq!(
        [State::Done, State::Parked, State::Pending].map(|s| by_state.get(&s).map_or(0, Vec::len)),
        [3, 1, 1]
    );
    assert!(inbox.dead_letters(10).await.unwrap().is_empty());

    // Redelivered after its body went: recognised, not stored again.
    let again = inbox.ingest_spektr(batch(&events)).await.unwrap();
    assert!(
        again
            .events
            .iter()
            .all(|e| e.outcome == Outcome::AlreadyStored),
        "{again:?}"
    );
    assert_eq!(inbox.counts().await.unwrap().done, 3);
}
