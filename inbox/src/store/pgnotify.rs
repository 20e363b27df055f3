//! Instant wake-up across processes on PostgreSQL: after a commit that
//! stored new events, `NOTIFY`; each process running workers `LISTEN`s on a
//! connection of its own and wakes them. Notifications can be lost (a
//! connection that drops, a pooler that does not pass them), so the workers
//! keep polling as the fallback; a listener that (re)connects wakes them once,
//! for what was stored while it was away.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;
use tokio_util::sync::CancellationToken;

use super::pgtls::TlsSettings;
use crate::{Error, Result};

/// The channel the inbox notifies and listens on.
pub(crate) const CHANNEL: &str = "kyc_webhooks_inbox_stored";

/// The statement that notifies the listeners.
pub(crate) const NOTIFY: &str = "SELECT pg_notify('kyc_webhooks_inbox_stored', '')";

/// The longest pause between two attempts to (re)connect the listener.
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// Listens until `stop`, waking `wake`'s waiters on each notification;
/// reconnects (with a pause growing to [`MAX_PAUSE`]) when the connection
/// fails.
pub(crate) async fn listen(url: String, wake: Arc<Notify>, stop: CancellationToken) {
    let mut pause = Duration::from_millis(100);
    while !stop.is_cancelled() {
        match listen_once(&url, &wake, &stop).await {
            Ok(()) => pause = Duration::from_millis(100),
            Err(error) => {
                tracing::warn!(%error, "the PostgreSQL listener failed; the workers poll meanwhile");
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// One connection's life: `Ok` when it ended after it listened.
async fn listen_once(url: &str, wake: &Arc<Notify>, stop: &CancellationToken) -> Result<()> {
    let tls = TlsSettings::from_url(url)?;
    let config = super::postgres::settings(&tls.url, tls.mode)?;
    let connecting = async {
        match tls.client_config()? {
            None => Ok(drive(config.connect(NoTls).await, wake)),
            Some(rustls) => Ok(drive(
                config.connect(MakeRustlsConnect::new(rustls)).await,
                wake,
            )),
        }
    };
    let (client, driver) =
        match tokio::time::timeout(super::postgres::CONNECT_TIMEOUT, connecting).await {
            Ok(connected) => connected??,
            Err(_) => {
                return Err(Error::Timeout {
                    context: "connecting the listener",
                    after: super::postgres::CONNECT_TIMEOUT,
                })
            }
        };
    let mut driver = tokio::spawn(driver);
    let listening = client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(Error::postgres("listening for stored events"));
    if let Err(error) = listening {
        driver.abort();
        return Err(error);
    }
    // What was stored before this connection listened is not notified here.
    wake.notify_waiters();
    tokio::select! {
        _ = stop.cancelled() => driver.abort(),
        _ = &mut driver => {}
    }
    drop(client);
    Ok(())
}

/// The future that runs a listener's connection.
type Driver = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The client, and the future that runs its connection, waking `wake` on
/// each notification.
fn drive<S, T>(
    connected: std::result::Result<
        (Client, tokio_postgres::Connection<S, T>),
        tokio_postgres::Error,
    >,
    wake: &Arc<Notify>,
) -> Result<(Client, Driver)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (client, mut connection) = connected.map_err(Error::postgres("connecting the listener"))?;
    let wake = Arc::clone(wake);
    let driver = async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(_))) => wake.notify_waiters(),
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    tracing::warn!(error = %crate::error::describe_postgres(&error), "the PostgreSQL listener's connection closed");
                    return;
                }
                None => return,
            }
        }
    };
    Ok((client, Box::pin(driver)))
}
