//! `strata serve`: open the log, run until asked to stop, close the log.
//!
//! Startup order matters: signal handlers first (see [`crate::shutdown`]), then the log, whose
//! `open` recovers the data directory, and only then the "ready" line that scripts and tests
//! wait for. Shutdown closes the log, which flushes and fsyncs everything appended, before
//! "Shutdown complete" is logged and the process exits 0.

use std::path::PathBuf;
use std::sync::Arc;

use storage::Log;
use tracing::{info, warn};

use crate::config::Config;
use crate::listener::http::HttpState;
use crate::shutdown::{Signal, Signals};
use crate::views::delivery::DeliveryStreams;
use crate::views::streams::budget::ShardBudget;
use crate::views::streams::{Settings as StreamsSettings, Streams};

/// Why `strata serve` stopped other than by a clean shutdown.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The SIGINT/SIGTERM handlers could not be installed.
    #[error("Cannot install signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    /// A listener could not bind its address.
    #[error("Cannot listen on {address} (set by {setting}): {source}")]
    Bind {
        /// The address.
        address: std::net::SocketAddr,
        /// The flag and key that set it.
        setting: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// A listener would be reachable beyond this machine with no authentication.
    #[error(
        "Refusing to listen on {address} with no access keys configured: anyone who can reach \
         it could read, write and delete every stream. Configure [auth.access_keys] (or \
         STRATA_ACCESS_KEY_ID and STRATA_SECRET_ACCESS_KEY), listen on 127.0.0.1, or set \
         server.allow_anonymous = true if that is intended"
    )]
    Exposed {
        /// The non-loopback address.
        address: std::net::SocketAddr,
    },
    /// The manual clock was asked for on a listener reachable beyond this machine.
    #[error(
        "Refusing server.clock = \"manual\" on {address}: anyone who reaches it could move the \
         clock of every queue and stream; listen on 127.0.0.1 to use it"
    )]
    ManualClockExposed {
        /// The non-loopback address.
        address: std::net::SocketAddr,
    },
    /// The TLS certificate or key could not be loaded.
    #[error("Cannot set up TLS: {0}")]
    Tls(#[source] crate::tls::TlsError),
    /// The log could not be opened or recovered.
    #[error("Cannot open the log in {}: {source}", dir.display())]
    Open {
        /// The data directory.
        dir: PathBuf,
        /// Why.
        source: storage::Error,
    },
    /// Closing the log failed: data appended since the last fsync may not be durable.
    #[error("Cannot close the log cleanly: {0}")]
    Close(#[source] storage::Error),
    /// A second signal arrived while the log was closing, and the close was abandoned.
    #[error("{0} received again while closing; exiting without waiting for the close")]
    Forced(Signal),
    /// A view could not start on the log.
    #[error("Cannot start the API views: {0}")]
    View(#[source] crate::views::streams::Error),
    /// The delivery streams could not be loaded.
    #[error("Cannot start the delivery streams: {0}")]
    Delivery(#[source] crate::views::delivery::Error),
    /// The Kinesis queues could not be loaded.
    #[error("Cannot start the Kinesis queues: {0}")]
    StreamQueues(#[source] crate::views::streams::Error),
    /// The queues could not be loaded.
    #[error("Cannot start the queues: {0}")]
    Queues(#[source] crate::views::queues::Error),
    /// The topics could not be loaded.
    #[error("Cannot start the topics: {0}")]
    Topics(#[source] crate::views::topics::Error),
    /// A blocking storage task panicked or was cancelled.
    #[error("A storage task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Refuses to listen beyond loopback with nobody's keys required, unless the configuration
/// says that is intended (`server.allow_anonymous`): without keys, anyone who reaches a port
/// can read, write and delete every stream.
fn check_exposure(config: &Config) -> Result<(), ServeError> {
    if !config.auth.access_keys.is_empty() || config.server.allow_anonymous {
        return Ok(());
    }
    for address in [config.server.http, config.server.native] {
        if !address.ip().is_loopback() {
            return Err(ServeError::Exposed { address });
        }
    }
    Ok(())
}

/// Refuses the manual clock unless both listeners are on loopback: it lets any client move
/// the time every visibility timeout, delay and retention is measured by.
fn check_manual_clock(config: &Config) -> Result<(), ServeError> {
    if config.server.manual_clock {
        for address in [config.server.http, config.server.native] {
            if !address.ip().is_loopback() {
                return Err(ServeError::ManualClockExposed { address });
            }
        }
    }
    Ok(())
}

/// The two listeners' connection limits, each lowered to its share of the descriptor budget
/// (`crate::descriptors`) when the configured one does not fit.
/// `limit` is the soft open-files limit, when known.
fn fit_connection_limits(config: &Config, limit: Option<usize>) -> (usize, usize) {
    let fit = |name: &str, configured: usize| {
        let fitted = crate::descriptors::fit(configured, limit);
        if fitted < configured {
            warn!(
                listener = name,
                configured,
                connections_max = fitted,
                open_files_limit = limit.unwrap_or(0),
                "Connection limit lowered to leave descriptors for the log and the other \
                 listener (raise the open-files limit to serve more)"
            );
        }
        fitted
    };
    (
        fit("http", config.server.http_connections_max),
        fit("native", config.server.native_limits.connections_max),
    )
}

/// Runs the server until SIGINT or SIGTERM, then closes the log.
pub async fn run(config: Config) -> Result<(), ServeError> {
    check_exposure(&config)?;
    check_manual_clock(&config)?;
    let mut signals = Signals::install().map_err(ServeError::Signals)?;
    // Both listeners are bound before the data directory is touched, so a taken port fails
    // at once and leaves nothing behind; they serve once the views are open.
    let (listener, native) = crate::native::bind(config.server.native)
        .await
        .map_err(|source| ServeError::Bind {
            address: config.server.native,
            setting: "--native / server.native",
            source,
        })?;
    let (http_listener, http) = crate::listener::http::bind(config.server.http)
        .await
        .map_err(|source| ServeError::Bind {
            address: config.server.http,
            setting: "--http / server.http",
            source,
        })?;

    // Before the log opens, so its recovery is measured too.
    if let Err(error) = crate::metrics::install() {
        warn!(%error, "Metrics are off");
    }

    let data_dir = std::path::absolute(&config.storage.data_dir)
        .unwrap_or_else(|_| config.storage.data_dir.clone());
    // Each active segment and connection holds descriptors: take all the kernel allows.
    let open_files_limit = match storage::raise_open_files_limit() {
        Ok((soft, hard)) => {
            tracing::debug!(soft, hard, "Open-files limit");
            Some(usize::try_from(soft).unwrap_or(usize::MAX))
        }
        Err(error) => {
            warn!(%error, "Cannot raise the open-files limit");
            None
        }
    };
    let (http_connections_max, native_connections_max) =
        fit_connection_limits(&config, open_files_limit);
    let fsync = config.storage.fsync.to_string();
    let log_config = config.storage.into_log_config();
    // The manual clock starts at the real time and then moves only when told to.
    let manual_clock = config.server.manual_clock.then(|| {
        Arc::new(storage::ManualClock::new(storage::Clock::now_ms(
            &storage::SystemClock,
        )))
    });
    // `open` reads and recovers the data directory: blocking work, off the async workers.
    let log = {
        let dir = data_dir.clone();
        let clock: Arc<dyn storage::Clock> = match &manual_clock {
            Some(manual) => manual.clone(),
            None => Arc::new(storage::SystemClock),
        };
        tokio::task::spawn_blocking(move || Log::open_with_clock(log_config, clock))
            .await?
            .map_err(|source| ServeError::Open { dir, source })?
    };

    let tls = config
        .server
        .tls
        .as_ref()
        .map(crate::tls::Acceptors::load)
        .transpose()
        .map_err(ServeError::Tls)?;
    let budget = ShardBudget::new(config.kinesis.shards_max);
    info!(
        %native,
        authentication = if config.auth.access_keys.is_empty() { "none" } else { "required" },
        tls = tls.is_some(),
        "Native protocol listening"
    );
    let native_budget = budget.clone();
    let streams = {
        let log = log.clone();
        let kinesis = config.kinesis.clone();
        tokio::task::spawn_blocking(move || {
            Streams::open(
                log,
                StreamsSettings {
                    region: kinesis.region,
                    account: kinesis.account,
                    state_change: kinesis.state_change,
                    shard_write_limits: kinesis.shard_write_limits,
                    budget,
                },
            )
        })
        .await?
        .map_err(ServeError::View)?
    };
    let stream_queues = {
        let log = log.clone();
        let streams = streams.clone();
        let settings = crate::views::stream_queues::Settings {
            state_change: config.kinesis.state_change,
            receipt_key: None,
        };
        tokio::task::spawn_blocking(move || {
            crate::views::stream_queues::StreamQueues::open(log, streams, settings)
        })
        .await?
        .map_err(ServeError::StreamQueues)?
    };
    let delivery = {
        let log = log.clone();
        let settings = crate::views::delivery::Settings {
            region: config.kinesis.region.clone(),
            account: config.kinesis.account.clone(),
            sink: config.delivery.sink.clone(),
            retry_backoff_min: config.delivery.retry_backoff_min,
            retry_backoff_max: config.delivery.retry_backoff_max,
            retry_duration: config.delivery.retry_duration,
            poll_interval: config.delivery.poll_interval,
            schemas: config.delivery.schemas.clone(),
            objects_in_flight: config.delivery.objects_in_flight,
        };
        DeliveryStreams::open(log, settings).map_err(ServeError::Delivery)?
    };
    let queues = {
        let log = log.clone();
        tokio::task::spawn_blocking(move || {
            crate::views::queues::Queues::open(log, crate::views::queues::Settings::default())
        })
        .await?
        .map_err(ServeError::Queues)?
    };
    let topics = {
        let settings = crate::views::topics::Settings {
            region: config.kinesis.region.clone(),
            account: config.kinesis.account.clone(),
            base_url: config.server.public_url.clone().unwrap_or_else(|| {
                let scheme = if config.server.tls.is_some() {
                    "https"
                } else {
                    "http"
                };
                let mut address = config.server.http;
                if address.ip().is_unspecified() {
                    address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                format!("{scheme}://{address}")
            }),
            http_timeout: std::time::Duration::from_secs(15),
        };
        let log = log.clone();
        let queues = queues.clone();
        let delivery = delivery.clone();
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let _entered = runtime.enter();
            crate::views::topics::Topics::open(log, settings, queues, delivery)
        })
        .await?
        .map_err(ServeError::Topics)?
    };
    // The native listener is bound above; it serves once every view it reaches is open.
    let native_server = tokio::spawn(crate::native::serve(
        listener,
        crate::native::State {
            log: log.clone(),
            budget: native_budget,
            access_keys: config.auth.access_keys.clone(),
            limits: crate::config::NativeLimits {
                connections_max: native_connections_max,
                ..config.server.native_limits
            },
            tls: tls.as_ref().map(|acceptors| acceptors.native.clone()),
            queues: crate::native::queues::QueueContext {
                queues: queues.clone(),
                sqs: crate::api::sqs::Context {
                    base_url: String::new(),
                    account: config.kinesis.account.clone(),
                    region: config.kinesis.region.clone(),
                },
            },
        },
    ));
    info!(
        %http,
        signatures = if config.auth.access_keys.is_empty() { "not checked" } else { "SigV4 required" },
        tls = config.server.tls.is_some(),
        "AWS HTTP API listening"
    );
    let http_server = tokio::spawn(crate::listener::http::serve(
        http_listener,
        Arc::new(HttpState {
            streams,
            delivery: delivery.clone(),
            queues: queues.clone(),
            stream_queues,
            topics: topics.clone(),
            account: config.kinesis.account.clone(),
            manual_clock,
            public_url: config.server.public_url.clone(),
            body_bytes_max: config.server.http_body_bytes_max,
            access_keys: config.auth.access_keys.clone(),
            region: config.kinesis.region.clone(),
            body_budget_bytes: config.server.http_body_budget_bytes,
            connections_max: http_connections_max,
            header_read_timeout: config.server.http_header_read_timeout,
            idle_timeout: config.server.http_idle_timeout,
            body_read_timeout: config.server.http_body_read_timeout,
            tls: tls.as_ref().map(|acceptors| acceptors.http.clone()),
            console: config.server.console,
        }),
    ));
    info!(
        data_dir = %data_dir.display(),
        io = %log.io_backend(),
        fsync = %fsync,
        streams = log
            .list_streams()
            .iter()
            .filter(|info| crate::views::streams::is_kinesis(info))
            .count(),
        delivery_streams = delivery.list().len(),
        queues = queues.list("").len(),
        topics = topics.list().len(),
        "Strata is ready"
    );

    let signal = signals.recv().await;
    info!(%signal, "Shutting down; closing the log");
    // No new connections or requests; requests still in flight fail with `Unavailable` once
    // the log is closed.
    native_server.abort();
    http_server.abort();
    // Delivery tasks stop before the log closes; undelivered buffers resume from the durable
    // cursors at the next start.
    delivery.shutdown();

    // `close` flushes, fsyncs and joins the engine's threads: blocking work again. A second
    // signal abandons it: what was written is in the page cache and survives like a kill -9.
    let closing = tokio::task::spawn_blocking(move || log.close());
    tokio::select! {
        closed = closing => closed?.map_err(ServeError::Close)?,
        signal = signals.recv() => {
            warn!(%signal, "Signal received again; exiting before the log finished closing");
            return Err(ServeError::Forced(signal));
        }
    }
    info!("Shutdown complete");
    Ok(())
}
