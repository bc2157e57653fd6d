//! Every error SNS answers with, from one table.
//!
//! SNS speaks only the query protocol, so an error has a `<Code>`, a `<Type>` (`Sender` or
//! `Receiver`) and an HTTP status:
//!
//! ```text
//! HTTP/1.1 404
//! <ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>
//!   <Code>NotFound</Code><Message>Topic does not exist</Message><Detail/></Error>
//!   <RequestId>…</RequestId></ErrorResponse>
//! ```
//!
//! The modeled errors (the exception shapes of botocore's `sns/2010-03-31` model) carry their
//! code, status and fault in the model's `error` trait; the common errors (an unknown action, a
//! malformed form, a refused signature) are not modeled and follow AWS's "Common Errors" page.
//! A missing required parameter is SNS's own `InvalidParameter` ("Invalid parameter:
//! TopicArn"), not the common `MissingParameter`, which is kept for completeness.
//!
//! [`ErrorCode`] is the table; [`Error`] is one error with its message, which the validation
//! helpers of this module return and the server writes out unchanged.

use std::fmt;

use bytes::Bytes;

use super::API_VERSION;
use super::XML_NAMESPACE;
use super::shapes::BatchResultErrorEntry;
use crate::aws::query::QueryError;
use crate::aws::xml::{self, Fault};

macro_rules! error_codes {
    ($(
        $(#[$doc:meta])*
        $variant:ident => ($query:literal, $status:literal, $fault:ident, $message:literal $(,)?),
    )*) => {
        /// An SNS error: its query code, its HTTP status and who is at fault.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every error, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The query protocol's `<Code>`, also the `Code` of a PublishBatch failed entry,
            /// e.g. `NotFound`.
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

            /// The message sent when nothing more specific is said.
            pub fn default_message(self) -> &'static str {
                match self { $(Self::$variant => $message,)* }
            }
        }
    };
}

