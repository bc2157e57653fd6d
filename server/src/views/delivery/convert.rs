//! Record format conversion: JSON records → one Parquet file per buffer.
//!
//! Firehose reads the schema from an AWS Glue table; Strata has no Glue, so the schema comes
//! from the server's configuration (`[delivery.schemas.<TableName>]`, column name → type),
//! keyed by the destination's `SchemaConfiguration.TableName`. Columns are written in name
//! order. A record fits the schema when it is a JSON object whose members named like columns
//! have the column's type (a missing or `null` member is a null value; other members are
//! ignored, as Hive's JSON reader does). Records that do not fit are not converted: they go
//! to the error output as `format-conversion-failed`.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema as ArrowSchema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel};
use parquet::file::properties::WriterProperties;
use serde_json::Value;

/// A column's type, by its Glue/Hive name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// `string`: UTF-8 text (JSON strings, and numbers or booleans as written).
    String,
    /// `int`: 32-bit integer.
    Int,
    /// `bigint`: 64-bit integer.
    Bigint,
    /// `double`: 64-bit float.
    Double,
    /// `boolean`.
    Boolean,
    /// `timestamp`: milliseconds since the epoch (UTC), from an integer or from text such as
    /// `2024-05-01 12:00:00`, `2024-05-01T12:00:00.250Z` or `2024-05-01T14:00:00+02:00`.
    Timestamp,
}

impl ColumnType {
    /// Parses a type name (`string`, `int`, `bigint`, `double`, `boolean`, `timestamp`).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "string" => Self::String,
            "int" => Self::Int,
            "bigint" => Self::Bigint,
            "double" => Self::Double,
            "boolean" => Self::Boolean,
            "timestamp" => Self::Timestamp,
            _ => return None,
        })
    }
}

/// A table's columns, in name order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Schema {
    /// Column name → type.
    pub columns: Vec<(String, ColumnType)>,
}

/// ParquetSerDe's `Compression`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ParquetCompression {
    /// `SNAPPY`, Firehose's default.
    #[default]
    Snappy,
    /// `GZIP`.
    Gzip,
    /// `UNCOMPRESSED`.
    Uncompressed,
}

impl ParquetCompression {
    /// Parses the wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "SNAPPY" => Self::Snappy,
            "GZIP" => Self::Gzip,
            "UNCOMPRESSED" => Self::Uncompressed,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Snappy => "SNAPPY",
            Self::Gzip => "GZIP",
            Self::Uncompressed => "UNCOMPRESSED",
        }
    }
}

/// One converted value.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Null,
    Text(String),
    Integer(i64),
    Float(f64),
    Flag(bool),
}

fn cell(kind: ColumnType, value: Option<&Value>) -> Result<Cell, &'static str> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(Cell::Null);
    };
    match kind {
        ColumnType::String => match value {
            Value::String(text) => Ok(Cell::Text(text.clone())),
            Value::Number(number) => Ok(Cell::Text(number.to_string())),
            Value::Bool(flag) => Ok(Cell::Text(flag.to_string())),
            _ => Err("is not a string"),
        },
        ColumnType::Int => value
            .as_i64()
            .filter(|v| i32::try_from(*v).is_ok())
            .map(Cell::Integer)
            .ok_or("is not an int (32-bit integer)"),
        ColumnType::Bigint => value
            .as_i64()
            .map(Cell::Integer)
            .ok_or("is not a bigint (64-bit integer)"),
        ColumnType::Double => value.as_f64().map(Cell::Float).ok_or("is not a number"),
        ColumnType::Boolean => value.as_bool().map(Cell::Flag).ok_or("is not a boolean"),
        ColumnType::Timestamp => match value {
            Value::Number(number) => number
                .as_i64()
                .map(Cell::Integer)
                .ok_or("is not a timestamp (integer milliseconds)"),
            Value::String(text) => parse_timestamp(text)
                .map(Cell::Integer)
                .ok_or("is not a timestamp"),
            _ => Err("is not a timestamp"),
        },
    }
}

