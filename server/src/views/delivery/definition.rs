//! A delivery stream's definition, kept as one log property (namespace `firehose.streams`,
//! key = the delivery stream's name) so that every change is one atomic catalog write.
//!
//! The value is hand-encoded UTF-8 text, one `key<TAB>value` line per setting, with `\`,
//! newline and tab escaped (`\\`, `\n`, `\t`); absent optional settings have no line; tags
//! are `tag:<key>` lines whose value is `-` (no value) or `+<value>`. Unknown keys are skipped
//! on load, so a newer server's extra settings do not stop an older one.

use std::collections::BTreeMap;

use super::encode::Compression;

/// Where a delivery stream's records come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// PutRecord/PutRecordBatch, into the delivery stream's own engine stream.
    DirectPut,
    /// Every shard of a Kinesis stream (an engine stream of the same name).
    KinesisStream {
        /// The stream's name.
        stream: String,
        /// Its ARN, as given.
        arn: String,
        /// The role, recorded.
        role_arn: String,
    },
}

/// The S3 destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// Configured as ExtendedS3 (else the older S3 shape).
    pub extended: bool,
    /// Recorded.
    pub role_arn: String,
    /// `arn:aws:s3:::<bucket>`.
    pub bucket_arn: String,
    /// Key prefix, with expressions.
    pub prefix: Option<String>,
    /// Error key prefix.
    pub error_prefix: Option<String>,
    /// SizeInMBs.
    pub buffer_mib: u32,
    /// IntervalInSeconds.
    pub buffer_seconds: u32,
    /// CompressionFormat.
    pub compression: Compression,
    /// KMS key of the objects, recorded.
    pub kms_key: Option<String>,
    /// A newline after each record (the AppendDelimiterToRecord processor).
    pub delimiter: bool,
    /// Whether the ProcessingConfiguration was enabled.
    pub processing_enabled: Option<bool>,
    /// Overrides the compression's extension.
    pub file_extension: Option<String>,
    /// Recorded (keys are formatted in UTC).
    pub custom_time_zone: Option<String>,
    /// DynamicPartitioningConfiguration.Enabled.
    pub dynamic_partitioning: bool,
    /// The MetadataExtraction processor's `MetadataExtractionQuery`.
    pub metadata_query: Option<String>,
    /// DynamicPartitioningConfiguration.RetryOptions.DurationInSeconds: how long a failing put
    /// is retried before the buffer goes to the error output prefix (default: the server's
    /// `delivery.retry_duration_secs`).
    pub retry_seconds: Option<u32>,
    /// JSON → Parquet conversion (DataFormatConversionConfiguration), when enabled.
    pub conversion: Option<Conversion>,
    /// Recorded.
    pub s3_backup_mode: Option<String>,
    /// CloudWatch logging, recorded.
    pub logging_enabled: Option<bool>,
    /// CloudWatch log group, recorded.
    pub log_group: Option<String>,
    /// CloudWatch log stream, recorded.
    pub log_stream: Option<String>,
}

/// Record format conversion settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversion {
    /// SchemaConfiguration.TableName: the server's `[delivery.schemas.<table>]`.
    pub table: String,
    /// SchemaConfiguration.DatabaseName, recorded.
    pub database: Option<String>,
    /// ParquetSerDe.Compression.
    pub compression: super::convert::ParquetCompression,
}

impl Destination {
    /// A destination with `buffer_mib`/`buffer_seconds` buffering and nothing else set: no
    /// bucket, prefixes, compression, processing or conversion.
    pub fn plain(extended: bool, buffer_mib: u32, buffer_seconds: u32) -> Self {
        Self {
            extended,
            role_arn: String::new(),
            bucket_arn: String::new(),
            prefix: None,
            error_prefix: None,
            buffer_mib,
            buffer_seconds,
            compression: Compression::Uncompressed,
            kms_key: None,
            delimiter: false,
            processing_enabled: None,
            file_extension: None,
            custom_time_zone: None,
            dynamic_partitioning: false,
            metadata_query: None,
            retry_seconds: None,
            conversion: None,
            s3_backup_mode: None,
            logging_enabled: None,
            log_group: None,
            log_stream: None,
        }
    }

