//! `strata queue create|list|delete|send|receive|purge|peek|rewind`: the server's queues over
//! the native protocol.
//!
//! Messages print one per line as `<offset> <message id> <body>` (with `--verbose`: state,
//! receive count and sent time too); bodies are printed as sent, with any line break shown
//! as `\n` so each message stays on one line.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use bytes::Bytes;
use clap::Subcommand;
use client::{Client, EntryOutcome, QueueMessage, QueueMessageState, QueueRecord, RewindPoint};

use super::{CommandError, Target, connect};

/// Messages per send request when sending lines.
const SEND_BATCH: usize = 100;

/// `strata queue …`.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Create a queue (a name ending in `.fifo` makes a FIFO queue).
    Create {
        /// Queue name.
        name: String,
        /// An SQS attribute, as NAME=VALUE (`VisibilityTimeout=30`,
        /// `ContentBasedDeduplication=true`, …); repeatable.
        #[arg(long = "attribute", value_name = "NAME=VALUE")]
        attributes: Vec<String>,
        #[command(flatten)]
        target: Target,
    },
    /// List queues, one name per line.
    List {
        /// Only names starting with this.
        #[arg(long, default_value = "")]
        prefix: String,
        #[command(flatten)]
        target: Target,
    },
    /// Delete a queue and its messages.
    Delete {
        /// Queue name.
        name: String,
        #[command(flatten)]
        target: Target,
    },
    /// Send each BODY argument as a message, or else each line of stdin (or a file).
    Send {
        /// Queue name.
        name: String,
        /// Message bodies (none: read lines).
        bodies: Vec<String>,
        /// Read lines from this file instead of stdin.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Message group (required on FIFO queues).
        #[arg(long)]
        group: Option<String>,
        /// Deduplication id (FIFO queues without content-based deduplication; with several
        /// messages, `-<n>` is appended for the n-th).
        #[arg(long)]
        dedup_id: Option<String>,
        /// Delay in seconds (standard queues).
        #[arg(long)]
        delay: Option<u32>,
        #[command(flatten)]
        target: Target,
    },
    /// Receive messages, print them and delete them (`--keep`: leave them in flight).
    Receive {
        /// Queue name.
        name: String,
        /// Stop after this many messages (default: after the first receive that returns any,
        /// or none within the wait).
        #[arg(long)]
        count: Option<u64>,
        /// Messages per receive, 1 to 10.
        #[arg(long, default_value_t = 10)]
        max: u32,
        /// Seconds each receive waits for a message, 0 to 20.
        #[arg(long, default_value_t = 5)]
        wait: u32,
        /// Visibility timeout in seconds (default: the queue's).
        #[arg(long)]
        visibility: Option<u32>,
        /// Do not delete what was received: it becomes visible again after its timeout.
        #[arg(long)]
        keep: bool,
        /// Print state, receive count and sent time too.
        #[arg(long)]
        verbose: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Delete every message of a queue (once per 60 seconds).
    Purge {
        /// Queue name.
        name: String,
        #[command(flatten)]
        target: Target,
    },
    /// Show a queue's messages without receiving them (nothing changes).
    Peek {
        /// Queue name.
        name: String,
        /// First offset to show (default: the oldest kept).
        #[arg(long)]
        from: Option<u64>,
        /// Most messages to show, 1 to 1,000.
        #[arg(long, default_value_t = 100)]
        max: u32,
        /// Show deleted, expired and moved messages whose records are still kept, too.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Make every message from a time or an offset on receivable again, deleted ones
    /// included (the log keeps them for the queue's retention period).
    Rewind {
        /// Queue name.
        name: String,
        /// A time: RFC 3339 (`2026-12-03T05:00:00Z`), milliseconds since the epoch, or a
        /// duration ago (`90s`, `15m`, `2h`, `1d`).
        #[arg(long, conflicts_with = "offset", required_unless_present = "offset")]
        to: Option<String>,
        /// An offset (as `peek` shows it) instead of a time.
        #[arg(long)]
        offset: Option<u64>,
        #[command(flatten)]
        target: Target,
    },
}

/// Parses `--to`: RFC 3339, milliseconds since the epoch, or a duration before `now_ms`.
fn parse_time(text: &str, now_ms: i64) -> Result<i64, CommandError> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.timestamp_millis());
    }
    let unit_ms = match text.chars().last() {
        Some('s') => 1_000,
        Some('m') => 60_000,
        Some('h') => 3_600_000,
        Some('d') => 86_400_000,
        _ => 0,
    };
    let amount = text
        .get(..text.len().saturating_sub(1))
        .and_then(|n| n.parse::<i64>().ok());
    match amount {
        Some(amount) if unit_ms > 0 && amount >= 0 => {
            Ok(now_ms.saturating_sub(amount.saturating_mul(unit_ms)))
        }
        _ => Err(CommandError::Argument(format!(
            "--to {text:?}: expected an RFC 3339 time, milliseconds since the epoch, or a \
             duration ago such as 15m"
        ))),
    }
}

