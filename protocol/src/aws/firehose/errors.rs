//! The exception names (`__type`) Firehose answers with. All are sent with HTTP status 400
//! except [`SERVICE_UNAVAILABLE`] (503), which Strata sends only for failures of its own.

/// The named delivery stream does not exist.
pub const RESOURCE_NOT_FOUND: &str = "ResourceNotFoundException";
/// The delivery stream exists already or is not in a state that allows the operation.
pub const RESOURCE_IN_USE: &str = "ResourceInUseException";
/// A parameter is invalid or inconsistent with the delivery stream.
pub const INVALID_ARGUMENT: &str = "InvalidArgumentException";
/// A member breaks its shape's constraints (length, range, pattern).
pub const VALIDATION: &str = "ValidationException";
/// The body is not valid JSON, or a member has the wrong type.
pub const SERIALIZATION: &str = "SerializationException";
/// UpdateDestination named a version that is not the current one.
pub const CONCURRENT_MODIFICATION: &str = "ConcurrentModificationException";
/// Too many delivery streams or tags.
pub const LIMIT_EXCEEDED: &str = "LimitExceededException";
/// A failure inside the server (storage); retried by the SDKs.
pub const SERVICE_UNAVAILABLE: &str = "ServiceUnavailableException";
/// The `X-Amz-Target` names no Firehose operation.
pub const UNKNOWN_OPERATION: &str = "UnknownOperationException";
