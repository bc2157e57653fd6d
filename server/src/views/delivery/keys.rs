//! Object keys: the prefix with its `!{...}` expressions, and Firehose's object name
//! `<DeliveryStreamName>-<DeliveryStreamVersion>-YYYY-MM-dd-HH-mm-ss-<unique>`.
//!
//! Everything here is a pure function of the buffer (its source shard, first and last
//! offset, and its first record's arrival time) and the destination's settings, never of the
//! clock or a random generator: a buffer delivered again after a crash lands under the same
//! key and overwrites its first copy instead of duplicating it. The "random" parts
//! (`!{firehose:random-string}` and the name's unique suffix) are derived from a SHA-256 of
//! the buffer's identity.

use sha2::{Digest as _, Sha256};

/// The default prefix when the configured one has no expression: `YYYY/MM/dd/HH/` (UTC).
const DEFAULT_TIME_PREFIX: &str = "yyyy/MM/dd/HH/";

/// A broken-down UTC time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcTime {
    /// Year.
    pub year: i64,
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub day: u32,
    /// 0–23.
    pub hour: u32,
    /// 0–59.
    pub minute: u32,
    /// 0–59.
    pub second: u32,
    /// 0–999.
    pub millisecond: u32,
}

impl UtcTime {
    /// The UTC time of `epoch_ms` milliseconds since the Unix epoch.
    pub fn from_epoch_ms(epoch_ms: i64) -> Self {
        let days = epoch_ms.div_euclid(86_400_000);
        let in_day = epoch_ms.rem_euclid(86_400_000);
        // Civil date from days since 1970-01-01 (the proleptic Gregorian calendar; the
        // algorithm works in 400-year eras that start on March 1st).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_index + 2) / 5 + 1;
        let month = if month_index < 10 {
            month_index + 3
        } else {
            month_index - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        let part = |value: i64| u32::try_from(value).unwrap_or(0);
        Self {
            year,
            month: part(month),
            day: part(day),
            hour: part(in_day / 3_600_000),
            minute: part(in_day / 60_000 % 60),
            second: part(in_day / 1000 % 60),
            millisecond: part(in_day % 1000),
        }
    }
}

/// The wall-clock time in `zone` (an IANA name such as `Asia/Tokyo`, Firehose's
/// CustomTimeZone) at `epoch_ms`, broken down like [`UtcTime`]; UTC without a zone or with
/// one the time-zone database does not know.
pub fn zoned_time(epoch_ms: i64, zone: Option<&str>) -> UtcTime {
    use chrono::{Offset as _, TimeZone as _};
    let offset_ms = zone
        .and_then(|name| name.parse::<chrono_tz::Tz>().ok())
        .and_then(|tz| {
            let utc = chrono::DateTime::from_timestamp_millis(epoch_ms)?;
            let offset = tz.offset_from_utc_datetime(&utc.naive_utc()).fix();
            Some(i64::from(offset.local_minus_utc()) * 1000)
        })
        .unwrap_or(0);
    UtcTime::from_epoch_ms(epoch_ms.saturating_add(offset_ms))
}

/// Whether `zone` is a time zone [`zoned_time`] knows.
pub fn is_time_zone(zone: &str) -> bool {
    zone.parse::<chrono_tz::Tz>().is_ok()
}

/// Why a prefix was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// `!{` without its `}`.
    #[error("The expression starting at position {0} is not closed with '}}'.")]
    Unclosed(usize),
    /// An expression Firehose does not define.
    #[error(
        "The expression '!{{{0}}}' is not supported. Use !{{timestamp:...}}, !{{firehose:random-string}}, !{{firehose:error-output-type}} or !{{partitionKeyFromQuery:...}}."
    )]
    Unknown(String),
    /// A timestamp pattern letter that is not supported.
    #[error(
        "The timestamp format '{0}' is not valid: only the letters y, M, d, H, m, s and S and quoted text are supported."
    )]
    BadTimestamp(String),
    /// `!{firehose:error-output-type}` outside the error output prefix.
    #[error(
        "The expression !{{firehose:error-output-type}} can only be used in ErrorOutputPrefix."
    )]
    ErrorTypeOutsideErrorPrefix,
    /// `!{partitionKeyFromQuery:}` without a key name.
    #[error("The expression !{{partitionKeyFromQuery:...}} needs a key name.")]
    EmptyPartitionKey,
}