fn parse_timestamp(text: &str) -> Option<i64> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp_millis());
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(text, format).ok())
        .map(|time| time.and_utc().timestamp_millis())
}

impl Schema {
    /// The record's row, or why it does not fit.
    fn row(&self, data: &[u8]) -> Result<Vec<Cell>, String> {
        let value: Value = serde_json::from_slice(data)
            .map_err(|error| format!("The record is not valid JSON: {error}"))?;
        let Value::Object(object) = value else {
            return Err("The record is not a JSON object.".to_owned());
        };
        self.columns
            .iter()
            .map(|(name, kind)| {
                cell(*kind, object.get(name))
                    .map_err(|reason| format!("The value of column {name} {reason}."))
            })
            .collect()
    }

    /// Whether the record fits (why not, if it does not).
    pub fn check(&self, data: &[u8]) -> Result<(), String> {
        self.row(data).map(|_| ())
    }

    fn arrow(&self) -> ArrowSchema {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|(name, kind)| {
                let data_type = match kind {
                    ColumnType::String => DataType::Utf8,
                    ColumnType::Int => DataType::Int32,
                    ColumnType::Bigint => DataType::Int64,
                    ColumnType::Double => DataType::Float64,
                    ColumnType::Boolean => DataType::Boolean,
                    ColumnType::Timestamp => {
                        DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
                    }
                };
                Field::new(name, data_type, true)
            })
            .collect();
        ArrowSchema::new(fields)
    }

    /// One Parquet file holding `records` (each must fit: check first), in order.
    pub fn to_parquet<'a>(
        &self,
        records: impl IntoIterator<Item = &'a [u8]>,
        compression: ParquetCompression,
    ) -> Result<Vec<u8>, String> {
        let rows: Vec<Vec<Cell>> = records
            .into_iter()
            .map(|data| self.row(data))
            .collect::<Result<_, _>>()?;
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for (index, (_, kind)) in self.columns.iter().enumerate() {
            let cells = rows.iter().map(|row| row.get(index).unwrap_or(&Cell::Null));
            columns.push(column(*kind, cells));
        }
        let schema = Arc::new(self.arrow());
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())?;
        let properties = WriterProperties::builder()
            .set_compression(match compression {
                ParquetCompression::Snappy => Compression::SNAPPY,
                ParquetCompression::Gzip => Compression::GZIP(GzipLevel::default()),
                ParquetCompression::Uncompressed => Compression::UNCOMPRESSED,
            })
            .build();
        let mut out = Vec::new();
        let mut writer =
            ArrowWriter::try_new(&mut out, schema, Some(properties)).map_err(|e| e.to_string())?;
        writer.write(&batch).map_err(|e| e.to_string())?;
        writer.close().map_err(|e| e.to_string())?;
        Ok(out)
    }
}

