//! Amazon SNS (`Action=<Operation>&Version=2010-03-31` query forms answered in XML; SNS has no
//! JSON protocol): request and response shapes as botocore's `sns/2010-03-31/service-2.json`
//! defines them, the error table, the documented limits, topic and subscription attributes,
//! delivery policies and their retry schedule, the JSON envelopes SNS delivers and signs, and
//! publish validation.
//!
//! Pure: nothing here does I/O, reads a clock or draws a random number. The server decodes a
//! request with [`Form::decode`](crate::aws::Form::decode) into a shape of [`shapes`] and
//! answers with [`encode_xml`]; an error is an [`errors::Error`].
//!
//! - [`shapes`]: every operation's input and output.
//! - [`errors`]: the table of [`ErrorCode`](errors::ErrorCode)s, each with its query code,
//!   status and fault, and [`Error`](errors::Error), a code with its message.
//! - [`attributes`]: topic names and ARNs, subscription ARNs, topic and subscription
//!   attribute values.
//! - [`limits`]: name, message, attribute, batch and list limits.
//! - [`message`]: message size, subject, message attributes, batch ids and FIFO ids.
//! - [`delivery_policy`]: the HTTP/S `DeliveryPolicy` forms, the effective policy and its
//!   retry schedule.
//! - [`envelope`]: `Notification` and confirmation bodies, the string to sign, and
//!   `MessageStructure=json`.

pub mod attributes;
pub mod delivery_policy;
pub mod envelope;
pub mod errors;
pub mod limits;
pub mod message;
pub mod shapes;

pub use shapes::*;

use bytes::Bytes;
use serde::Serialize;

use crate::aws::xml::{self, XmlError, XmlStyle};

/// The query protocol's `Version`.
pub const API_VERSION: &str = "2010-03-31";
/// The namespace of every query XML response.
pub const XML_NAMESPACE: &str = xml::SNS_NAMESPACE;

macro_rules! operations {
    ($($variant:ident,)*) => {
        /// The 42 operations of the model.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Operation {
            $(#[doc = concat!("`", stringify!($variant), "`.")] $variant,)*
        }

        impl Operation {
            /// Every operation.
            pub const ALL: &'static [Operation] = &[$(Operation::$variant,)*];

            /// The name, as in `Action=`.
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
    CheckIfPhoneNumberIsOptedOut,
    ConfirmSubscription,
    CreatePlatformApplication,
    CreatePlatformEndpoint,
    CreateSMSSandboxPhoneNumber,
    CreateTopic,
    DeleteEndpoint,
    DeletePlatformApplication,
    DeleteSMSSandboxPhoneNumber,
    DeleteTopic,
    GetDataProtectionPolicy,
    GetEndpointAttributes,
    GetPlatformApplicationAttributes,
    GetSMSAttributes,
    GetSMSSandboxAccountStatus,
    GetSubscriptionAttributes,
    GetTopicAttributes,
    ListEndpointsByPlatformApplication,
    ListOriginationNumbers,
    ListPhoneNumbersOptedOut,
    ListPlatformApplications,
    ListSMSSandboxPhoneNumbers,
    ListSubscriptions,
    ListSubscriptionsByTopic,
    ListTagsForResource,
    ListTopics,
    OptInPhoneNumber,
    Publish,
    PublishBatch,
    PutDataProtectionPolicy,
    RemovePermission,
    SetEndpointAttributes,
    SetPlatformApplicationAttributes,
    SetSMSAttributes,
    SetSubscriptionAttributes,
    SetTopicAttributes,
    Subscribe,
    TagResource,
    UntagResource,
    Unsubscribe,
    VerifySMSSandboxPhoneNumber,
}

/// SNS's layout: `<member>` lists and `<entry><key/><value/></entry>` maps. No output member
/// of the model has a `locationName`, so no element is renamed.
const STYLE: XmlStyle = XmlStyle::SNS;

impl Operation {
    /// How this operation's output is laid out in XML (the same for every SNS operation).
    pub fn xml_style(self) -> &'static XmlStyle {
        &STYLE
    }

    /// Whether the operation has an output shape. The others (DeleteTopic, SetTopicAttributes,
    /// …) answer `<{Op}Response><ResponseMetadata>…` with no `<{Op}Result>`; pass `&()` for
    /// them. Operations whose output shape has no members (TagResource, SetSMSAttributes, …)
    /// do have one and answer an empty `<{Op}Result></{Op}Result>`.
    pub fn has_output(self) -> bool {
        !matches!(
            self,
            Self::AddPermission
                | Self::DeleteEndpoint
                | Self::DeletePlatformApplication
                | Self::DeleteTopic
                | Self::PutDataProtectionPolicy
                | Self::RemovePermission
                | Self::SetEndpointAttributes
                | Self::SetPlatformApplicationAttributes
                | Self::SetSubscriptionAttributes
                | Self::SetTopicAttributes
                | Self::Unsubscribe
        )
    }
}

/// Writes an operation's query XML response: `<{Op}Response xmlns="…/2010-03-31/">
/// <{Op}Result>…</{Op}Result><ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
/// </{Op}Response>`. Pass `&()` for an operation without output.
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
