//! Runs `kyc-webhooks inbox` as a process on an inbox that the test fills
//! through the inbox crate's API: stored events, a dead letter, and events
//! parked by a handler that always fails. On SQLite, and on PostgreSQL when
//! `KYC_WEBHOOKS_TEST_POSTGRES` names a server (as `.ci/run` sets it), in a
//! schema of the test's own.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use kyc_webhooks::batch::Batch;
use kyc_webhooks::testing;
use kyc_webhooks_inbox::{Handler, Inbox, WorkerOptions};
use serde_json::Value;

/// The PredictaID webhook secret of the test's deliveries.
const SECRET: &[u8] = b"whsec_inbox_test";

/// A fresh SQLite inbox URL in a directory of its own.
fn database() -> (PathBuf, String) {
    let dir = std::env::temp_dir().join(format!(
        "kyc-webhooks-cli-inbox-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("inbox.db").display());
    (dir, url)
}

fn inbox(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kyc-webhooks"))
        .args(["inbox", "--database", url])
        .args(args)
        .env(
            "PREDICTAID_WEBHOOK_SECRET",
            std::str::from_utf8(SECRET).unwrap(),
        )
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn ok_json(output: &Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout(output)).unwrap()
}

/// Two events that a failing handler parks, and a broken one that is
/// dead-lettered.
fn fill(url: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let inbox = Inbox::open(url).await.unwrap();
        let first = testing::spektr::process_run_end();
        let mut second = testing::spektr::customer_status_changed();
        second.id = "6879f8090e380801df2a3e9f".to_owned();
        let mut body = serde_json::to_value(Batch::from(vec![first, second])).unwrap();
        let broken = serde_json::json!({"id": "e3", "spektrId": "s1", "eventType": "step_init",
                                        "timestamp": 1, "data": {"processId": 7}});
        body["results"].as_array_mut().unwrap().push(broken);
        let receipt = inbox
            .ingest_spektr(serde_json::to_vec(&body).unwrap())
            .await
            .unwrap();
        assert_eq!((receipt.stored(), receipt.dead_lettered()), (2, 1));
        // An authentic PredictaID delivery that does not decode.
        let mut event = serde_json::to_value(testing::predictaid::session_created()).unwrap();
        event["data"]["status"] = 7.into();
        let body = serde_json::to_vec(&event).unwrap();
        let signature = kyc_webhooks::predictaid::sign(&body, SECRET);
        let secrets = kyc_webhooks::predictaid::Secrets::new([SECRET]);
        let receipt = inbox
            .ingest_predictaid(&secrets, body, Some(&signature), None)
            .await
            .unwrap();
        assert_eq!(receipt.dead_lettered(), 1);

        let options = WorkerOptions {
            max_attempts: 1,
            ..WorkerOptions::default()
        };
        let workers = inbox.run_workers(options, Handler::new(|_| async { Err("boom") }));
        let deadline = Instant::now() + Duration::from_secs(20);
        while inbox.counts().await.unwrap().parked < 2 {
            assert!(Instant::now() < deadline, "the events were not parked");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        workers.shutdown().await;
    });
}

#[test]
fn inbox_lists_counts_requeues_and_replays_on_sqlite() {
    let (dir, url) = database();
    lists_counts_requeues_and_replays(&url);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn inbox_lists_counts_requeues_and_replays_on_postgres() {
    let Ok(admin) = std::env::var("KYC_WEBHOOKS_TEST_POSTGRES") else {
        eprintln!("PostgreSQL test skipped: KYC_WEBHOOKS_TEST_POSTGRES is not set");
        return;
    };
    let schema = format!(
        "kyc_cli_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sql = |statement: String| {
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .expect("KYC_WEBHOOKS_TEST_POSTGRES names a reachable server");
            tokio::spawn(connection);
            client.batch_execute(&statement).await.unwrap();
        })
    };
    sql(format!("CREATE SCHEMA {schema}"));
    let separator = if admin.contains('?') { '&' } else { '?' };
    let url = format!("{admin}{separator}options=-csearch_path%3D{schema}");
    lists_counts_requeues_and_replays(&url);
    sql(format!("DROP SCHEMA {schema} CASCADE"));
}