error_codes! {
    // Modeled errors (exception shapes of the model), in the model's order.
    /// `AuthorizationErrorException`: the caller may not take the action.
    AuthorizationError => ("AuthorizationError", 403, Sender,
        "Indicates that the user has been denied access to the requested resource."),
    /// `BatchEntryIdsNotDistinctException`.
    BatchEntryIdsNotDistinct => ("BatchEntryIdsNotDistinct", 400, Sender,
        "Two or more batch entries in the request have the same Id."),
    /// `BatchRequestTooLongException`.
    BatchRequestTooLong => ("BatchRequestTooLong", 400, Sender,
        "The length of all the batch messages put together is more than the limit."),
    /// `ConcurrentAccessException`.
    ConcurrentAccess => ("ConcurrentAccess", 400, Sender,
        "Can't perform multiple operations on a tag simultaneously. Perform the operations \
         sequentially."),
    /// `EmptyBatchRequestException`.
    EmptyBatchRequest => ("EmptyBatchRequest", 400, Sender,
        "The batch request doesn't contain any entries."),
    /// `EndpointDisabledException`.
    EndpointDisabled => ("EndpointDisabled", 400, Sender, "Endpoint is disabled"),
    /// `FilterPolicyLimitExceededException`: 200 filter policies per topic, 10,000 per account.
    FilterPolicyLimitExceeded => ("FilterPolicyLimitExceeded", 403, Sender,
        "Filter policy limit exceeded"),
    /// `InternalErrorException`.
    InternalError => ("InternalError", 500, Receiver,
        "Indicates an internal service error."),
    /// `InvalidBatchEntryIdException`.
    InvalidBatchEntryId => ("InvalidBatchEntryId", 400, Sender,
        "The Id of a batch entry in a batch request doesn't abide by the specification."),
    /// `InvalidParameterException`: SNS's answer to nearly every bad request.
    InvalidParameter => ("InvalidParameter", 400, Sender, "Invalid parameter"),
    /// `InvalidParameterValueException` (its code is `ParameterValueInvalid`): a message
    /// attribute that breaks the rules.
    ParameterValueInvalid => ("ParameterValueInvalid", 400, Sender,
        "Indicates that a request parameter does not comply with the associated constraints."),
    /// `InvalidSecurityException`: not HTTPS or not SigV4.
    InvalidSecurity => ("InvalidSecurity", 403, Sender,
        "The credential signature isn't valid. You must use an HTTPS endpoint and sign your \
         request using Signature Version 4."),
    /// `InvalidStateException`.
    InvalidState => ("InvalidState", 400, Sender,
        "Indicates that the specified state is not a valid state for an event source."),
    /// `KMSAccessDeniedException`.
    KmsAccessDenied => ("KMSAccessDenied", 400, Sender,
        "The ciphertext references a key that doesn't exist or that you don't have access to."),
    /// `KMSDisabledException`.
    KmsDisabled => ("KMSDisabled", 400, Sender,
        "The request was rejected because the specified Amazon Web Services KMS key isn't \
         enabled."),
    /// `KMSInvalidStateException`.
    KmsInvalidState => ("KMSInvalidState", 400, Sender,
        "The request was rejected because the state of the specified resource isn't valid for \
         this request."),
    /// `KMSNotFoundException`.
    KmsNotFound => ("KMSNotFound", 400, Sender,
        "The request was rejected because the specified entity or resource can't be found."),
    /// `KMSOptInRequired`.
    KmsOptInRequired => ("KMSOptInRequired", 403, Sender,
        "The Amazon Web Services access key ID needs a subscription for the service."),
    /// `KMSThrottlingException`.
    KmsThrottling => ("KMSThrottling", 400, Sender,
        "The request was denied due to request throttling."),
    /// `NotFoundException`: the topic, subscription or endpoint does not exist.
    NotFound => ("NotFound", 404, Sender,
        "Indicates that the requested resource does not exist."),
    /// `OptedOutException`.
    OptedOut => ("OptedOut", 400, Sender,
        "Indicates that the specified phone number opted out of receiving SMS messages from \
         your Amazon Web Services account."),
    /// `PlatformApplicationDisabledException`.
    PlatformApplicationDisabled => ("PlatformApplicationDisabled", 400, Sender,
        "Platform application is disabled"),
    /// `ReplayLimitExceededException`.
    ReplayLimitExceeded => ("ReplayLimitExceeded", 403, Sender,
        "Indicates that the request parameter has exceeded the maximum number of concurrent \
         message replays."),
    /// `ResourceNotFoundException`: the tagged resource (or sandbox number) does not exist.
    ResourceNotFound => ("ResourceNotFound", 404, Sender,
        "Can't perform the action on the specified resource. Make sure that the resource \
         exists."),
    /// `StaleTagException`.
    StaleTag => ("StaleTag", 400, Sender,
        "A tag has been added to a resource with the same ARN as a deleted resource. Wait a \
         short while and then retry the operation."),
    /// `SubscriptionLimitExceededException`.
    SubscriptionLimitExceeded => ("SubscriptionLimitExceeded", 403, Sender,
        "Indicates that the customer already owns the maximum allowed number of \
         subscriptions."),
    /// `TagLimitExceededException`: more than 50 tags.
    TagLimitExceeded => ("TagLimitExceeded", 400, Sender,
        "Could not complete request: tag quota of per resource exceeded"),
    /// `TagPolicyException`.
    TagPolicy => ("TagPolicy", 400, Sender,
        "The request doesn't comply with the IAM tag policy. Correct your request and then \
         retry it."),
    /// `ThrottledException`.
    Throttled => ("Throttled", 429, Sender,
        "Indicates that the rate at which requests have been submitted for this action exceeds \
         the limit for your Amazon Web Services account."),
    /// `TooManyEntriesInBatchRequestException`.
    TooManyEntriesInBatchRequest => ("TooManyEntriesInBatchRequest", 400, Sender,
        "The batch request contains more entries than permissible."),
    /// `TopicLimitExceededException`.
    TopicLimitExceeded => ("TopicLimitExceeded", 403, Sender,
        "Indicates that the customer already owns the maximum allowed number of topics."),
    /// `UserErrorException`.
    UserError => ("UserError", 400, Sender,
        "Indicates that a request parameter does not comply with the associated constraints."),
    /// `ValidationException`.
    ValidationException => ("ValidationException", 400, Sender,
        "Indicates that a parameter in the request is invalid."),
    /// `VerificationException` (no `error` trait in the model: its shape name and 400).
    VerificationException => ("VerificationException", 400, Sender,
        "Indicates that the one-time password (OTP) used for verification is invalid."),

    // Common errors (not modeled).
    /// The request was refused.
    AccessDenied => ("AccessDenied", 403, Sender, "Access to the resource is denied."),
    /// The signature is incomplete.
    IncompleteSignature => ("IncompleteSignature", 400, Sender,
        "The request signature does not conform to AWS standards."),
    /// `Action=` names no SNS operation.
    InvalidAction => ("InvalidAction", 400, Sender,
        "The action or operation requested is invalid. Verify that the action is typed \
         correctly."),
    /// The access key is not one the server knows.
    InvalidClientTokenId => ("InvalidClientTokenId", 403, Sender,
        "The security token included in the request is invalid."),
    /// The form cannot be parsed.
    MalformedQueryString => ("MalformedQueryString", 404, Sender,
        "The query string contains a syntax error."),
    /// The request names no action.
    MissingAction => ("MissingAction", 400, Sender,
        "The request is missing an action or a required parameter."),
    /// The request is not signed.
    MissingAuthenticationToken => ("MissingAuthenticationToken", 403, Sender,
        "The request must contain either a valid (registered) AWS access key ID or X.509 \
         certificate."),
    /// A required parameter is absent (SNS itself answers [`ErrorCode::InvalidParameter`]).
    MissingParameter => ("MissingParameter", 400, Sender,
        "A required parameter for the specified action is not supplied."),
    /// The request is older than the signature allows.
    RequestExpired => ("RequestExpired", 400, Sender,
        "The request reached the service more than 15 minutes after the date stamp on the \
         request or more than 15 minutes after the request expiration date."),
    /// The server cannot take the request now; retried by the SDKs.
    ServiceUnavailable => ("ServiceUnavailable", 503, Receiver,
        "The request has failed due to a temporary failure of the server."),
    /// The signature does not match.
    SignatureDoesNotMatch => ("SignatureDoesNotMatch", 403, Sender,
        "The request signature we calculated does not match the signature you provided."),
}

