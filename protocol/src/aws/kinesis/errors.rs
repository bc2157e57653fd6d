//! The exception names (`__type`) Kinesis answers with, as the SDKs map them to classes.
//!
//! Every Kinesis exception is sent with HTTP status 400 except [`INTERNAL_FAILURE`] (500),
//! which Strata sends only for failures of its own (an I/O error), never for bad input.

/// The named stream, shard or consumer does not exist (or is not ACTIVE for this operation).
pub const RESOURCE_NOT_FOUND: &str = "ResourceNotFoundException";
/// The resource exists already or is not in a state that allows the operation.
pub const RESOURCE_IN_USE: &str = "ResourceInUseException";
/// A parameter is out of range or inconsistent with the stream's state.
pub const INVALID_ARGUMENT: &str = "InvalidArgumentException";
/// A member breaks its shape's constraints (length, range, pattern, required).
pub const VALIDATION: &str = "ValidationException";
/// The body is not valid JSON or CBOR, or a member has the wrong type.
pub const SERIALIZATION: &str = "SerializationException";
/// The shard iterator is older than five minutes.
pub const EXPIRED_ITERATOR: &str = "ExpiredIteratorException";
/// The ListShards/ListStreamConsumers NextToken is older than five minutes.
pub const EXPIRED_NEXT_TOKEN: &str = "ExpiredNextTokenException";
/// The per-shard write limit (1 MiB/s, 1,000 records/s) was exceeded.
pub const PROVISIONED_THROUGHPUT_EXCEEDED: &str = "ProvisionedThroughputExceededException";
/// Too many shards, streams, consumers or concurrent updates.
pub const LIMIT_EXCEEDED: &str = "LimitExceededException";
/// A failure inside the server; retried by the SDKs.
pub const INTERNAL_FAILURE: &str = "InternalFailureException";
/// The server cannot take the request now (its disk is full), with status 503; retried by the
/// SDKs. Not in Kinesis's model, but every SDK retries a 503.
pub const SERVICE_UNAVAILABLE: &str = "ServiceUnavailableException";
/// The `X-Amz-Target` names no Kinesis operation.
pub const UNKNOWN_OPERATION: &str = "UnknownOperationException";
/// The access key is not one the server knows.
pub const UNRECOGNIZED_CLIENT: &str = "UnrecognizedClientException";
/// The request was refused.
pub const ACCESS_DENIED: &str = "AccessDeniedException";
