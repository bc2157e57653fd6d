//! `strata`: the Strata server binary.
//!
//! # Layout
//!
//! - `main.rs`: flags → config → telemetry → runtime → `serve::run`, and exit codes.
//! - `cli.rs`: the subcommands and flags.
//! - `config.rs`, `config/defaults.rs`: the layered, validated configuration.
//! - `telemetry.rs`: the log subscriber.
//! - `serve.rs`: `strata serve`: open the log, wait for a signal, close the log.
//! - `commands.rs`: `strata stream|put|tail`, clients of a running server.
//! - `listener/http.rs`: the AWS HTTP listener (HTTP/1.1 and h2c), routing by `X-Amz-Target`.
//! - `api/<service>/`: AWS shapes in, one view call, AWS shapes or mapped errors out.
//! - `views/<view>/`: the AWS service semantics on the log (`views/streams`: Kinesis).
//! - `native/`: the native protocol listener.
//! - `shutdown.rs`: SIGINT/SIGTERM handling.
//!
//! Exit codes: 0 after a clean shutdown, 2 for a configuration error, 1 for anything else.

#![deny(unsafe_code)]

mod api;
mod cli;
mod commands;
mod config;
mod descriptors;
#[cfg_attr(
    not(test),
    expect(
        dead_code,
        unused_imports,
        reason = "the reference matcher and the accessors serve the tests, and EventBridge's TestEventPattern next"
    )
)]
mod filter;
mod listener;
mod metrics;
mod native;
mod serve;
mod shutdown;
mod telemetry;
mod tls;
mod views;

/// mimalloc rather than the system allocator: the AWS paths make many small, short-lived
/// allocations (bodies, messages, JSON values) across worker threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, ServeArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(&args),
        Command::Stream(command) => client_command(commands::stream(command)),
        Command::Put(args) => client_command(commands::put(args)),
        Command::Tail(args) => client_command(commands::tail(args)),
        Command::Queue(command) => client_command(commands::queue(command)),
    }
}

/// Runs a client subcommand on a small runtime; errors go to stderr with exit code 1.
fn client_command(work: impl Future<Output = Result<(), commands::CommandError>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("strata: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("strata: {error}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: &ServeArgs) -> ExitCode {
    let config = match config::load(args.config.as_deref(), std::env::var_os, args.layer()) {
        Ok(config) => config,
        Err(error) => {
            // Logging is configured by this very config, so the error goes straight to stderr.
            eprintln!("strata: {error}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = telemetry::init(&config.log) {
        eprintln!("strata: {error}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("strata-worker")
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "Cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(serve::run(config));
    // Do not wait for blocking tasks: after a clean run there are none, and after a forced
    // exit the abandoned close must not hold the process.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "Strata stopped");
            ExitCode::FAILURE
        }
    }
}
