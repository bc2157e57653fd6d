//! Amazon SQS (`X-Amz-Target: AmazonSQS.<Operation>` over AWS JSON 1.0, and the older query
//! protocol: `Action=<Operation>` forms answered in XML): request and response shapes as
//! botocore's `sqs/2012-11-05/service-2.json` defines them, the error table, the documented
//! limits, queue attribute parsing, the MD5 digests the SDKs check, and message validation.
//!
//! Pure: nothing here does I/O or keeps state. The server decodes a request with
//! [`crate::aws::body::decode`] or [`Form::decode`](crate::aws::Form::decode) into a shape of
//! [`shapes`], validates it with [`attributes`] and [`message`], and answers with
//! [`crate::aws::body::encode`] or [`encode_xml`]; an error is an [`errors::Error`].
//!
//! - [`shapes`]: every operation's input and output.
//! - [`errors`]: the table of [`ErrorCode`](errors::ErrorCode)s, each with its JSON `__type`,
//!   query code, status and fault, and [`Error`](errors::Error), a code with its message.
//! - [`limits`]: batch, message, attribute and list limits.
//! - [`attributes`]: queue attribute names, ranges, defaults and the validated parse; message
//!   system attribute names; queue names.
//! - [`md5`]: `MD5OfMessageBody`, `MD5OfMessageAttributes`, `MD5OfMessageSystemAttributes`.
//! - [`message`]: body characters, attribute names and types, sizes, batch ids, FIFO ids.

pub mod attributes;
pub mod errors;
pub mod limits;
pub mod md5;
pub mod message;
pub mod shapes;

pub use shapes::*;

use bytes::Bytes;
use serde::Serialize;

use crate::aws::xml::{self, MapStyle, XmlError, XmlStyle};

/// The `X-Amz-Target` prefix of every SQS operation (`AmazonSQS.SendMessage`).
pub const TARGET_PREFIX: &str = "AmazonSQS.";
/// The query protocol's `Version`.
pub const API_VERSION: &str = "2012-11-05";
/// The namespace of every query XML response.
pub const XML_NAMESPACE: &str = xml::SQS_NAMESPACE;

macro_rules! operations {
    ($($variant:ident,)*) => {
        /// The 23 operations of the model.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Operation {
            $(#[doc = concat!("`", stringify!($variant), "`.")] $variant,)*
        }

        impl Operation {
            /// Every operation.
            pub const ALL: &'static [Operation] = &[$(Operation::$variant,)*];

            /// The name, as in `X-Amz-Target` and `Action=`.
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => stringify!($variant),)* }
            }

            /// The operation of a name (case-sensitive, as AWS is).
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $(stringify!($variant) => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

operations! {
    AddPermission,
    CancelMessageMoveTask,
    ChangeMessageVisibility,
    ChangeMessageVisibilityBatch,
    CreateQueue,
    DeleteMessage,
    DeleteMessageBatch,
    DeleteQueue,
    GetQueueAttributes,
    GetQueueUrl,
    ListDeadLetterSourceQueues,
    ListMessageMoveTasks,
    ListQueueTags,
    ListQueues,
    PurgeQueue,
    ReceiveMessage,
    RemovePermission,
    SendMessage,
    SendMessageBatch,
    SetQueueAttributes,
    StartMessageMoveTask,
    TagQueue,
    UntagQueue,
}

/// The `locationName`s every SQS output shares, beyond the common [`XmlStyle::SQS`] table:
/// ListDeadLetterSourceQueues' lowercase `queueUrls` and ListMessageMoveTasks' `Results`.
macro_rules! sqs_names {
    ($($extra:expr),* $(,)?) => {
        &[
            ("Messages", "Message"),
            ("Attributes", "Attribute"),
            ("MessageAttributes", "MessageAttribute"),
            ("QueueUrls", "QueueUrl"),
            ("queueUrls", "QueueUrl"),
            ("Failed", "BatchResultErrorEntry"),
            ("Tags", "Tag"),
            ("StringListValues", "StringListValue"),
            ("BinaryListValues", "BinaryListValue"),
            ("Results", "ListMessageMoveTasksResultEntry"),
            $($extra,)*
        ]
    };
}

const STYLE: XmlStyle = XmlStyle {
    names: sqs_names!(),
    ..XmlStyle::SQS
};
const SEND_MESSAGE_BATCH_STYLE: XmlStyle = XmlStyle {
    names: sqs_names!(("Successful", "SendMessageBatchResultEntry")),
    ..XmlStyle::SQS
};
const DELETE_MESSAGE_BATCH_STYLE: XmlStyle = XmlStyle {
    names: sqs_names!(("Successful", "DeleteMessageBatchResultEntry")),
    ..XmlStyle::SQS
};
const CHANGE_MESSAGE_VISIBILITY_BATCH_STYLE: XmlStyle = XmlStyle {
    names: sqs_names!(("Successful", "ChangeMessageVisibilityBatchResultEntry")),
    ..XmlStyle::SQS
};
const LIST_QUEUE_TAGS_STYLE: XmlStyle = XmlStyle {
    maps: MapStyle {
        flattened: true,
        key: "Key",
        value: "Value",
    },
    names: sqs_names!(),
    ..XmlStyle::SQS
};

impl Operation {
    /// How this operation's output is laid out in XML: flattened lists and maps, with the
    /// model's `locationName`s (a batch's `Successful` is `<{Op}ResultEntry>`, ListQueueTags'
    /// map is `<Tag><Key/><Value/></Tag>`).
    pub fn xml_style(self) -> &'static XmlStyle {
        match self {
            Self::SendMessageBatch => &SEND_MESSAGE_BATCH_STYLE,
            Self::DeleteMessageBatch => &DELETE_MESSAGE_BATCH_STYLE,
            Self::ChangeMessageVisibilityBatch => &CHANGE_MESSAGE_VISIBILITY_BATCH_STYLE,
            Self::ListQueueTags => &LIST_QUEUE_TAGS_STYLE,
            _ => &STYLE,
        }
    }

    /// Whether the operation has an output shape (the others answer `{}` in JSON and no
    /// `<{Op}Result>` in XML).
    pub fn has_output(self) -> bool {
        !matches!(
            self,
            Self::AddPermission
                | Self::ChangeMessageVisibility
                | Self::DeleteMessage
                | Self::DeleteQueue
                | Self::PurgeQueue
                | Self::RemovePermission
                | Self::SetQueueAttributes
                | Self::TagQueue
                | Self::UntagQueue
        )
    }
}

/// Writes an operation's query XML response: `<{Op}Response xmlns="…/2012-11-05/">
/// <{Op}Result>…</{Op}Result><ResponseMetadata>…</ResponseMetadata></{Op}Response>`. Pass `&()`
/// for an operation without output.
pub fn encode_xml<T: Serialize + ?Sized>(
    operation: Operation,
    request_id: &str,
    output: &T,
) -> Result<Bytes, XmlError> {
    xml::encode_response(
        operation.name(),
        XML_NAMESPACE,
        request_id,
        output,
        operation.xml_style(),
    )
}

#[cfg(test)]
mod tests;