/// One piece of a parsed prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Timestamp(String),
    Random,
    ErrorType,
    PartitionKey(String),
}

/// A prefix, parsed once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prefix {
    pieces: Vec<Piece>,
}

impl Prefix {
    /// Parses `text`. Without any expression, Firehose appends `YYYY/MM/dd/HH/` to it; with
    /// one, the prefix is used as written. `error_prefix` allows `!{firehose:error-output-type}`.
    pub fn parse(text: Option<&str>, error_prefix: bool) -> Result<Self, PrefixError> {
        let text = text.unwrap_or("");
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut position = 0;
        let mut expressions = 0;
        while let Some(start) = rest.find("!{") {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_owned()));
            }
            let body_start = start + 2;
            let Some(length) = rest[body_start..].find('}') else {
                return Err(PrefixError::Unclosed(position + start));
            };
            let body = rest[body_start..body_start + length].trim();
            let piece = match body.split_once(':') {
                Some(("timestamp", pattern)) => {
                    check_timestamp_pattern(pattern)?;
                    Piece::Timestamp(pattern.to_owned())
                }
                Some(("firehose", "random-string")) => Piece::Random,
                Some(("partitionKeyFromQuery", key)) => {
                    let key = key.trim();
                    if key.is_empty() {
                        return Err(PrefixError::EmptyPartitionKey);
                    }
                    Piece::PartitionKey(key.to_owned())
                }
                Some(("firehose", "error-output-type")) if error_prefix => Piece::ErrorType,
                Some(("firehose", "error-output-type")) => {
                    return Err(PrefixError::ErrorTypeOutsideErrorPrefix);
                }
                _ => return Err(PrefixError::Unknown(body.to_owned())),
            };
            pieces.push(piece);
            expressions += 1;
            let consumed = body_start + length + 1;
            position += consumed;
            rest = &rest[consumed..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        if expressions == 0 {
            pieces.push(Piece::Timestamp(DEFAULT_TIME_PREFIX.to_owned()));
        }
        Ok(Self { pieces })
    }

    /// A prefix that renders to nothing.
    pub fn empty() -> Self {
        Self { pieces: Vec::new() }
    }

    /// Whether the prefix has an expression of its own (not the default time prefix).
    pub fn has_expressions(text: Option<&str>) -> bool {
        text.is_some_and(|text| text.contains("!{"))
    }

    /// The prefix for a buffer whose first record arrived at `time`; `seed` derives the
    /// random string; `error_type` fills `!{firehose:error-output-type}`.
    pub fn render(&self, time: &UtcTime, seed: &[u8; 32], error_type: &str) -> String {
        self.render_partition(time, seed, error_type, &[])
    }

    /// As [`Prefix::render`], with `partition` (key name → value) filling
    /// `!{partitionKeyFromQuery:<name>}`; a name without a value renders as nothing.
    pub fn render_partition(
        &self,
        time: &UtcTime,
        seed: &[u8; 32],
        error_type: &str,
        partition: &[(String, String)],
    ) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Timestamp(pattern) => out.push_str(&format_timestamp(pattern, time)),
                Piece::Random => out.push_str(&random_string(seed)),
                Piece::ErrorType => out.push_str(error_type),
                Piece::PartitionKey(name) => {
                    if let Some((_, value)) = partition.iter().find(|(key, _)| key == name) {
                        out.push_str(value);
                    }
                }
            }
        }
        out
    }

    /// The names of the `!{partitionKeyFromQuery:<name>}` expressions.
    pub fn partition_keys(&self) -> Vec<&str> {
        self.pieces
            .iter()
            .filter_map(|piece| match piece {
                Piece::PartitionKey(name) => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }
}

fn check_timestamp_pattern(pattern: &str) -> Result<(), PrefixError> {
    let mut quoted = false;
    for c in pattern.chars() {
        if c == '\'' {
            quoted = !quoted;
        } else if !quoted && c.is_ascii_alphabetic() && !"yMdHmsS".contains(c) {
            return Err(PrefixError::BadTimestamp(pattern.to_owned()));
        }
    }
    if quoted || pattern.is_empty() {
        return Err(PrefixError::BadTimestamp(pattern.to_owned()));
    }
    Ok(())
}

/// Formats `time` with a Java `DateTimeFormatter` pattern restricted to `y M d H m s S` and
/// quoted text (`yyyy/MM/dd`, `yyyy-MM-dd'T'HH`).
pub fn format_timestamp(pattern: &str, time: &UtcTime) -> String {
    let mut out = String::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut index = 0;
    while let Some(&c) = chars.get(index) {
        if c == '\'' {
            index += 1;
            while let Some(&q) = chars.get(index) {
                index += 1;
                if q == '\'' {
                    break;
                }
                out.push(q);
            }
            continue;
        }
        let mut run = 1;
        while chars.get(index + run) == Some(&c) {
            run += 1;
        }
        index += run;
        let (value, width) = match c {
            'y' if run == 2 => (time.year.rem_euclid(100), 2),
            'y' => (time.year, run.max(4)),
            'M' => (i64::from(time.month), run),
            'd' => (i64::from(time.day), run),
            'H' => (i64::from(time.hour), run),
            'm' => (i64::from(time.minute), run),
            's' => (i64::from(time.second), run),
            'S' => (i64::from(time.millisecond), run.max(3)),
            other => {
                for _ in 0..run {
                    out.push(other);
                }
                continue;
            }
        };
        out.push_str(&format!("{value:0width$}"));
    }
    out
}

/// Identifies one buffer: where its records come from and which they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BufferId<'a> {
    /// The delivery stream's name.
    pub delivery_stream: &'a str,
    /// When it was created (a re-created stream of the same name gets other keys).
    pub created_ms: i64,
    /// The source stream (engine name).
    pub source: &'a str,
    /// The source stream's id (a stream created again under its name has another).
    pub source_id: u64,
    /// The source shard.
    pub shard: u32,
    /// The first record's offset.
    pub first_offset: u64,
    /// The last record's offset.
    pub last_offset: u64,
    /// The buffer's partition (dynamic partitioning); empty without one.
    pub partition: &'a str,
}

