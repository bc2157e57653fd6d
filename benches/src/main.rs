//! `strata-bench`: Strata's load generator and benchmarks.
//!
//! Every workload prints live progress to stderr, a table to stdout and, with `--json FILE`,
//! a machine-readable report.

mod args;
mod baseline;
mod cpu;
mod delivery;
mod kinesis;
mod native;
mod nats;
mod peers;
mod pin;
mod plot;
mod redis;
mod report;
mod sns;
mod spawn;
mod sqs;
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
    /// Producers over the native protocol: records/s, MB/s and per-record ack latency.
    Produce(native::Args),
    /// Consumers reading every shard of a stream from the trim horizon until caught up.
    Consume(native::Args),
    /// Producers plus tailing consumers: produce-to-receive latency.
    E2e(native::Args),
    /// The comparison baseline: pipelined XADD to a redis server.
    Redis(redis::Args),
    /// The second comparison baseline: JetStream publishes to a nats-server stream with file
    /// storage, many awaiting their ack per producer.
    Nats(nats::Args),
    /// The Kinesis API over HTTP: PutRecords producers and GetRecords readers, against Strata
    /// and, with --compare, against kinesalite as the baseline.
    Kinesis(kinesis::Args),
    /// The SQS API over HTTP: SendMessageBatch alone, then send, receive and delete in a
    /// loop, against Strata and, with --compare, against moto's server as the baseline.
    Sqs(sqs::Args),
    /// The SNS API over HTTP: Publish and PublishBatch fanning out to 1, 10 and 100 SQS
    /// queues (half of them filtered), against Strata and, with --compare, against moto's
    /// server as the baseline.
    Sns(sns::Args),
    /// A Firehose delivery stream: PutRecordBatch over HTTP into a spawned server and
    /// sustained delivery into a local directory or an S3-compatible store.
    Delivery(delivery::Args),
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
            plot::write(args.plot.as_deref(), || storage::figure(&report))?;
            Ok(())
        }),
        Command::Produce(args) => native_mode(native::Mode::Produce, args),
        Command::Consume(args) => native_mode(native::Mode::Consume, args),
        Command::E2e(args) => native_mode(native::Mode::E2e, args),
        Command::Redis(args) => redis::run(args).and_then(|report| {
            print!("{}", redis::render(&report));
            native::write_json(args.flags.json.as_deref(), &report)?;
            Ok(plot::write(args.flags.plot.as_deref(), || {
                redis::figure(&report)
            })?)
        }),
        Command::Nats(args) => nats::run(args).and_then(|report| {
            print!("{}", nats::render(&report));
            native::write_json(args.flags.json.as_deref(), &report)?;
            Ok(plot::write(args.flags.plot.as_deref(), || {
                nats::figure(&report)
            })?)
        }),
        Command::Kinesis(args) => kinesis::run(args).and_then(|report| {
            print!("{}", kinesis::render(&report));
            native::write_json(args.json.as_deref(), &report)?;
            Ok(plot::write(args.plot.as_deref(), || {
                kinesis::figure(&report)
            })?)
        }),
        Command::Sqs(args) => sqs::run(args).and_then(|report| {
            print!("{}", sqs::render(&report));
            native::write_json(args.json.as_deref(), &report)?;
            Ok(plot::write(args.plot.as_deref(), || sqs::figure(&report))?)
        }),
        Command::Sns(args) => sns::run(args).and_then(|report| {
            print!("{}", sns::render(&report));
            native::write_json(args.json.as_deref(), &report)?;
            Ok(plot::write(args.plot.as_deref(), || sns::figure(&report))?)
        }),
        Command::Delivery(args) => delivery::run(args).and_then(|report| {
            print!("{}", delivery::render(&report));
            native::write_json(args.json.as_deref(), &report)?;
            Ok(plot::write(args.plot.as_deref(), || {
                delivery::figure(&report)
            })?)
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

fn native_mode(mode: native::Mode, args: &native::Args) -> Result<(), storage::BoxError> {
    let report = native::run(mode, args)?;
    print!("{}", native::render(&report));
    native::write_json(args.json.as_deref(), &report)?;
    plot::write(args.plot.as_deref(), || native::figure(&report))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    /// Every mode's flags, shared ones flattened in included, are well formed: no flag
    /// defined twice, every default parses.
    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