impl ErrorCode {
    /// The error a query `<Code>` names.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.query_code() == code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.query_code())
    }
}

/// One SNS error: its code and the message the client sees.
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

    /// `InvalidParameter`: `Invalid parameter: {what}` (AWS's form: `Invalid parameter:
    /// TopicArn`, `Invalid parameter: Empty message`).
    pub fn invalid_parameter(what: &str) -> Self {
        Self::new(
            ErrorCode::InvalidParameter,
            format!("Invalid parameter: {what}"),
        )
    }

    /// `InvalidParameter`: `Invalid parameter: {parameter} Reason: {reason}` (AWS's form for
    /// attributes: `Invalid parameter: Attributes Reason: …`).
    pub fn invalid_parameter_reason(parameter: &str, reason: &str) -> Self {
        Self::new(
            ErrorCode::InvalidParameter,
            format!("Invalid parameter: {parameter} Reason: {reason}"),
        )
    }

    /// A required parameter is absent: `InvalidParameter` with `Invalid parameter:
    /// {parameter}`, as SNS answers (Publish without a target: `Invalid parameter: TopicArn or
    /// TargetArn Reason: no value for required parameter`, see [`Error::no_publish_target`]).
    pub fn missing_parameter(parameter: &str) -> Self {
        Self::invalid_parameter(parameter)
    }

    /// Publish with neither `TopicArn`, `TargetArn` nor `PhoneNumber`.
    pub fn no_publish_target() -> Self {
        Self::invalid_parameter_reason("TopicArn or TargetArn", "no value for required parameter")
    }

    /// `ParameterValueInvalid`: a message attribute that breaks the rules.
    pub fn parameter_value_invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ParameterValueInvalid, message)
    }

    /// `NotFound` for a topic: `Topic does not exist`.
    pub fn topic_not_found() -> Self {
        Self::new(ErrorCode::NotFound, "Topic does not exist")
    }

    /// `NotFound` for a subscription: `Subscription does not exist`.
    pub fn subscription_not_found() -> Self {
        Self::new(ErrorCode::NotFound, "Subscription does not exist")
    }

    /// `NotFound` for a platform endpoint: `Endpoint does not exist`.
    pub fn endpoint_not_found() -> Self {
        Self::new(ErrorCode::NotFound, "Endpoint does not exist")
    }

    /// `ResourceNotFound` for a tagged resource.
    pub fn resource_not_found() -> Self {
        Self::new(ErrorCode::ResourceNotFound, "Resource does not exist")
    }

    /// `InvalidAction` for an action SNS does not have: `Could not find operation {action}
    /// for version 2010-03-31`.
    pub fn invalid_action(action: &str) -> Self {
        Self::new(
            ErrorCode::InvalidAction,
            format!("Could not find operation {action} for version {API_VERSION}"),
        )
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

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The `Failed` entry of PublishBatch for the entry `id`.
    pub fn batch_entry(&self, id: &str) -> BatchResultErrorEntry {
        BatchResultErrorEntry {
            id: id.to_owned(),
            code: self.code.query_code().to_owned(),
            message: Some(self.message.clone()),
            sender_fault: self.code.fault() == Fault::Sender,
        }
    }
}

impl From<QueryError> for Error {
    /// A form that could not be decoded. A missing or mistyped member is SNS's
    /// `InvalidParameter`, named by its key; a malformed form is `MalformedQueryString`.
    fn from(error: QueryError) -> Self {
        match &error {
            QueryError::MissingParameter { parameter } => Self::missing_parameter(parameter),
            QueryError::InvalidParameterValue { parameter, .. } => {
                Self::invalid_parameter(parameter)
            }
            _ => Self::new(ErrorCode::MalformedQueryString, error.to_string()),
        }
    }
}
