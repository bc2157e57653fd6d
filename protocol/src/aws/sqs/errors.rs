//! Every error SQS answers with, in both of its protocols, from one table.
//!
//! An SQS error has four names and numbers, and the SDKs look at all of them:
//!
//! | | JSON 1.0 | query / XML |
//! |---|---|---|
//! | name | `__type`: `com.amazonaws.sqs#QueueDoesNotExist` | `<Code>`: `AWS.SimpleQueueService.NonExistentQueue` |
//! | also sent | `x-amzn-query-error: AWS.SimpleQueueService.NonExistentQueue;Sender` | `<Type>Sender</Type>` |
//! | status | 400 | 400 |
//!
//! The modeled errors (the exception shapes of botocore's `sqs/2012-11-05` model) carry their
//! query code and status in the model's `awsQueryError` trait; those without the trait use
//! their shape name and 400. The common errors (AWS's "Common Errors" page: a bad or missing
//! parameter, an unknown action, a refused signature) are not modeled; their JSON `__type` is
//! in the `com.amazon.coral.service#` namespace, and the SDKs resolve them through the
//! `x-amzn-query-error` header, so the query code is what matters.
//!
//! [`ErrorCode`] is the table; [`Error`] is one error with its message, which the validation
//! helpers of this module return and the server writes out unchanged.

use std::fmt;

use bytes::Bytes;

use super::XML_NAMESPACE;
use crate::aws::body::{BodyError, ErrorBody};
use crate::aws::query::QueryError;
use crate::aws::xml::{self, Fault};

macro_rules! error_codes {
    ($(
        $(#[$doc:meta])*
        $variant:ident => (
            $json:expr, $query:literal, $status:literal, $fault:ident, $message:literal $(,)?
        ),
    )*) => {
        /// An SQS error: its names in both protocols, its HTTP status and who is at fault.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every error, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The JSON 1.0 `__type`, e.g. `com.amazonaws.sqs#QueueDoesNotExist`.
            pub fn json_type(self) -> &'static str {
                match self { $(Self::$variant => $json,)* }
            }

            /// The query protocol's `<Code>`, also the first half of `x-amzn-query-error` and
            /// the `Code` of a batch operation's failed entry, e.g.
            /// `AWS.SimpleQueueService.NonExistentQueue`.
            pub fn query_code(self) -> &'static str {
                match self { $(Self::$variant => $query,)* }
            }

            /// The HTTP status.
            pub fn status(self) -> u16 {
                match self { $(Self::$variant => $status,)* }
            }

            /// `Sender` (the request was wrong) or `Receiver` (the server failed).
            pub fn fault(self) -> Fault {
                match self { $(Self::$variant => Fault::$fault,)* }
            }

            /// The message AWS sends when nothing more specific is said.
            pub fn default_message(self) -> &'static str {
                match self { $(Self::$variant => $message,)* }
            }
        }
    };
}

