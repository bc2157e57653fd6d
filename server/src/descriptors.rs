//! The process's descriptor budget, split once at startup between the log and the two
//! listeners, so that no kind of client can take the descriptors another part needs: idle
//! HTTP or native connections can never make the log fail to open a segment file.
//!
//! Of the soft `RLIMIT_NOFILE` (raised to the hard limit first, by
//! `storage::raise_open_files_limit`, which also reports it), a quarter goes to segment
//! files (the engine's `open_files_max` default), [`RESERVED`] to everything else (listeners,
//! the catalog journal, directories, outgoing S3 connections), and the rest is shared evenly
//! by the HTTP and native connection limits. A configured limit is kept when it fits, and
//! lowered (with a warning) when it does not.

/// Descriptors kept for the listeners, the catalog, directories and outgoing connections.
pub const RESERVED: usize = 64;

/// What each listener may hold at most under a descriptor `limit`.
pub fn connections_share(limit: usize) -> usize {
    let for_connections = limit.saturating_sub(limit / 4).saturating_sub(RESERVED);
    (for_connections / 2).max(1)
}

/// The connection limit to use: the configured one if it fits the listener's share of
/// `limit`, else the share.
pub fn fit(configured: usize, limit: Option<usize>) -> usize {
    limit.map_or(configured, |limit| configured.min(connections_share(limit)))
}

#[cfg(test)]
mod tests {
    use super::{connections_share, fit};

    #[test]
    fn the_listeners_share_what_the_log_leaves() {
        // 1024: 256 for segment files, 64 reserved, 352 for each listener.
        assert_eq!(connections_share(1024), 352);
        assert_eq!(fit(1024, Some(1024)), 352);
        assert_eq!(fit(1024, None), 1024);
        assert_eq!(fit(1024, Some(1_048_576)), 1024);
        assert_eq!(fit(1024, Some(50)), 1);
        assert!(2 * connections_share(1024) + 1024 / 4 + super::RESERVED <= 1024);
    }
}
