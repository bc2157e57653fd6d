//! Command-line pieces the load-generating modes share.

use serde::Serialize;

use crate::report;

/// The load a producing mode offers: record size, concurrency and duration.
#[derive(Clone, Debug, clap::Args, Serialize)]
pub struct Load {
    /// Record payload size (bytes, or with a unit: 1KiB).
    #[arg(long, default_value = "1024", value_parser = parse_record_size)]
    pub record_bytes: u64,
    /// Producer tasks, each with its own connection.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub producers: u32,
    /// How long producers send, in seconds (fractions allowed).
    #[arg(long, default_value_t = 5.0, value_parser = parse_secs)]
    pub duration_secs: f64,
}

/// A record size of at most 1 MiB, the default record limit.
pub fn parse_record_size(text: &str) -> Result<u64, String> {
    let bytes = report::parse_size(text)?;
    if bytes > 1024 * 1024 {
        return Err(format!("record size {text} exceeds the 1 MiB record limit"));
    }
    Ok(bytes)
}

/// A positive number of seconds, under a day.
pub fn parse_secs(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs < 86_400.0 => Ok(secs),
        _ => Err(format!("invalid duration {text:?}: expected seconds > 0")),
    }
}
