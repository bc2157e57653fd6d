//! Amazon Data Firehose over AWS JSON 1.1: `X-Amz-Target: Firehose_20150804.<Op>`.
//!
//! [`handle`] decodes the body into the operation's input shape, runs the operation's `apply`
//! (one file per operation) and encodes its output. Errors go through [`error`], the one
//! place delivery-stream failures become Firehose exceptions. Shape constraints (lengths,
//! ranges, patterns) are `ValidationException`s with AWS's wording; inconsistent requests
//! are `InvalidArgumentException`s.

pub mod error;

mod create_delivery_stream;
mod delete_delivery_stream;
mod describe_delivery_stream;
mod destination;
mod list_delivery_streams;
mod list_tags_for_delivery_stream;
mod put_record;
mod put_record_batch;
mod start_delivery_stream_encryption;
mod stop_delivery_stream_encryption;
mod tag_delivery_stream;
mod untag_delivery_stream;
mod update_destination;

use protocol::aws::body::Format;
use protocol::aws::firehose::errors as code;
use protocol::aws::firehose::limits::NAME_LENGTH_MAX;

use self::error::{ApiError, from_view};
use crate::api::kinesis::validate::Checks;
use crate::api::{Reply, run};
use crate::views::delivery::{self, DeliveryStreams};

/// The one destination of a delivery stream.
pub const DESTINATION_ID: &str = "destinationId-000000000001";

/// Runs `operation` on `body`.
pub async fn handle(
    delivery: &DeliveryStreams,
    operation: &str,
    format: Format,
    body: &[u8],
) -> Reply {
    let d = delivery;
    let result = match operation {
        "CreateDeliveryStream" => run(format, body, |i| create_delivery_stream::apply(d, i)).await,
        "DeleteDeliveryStream" => run(format, body, |i| delete_delivery_stream::apply(d, i)).await,
        "DescribeDeliveryStream" => {
            run(format, body, |i| describe_delivery_stream::apply(d, i)).await
        }
        "ListDeliveryStreams" => run(format, body, |i| list_delivery_streams::apply(d, i)).await,
        "PutRecord" => run(format, body, |i| put_record::apply(d, i)).await,
        "PutRecordBatch" => run(format, body, |i| put_record_batch::apply(d, i)).await,
        "UpdateDestination" => run(format, body, |i| update_destination::apply(d, i)).await,
        "TagDeliveryStream" => run(format, body, |i| tag_delivery_stream::apply(d, i)).await,
        "UntagDeliveryStream" => run(format, body, |i| untag_delivery_stream::apply(d, i)).await,
        "ListTagsForDeliveryStream" => {
            run(format, body, |i| list_tags_for_delivery_stream::apply(d, i)).await
        }
        "StartDeliveryStreamEncryption" => {
            run(format, body, |i| {
                start_delivery_stream_encryption::apply(d, i)
            })
            .await
        }
        "StopDeliveryStreamEncryption" => {
            run(format, body, |i| {
                stop_delivery_stream_encryption::apply(d, i)
            })
            .await
        }
        other => Err(ApiError::new(
            code::UNKNOWN_OPERATION,
            format!("Operation {other} is not supported by Firehose_20150804."),
        )),
    };
    match result {
        Ok(reply) => reply,
        Err(error) => error.reply(format),
    }
}

/// Runs catalog work (which fsyncs the metadata journal) on the blocking pool.
async fn blocking<T: Send + 'static>(
    delivery: &DeliveryStreams,
    work: impl FnOnce(&DeliveryStreams) -> delivery::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let delivery = delivery.clone();
    match tokio::task::spawn_blocking(move || work(&delivery)).await {
        Ok(result) => result.map_err(from_view),
        Err(error) => Err(from_view(delivery::Error::Internal(error.to_string()))),
    }
}

/// Checks `DeliveryStreamName` (required, 1–64 of `[a-zA-Z0-9_.-]`) and returns it.
fn delivery_stream_name(checks: &mut Checks, name: Option<&str>) -> String {
    match name {
        None => checks.fail("deliveryStreamName", None, "not be null"),
        Some(_) => {
            checks.length("deliveryStreamName", name, 1, NAME_LENGTH_MAX);
            checks.pattern(
                "deliveryStreamName",
                name,
                |text| {
                    text.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
                },
                "[a-zA-Z0-9_.-]+",
            );
        }
    }
    name.unwrap_or_default().to_owned()
}

/// Checks the name alone.
fn name_only(name: Option<&str>) -> Result<String, ApiError> {
    let mut checks = Checks::new();
    let name = delivery_stream_name(&mut checks, name);
    checks.finish()?;
    Ok(name)
}

/// Checks a tag list: 1–50 tags, keys 1–128 characters, values up to 256.
fn check_tags(checks: &mut Checks, field: &str, tags: &[protocol::aws::firehose::Tag]) {
    let count = i64::try_from(tags.len()).unwrap_or(i64::MAX);
    if count > 50 {
        checks.fail(
            field,
            Some(&format!("[{count} tags]")),
            "have length less than or equal to 50",
        );
    }
    for (index, tag) in tags.iter().enumerate() {
        let member = index + 1;
        checks.length(
            &format!("{field}.{member}.member.key"),
            Some(&tag.key),
            1,
            128,
        );
        checks.length(
            &format!("{field}.{member}.member.value"),
            tag.value.as_deref(),
            0,
            256,
        );
    }
}

/// A record's id: the delivery stream's creation time and the record's offset, in hex.
fn record_id(created_ms: i64, offset: u64) -> String {
    format!(
        "{created_ms:016x}{offset:016x}{:016x}",
        offset ^ 0x5f37_59df
    )
}
