//! Firehose shapes: member names as botocore's model spells them (pinned by decoding the
//! JSON a boto3 client sends and encoding what it expects back), and arbitrary bodies never
//! panic a decoder.
#![allow(clippy::unwrap_used, reason = "tests")]

use proptest::prelude::*;
use protocol::aws::body::{Format, decode, encode};
use protocol::aws::firehose::{
    BufferingHints, CreateDeliveryStreamInput, DeliveryStreamNameInput,
    DescribeDeliveryStreamInput, ListDeliveryStreamsInput, ListTagsForDeliveryStreamInput,
    PutRecordBatchInput, PutRecordBatchOutput, PutRecordBatchResponseEntry, PutRecordInput,
    StartDeliveryStreamEncryptionInput, TagDeliveryStreamInput, UntagDeliveryStreamInput,
    UpdateDestinationInput,
};

#[test]
fn create_delivery_stream_members_are_named_as_the_model_names_them() {
    let body = br#"{
        "DeliveryStreamName": "d",
        "DeliveryStreamType": "KinesisStreamAsSource",
        "KinesisStreamSourceConfiguration": {
            "KinesisStreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/s",
            "RoleARN": "arn:aws:iam::000000000000:role/r"
        },
        "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "AWS_OWNED_CMK"},
        "ExtendedS3DestinationConfiguration": {
            "RoleARN": "r", "BucketARN": "arn:aws:s3:::b", "Prefix": "p/",
            "ErrorOutputPrefix": "e/", "CompressionFormat": "GZIP",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
            "EncryptionConfiguration": {"KMSEncryptionConfig": {"AWSKMSKeyARN": "k"}},
            "CloudWatchLoggingOptions": {"Enabled": false},
            "ProcessingConfiguration": {"Enabled": true,
                "Processors": [{"Type": "AppendDelimiterToRecord",
                                "Parameters": [{"ParameterName": "Delimiter",
                                                "ParameterValue": "\\n"}]}]},
            "S3BackupMode": "Disabled", "FileExtension": ".json.gz",
            "CustomTimeZone": "UTC",
            "DynamicPartitioningConfiguration": {"Enabled": false}
        },
        "Tags": [{"Key": "k", "Value": "v"}, {"Key": "bare"}]
    }"#;
    let input: CreateDeliveryStreamInput = decode(Format::Json, body).unwrap();
    assert_eq!(input.delivery_stream_name.as_deref(), Some("d"));
    let source = input.kinesis_stream_source_configuration.unwrap();
    assert!(source.kinesis_stream_arn.unwrap().ends_with("stream/s"));
    assert_eq!(
        input
            .delivery_stream_encryption_configuration_input
            .unwrap()
            .key_type
            .as_deref(),
        Some("AWS_OWNED_CMK")
    );
    let destination = input.extended_s3_destination_configuration.unwrap();
    assert_eq!(
        destination.buffering_hints,
        Some(BufferingHints {
            size_in_mbs: Some(1),
            interval_in_seconds: Some(0)
        })
    );
    assert_eq!(destination.bucket_arn.as_deref(), Some("arn:aws:s3:::b"));
    assert_eq!(
        destination
            .encryption_configuration
            .unwrap()
            .kms_encryption_config
            .unwrap()
            .aws_kms_key_arn,
        "k"
    );
    let processors = destination.processing_configuration.unwrap().processors;
    assert_eq!(processors.unwrap()[0].kind, "AppendDelimiterToRecord");
    assert_eq!(destination.s3_backup_mode.as_deref(), Some("Disabled"));
    assert_eq!(destination.file_extension.as_deref(), Some(".json.gz"));
    assert!(destination.dynamic_partitioning_configuration.is_some());
    let tags = input.tags.unwrap();
    assert_eq!(
        (tags[1].key.as_str(), tags[1].value.as_deref()),
        ("bare", None)
    );
}

#[test]
fn put_record_batch_output_is_encoded_as_boto3_reads_it() {
    let output = PutRecordBatchOutput {
        failed_put_count: 1,
        encrypted: false,
        request_responses: vec![
            PutRecordBatchResponseEntry {
                record_id: Some("id".into()),
                ..PutRecordBatchResponseEntry::default()
            },
            PutRecordBatchResponseEntry {
                error_code: Some("ServiceUnavailableException".into()),
                error_message: Some("m".into()),
                ..PutRecordBatchResponseEntry::default()
            },
        ],
    };
    let json: serde_json::Value = serde_json::from_slice(&encode(Format::Json, &output)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "FailedPutCount": 1,
            "Encrypted": false,
            "RequestResponses": [
                {"RecordId": "id"},
                {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "m"}
            ]
        })
    );
    let input: PutRecordBatchInput = decode(
        Format::Json,
        br#"{"DeliveryStreamName":"d","Records":[{"Data":"aGk="}]}"#,
    )
    .unwrap();
    assert_eq!(&input.records.unwrap()[0].data.0[..], b"hi");
}

fn decode_all(body: &[u8]) {
    let _ = decode::<CreateDeliveryStreamInput>(Format::Json, body);
    let _ = decode::<DeliveryStreamNameInput>(Format::Json, body);
    let _ = decode::<DescribeDeliveryStreamInput>(Format::Json, body);
    let _ = decode::<ListDeliveryStreamsInput>(Format::Json, body);
    let _ = decode::<PutRecordInput>(Format::Json, body);
    let _ = decode::<PutRecordBatchInput>(Format::Json, body);
    let _ = decode::<UpdateDestinationInput>(Format::Json, body);
    let _ = decode::<TagDeliveryStreamInput>(Format::Json, body);
    let _ = decode::<UntagDeliveryStreamInput>(Format::Json, body);
    let _ = decode::<ListTagsForDeliveryStreamInput>(Format::Json, body);
    let _ = decode::<StartDeliveryStreamEncryptionInput>(Format::Json, body);
}

proptest! {
    #[test]
    fn arbitrary_bodies_never_panic_a_decoder(body in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&body);
    }

    #[test]
    fn json_like_bodies_never_panic_a_decoder(
        body in r#"\{("[A-Za-z]{1,24}":(-?[0-9]{1,20}|"[A-Za-z0-9+/=]{0,16}"|\[\]|\{\}|null|true),?){0,6}\}"#
    ) {
        decode_all(body.as_bytes());
    }
}
