//! Amazon Data Firehose (`X-Amz-Target: Firehose_20150804.<Operation>`): request and response
//! shapes as botocore's `firehose/2015-08-04/service-2.json` defines them, the exception
//! names, and the documented limits.
//!
//! Only the members Strata acts on or reports are typed; a destination kind Strata does not
//! deliver to (Redshift, OpenSearch, Splunk, HTTP endpoint, Snowflake, Iceberg) is decoded
//! as [`serde::de::IgnoredAny`] so that its presence can be refused by name.
//!
//! - [`shapes`]: every operation's input and output.
//! - [`errors`]: exception names.
//! - [`limits`]: PutRecordBatch and buffering limits.

pub mod errors;
pub mod limits;
pub mod shapes;

pub use shapes::*;

/// The `X-Amz-Target` prefix of every Firehose operation.
pub const TARGET_PREFIX: &str = "Firehose_20150804.";