error_codes! {
    // Modeled errors (exception shapes of the model).
    /// Two entries of a batch have the same `Id`.
    BatchEntryIdsNotDistinct => (
        "com.amazonaws.sqs#BatchEntryIdsNotDistinct",
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        400,
        Sender,
        "Two or more batch entries in the request have the same Id.",
    ),
    /// The entries of a batch total more than the batch size limit.
    BatchRequestTooLong => (
        "com.amazonaws.sqs#BatchRequestTooLong",
        "AWS.SimpleQueueService.BatchRequestTooLong",
        400,
        Sender,
        "The length of all the messages put together is more than the limit.",
    ),
    /// A batch has no entry.
    EmptyBatchRequest => (
        "com.amazonaws.sqs#EmptyBatchRequest",
        "AWS.SimpleQueueService.EmptyBatchRequest",
        400,
        Sender,
        "The batch request doesn't contain any entries.",
    ),
    /// The queue URL or an identifier is not valid.
    InvalidAddress => (
        "com.amazonaws.sqs#InvalidAddress",
        "InvalidAddress",
        404,
        Sender,
        "The specified ID is invalid.",
    ),
    /// An attribute name is unknown, or not allowed here.
    InvalidAttributeName => (
        "com.amazonaws.sqs#InvalidAttributeName",
        "InvalidAttributeName",
        400,
        Sender,
        "The specified attribute doesn't exist.",
    ),
    /// An attribute value is out of range or malformed.
    InvalidAttributeValue => (
        "com.amazonaws.sqs#InvalidAttributeValue",
        "InvalidAttributeValue",
        400,
        Sender,
        "A queue attribute value is invalid.",
    ),
    /// A batch entry `Id` breaks its pattern.
    InvalidBatchEntryId => (
        "com.amazonaws.sqs#InvalidBatchEntryId",
        "AWS.SimpleQueueService.InvalidBatchEntryId",
        400,
        Sender,
        "The Id of a batch entry in a batch request doesn't abide by the specification.",
    ),
    /// Deprecated: folded into [`ErrorCode::ReceiptHandleIsInvalid`].
    InvalidIdFormat => (
        "com.amazonaws.sqs#InvalidIdFormat",
        "InvalidIdFormat",
        400,
        Sender,
        "The specified receipt handle isn't valid for the current version.",
    ),
    /// The body holds a character SQS does not allow.
    InvalidMessageContents => (
        "com.amazonaws.sqs#InvalidMessageContents",
        "InvalidMessageContents",
        400,
        Sender,
        "The message contains characters outside the allowed set.",
    ),
    /// The request was not made over HTTPS or did not use SigV4.
    InvalidSecurity => (
        "com.amazonaws.sqs#InvalidSecurity",
        "InvalidSecurity",
        403,
        Sender,
        "The request was not made over HTTPS or did not use SigV4 for signing.",
    ),
    /// KMS refused access to the key.
    KmsAccessDenied => (
        "com.amazonaws.sqs#KmsAccessDenied",
        "KMS.AccessDeniedException",
        400,
        Sender,
        "The caller doesn't have the required KMS access.",
    ),
    /// The KMS key is disabled.
    KmsDisabled => (
        "com.amazonaws.sqs#KmsDisabled",
        "KMS.DisabledException",
        400,
        Sender,
        "The request was denied because the specified key was disabled.",
    ),
    /// The KMS key cannot be used for this.
    KmsInvalidKeyUsage => (
        "com.amazonaws.sqs#KmsInvalidKeyUsage",
        "KMS.InvalidKeyUsageException",
        400,
        Sender,
        "The request was rejected for one of the following reasons: the KeyUsage value of the KMS \
         key is incompatible with the API operation, or the encryption algorithm or signing \
         algorithm specified for the operation is incompatible with the type of key material in \
         the KMS key.",
    ),
    /// The KMS key is not in a usable state.
    KmsInvalidState => (
        "com.amazonaws.sqs#KmsInvalidState",
        "KMS.InvalidStateException",
        400,
        Sender,
        "The request was rejected because the state of the specified resource is not valid for \
         this request.",
    ),
    /// The KMS key does not exist.
    KmsNotFound => (
        "com.amazonaws.sqs#KmsNotFound",
        "KMS.NotFoundException",
        400,
        Sender,
        "The request was rejected because the specified entity or resource could not be found.",
    ),
    /// The account has not opted in to KMS.
    KmsOptInRequired => (
        "com.amazonaws.sqs#KmsOptInRequired",
        "KMS.OptInRequired",
        403,
        Sender,
        "The request was rejected because the specified key requires a subscription for the \
         service.",
    ),
    /// KMS throttled the request.
    KmsThrottled => (
        "com.amazonaws.sqs#KmsThrottled",
        "KMS.ThrottlingException",
        400,
        Sender,
        "The request was denied due to request throttling.",
    ),
    /// ChangeMessageVisibility on a message that is not in flight.
    MessageNotInflight => (
        "com.amazonaws.sqs#MessageNotInflight",
        "AWS.SimpleQueueService.MessageNotInflight",
        400,
        Sender,
        "The specified message isn't in flight.",
    ),
    /// Too many messages in flight, or too many permissions on a queue.
    OverLimit => (
        "com.amazonaws.sqs#OverLimit",
        "OverLimit",
        403,
        Sender,
        "The specified action violates a limit.",
    ),
    /// PurgeQueue within 60 seconds of the previous one.
    PurgeQueueInProgress => (
        "com.amazonaws.sqs#PurgeQueueInProgress",
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        403,
        Sender,
        "Only one PurgeQueue operation on a queue is allowed every 60 seconds.",
    ),
    /// CreateQueue within 60 seconds of deleting a queue of that name.
    QueueDeletedRecently => (
        "com.amazonaws.sqs#QueueDeletedRecently",
        "AWS.SimpleQueueService.QueueDeletedRecently",
        400,
        Sender,
        "You must wait 60 seconds after deleting a queue before you can create another queue with \
         the same name.",
    ),
    /// The queue does not exist.
    QueueDoesNotExist => (
        "com.amazonaws.sqs#QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        400,
        Sender,
        "The specified queue does not exist.",
    ),
    /// A queue of that name exists with other attributes.
    QueueNameExists => (
        "com.amazonaws.sqs#QueueNameExists",
        "QueueAlreadyExists",
        400,
        Sender,
        "A queue already exists with the same name and a different value for attribute(s).",
    ),
    /// The receipt handle is malformed or no longer valid.
    ReceiptHandleIsInvalid => (
        "com.amazonaws.sqs#ReceiptHandleIsInvalid",
        "ReceiptHandleIsInvalid",
        404,
        Sender,
        "The specified receipt handle isn't valid.",
    ),
    /// The request rate is too high.
    RequestThrottled => (
        "com.amazonaws.sqs#RequestThrottled",
        "RequestThrottled",
        403,
        Sender,
        "The request was denied due to request throttling.",
    ),
    /// The message move task (or its source) does not exist.
    ResourceNotFoundException => (
        "com.amazonaws.sqs#ResourceNotFoundException",
        "ResourceNotFoundException",
        404,
        Sender,
        "One or more specified resources don't exist.",
    ),
    /// A batch has more entries than allowed.
    TooManyEntriesInBatchRequest => (
        "com.amazonaws.sqs#TooManyEntriesInBatchRequest",
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        400,
        Sender,
        "The batch request contains more entries than permissible.",
    ),
    /// The action is not supported.
    UnsupportedOperation => (
        "com.amazonaws.sqs#UnsupportedOperation",
        "AWS.SimpleQueueService.UnsupportedOperation",
        400,
        Sender,
        "Error code 400. Unsupported operation.",
    ),

    // Common errors (not modeled).
    /// The request was refused (an action the caller may not take).
    AccessDenied => (
        "com.amazon.coral.service#AccessDeniedException",
        "AccessDenied",
        403,
        Sender,
        "Access to the resource is denied.",
    ),
    /// The signature is incomplete.
    IncompleteSignature => (
        "com.amazon.coral.service#IncompleteSignatureException",
        "IncompleteSignature",
        400,
        Sender,
        "The request signature does not conform to AWS standards.",
    ),
    /// A failure inside the server.
    InternalFailure => (
        "com.amazon.coral.service#InternalFailure",
        "InternalFailure",
        500,
        Receiver,
        "The request processing has failed because of an unknown error, exception or failure.",
    ),
    /// The action (`Action=` or `X-Amz-Target`) names no SQS operation.
    InvalidAction => (
        "com.amazon.coral.service#InvalidActionException",
        "InvalidAction",
        400,
        Sender,
        "The action or operation requested is invalid. Verify that the action is typed correctly.",
    ),
    /// The access key is not one the server knows.
    InvalidClientTokenId => (
        "com.amazon.coral.service#InvalidClientTokenIdException",
        "InvalidClientTokenId",
        403,
        Sender,
        "The security token included in the request is invalid.",
    ),
    /// Parameters that cannot be used together.
    InvalidParameterCombination => (
        "com.amazon.coral.service#InvalidParameterCombinationException",
        "InvalidParameterCombination",
        400,
        Sender,
        "Parameters that must not be used together were used together.",
    ),
    /// A parameter's value is invalid or out of range.
    InvalidParameterValue => (
        "com.amazon.coral.service#InvalidParameterValueException",
        "InvalidParameterValue",
        400,
        Sender,
        "An invalid or out-of-range value was supplied for the input parameter.",
    ),
    /// A query parameter is malformed or unknown.
    InvalidQueryParameter => (
        "com.amazon.coral.service#InvalidQueryParameterException",
        "InvalidQueryParameter",
        400,
        Sender,
        "The AWS query string is malformed or does not adhere to AWS standards.",
    ),
    /// The query string or form cannot be parsed.
    MalformedQueryString => (
        "com.amazon.coral.service#MalformedQueryStringException",
        "MalformedQueryString",
        404,
        Sender,
        "The query string contains a syntax error.",
    ),
    /// The request names no action.
    MissingAction => (
        "com.amazon.coral.service#MissingActionException",
        "MissingAction",
        400,
        Sender,
        "The request is missing an action or a required parameter.",
    ),
    /// The request is not signed.
    MissingAuthenticationToken => (
        "com.amazon.coral.service#MissingAuthenticationTokenException",
        "MissingAuthenticationToken",
        403,
        Sender,
        "The request must contain either a valid (registered) AWS access key ID or X.509 \
         certificate.",
    ),
    /// A required parameter is absent.
    MissingParameter => (
        "com.amazon.coral.service#MissingParameterException",
        "MissingParameter",
        400,
        Sender,
        "A required parameter for the specified action is not supplied.",
    ),
    /// The request is older than the signature allows.
    RequestExpired => (
        "com.amazon.coral.service#RequestExpiredException",
        "RequestExpired",
        400,
        Sender,
        "The request reached the service more than 15 minutes after the date stamp on the request \
         or more than 15 minutes after the request expiration date.",
    ),
    /// The server cannot take the request now (its disk is full); retried by the SDKs.
    ServiceUnavailable => (
        "com.amazon.coral.service#ServiceUnavailableException",
        "ServiceUnavailable",
        503,
        Receiver,
        "The request has failed due to a temporary failure of the server.",
    ),
    /// The signature does not match.
    SignatureDoesNotMatch => (
        "com.amazon.coral.service#SignatureDoesNotMatchException",
        "SignatureDoesNotMatch",
        403,
        Sender,
        "The request signature we calculated does not match the signature you provided.",
    ),
}