impl BufferId<'_> {
    /// The SHA-256 of the buffer's identity: the seed of its key's unique parts.
    pub fn seed(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(self.delivery_stream.as_bytes());
        hash.update([0]);
        hash.update(self.created_ms.to_be_bytes());
        hash.update(self.source.as_bytes());
        hash.update([0]);
        hash.update(self.source_id.to_be_bytes());
        hash.update(self.shard.to_be_bytes());
        hash.update(self.first_offset.to_be_bytes());
        hash.update(self.last_offset.to_be_bytes());
        // Without a partition the seed is what it was before partitions existed, so keys
        // planned by an older version stay the same.
        if !self.partition.is_empty() {
            hash.update([0]);
            hash.update(self.partition.as_bytes());
        }
        hash.finalize().into()
    }
}

/// The UUID-shaped unique part of an object name: 8-4-4-4-12 hex digits of `seed`, with the
/// version nibble 4 and the variant bits 10 set so it parses as a UUID.
pub fn unique_suffix(seed: &[u8; 32]) -> String {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(seed.get(..16).unwrap_or(&[0u8; 16]));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// An 11-character string of `[a-zA-Z0-9]` from the second half of `seed`.
fn random_string(seed: &[u8; 32]) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    seed.iter()
        .skip(16)
        .take(11)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// The object name Firehose gives a buffer, after the prefix:
/// `<name>-<version>-YYYY-MM-dd-HH-mm-ss-<unique><extension>`.
pub fn object_name(
    delivery_stream: &str,
    version: u64,
    time: &UtcTime,
    seed: &[u8; 32],
    extension: &str,
) -> String {
    format!(
        "{delivery_stream}-{version}-{}-{}{extension}",
        format_timestamp("yyyy-MM-dd-HH-mm-ss", time),
        unique_suffix(seed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-02-29T23:59:58.123Z
    const LEAP_MS: i64 = 1_709_251_198_123;

    #[test]
    fn utc_time_breaks_down_epoch_milliseconds() {
        assert_eq!(
            UtcTime::from_epoch_ms(LEAP_MS),
            UtcTime {
                year: 2024,
                month: 2,
                day: 29,
                hour: 23,
                minute: 59,
                second: 58,
                millisecond: 123
            }
        );
        let epoch = UtcTime::from_epoch_ms(0);
        assert_eq!(
            (epoch.year, epoch.month, epoch.day, epoch.hour),
            (1970, 1, 1, 0)
        );
        let before = UtcTime::from_epoch_ms(-1);
        assert_eq!((before.year, before.month, before.day), (1969, 12, 31));
        assert_eq!((before.hour, before.minute, before.second), (23, 59, 59));
    }

    #[test]
    fn prefix_without_expressions_gets_the_default_hour_prefix() {
        let time = UtcTime::from_epoch_ms(LEAP_MS);
        let seed = [7u8; 32];
        let prefix = Prefix::parse(Some("logs/"), false).expect("parses");
        assert_eq!(prefix.render(&time, &seed, ""), "logs/2024/02/29/23/");
        let empty = Prefix::parse(None, false).expect("parses");
        assert_eq!(empty.render(&time, &seed, ""), "2024/02/29/23/");
    }

    #[test]
    fn prefix_expressions_are_expanded_and_used_as_written() {
        let time = UtcTime::from_epoch_ms(LEAP_MS);
        let seed = [1u8; 32];
        let prefix = Prefix::parse(
            Some("year=!{timestamp:yyyy}/month=!{timestamp:MM}/!{timestamp:yyyy-MM-dd'T'HH}/"),
            false,
        )
        .expect("parses");
        assert_eq!(
            prefix.render(&time, &seed, ""),
            "year=2024/month=02/2024-02-29T23/"
        );
        let error =
            Prefix::parse(Some("err/!{firehose:error-output-type}/"), true).expect("parses");
        assert_eq!(
            error.render(&time, &seed, "processing-failed"),
            "err/processing-failed/"
        );
        let random = Prefix::parse(Some("r/!{firehose:random-string}/"), false).expect("parses");
        let rendered = random.render(&time, &seed, "");
        assert_eq!(rendered.len(), "r//".len() + 11);
        assert_eq!(rendered, random.render(&time, &seed, ""), "deterministic");
    }

    #[test]
    fn partition_keys_from_the_query_fill_the_prefix() {
        let prefix = Prefix::parse(
            Some("c=!{partitionKeyFromQuery:customer_id}/r=!{partitionKeyFromQuery:region}/"),
            false,
        )
        .expect("parses");
        assert_eq!(prefix.partition_keys(), ["customer_id", "region"]);
        let partition = [
            ("customer_id".to_owned(), "42".to_owned()),
            ("region".to_owned(), "eu".to_owned()),
        ];
        let time = UtcTime::from_epoch_ms(0);
        assert_eq!(
            prefix.render_partition(&time, &[0; 32], "", &partition),
            "c=42/r=eu/"
        );
    }

    #[test]
    fn custom_time_zones_shift_the_prefix_time_with_daylight_saving() {
        // 2024-07-01T00:30:00Z: 02:30 in Berlin (summer time), 09:30 in Tokyo.
        let summer_ms = 1_719_793_800_000;
        let berlin = zoned_time(summer_ms, Some("Europe/Berlin"));
        assert_eq!((berlin.day, berlin.hour, berlin.minute), (1, 2, 30));
        assert_eq!(zoned_time(summer_ms, Some("Asia/Tokyo")).hour, 9);
        // 2024-01-01T00:30:00Z: 01:30 in Berlin (winter time); the day before in New York.
        let winter_ms = 1_704_069_000_000;
        assert_eq!(zoned_time(winter_ms, Some("Europe/Berlin")).hour, 1);
        let new_york = zoned_time(winter_ms, Some("America/New_York"));
        assert_eq!((new_york.year, new_york.day, new_york.hour), (2023, 31, 19));
        assert_eq!(
            zoned_time(winter_ms, None),
            UtcTime::from_epoch_ms(winter_ms)
        );
        assert_eq!(
            zoned_time(winter_ms, Some("Mars/Olympus")),
            UtcTime::from_epoch_ms(winter_ms)
        );
        assert!(is_time_zone("Asia/Tokyo") && !is_time_zone("Mars/Olympus"));
    }

    #[test]
    fn bad_prefix_expressions_are_refused() {
        assert_eq!(
            Prefix::parse(Some("a/!{timestamp:yyyy"), false),
            Err(PrefixError::Unclosed(2))
        );
        assert_eq!(
            Prefix::parse(Some("!{partitionKeyFromQuery: }"), false),
            Err(PrefixError::EmptyPartitionKey)
        );
        assert!(matches!(
            Prefix::parse(Some("!{partitionKey:id}"), false),
            Err(PrefixError::Unknown(_))
        ));
        assert!(matches!(
            Prefix::parse(Some("!{timestamp:yyyy-QQ}"), false),
            Err(PrefixError::BadTimestamp(_))
        ));
        assert_eq!(
            Prefix::parse(Some("!{firehose:error-output-type}"), false),
            Err(PrefixError::ErrorTypeOutsideErrorPrefix)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_prefix_text_parses_or_is_refused_without_panicking(
            text in "(\\PC|!\\{|\\}|timestamp:|firehose:|yyyy|'){0,24}",
            epoch_ms in proptest::prelude::any::<i64>(),
            error_prefix in proptest::prelude::any::<bool>(),
        ) {
            let time = UtcTime::from_epoch_ms(epoch_ms);
            if let Ok(prefix) = Prefix::parse(Some(&text), error_prefix) {
                let rendered = prefix.render(&time, &[9u8; 32], "processing-failed");
                proptest::prop_assert_eq!(
                    rendered.clone(),
                    prefix.render(&time, &[9u8; 32], "processing-failed")
                );
                if !Prefix::has_expressions(Some(&text)) {
                    proptest::prop_assert!(rendered.starts_with(&text));
                }
            }
        }

        #[test]
        fn utc_time_agrees_with_day_arithmetic(days in -1_000_000i64..1_000_000, ms in 0i64..86_400_000) {
            let time = UtcTime::from_epoch_ms(days * 86_400_000 + ms);
            proptest::prop_assert!((1..=12).contains(&time.month));
            proptest::prop_assert!((1..=31).contains(&time.day));
            proptest::prop_assert_eq!(
                i64::from(time.hour) * 3_600_000
                    + i64::from(time.minute) * 60_000
                    + i64::from(time.second) * 1000
                    + i64::from(time.millisecond),
                ms
            );
            // The next day is the next date.
            let next = UtcTime::from_epoch_ms((days + 1) * 86_400_000 + ms);
            proptest::prop_assert!(
                (next.year, next.month, next.day) > (time.year, time.month, time.day)
            );
        }
    }

    #[test]
    fn object_names_follow_firehose_and_depend_only_on_the_buffer() {
        let id = BufferId {
            delivery_stream: "clicks",
            created_ms: 5,
            source: "firehose:clicks",
            source_id: 3,
            shard: 0,
            first_offset: 10,
            last_offset: 19,
            partition: "",
        };
        let time = UtcTime::from_epoch_ms(LEAP_MS);
        let name = object_name("clicks", 1, &time, &id.seed(), ".gz");
        assert!(name.starts_with("clicks-1-2024-02-29-23-59-58-"), "{name}");
        assert!(name.ends_with(".gz"));
        let unique = &name["clicks-1-2024-02-29-23-59-58-".len()..name.len() - 3];
        let groups: Vec<usize> = unique.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(name, object_name("clicks", 1, &time, &id.seed(), ".gz"));
        let other = BufferId {
            last_offset: 20,
            partition: "",
            ..id.clone()
        };
        assert_ne!(id.seed(), other.seed());
        let other_stream = BufferId {
            source_id: 4,
            ..id.clone()
        };
        assert_ne!(id.seed(), other_stream.seed());
        let other_partition = BufferId {
            partition: "customer_id=7",
            ..id.clone()
        };
        assert_ne!(id.seed(), other_partition.seed());
        let other_shard = BufferId { shard: 1, ..id };
        assert_ne!(
            unique_suffix(&other_shard.seed()),
            unique_suffix(&other.seed())
        );
    }
}
