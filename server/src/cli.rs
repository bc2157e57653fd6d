//! Command-line interface: the `strata` subcommands and their flags.
//!
//! Flags are kept as raw text here and become the top [`Layer`] of the configuration, so they
//! are validated with the other layers and their errors name the key they set.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{Layer, LogLayer, ServerLayer, StorageLayer, defaults};

/// Strata: a durable streaming server with Kinesis-, Firehose-, SQS- and SNS-compatible APIs.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The `strata` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open (and recover) the data directory and serve until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Create, list, describe, delete, split or merge streams on a running server.
    #[command(subcommand)]
    Stream(crate::commands::StreamCommand),
    /// Append one record per line of stdin (or a file) to a stream.
    Put(crate::commands::PutArgs),
    /// Follow a stream, printing its records, until interrupted.
    Tail(crate::commands::TailArgs),
    /// Create, list, delete, send to, receive from, purge, peek at or rewind queues on a
    /// running server.
    #[command(subcommand)]
    Queue(crate::commands::QueueCommand),
}

/// Flags of `strata serve`. Each overrides the config file and the environment.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML config file; its keys override the embedded defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (`storage.data_dir`).
    #[arg(long, value_name = "DIR", help = help("Data directory", "storage.data_dir", defaults::DATA_DIR))]
    pub data_dir: Option<PathBuf>,
    /// Durability (`storage.fsync`): always, interval:MS or never.
    #[arg(
        long,
        value_name = "MODE",
        help = help("Durability: always, interval:MS or never", "storage.fsync", defaults::FSYNC)
    )]
    pub fsync: Option<String>,
    /// Write path (`storage.io`): auto, uring or pwrite.
    #[arg(
        long,
        value_name = "BACKEND",
        help = help("Write path: auto, uring or pwrite", "storage.io", defaults::IO)
    )]
    pub io: Option<String>,
    /// AWS-compatible HTTP listener address (`server.http`).
    #[arg(long, value_name = "ADDR", help = help("AWS-compatible HTTP listener", "server.http", defaults::HTTP))]
    pub http: Option<String>,
    /// Native protocol listener address (`server.native`).
    #[arg(
        long,
        value_name = "ADDR",
        help = help("Native protocol listener", "server.native", defaults::NATIVE)
    )]
    pub native: Option<String>,
}

impl ServeArgs {
    /// The flags as the top configuration layer.
    pub fn layer(&self) -> Layer {
        Layer {
            storage: StorageLayer {
                data_dir: self.data_dir.clone(),
                fsync: self.fsync.clone(),
                io: self.io.clone(),
                ..StorageLayer::default()
            },
            server: ServerLayer {
                http: self.http.clone(),
                native: self.native.clone(),
                ..ServerLayer::default()
            },
            log: LogLayer::default(),
            ..Layer::default()
        }
    }
}

/// A flag's help line, with the key it sets and the default taken from [`defaults`] (clap's
/// own `default_value` would make every flag look set and hide the file and env layers).
fn help(what: &str, key: &str, default: &str) -> String {
    format!("{what} (`{key}`) [default: {default}]")
}