impl ErrorCode {
    /// The `x-amzn-query-error` header of a JSON error response: `<query code>;Sender` (or
    /// `;Receiver`). botocore and the JavaScript SDK read the code and fault from it.
    pub fn query_error_header(self) -> String {
        format!("{};{}", self.query_code(), self.fault().as_str())
    }

    /// The error a query `<Code>` or a JSON `__type` names (with or without its namespace).
    pub fn from_name(name: &str) -> Option<Self> {
        let shape = name.rsplit('#').next().unwrap_or(name);
        Self::ALL.iter().copied().find(|code| {
            code.query_code() == name
                || code.json_type() == name
                || code.json_type().rsplit('#').next() == Some(shape)
        })
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.query_code())
    }
}

/// One SQS error: its code and the message the client sees.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    /// Which error.
    pub code: ErrorCode,
    /// The message, worded as AWS words it.
    pub message: String,
}

impl Error {
    /// An error with a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// An error with its [`ErrorCode::default_message`].
    pub fn of(code: ErrorCode) -> Self {
        Self::new(code, code.default_message())
    }

    /// `InvalidParameterValue`: `Value {value} for parameter {parameter} is invalid. Reason:
    /// {reason}.` (AWS's wording; `reason` without its final period).
    pub fn invalid_parameter(parameter: &str, value: &str, reason: &str) -> Self {
        Self::new(
            ErrorCode::InvalidParameterValue,
            format!("Value {value} for parameter {parameter} is invalid. Reason: {reason}."),
        )
    }

