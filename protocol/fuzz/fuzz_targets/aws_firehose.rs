//! Any Firehose (and Kinesis Channel and queue) request body, in JSON or CBOR: decoding into the
//! operation's input shape answers `Ok` or a `BodyError`, never panics, and a body the
//! decoder accepted decodes the same way again (no hidden state between requests).
//!
//! The first input byte picks the format (low bit) and the operation (the rest, modulo the
//! number of shapes); the remaining bytes are the body. Seeds worth starting from are the
//! bodies boto3 sends, e.g. `{"DeliveryStreamName":"d","Records":[{"Data":"aGk="}]}`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::aws::body::{self, Format};
use protocol::aws::{firehose, kinesis};
use serde::de::DeserializeOwned;

/// Decodes `data` as `T` twice and checks both attempts agree on success.
fn check<T: DeserializeOwned + std::fmt::Debug>(format: Format, data: &[u8]) {
    let first = body::decode::<T>(format, data);
    let second = body::decode::<T>(format, data);
    assert_eq!(first.is_ok(), second.is_ok(), "decoding is not deterministic");
    if let (Ok(first), Ok(second)) = (first, second) {
        assert_eq!(format!("{first:?}"), format!("{second:?}"));
    }
}

/// The input shapes, in a fixed order.
const SHAPES: u8 = 26;

fuzz_target!(|input: &[u8]| {
    let Some((&selector, data)) = input.split_first() else {
        return;
    };
    let format = if selector & 1 == 0 {
        Format::Json
    } else {
        Format::Cbor
    };
    match (selector >> 1) % SHAPES {
        0 => check::<firehose::CreateDeliveryStreamInput>(format, data),
        1 => check::<firehose::DeliveryStreamNameInput>(format, data),
        2 => check::<firehose::DescribeDeliveryStreamInput>(format, data),
        3 => check::<firehose::ListDeliveryStreamsInput>(format, data),
        4 => check::<firehose::PutRecordInput>(format, data),
        5 => check::<firehose::PutRecordBatchInput>(format, data),
        6 => check::<firehose::UpdateDestinationInput>(format, data),
        7 => check::<firehose::TagDeliveryStreamInput>(format, data),
        8 => check::<firehose::UntagDeliveryStreamInput>(format, data),
        9 => check::<firehose::ListTagsForDeliveryStreamInput>(format, data),
        10 => check::<firehose::StartDeliveryStreamEncryptionInput>(format, data),
        11 => check::<firehose::DeliveryStreamEncryptionConfigurationInput>(format, data),
        12 => check::<kinesis::CreateChannelInput>(format, data),
        13 => check::<kinesis::DescribeChannelInput>(format, data),
        14 => check::<kinesis::ListChannelsInput>(format, data),
        15 => check::<kinesis::UpdateChannelInput>(format, data),
        16 => check::<kinesis::DeleteChannelInput>(format, data),
        17 => check::<kinesis::S3DestinationConfiguration>(format, data),
        18 => check::<kinesis::CreateQueueInput>(format, data),
        19 => check::<kinesis::QueueRef>(format, data),
        20 => check::<kinesis::UpdateQueueInput>(format, data),
        21 => check::<kinesis::ListQueuesInput>(format, data),
        22 => check::<kinesis::ReceiveQueueRecordsInput>(format, data),
        23 => check::<kinesis::QueueHandlesInput>(format, data),
        24 => check::<kinesis::UpdateQueueRecordsVisibilityInput>(format, data),
        _ => check::<firehose::S3DestinationConfiguration>(format, data),
    }
});
