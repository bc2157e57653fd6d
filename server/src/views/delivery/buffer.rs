//! The batcher's decision: when a buffer is flushed.
//!
//! A buffer is flushed once its records reach `SizeInMBs` (the record that crosses the line
//! is the buffer's last), or once its first record is `IntervalInSeconds` old. Age is measured
//! from the first record's arrival time in the log, not from when the task read it, so a
//! buffer rebuilt after a restart is as old as the one that was lost, and an interval of 0
//! flushes whatever is read at once.

/// BufferingHints in engine units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hints {
    /// Flush once the buffer holds this many bytes of record data.
    pub bytes_max: u64,
    /// Flush once the first record is this many milliseconds old.
    pub interval_ms: i64,
}

/// What a buffer holds, for the decision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fill {
    /// Records in the buffer.
    pub records: u64,
    /// Bytes of record data.
    pub bytes: u64,
    /// Arrival time of the first record (ms), if any.
    pub first_arrival_ms: Option<i64>,
}

impl Fill {
    /// Adds a record of `bytes` that arrived at `arrival_ms`.
    pub fn push(&mut self, bytes: usize, arrival_ms: i64) {
        self.records += 1;
        self.bytes += u64::try_from(bytes).unwrap_or(u64::MAX);
        self.first_arrival_ms.get_or_insert(arrival_ms);
    }

    /// Whether the size hint is reached.
    pub fn full(&self, hints: Hints) -> bool {
        self.records > 0 && self.bytes >= hints.bytes_max
    }

    /// Milliseconds from `now_ms` until the buffer is due by age (0: due now); `None` when
    /// empty.
    pub fn due_in_ms(&self, hints: Hints, now_ms: i64) -> Option<i64> {
        let first = self.first_arrival_ms?;
        Some((first.saturating_add(hints.interval_ms) - now_ms).max(0))
    }

    /// Whether the buffer should be flushed now.
    pub fn should_flush(&self, hints: Hints, now_ms: i64) -> bool {
        self.full(hints) || self.due_in_ms(hints, now_ms) == Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HINTS: Hints = Hints {
        bytes_max: 100,
        interval_ms: 1000,
    };

    #[test]
    fn an_empty_buffer_is_never_flushed() {
        let fill = Fill::default();
        assert!(!fill.should_flush(HINTS, i64::MAX));
        assert_eq!(fill.due_in_ms(HINTS, 0), None);
    }

    #[test]
    fn the_record_that_reaches_the_size_hint_closes_the_buffer() {
        let mut fill = Fill::default();
        fill.push(60, 10);
        assert!(!fill.should_flush(HINTS, 10));
        fill.push(40, 20);
        assert!(fill.full(HINTS));
        assert!(fill.should_flush(HINTS, 20));
    }

    #[test]
    fn age_counts_from_the_first_records_arrival() {
        let mut fill = Fill::default();
        fill.push(1, 5_000);
        fill.push(1, 5_900);
        assert_eq!(fill.due_in_ms(HINTS, 5_500), Some(500));
        assert!(!fill.should_flush(HINTS, 5_999));
        assert!(fill.should_flush(HINTS, 6_000));
        // After a restart the rebuilt buffer is as old as the lost one: due at once.
        assert!(fill.should_flush(HINTS, 60_000));
    }

    #[test]
    fn interval_zero_flushes_at_once() {
        let hints = Hints {
            bytes_max: u64::MAX,
            interval_ms: 0,
        };
        let mut fill = Fill::default();
        fill.push(1, 100);
        assert!(fill.should_flush(hints, 100));
    }
}