    /// The partitioning query, when dynamic partitioning is on and has one that parses.
    pub fn partitioning(&self) -> Option<super::partition::Query> {
        if !self.dynamic_partitioning {
            return None;
        }
        super::partition::Query::parse(self.metadata_query.as_deref()?).ok()
    }

    /// The bucket named by the ARN (what follows `arn:<partition>:s3:::`).
    pub fn bucket(&self) -> &str {
        bucket_of(&self.bucket_arn).unwrap_or("")
    }

    /// The extension of delivered objects.
    pub fn extension(&self) -> &str {
        self.file_extension.as_deref().unwrap_or_else(|| {
            if self.conversion.is_some() {
                ".parquet"
            } else {
                self.compression.extension()
            }
        })
    }
}

/// The bucket of an S3 bucket ARN, if it is one.
pub fn bucket_of(arn: &str) -> Option<&str> {
    let arn = protocol::aws::arn::Arn::parse(arn)?;
    let global = arn.service == "s3" && arn.region.is_empty() && arn.account.is_empty();
    (global && !arn.resource.contains('/')).then_some(arn.resource)
}

/// Server-side encryption of the delivery stream, recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encryption {
    /// `AWS_OWNED_CMK` or `CUSTOMER_MANAGED_CMK`.
    pub key_type: String,
    /// The customer managed key.
    pub key_arn: Option<String>,
}

/// A delivery stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    /// The name.
    pub name: String,
    /// Creation time (ms); part of every object key's seed.
    pub created_ms: i64,
    /// Last UpdateDestination (ms).
    pub updated_ms: Option<i64>,
    /// Starts at 1, grows with each UpdateDestination.
    pub version: u64,
    /// The source.
    pub source: Source,
    /// The destination.
    pub destination: Destination,
    /// Server-side encryption while on.
    pub encryption: Option<Encryption>,
    /// Tags (values are optional in Firehose).
    pub tags: BTreeMap<String, Option<String>>,
}

/// The property format definitions and channels share: one `key\tvalue` line per entry,
/// both escaped.
pub(super) fn encode_lines(lines: Vec<(String, String)>) -> Vec<u8> {
    let mut text = String::new();
    for (key, value) in lines {
        text.push_str(&escape(&key));
        text.push('\t');
        text.push_str(&escape(&value));
        text.push('\n');
    }
    text.into_bytes()
}

