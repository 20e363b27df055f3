//! The inbox when content or the database misbehaves: rows a backend cannot
//! store, a delivery the database refuses sharing a commit group with good
//! ones, deadlocks between receivers, a silent connection, TLS, a full disk.
//! Nothing acknowledged may be lost, and no delivery may fail for another's
//! sake.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{batch, predictaid_event, secrets, sign, spektr_event, unique, Db};
use kyc_webhooks_inbox::{Inbox, Outcome, Provider, MAX_ID_LEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

on_both_backends!(
    content_a_backend_cannot_store_is_dead_lettered_and_its_neighbours_stored,
    a_delivery_the_database_refuses_fails_alone,
);

/// A Spektr event with this `id` and `timestamp` written as given (JSON text).
fn raw_event(id_json: &str, subject_json: &str, timestamp: &str) -> String {
    format!(
        r#"{{"id": {id_json}, "spektrId": {subject_json}, "eventType": "inbox_test", "timestamp": {timestamp}, "data": {{}}}}"#
    )
}

async fn content_a_backend_cannot_store_is_dead_lettered_and_its_neighbours_stored(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    let long = format!("\"{}\"", "x".repeat(MAX_ID_LEN + 1));
    let body = batch(&[
        spektr_event("good_1", "c", 1),
        raw_event(r#""nul\u0000id""#, r#""c""#, "2"),
        raw_event(r#""nul_subject""#, r#""c\u0000""#, "3"),
        raw_event(r#""before_4713_bc""#, r#""c""#, "-5000000000000000"),
        raw_event(&long, r#""c""#, "4"),
        raw_event(r#""long_subject""#, &long, "5"),
        spektr_event("good_2", "c", 6),
    ]);
    // A PredictaID delivery committed at the same time must not notice.
    let (spektr, predictaid) = tokio::join!(inbox.ingest_spektr(body), async {
        let body = predictaid_event("evt_ok", "s", 1);
        let signature = sign(body.as_bytes());
        inbox
            .ingest_predictaid(&secrets(), body, Some(&signature), None)
            .await
    });
    let receipt = spektr.unwrap();
    assert_eq!(predictaid.unwrap().stored(), 1);
    let outcomes: Vec<_> = receipt.events.iter().map(|e| &e.outcome).collect();
    assert_eq!(outcomes.first(), Some(&&Outcome::Stored));
    assert_eq!(outcomes.last(), Some(&&Outcome::Stored));
    assert_eq!((receipt.stored(), receipt.dead_lettered()), (2, 5));
    let reasons: Vec<String> = receipt.events[1..6]
        .iter()
        .map(|e| match &e.outcome {
            Outcome::DeadLettered(reason) => reason.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    for (reason, says) in reasons.iter().zip([
        "id holds a NUL",
        "subject holds a NUL",
        "before 4713 BC",
        "id is 1001 bytes",
        "subject is 1001 bytes",
    ]) {
        assert!(reason.contains(says), "{reason:?} should say {says:?}");
    }
    // What was sent is kept, byte for byte, for a replay once fixed.
    let dead = inbox.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 5);
    assert!(dead
        .iter()
        .any(|d| d.body == raw_event(r#""nul\u0000id""#, r#""c""#, "2").as_bytes()));
    for id in ["good_1", "good_2"] {
        assert!(inbox.event(Provider::Spektr, id).await.unwrap().is_some());
    }
}

/// Makes the database refuse to store the event `e_refused` (a trigger), so
/// that any commit holding it fails, whatever the inbox checks beforehand.
async fn refuse_event(db: &Db, id: &str) {
    if db.is_postgres() {
        db.execute(&format!(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
             CREATE TRIGGER refuse BEFORE INSERT ON inbox_events
                 FOR EACH ROW WHEN (NEW.event_id = '{id}') EXECUTE FUNCTION refuse();"
        ))
        .await;
    } else {
        db.execute(&format!(
            "CREATE TRIGGER refuse BEFORE INSERT ON inbox_events
                 WHEN NEW.event_id = '{id}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
        ))
        .await;
    }
}

async fn a_delivery_the_database_refuses_fails_alone(db: &Db) {
    let inbox = Inbox::open(&db.url).await.unwrap();
    refuse_event(db, "e_refused").await;
    // Many deliveries at once share commit groups; one of them is refused.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let spektr = inbox.clone();
        tasks.push(tokio::spawn(async move {
            let id = if i == 20 {
                "e_refused".to_owned()
            } else {
                format!("good_{i}")
            };
            let body = batch(&[spektr_event(&id, &format!("c{i}"), i)]);
            (id, spektr.ingest_spektr(body).await)
        }));
        if i % 4 == 0 {
            let inbox = inbox.clone();
            tasks.push(tokio::spawn(async move {
                let id = format!("evt_{i}");
                let body = predictaid_event(&id, "s", i);
                let signature = sign(body.as_bytes());
                let result = inbox
                    .ingest_predictaid(&secrets(), body, Some(&signature), None)
                    .await;
                (id, result)
            }));
        }
    }
    let mut refused = 0;
    for task in tasks {
        let (id, result) = task.await.unwrap();
        match result {
            Ok(receipt) => {
                assert_ne!(id, "e_refused");
                assert_eq!(receipt.stored(), 1, "{id}");
            }
            Err(error) => {
                assert_eq!(id, "e_refused", "{id} failed with the refused one: {error}");
                assert!(error.http_status() >= 500, "{error}");
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 1);
    assert_eq!(inbox.counts().await.unwrap().events(), 40 + 10 - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(kyc_webhooks_test_postgres),
    ignore = "set KYC_WEBHOOKS_TEST_POSTGRES when building the tests to run them on PostgreSQL"
)]
async fn postgres_a_row_refused_for_its_content_is_dead_lettered_and_its_neighbours_stored() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    let inbox = Inbox::open(&db.url).await.unwrap();
    // A rule of the operator's that the inbox cannot know of.
    db.execute("ALTER TABLE inbox_events ADD CONSTRAINT no_e2 CHECK (event_id <> 'e2')")
        .await;
    let body = batch(&[
        spektr_event("e1", "c", 1),
        spektr_event("e2", "c", 2),
        spektr_event("e3", "c", 3),
    ]);
    let receipt = inbox.ingest_spektr(body).await.unwrap();
    assert_eq!((receipt.stored(), receipt.dead_lettered()), (2, 1));
    match &receipt.events[1].outcome {
        Outcome::DeadLettered(reason) => {
            assert!(reason.contains("23514"), "the SQLSTATE is named: {reason}");
            assert!(
                reason.contains("no_e2"),
                "the constraint is named: {reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(receipt.events[1].id.as_deref(), Some("e2"));
    assert_eq!(inbox.dead_letters(5).await.unwrap()[0].batch_index, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(kyc_webhooks_test_postgres),
    ignore = "set KYC_WEBHOOKS_TEST_POSTGRES when building the tests to run them on PostgreSQL"
)]
async fn postgres_receivers_storing_the_same_events_in_different_orders_never_fail() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    // Three receivers on one database, each given the same 600 events in
    // its own order, 30 deliveries of 20 at a time each.
    let inboxes = [
        Inbox::open(&db.url).await.unwrap(),
        Inbox::open(&db.url).await.unwrap(),
        Inbox::open(&db.url).await.unwrap(),
    ];
    let events: Vec<String> = (0..600)
        .map(|i| spektr_event(&format!("e{i}"), &format!("c{}", i % 13), i))
        .collect();
    let mut tasks = Vec::new();
    for (r, inbox) in inboxes.iter().enumerate() {
        let mut order: Vec<usize> = (0..events.len()).collect();
        match r {
            0 => {}
            1 => order.reverse(),
            _ => order.sort_by_key(|&i| (i * 7919) % events.len()),
        }
        for chunk in order.chunks(20) {
            let body = batch(&chunk.iter().map(|&i| events[i].clone()).collect::<Vec<_>>());
            let inbox = inbox.clone();
            tasks.push(tokio::spawn(async move { inbox.ingest_spektr(body).await }));
        }
    }
    let mut stored = 0;
    for task in tasks {
        let receipt = task.await.unwrap().unwrap();
        stored += receipt.stored();
        assert_eq!(receipt.stored() + receipt.already_stored(), 20);
    }
    assert_eq!(stored, 600, "each event stored exactly once");
}

/// A TCP proxy to PostgreSQL that can go silent: while frozen, it forwards
/// nothing on the connections it holds and answers nothing on new ones, but
/// keeps them all open (a partition, a failover). Connections made after a
/// thaw work; those it froze stay silent.
struct Proxy {
    addr: String,
    frozen: Arc<AtomicBool>,
    epoch: Arc<AtomicU64>,
}

impl Proxy {
    async fn start(upstream: &'static str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let frozen = Arc::new(AtomicBool::new(false));
        let epoch = Arc::new(AtomicU64::new(0));
        let (f, e) = (frozen.clone(), epoch.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (frozen, epoch) = (f.clone(), e.clone());
                tokio::spawn(async move {
                    let born = epoch.load(Ordering::SeqCst);
                    let live = move || {
                        !frozen.load(Ordering::SeqCst) && epoch.load(Ordering::SeqCst) == born
                    };
                    if !live() {
                        std::future::pending::<()>().await;
                    }
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let live2 = live.clone();
                    let up = async move {
                        let mut buf = vec![0; 16 * 1024];
                        while let Ok(n @ 1..) = cr.read(&mut buf).await {
                            if !live2() {
                                std::future::pending::<()>().await;
                            }
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    let down = async move {
                        let mut buf = vec![0; 16 * 1024];
                        while let Ok(n @ 1..) = sr.read(&mut buf).await {
                            if !live() {
                                std::future::pending::<()>().await;
                            }
                            if cw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    tokio::join!(up, down);
                });
            }
        });
        Proxy {
            addr,
            frozen,
            epoch,
        }
    }

    fn freeze(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.frozen.store(true, Ordering::SeqCst);
    }

    fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(kyc_webhooks_test_postgres),
    ignore = "set KYC_WEBHOOKS_TEST_POSTGRES when building the tests to run them on PostgreSQL"
)]
async fn postgres_a_silent_connection_gives_503_within_10_s_and_storing_resumes_by_itself() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    let server = "127.0.0.1:5432";
    if !db.url.contains(server) {
        eprintln!("silent-connection test skipped: the test database is not at {server}");
        return;
    }
    let proxy = Proxy::start(server).await;
    let url = db.url.replacen(server, &proxy.addr, 1);
    let inbox = Inbox::open(&url).await.unwrap();
    let send = |id: &str| inbox.ingest_spektr(batch(&[spektr_event(id, "c", 1)]));
    send("before").await.unwrap();

    proxy.freeze();
    for id in ["during_1", "during_2"] {
        let started = Instant::now();
        let error = tokio::time::timeout(Duration::from_secs(20), send(id))
            .await
            .expect("no answer within 20 s")
            .unwrap_err();
        assert!(error.http_status() >= 500, "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "answered after {:?}",
            started.elapsed()
        );
        println!("{id}: 503 after {:?}", started.elapsed());
    }

    proxy.thaw();
    let started = Instant::now();
    loop {
        match send("after").await {
            Ok(receipt) => {
                assert_eq!(receipt.stored() + receipt.already_stored(), 1);
                println!("stored again {:?} after the thaw", started.elapsed());
                break;
            }
            Err(error) => assert!(
                started.elapsed() < Duration::from_secs(10),
                "still failing {:?} after the thaw: {error}",
                started.elapsed()
            ),
        }
    }
    // Reads reconnect too.
    assert!(inbox
        .event(Provider::Spektr, "after")
        .await
        .unwrap()
        .is_some());
}

/// A tmpfs of `mib` MiB mounted on a fresh directory, unmounted when dropped;
/// `None` where mounting is not allowed (not root, or in a container).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(mib: u32) -> Option<Tmpfs> {
        let dir = std::env::temp_dir().join(unique("kyc_tmpfs"));
        std::fs::create_dir_all(&dir).ok()?;
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(&dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        Some(Tmpfs(dir))
    }

    /// Fills the file system with `filler` until no byte is left.
    fn fill(&self, filler: &str) {
        use std::io::Write as _;
        let mut file = std::fs::File::create(self.0.join(filler)).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        // Bounded by the file system's size.
        while file.write_all(&chunk).is_ok() {}
        let _ = file.write_all(&[0]);
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_recovers_from_a_full_disk_without_a_restart_and_its_wal_stays_small() {
    let Some(fs) = Tmpfs::mount(64) else {
        eprintln!("full-disk test skipped: cannot mount a tmpfs (needs root)");
        return;
    };
    let path = fs.0.join("inbox.db");
    let inbox = Inbox::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    // A delivery of about 100 kB.
    let delivery = |n: usize| {
        let events: Vec<String> = (0..50)
            .map(|i| {
                raw_event(
                    &format!("\"e{n}_{i}\""),
                    &format!("\"{}\"", "s".repeat(900)),
                    &i.to_string(),
                )
                .replace(
                    "\"data\": {}",
                    &format!("\"data\": {{\"pad\": \"{}\"}}", "p".repeat(1_000)),
                )
            })
            .collect();
        batch(&events)
    };
    inbox.ingest_spektr(delivery(0)).await.unwrap();

    fs.fill("filler");
    let mut refused = 0;
    for n in 1..=3 {
        if inbox.ingest_spektr(delivery(n)).await.is_err() {
            refused += 1;
        }
    }
    assert!(refused > 0, "a full disk should refuse a delivery");

    std::fs::remove_file(fs.0.join("filler")).unwrap();
    let started = Instant::now();
    while inbox.ingest_spektr(delivery(10)).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still refused 10 s after space was freed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("stored {:?} after space was freed", started.elapsed());
    // 10 MB more: the WAL is checkpointed and cut back as it goes, so it
    // never holds much more than its 4 MiB limit.
    let wal = fs.0.join("inbox.db-wal");
    let mut largest = 0;
    for n in 100..200 {
        inbox.ingest_spektr(delivery(n)).await.unwrap();
        largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
    }
    assert!(
        largest <= 6 * 1024 * 1024,
        "the WAL grew to {largest} bytes"
    );
    println!("the WAL peaked at {largest} bytes");
    drop(inbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(kyc_webhooks_test_postgres),
    ignore = "set KYC_WEBHOOKS_TEST_POSTGRES when building the tests to run them on PostgreSQL"
)]
async fn postgres_sslmode_is_honoured() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    let with = |params: &str| {
        let separator = if db.url.contains('?') { '&' } else { '?' };
        format!("{}{separator}{params}", db.url)
    };
    // The server on this machine has TLS on, with a self-signed certificate
    // for localhost.
    let cert = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
    for (n, params) in ["sslmode=disable", "sslmode=require"]
        .into_iter()
        .enumerate()
    {
        let inbox = Inbox::open(&with(params))
            .await
            .unwrap_or_else(|e| panic!("{params}: {e}"));
        let receipt = inbox
            .ingest_spektr(batch(&[spektr_event(&format!("tls_{n}"), "c", 1)]))
            .await
            .unwrap();
        assert_eq!(receipt.stored(), 1, "{params}");
        assert_eq!(db.connections_use_tls().await, Some(n == 1), "{params}");
        drop(inbox);
        db.terminate_connections().await;
    }
    // The public roots do not vouch for it.
    let error = Inbox::open(&with("sslmode=verify-full")).await.unwrap_err();
    assert!(error.to_string().contains("certificate"), "{error}");
    if std::path::Path::new(cert).exists() && db.url.contains("@127.0.0.1:") {
        // Its own root does, for its name (localhost), not for 127.0.0.1.
        let root = format!("sslrootcert={cert}");
        Inbox::open(&with(&format!("sslmode=verify-ca&{root}")))
            .await
            .unwrap();
        let error = Inbox::open(&with(&format!("sslmode=verify-full&{root}")))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("certificate"), "{error}");
        let by_name =
            with(&format!("sslmode=verify-full&{root}")).replacen("@127.0.0.1:", "@localhost:", 1);
        Inbox::open(&by_name).await.unwrap();
    }
    let error = Inbox::open(&with("sslmode=bogus")).await.unwrap_err();
    assert!(error.to_string().contains("sslmode"), "{error}");
}
