//! StartDeliveryStreamEncryption: records server-side encryption (the key type and key) on a
//! DirectPut delivery stream; it is ENABLED at once. Strata records it, it does not encrypt.

use protocol::aws::firehose::{
    DeliveryStreamEncryptionConfigurationInput, Empty, StartDeliveryStreamEncryptionInput,
};

use super::error::{ApiError, invalid};
use super::{blocking, delivery_stream_name};
use crate::api::kinesis::validate::Checks;
use crate::views::delivery::{DeliveryStreams, Encryption, Error, Source};

/// Checks an encryption configuration: `CUSTOMER_MANAGED_CMK` needs a key ARN,
/// `AWS_OWNED_CMK` takes none.
pub fn encryption(
    input: DeliveryStreamEncryptionConfigurationInput,
) -> Result<Encryption, ApiError> {
    let mut checks = Checks::new();
    let field = "deliveryStreamEncryptionConfigurationInput";
    if input.key_type.is_none() {
        checks.fail(&format!("{field}.keyType"), None, "not be null");
    }
    checks.one_of(
        &format!("{field}.keyType"),
        input.key_type.as_deref(),
        &["AWS_OWNED_CMK", "CUSTOMER_MANAGED_CMK"],
    );
    checks.length(&format!("{field}.keyARN"), input.key_arn.as_deref(), 1, 512);
    checks.finish()?;
    let key_type = input.key_type.unwrap_or_default();
    match (key_type.as_str(), &input.key_arn) {
        ("CUSTOMER_MANAGED_CMK", None) => Err(invalid(
            "KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK.",
        )),
        ("AWS_OWNED_CMK", Some(_)) => Err(invalid(
            "KeyARN must not be given when KeyType is AWS_OWNED_CMK.",
        )),
        _ => Ok(Encryption {
            key_type,
            key_arn: input.key_arn,
        }),
    }
}

/// Runs the operation.
pub async fn apply(
    delivery: &DeliveryStreams,
    input: StartDeliveryStreamEncryptionInput,
) -> Result<Empty, ApiError> {
    let mut checks = Checks::new();
    let name = delivery_stream_name(&mut checks, input.delivery_stream_name.as_deref());
    checks.finish()?;
    let encryption = encryption(
        input
            .delivery_stream_encryption_configuration_input
            .unwrap_or(DeliveryStreamEncryptionConfigurationInput {
                key_arn: None,
                key_type: Some("AWS_OWNED_CMK".into()),
            }),
    )?;
    blocking(delivery, move |delivery| {
        delivery.update(&name, None, |definition| {
            if !matches!(definition.source, Source::DirectPut) {
                return Err(Error::InvalidArgument(format!(
                    "Server-side encryption is not supported for the KinesisStreamAsSource delivery stream {}.",
                    definition.name
                )));
            }
            definition.encryption = Some(encryption);
            Ok(())
        })
    })
    .await?;
    Ok(Empty {})
}