/// Reads what [`encode_lines`] wrote; `None` if a line has no tab or the bytes are not UTF-8.
pub(super) fn decode_lines(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    std::str::from_utf8(bytes)
        .ok()?
        .lines()
        .map(|line| {
            line.split_once('\t')
                .map(|(key, value)| (unescape(key), unescape(value)))
        })
        .collect()
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Definition {
    /// The property value.
    pub fn encode(&self) -> Vec<u8> {
        let mut lines: Vec<(String, String)> = Vec::new();
        let mut put = |key: &str, value: &str| lines.push((key.to_owned(), value.to_owned()));
        put("created_ms", &self.created_ms.to_string());
        if let Some(updated) = self.updated_ms {
            put("updated_ms", &updated.to_string());
        }
        put("version", &self.version.to_string());
        match &self.source {
            Source::DirectPut => put("source", "DirectPut"),
            Source::KinesisStream {
                stream,
                arn,
                role_arn,
            } => {
                put("source", "KinesisStreamAsSource");
                put("source.stream", stream);
                put("source.arn", arn);
                put("source.role_arn", role_arn);
            }
        }
        let d = &self.destination;
        put("extended", if d.extended { "true" } else { "false" });
        put("role_arn", &d.role_arn);
        put("bucket_arn", &d.bucket_arn);
        let optional = [
            ("prefix", &d.prefix),
            ("error_prefix", &d.error_prefix),
            ("kms_key", &d.kms_key),
            ("file_extension", &d.file_extension),
            ("custom_time_zone", &d.custom_time_zone),
            ("metadata_query", &d.metadata_query),
            ("s3_backup_mode", &d.s3_backup_mode),
            ("log_group", &d.log_group),
            ("log_stream", &d.log_stream),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                put(key, value);
            }
        }
        put("buffer_mib", &d.buffer_mib.to_string());
        put("buffer_seconds", &d.buffer_seconds.to_string());
        put("compression", d.compression.as_str());
        put("delimiter", if d.delimiter { "true" } else { "false" });
        if d.dynamic_partitioning {
            put("dynamic_partitioning", "true");
        }
        if let Some(seconds) = d.retry_seconds {
            put("retry_seconds", &seconds.to_string());
        }
        if let Some(conversion) = &d.conversion {
            put("conversion.table", &conversion.table);
            put("conversion.compression", conversion.compression.as_str());
            if let Some(database) = &conversion.database {
                put("conversion.database", database);
            }
        }
        if let Some(enabled) = d.processing_enabled {
            put("processing_enabled", if enabled { "true" } else { "false" });
        }
        if let Some(enabled) = d.logging_enabled {
            put("logging_enabled", if enabled { "true" } else { "false" });
        }
        if let Some(encryption) = &self.encryption {
            put("sse.key_type", &encryption.key_type);
            if let Some(arn) = &encryption.key_arn {
                put("sse.key_arn", arn);
            }
        }
        for (key, value) in &self.tags {
            let value = value
                .as_ref()
                .map_or_else(|| "-".to_owned(), |v| format!("+{v}"));
            put(&format!("tag:{key}"), &value);
        }
        encode_lines(lines)
    }

    /// Decodes a property value; `None` if it is not one this server can use.
    pub fn decode(name: &str, bytes: &[u8]) -> Option<Self> {
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        let mut tags = BTreeMap::new();
        for (key, value) in decode_lines(bytes)? {
            if let Some(tag) = key.strip_prefix("tag:") {
                let value = value.strip_prefix('+').map(str::to_owned);
                tags.insert(tag.to_owned(), value);
            } else {
                values.insert(key, value);
            }
        }
        let text_of = |key: &str| values.get(key).cloned();
        let flag = |key: &str| values.get(key).map(|v| v == "true");
        let source = match values.get("source")?.as_str() {
            "DirectPut" => Source::DirectPut,
            "KinesisStreamAsSource" => Source::KinesisStream {
                stream: text_of("source.stream")?,
                arn: text_of("source.arn")?,
                role_arn: text_of("source.role_arn").unwrap_or_default(),
            },
            _ => return None,
        };
        let destination = Destination {
            extended: flag("extended").unwrap_or(true),
            role_arn: text_of("role_arn").unwrap_or_default(),
            bucket_arn: text_of("bucket_arn")?,
            prefix: text_of("prefix"),
            error_prefix: text_of("error_prefix"),
            buffer_mib: values.get("buffer_mib")?.parse().ok()?,
            buffer_seconds: values.get("buffer_seconds")?.parse().ok()?,
            compression: Compression::parse(values.get("compression")?)?,
            kms_key: text_of("kms_key"),
            delimiter: flag("delimiter").unwrap_or(false),
            processing_enabled: flag("processing_enabled"),
            file_extension: text_of("file_extension"),
            custom_time_zone: text_of("custom_time_zone"),
            dynamic_partitioning: flag("dynamic_partitioning").unwrap_or(false),
            metadata_query: text_of("metadata_query"),
            retry_seconds: values.get("retry_seconds").and_then(|v| v.parse().ok()),
            conversion: match text_of("conversion.table") {
                Some(table) => Some(Conversion {
                    table,
                    database: text_of("conversion.database"),
                    compression: super::convert::ParquetCompression::parse(
                        values.get("conversion.compression")?,
                    )?,
                }),
                None => None,
            },
            s3_backup_mode: text_of("s3_backup_mode"),
            logging_enabled: flag("logging_enabled"),
            log_group: text_of("log_group"),
            log_stream: text_of("log_stream"),
        };
        let encryption = text_of("sse.key_type").map(|key_type| Encryption {
            key_type,
            key_arn: text_of("sse.key_arn"),
        });
        Some(Self {
            name: name.to_owned(),
            created_ms: values.get("created_ms")?.parse().ok()?,
            updated_ms: values.get("updated_ms").and_then(|v| v.parse().ok()),
            version: values.get("version")?.parse().ok()?,
            source,
            destination,
            encryption,
            tags,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Definition {
        Definition {
            name: "clicks".into(),
            created_ms: 1_700_000_000_000,
            updated_ms: Some(1_700_000_000_500),
            version: 3,
            source: Source::KinesisStream {
                stream: "raw".into(),
                arn: "arn:aws:kinesis:us-east-1:000000000000:stream/raw".into(),
                role_arn: "arn:aws:iam::000000000000:role/r".into(),
            },
            destination: Destination {
                extended: true,
                role_arn: "arn:aws:iam::000000000000:role/r".into(),
                bucket_arn: "arn:aws:s3:::bucket".into(),
                prefix: Some("a\tb\\c\nd/!{timestamp:yyyy}/".into()),
                error_prefix: Some("err/".into()),
                buffer_mib: 1,
                buffer_seconds: 0,
                compression: Compression::Gzip,
                kms_key: None,
                delimiter: true,
                processing_enabled: Some(true),
                file_extension: None,
                custom_time_zone: Some("UTC".into()),
                dynamic_partitioning: true,
                metadata_query: Some("{a: .b}".into()),
                retry_seconds: Some(300),
                conversion: Some(Conversion {
                    table: "t".into(),
                    database: Some("d".into()),
                    compression: super::super::convert::ParquetCompression::Gzip,
                }),
                s3_backup_mode: Some("Disabled".into()),
                logging_enabled: Some(false),
                log_group: None,
                log_stream: None,
            },
            encryption: Some(Encryption {
                key_type: "AWS_OWNED_CMK".into(),
                key_arn: None,
            }),
            tags: [
                ("k=v".to_owned(), None),
                ("team".to_owned(), Some("x\ty".into())),
            ]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn definitions_round_trip_through_their_property() {
        let definition = sample();
        let decoded = Definition::decode("clicks", &definition.encode());
        assert_eq!(decoded, Some(definition));
    }

    proptest::proptest! {
        #[test]
        fn any_text_settings_and_tags_round_trip(
            prefix in "\\PC{0,40}",
            tag_key in "\\PC{1,20}",
            tag_value in proptest::option::of("\\PC{0,20}"),
        ) {
            let mut definition = sample();
            definition.destination.prefix = Some(prefix);
            definition.tags.insert(tag_key, tag_value);
            proptest::prop_assert_eq!(
                Definition::decode("clicks", &definition.encode()),
                Some(definition)
            );
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)
        ) {
            let _ = Definition::decode("x", &bytes);
        }
    }

    #[test]
    fn damaged_definitions_are_refused_not_panicked_on() {
        assert_eq!(Definition::decode("x", b"\xff"), None);
        assert_eq!(Definition::decode("x", b"no tab here\n"), None);
        assert_eq!(Definition::decode("x", b"source\tDirectPut\n"), None);
    }

    #[test]
    fn bucket_arns_name_their_bucket() {
        assert_eq!(bucket_of("arn:aws:s3:::my-bucket"), Some("my-bucket"));
        assert_eq!(bucket_of("arn:aws-cn:s3:::b"), Some("b"));
        assert_eq!(bucket_of("arn:aws:s3:::"), None);
        assert_eq!(bucket_of("arn:aws:s3:::b/key"), None);
        assert_eq!(bucket_of("bucket"), None);
    }
}