fn parse_attributes(
    name: &str,
    attributes: &[String],
) -> Result<Vec<(String, String)>, CommandError> {
    let mut parsed = attributes
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| {
                    CommandError::Argument(format!("--attribute {pair:?}: expected NAME=VALUE"))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if name.ends_with(".fifo") && !parsed.iter().any(|(k, _)| k == "FifoQueue") {
        parsed.push(("FifoQueue".into(), "true".into()));
    }
    Ok(parsed)
}

fn state_name(state: QueueMessageState) -> &'static str {
    match state {
        QueueMessageState::Ready => "ready",
        QueueMessageState::Delayed => "delayed",
        QueueMessageState::InFlight => "in-flight",
        QueueMessageState::Finished => "finished",
    }
}

fn print_record(
    out: &mut impl Write,
    record: &QueueRecord,
    verbose: bool,
) -> Result<(), CommandError> {
    let body = String::from_utf8_lossy(&record.body).replace('\n', "\\n");
    if verbose {
        writeln!(
            out,
            "{} {} {} receives={} sent={} {}",
            record.offset,
            record.message_id,
            state_name(record.state),
            record.receive_count,
            record.sent_ms,
            body
        )?;
    } else {
        writeln!(out, "{} {} {}", record.offset, record.message_id, body)?;
    }
    Ok(())
}

/// Sends `bodies` in batches; returns how many were sent and the first failure's text.
async fn send_all(
    client: &Client,
    name: &str,
    bodies: Vec<String>,
    group: Option<&String>,
    dedup_id: Option<&String>,
    delay: Option<u32>,
) -> Result<(u64, Vec<String>), CommandError> {
    let several = bodies.len() > 1;
    let mut sent = 0;
    let mut failures = Vec::new();
    let mut numbered = bodies.into_iter().enumerate().peekable();
    while numbered.peek().is_some() {
        let chunk: Vec<(usize, String)> = numbered.by_ref().take(SEND_BATCH).collect();
        let messages = chunk
            .iter()
            .map(|(n, body)| QueueMessage {
                body: Bytes::from(body.clone()),
                group_id: group.cloned(),
                dedup_id: dedup_id.map(|id| {
                    if several {
                        format!("{id}-{}", n + 1)
                    } else {
                        id.clone()
                    }
                }),
                delay_s: delay,
            })
            .collect();
        for (outcome, (n, _)) in client
            .send_messages(name, messages)
            .await?
            .into_iter()
            .zip(&chunk)
        {
            match outcome {
                EntryOutcome::Ok(_) => sent += 1,
                EntryOutcome::Failed { message, .. } => {
                    failures.push(format!("message {}: {message}", n + 1));
                }
            }
        }
    }
    Ok((sent, failures))
}