fn lists_counts_requeues_and_replays(url: &str) {
    let url = url.to_owned();
    fill(&url);

    let stats = ok_json(&inbox(&url, &["stats", "--json"]));
    let by_type = |ty: &str| serde_json::json!({"provider": "spektr", "type": ty, "state": "parked", "count": 1});
    assert_eq!(
        stats,
        serde_json::json!({"pending": 0, "running": 0, "done": 0, "parked": 2, "dead_letters": 2,
                           "by_type": [by_type("customer_status_changed"), by_type("process_run_end")]})
    );

    let output = inbox(&url, &["parked", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let parked: Vec<Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(parked.len(), 2);
    assert_eq!(parked[0]["provider"], "spektr");
    assert_eq!(parked[0]["last_error"], "boom");
    assert_eq!(parked[0]["attempts"], 1);

    let output = inbox(&url, &["dead-letters", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let letters: Vec<Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(letters.len(), 2);
    assert_eq!(letters[1]["provider"], "predictaid");
    let letters = &letters[0];
    assert_eq!(letters["batch_index"], 2);
    assert!(
        letters["error"].as_str().unwrap().contains("processId"),
        "{letters}"
    );
    assert!(letters["body"].as_str().unwrap().contains(r#""id":"e3""#));

    // One by id, then the rest.
    let output = inbox(&url, &["requeue", "6879f8090e380801df2a3e9f"]);
    assert_eq!(stdout(&output), "re-queued 1 event(s)\n");
    let output = inbox(&url, &["requeue", "6879f8090e380801df2a3e9f"]);
    assert_eq!(output.status.code(), Some(1));
    let error = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        error.starts_with("error: no parked event has id \"6879f8090e380801df2a3e9f\""),
        "{error}"
    );
    let requeued = ok_json(&inbox(&url, &["requeue", "--all-parked", "--json"]));
    assert_eq!(requeued, serde_json::json!({"requeued": 1}));
    let stats = ok_json(&inbox(&url, &["stats", "--json"]));
    assert_eq!(
        (&stats["pending"], &stats["parked"]),
        (&2.into(), &0.into())
    );

    // The dead letters still do not decode with this crate: they stay (the
    // PredictaID one signed again passes the inbox's check).
    let replay = ok_json(&inbox(&url, &["replay-dead-letters", "--json"]));
    assert_eq!(
        replay,
        serde_json::json!({"dead_letters": 2, "now_events": 0, "already_events": 0, "still_dead": 2})
    );
    let stats = ok_json(&inbox(&url, &["stats", "--json"]));
    assert_eq!(stats["dead_letters"], 2);
}

/// A dead letter that an earlier crate version wrote (it could not decode an
/// event this version can) becomes an event and leaves the dead letters.
#[test]
fn replay_turns_a_dead_letter_that_now_decodes_into_an_event() {
    let (dir, url) = database();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(Inbox::open(&url)).unwrap(); // creates the schema
    let event = serde_json::to_vec(&testing::spektr::alert_escalated()).unwrap();
    rusqlite::Connection::open(dir.join("inbox.db"))
        .unwrap()
        .execute(
            "INSERT INTO inbox_dead_letters
                 (provider, content_sha256, batch_index, error, body, received_at)
             VALUES ('spektr', 'written-by-an-earlier-version', 0, 'unknown variant', ?1, 0)",
            [&event],
        )
        .unwrap();

    let replay = ok_json(&inbox(&url, &["replay-dead-letters", "--json"]));
    assert_eq!(
        replay,
        serde_json::json!({"dead_letters": 1, "now_events": 1, "already_events": 0, "still_dead": 0})
    );
    let stats = ok_json(&inbox(&url, &["stats", "--json"]));
    assert_eq!(stats["dead_letters"], 0);
    assert_eq!(
        stats["by_type"],
        serde_json::json!([{"provider": "spektr", "type": "alert_escalated", "state": "pending", "count": 1}])
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn inbox_with_a_bad_database_url_is_one_line() {
    let output = inbox("mysql://nope", &["stats"]);
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        error.starts_with("error: cannot open the inbox: "),
        "{error}"
    );
    assert!(
        error.ends_with("(pass --database sqlite://PATH or postgres://...)\n"),
        "{error}"
    );
    assert_eq!(error.lines().count(), 1);
}
