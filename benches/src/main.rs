//! `strata-bench`: Strata's load generator and benchmarks.
//!
//! Every workload prints live progress to stderr, a table to stdout and, with `--json FILE`,
//! a machine-readable report.

mod baseline;
mod report;
mod storage;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "strata-bench",
    version,
    about = "Strata's load generator and benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The log engine alone: append throughput and latency by record size, fsync setting and
    /// producer count; mmap read throughput; and the raw disk beneath, for comparison.
    Storage(storage::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Storage(args) => storage::run(args).and_then(|report| {
            print!("{}", storage::render(&report));
            if let Some(path) = &args.json {
                report::write_json(path, &report)
                    .map_err(|e| format!("writing {}: {e}", path.display()))?;
                eprintln!("JSON report written to {}", path.display());
            }
            Ok(())
        }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("strata-bench: {error}");
            ExitCode::FAILURE
        }
    }
}
