//! Retention: whole segments whose newest record is older than the stream's retention are
//! deleted. The active segment of an open shard is never deleted (segments are rolled by age, so
//! it does not hold old records for long); a closed shard can lose all of its segments.
//!
//! A reader positioned inside a deleted segment gets [`crate::Error::Trimmed`] with the earliest
//! offset still retained, never bytes of a removed file: segments leave the shard's list before
//! their files are unlinked, and a mapping in use stays valid after the unlink.

use std::sync::Arc;

use crate::error::Result;
use crate::log::{Inner, Log};
use crate::segment::Segment;

pub(crate) fn enforce(inner: &Inner) -> Result<usize> {
    let now = inner.clock.now_ms();
    let mut deleted = 0;
    for shard in inner.open_shards() {
        let Some(retention) = Log::retention_of(inner, &shard.stream) else {
            continue;
        };
        let cutoff = now.saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
        let closed = shard.ending().is_some();
        let expired: Vec<Arc<Segment>> = {
            let mut segments = shard.segments.write().unwrap_or_else(|e| e.into_inner());
            let keep_last = usize::from(!closed);
            let mut count = 0;
            while count + keep_last < segments.len()
                && segments
                    .get(count)
                    .is_some_and(|s| s.max_timestamp_ms() < cutoff && (closed || s.is_sealed()))
            {
                count += 1;
            }
            segments.drain(..count).collect()
        };
        for segment in expired {
            tracing::info!(
                stream = %shard.stream,
                shard = shard.id,
                base_offset = segment.base_offset,
                "Deleting expired segment"
            );
            for path in [&segment.data_path, &segment.index_path] {
                if let Err(error) = std::fs::remove_file(path) {
                    tracing::warn!(path = %path.display(), %error, "Could not delete expired segment file");
                }
            }
            deleted += 1;
            metrics::counter!("strata_log_retention_segments_deleted_total").increment(1);
            metrics::counter!("strata_log_retention_bytes_deleted_total").increment(segment.len());
        }
    }
    Ok(deleted)
}