    /// `MissingParameter`: `The request must contain the parameter {parameter}.`
    pub fn missing_parameter(parameter: &str) -> Self {
        Self::new(
            ErrorCode::MissingParameter,
            format!("The request must contain the parameter {parameter}."),
        )
    }

    /// `QueueDoesNotExist` with AWS's message.
    pub fn queue_does_not_exist() -> Self {
        Self::of(ErrorCode::QueueDoesNotExist)
    }

    /// `InvalidAction` for an operation name SQS does not have.
    pub fn invalid_action(action: &str) -> Self {
        Self::new(
            ErrorCode::InvalidAction,
            format!("The action {action} is not valid for this endpoint."),
        )
    }

    /// The JSON 1.0 body: `{"__type": "com.amazonaws.sqs#…", "message": "…"}`.
    pub fn json_body(&self) -> ErrorBody {
        ErrorBody {
            kind: self.code.json_type().to_owned(),
            message: self.message.clone(),
        }
    }

    /// The `x-amzn-query-error` header value.
    pub fn query_error_header(&self) -> String {
        self.code.query_error_header()
    }

    /// The query protocol's `<ErrorResponse>`.
    pub fn xml_body(&self, request_id: &str) -> Bytes {
        xml::encode_error(
            XML_NAMESPACE,
            self.code.fault(),
            self.code.query_code(),
            &self.message,
            request_id,
        )
    }

    /// The `Failed` entry of a batch operation for the entry `id`.
    pub fn batch_entry(&self, id: &str) -> super::shapes::BatchResultErrorEntry {
        super::shapes::BatchResultErrorEntry {
            id: id.to_owned(),
            sender_fault: self.code.fault() == Fault::Sender,
            code: self.code.query_code().to_owned(),
            message: Some(self.message.clone()),
        }
    }
}

impl From<QueryError> for Error {
    /// A form that could not be decoded: its code and message as the decoder words them.
    fn from(error: QueryError) -> Self {
        let code = match &error {
            QueryError::MissingParameter { .. } => ErrorCode::MissingParameter,
            QueryError::InvalidParameterValue { .. } => ErrorCode::InvalidParameterValue,
            _ => ErrorCode::MalformedQueryString,
        };
        Self::new(code, error.to_string())
    }
}

impl From<BodyError> for Error {
    /// A JSON body that could not be decoded. SQS reports a missing member as
    /// `MissingParameter` (the query protocol's word, which its JSON protocol keeps) and a
    /// malformed body or member as `InvalidParameterValue`.
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::MissingMember(member) => {
                let mut chars = member.chars();
                let pascal: String = match chars.next() {
                    Some(first) => first.to_uppercase().chain(chars).collect(),
                    None => String::new(),
                };
                Self::missing_parameter(&pascal)
            }
            other => Self::new(ErrorCode::InvalidParameterValue, other.to_string()),
        }
    }
}