fn column<'a>(kind: ColumnType, cells: impl Iterator<Item = &'a Cell>) -> ArrayRef {
    match kind {
        ColumnType::String => {
            let mut builder = StringBuilder::new();
            for cell in cells {
                match cell {
                    Cell::Text(text) => builder.append_value(text),
                    _ => builder.append_null(),
                }
            }
            Arc::new(builder.finish())
        }
        ColumnType::Int => {
            let mut builder = Int32Builder::new();
            for cell in cells {
                match cell {
                    Cell::Integer(v) => builder.append_option(i32::try_from(*v).ok()),
                    _ => builder.append_null(),
                }
            }
            Arc::new(builder.finish())
        }
        ColumnType::Bigint => {
            let mut builder = Int64Builder::new();
            for cell in cells {
                match cell {
                    Cell::Integer(v) => builder.append_value(*v),
                    _ => builder.append_null(),
                }
            }
            Arc::new(builder.finish())
        }
        ColumnType::Double => {
            let mut builder = Float64Builder::new();
            for cell in cells {
                match cell {
                    Cell::Float(v) => builder.append_value(*v),
                    _ => builder.append_null(),
                }
            }
            Arc::new(builder.finish())
        }
        ColumnType::Boolean => {
            let mut builder = BooleanBuilder::new();
            for cell in cells {
                match cell {
                    Cell::Flag(v) => builder.append_value(*v),
                    _ => builder.append_null(),
                }
            }
            Arc::new(builder.finish())
        }
        ColumnType::Timestamp => {
            let mut builder = TimestampMillisecondBuilder::new().with_timezone("UTC");
            for cell in cells {
                match cell {
                    Cell::Integer(v) => builder.append_value(*v),
                    _ => builder.append_null(),
                }
            }
            Arc::new(builder.finish())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use arrow_array::Array as _;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMillisecondType};
    use bytes::Bytes;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    fn schema() -> Schema {
        Schema {
            columns: vec![
                ("at".into(), ColumnType::Timestamp),
                ("big".into(), ColumnType::Bigint),
                ("n".into(), ColumnType::Int),
                ("name".into(), ColumnType::String),
                ("ok".into(), ColumnType::Boolean),
                ("score".into(), ColumnType::Double),
            ],
        }
    }

    #[test]
    fn json_records_become_parquet_columns_with_their_values() {
        let records: [&[u8]; 2] = [
            br#"{"at":"2024-05-01 12:00:00","big":5000000000,"n":7,"name":"a","ok":true,"score":1.5,"extra":1}"#,
            br#"{"at":1714564800250,"n":null,"name":3}"#,
        ];
        for compression in [
            ParquetCompression::Snappy,
            ParquetCompression::Gzip,
            ParquetCompression::Uncompressed,
        ] {
            let file = schema().to_parquet(records, compression).unwrap();
            let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(file))
                .unwrap()
                .build()
                .unwrap();
            let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
            assert_eq!(batches.len(), 1);
            let batch = &batches[0];
            assert_eq!(batch.num_rows(), 2);
            let at = batch.column(0).as_primitive::<TimestampMillisecondType>();
            assert_eq!(at.value(0), 1_714_564_800_000);
            assert_eq!(at.value(1), 1_714_564_800_250);
            let big = batch.column(1).as_primitive::<Int64Type>();
            assert_eq!(big.value(0), 5_000_000_000);
            assert!(big.is_null(1));
            let n = batch.column(2).as_primitive::<Int32Type>();
            assert_eq!(n.value(0), 7);
            assert!(n.is_null(1));
            let name = batch.column(3).as_string::<i32>();
            assert_eq!((name.value(0), name.value(1)), ("a", "3"));
            let ok = batch.column(4).as_boolean();
            assert!(ok.value(0) && ok.is_null(1));
            let score = batch.column(5).as_primitive::<Float64Type>();
            assert!((score.value(0) - 1.5).abs() < f64::EPSILON);
        }
    }

    #[test]
    fn records_that_do_not_fit_the_schema_are_named_with_the_reason() {
        let schema = schema();
        assert!(
            schema
                .check(b"not json")
                .unwrap_err()
                .contains("not valid JSON")
        );
        assert!(
            schema
                .check(b"[1]")
                .unwrap_err()
                .contains("not a JSON object")
        );
        assert!(
            schema
                .check(br#"{"n": 5000000000}"#)
                .unwrap_err()
                .contains("column n")
        );
        assert!(
            schema
                .check(br#"{"ok": "yes"}"#)
                .unwrap_err()
                .contains("column ok")
        );
        assert!(
            schema
                .check(br#"{"at": "yesterday"}"#)
                .unwrap_err()
                .contains("column at")
        );
        assert!(schema.check(br#"{"name": {"a": 1}}"#).is_err());
        assert!(schema.check(b"{}").is_ok());
        assert!(
            schema
                .to_parquet([b"x".as_slice()], ParquetCompression::Snappy)
                .is_err()
        );
    }

    #[test]
    fn type_and_compression_names_parse() {
        assert_eq!(ColumnType::parse("BIGINT"), Some(ColumnType::Bigint));
        assert_eq!(ColumnType::parse("varchar"), None);
        for name in ["SNAPPY", "GZIP", "UNCOMPRESSED"] {
            assert_eq!(ParquetCompression::parse(name).unwrap().as_str(), name);
        }
        assert_eq!(ParquetCompression::parse("LZO"), None);
    }
}