/// Runs `strata queue …`.
pub async fn queue(command: QueueCommand) -> Result<(), CommandError> {
    let mut out = std::io::stdout().lock();
    match command {
        QueueCommand::Create {
            name,
            attributes,
            target,
        } => {
            let attributes = parse_attributes(&name, &attributes)?;
            connect(&target)
                .await?
                .create_queue(&name, attributes)
                .await?;
            writeln!(out, "created {name}")?;
        }
        QueueCommand::List { prefix, target } => {
            for name in connect(&target).await?.list_queues(&prefix).await? {
                writeln!(out, "{name}")?;
            }
        }
        QueueCommand::Delete { name, target } => {
            connect(&target).await?.delete_queue(&name).await?;
            writeln!(out, "deleted {name}")?;
        }
        QueueCommand::Send {
            name,
            bodies,
            file,
            group,
            dedup_id,
            delay,
            target,
        } => {
            let client = connect(&target).await?;
            let bodies = if bodies.is_empty() {
                let reader: Box<dyn BufRead> = match &file {
                    Some(path) => Box::new(std::io::BufReader::new(std::fs::File::open(path)?)),
                    None => Box::new(std::io::stdin().lock()),
                };
                reader
                    .lines()
                    .filter(|line| !line.as_ref().is_ok_and(String::is_empty))
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                bodies
            };
            let (sent, failures) = send_all(
                &client,
                &name,
                bodies,
                group.as_ref(),
                dedup_id.as_ref(),
                delay,
            )
            .await?;
            writeln!(out, "sent {sent} message(s) to {name}")?;
            if !failures.is_empty() {
                return Err(CommandError::Argument(format!(
                    "{} message(s) refused; {}",
                    failures.len(),
                    failures.join("; ")
                )));
            }
        }
        QueueCommand::Receive {
            name,
            count,
            max,
            wait,
            visibility,
            keep,
            verbose,
            target,
        } => {
            let client = connect(&target).await?;
            let mut received = 0u64;
            loop {
                let want = match count {
                    Some(count) => {
                        u32::try_from(count.saturating_sub(received).min(u64::from(max)))
                            .unwrap_or(max)
                    }
                    None => max,
                };
                let records = client
                    .receive_messages(&name, want.max(1), wait, visibility)
                    .await?;
                if records.is_empty() {
                    break;
                }
                for record in &records {
                    print_record(&mut out, record, verbose)?;
                }
                out.flush()?;
                received += records.len() as u64;
                if !keep {
                    let handles = records.into_iter().map(|r| r.receipt_handle).collect();
                    for outcome in client.ack_messages(&name, handles).await? {
                        if let EntryOutcome::Failed { message, .. } = outcome {
                            eprintln!("delete failed: {message}");
                        }
                    }
                }
                if count.is_none_or(|count| received >= count) {
                    break;
                }
            }
            if count.is_some_and(|count| received < count) {
                return Err(CommandError::Argument(format!(
                    "received {received} of {} message(s): the queue had no more within {wait} s",
                    count.unwrap_or_default()
                )));
            }
        }
        QueueCommand::Purge { name, target } => {
            connect(&target).await?.purge_queue(&name).await?;
            writeln!(out, "purged {name}")?;
        }
        QueueCommand::Peek {
            name,
            from,
            max,
            all,
            target,
        } => {
            let page = connect(&target)
                .await?
                .peek_queue(&name, from, max, all)
                .await?;
            for record in &page.messages {
                print_record(&mut out, record, true)?;
            }
            writeln!(
                out,
                "{} message(s); next offset {}",
                page.messages.len(),
                page.next_offset
            )?;
        }
        QueueCommand::Rewind {
            name,
            to,
            offset,
            target,
        } => {
            let point = match (offset, to) {
                (Some(offset), _) => RewindPoint::Offset(offset),
                (None, Some(text)) => {
                    let now_ms = chrono::Utc::now().timestamp_millis();
                    RewindPoint::Timestamp(parse_time(&text, now_ms)?)
                }
                (None, None) => {
                    return Err(CommandError::Argument("give --to or --offset".into()));
                }
            };
            let rewound = connect(&target).await?.rewind_queue(&name, point).await?;
            writeln!(
                out,
                "rewound {name} to offset {}: {} message(s) to receive",
                rewound.offset, rewound.unfinished
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn rewind_times_parse_in_every_form() {
        let now = 1_800_000_000_000;
        assert_eq!(
            parse_time("1700000000000", now).ok(),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parse_time("2026-12-03T05:00:00Z", now).ok(),
            Some(1_796_274_000_000)
        );
        assert_eq!(parse_time("15m", now).ok(), Some(now - 900_000));
        assert_eq!(parse_time("2h", now).ok(), Some(now - 7_200_000));
        assert!(parse_time("yesterday", now).is_err());
        assert!(parse_time("-5m", now).is_err());
    }
}
