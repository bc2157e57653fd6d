//! Telemetry: structured logs on standard error.
//!
//! Standard output is left for command output; logs go to standard error in the `[log]`
//! format. Colour is used only when standard error is a terminal, so captured logs stay plain.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, TelemetryConfig};

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// The `log.level` filter did not parse (the config layer has already checked it).
    #[error("Invalid `log.level`: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    /// A global subscriber was already installed.
    #[error("Cannot install the log subscriber: {0}")]
    Install(String),
}

/// Installs the global log subscriber. Called once, before anything logs.
pub fn init(config: &TelemetryConfig) -> Result<(), TelemetryError> {
    let filter = EnvFilter::try_new(&config.level)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let installed = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|error| TelemetryError::Install(error.to_string()))
}
