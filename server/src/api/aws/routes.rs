//! The front door's route table: which service, protocol and operation a request is for.
//!
//! A request names its service and operation in one of two ways, on the same port:
//! - the AWS JSON protocols (JSON 1.0, JSON 1.1, CBOR 1.1): `X-Amz-Target: <prefix>.<Op>`,
//!   where the prefix names the service (`Kinesis_20131202`, `Firehose_20150804`);
//! - the AWS query protocol: `Action=<Op>` in a form-encoded POST body or a GET query string;
//!   the operation alone does not say which service (SQS and SNS share names), so
//!   [`query_service`] picks it from the SigV4 credential scope's service, else from the
//!   form's `Version`, else from the action's name.
//!
//! Each [`Service`] says how its requests are recognised, how they are signed and which
//! exception name its overload answers carry, so the listener has no per-service branches
//! beyond the call into the service's `handle`.

use protocol::aws::body::Format;

/// One AWS service the front door serves.
#[derive(Debug, PartialEq, Eq)]
pub struct Service {
    /// Which one.
    pub id: ServiceId,
    /// The service in SigV4 credential scopes (`kinesis`, `firehose`, `sqs`, `sns`).
    pub signing_name: &'static str,
    /// `X-Amz-Target` prefix, with its dot, for the JSON protocols; `None` if it has none.
    pub target_prefix: Option<&'static str>,
    /// Whether it takes the query protocol.
    pub query: bool,
    /// The exception name of a 503 answer (the body budget is full), as its SDKs retry it.
    pub unavailable_code: &'static str,
}

/// The services, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceId {
    /// Kinesis Data Streams (and its Channel operations).
    Kinesis,
    /// Data Firehose.
    Firehose,
    /// Simple Queue Service.
    Sqs,
    /// Simple Notification Service.
    Sns,
}

/// Every service the front door serves.
pub const SERVICES: &[Service] = &[
    Service {
        id: ServiceId::Kinesis,
        signing_name: "kinesis",
        target_prefix: Some(protocol::aws::kinesis::TARGET_PREFIX),
        query: false,
        unavailable_code: "ServiceUnavailable",
    },
    Service {
        id: ServiceId::Firehose,
        signing_name: "firehose",
        target_prefix: Some(protocol::aws::firehose::TARGET_PREFIX),
        query: false,
        unavailable_code: protocol::aws::firehose::errors::SERVICE_UNAVAILABLE,
    },
    Service {
        id: ServiceId::Sqs,
        signing_name: "sqs",
        target_prefix: Some(SQS_TARGET_PREFIX),
        query: true,
        unavailable_code: "ServiceUnavailable",
    },
    Service {
        id: ServiceId::Sns,
        signing_name: "sns",
        target_prefix: None,
        query: true,
        unavailable_code: "Throttled",
    },
];

/// SQS's `X-Amz-Target` prefix (AWS JSON 1.0), with its dot.
const SQS_TARGET_PREFIX: &str = "AmazonSQS.";

/// The API version a query-protocol SQS request names.
pub const SQS_VERSION: &str = "2012-11-05";

/// The API version an SNS request names.
pub const SNS_VERSION: &str = "2010-03-31";

/// The service a query-protocol request is for: the one its SigV4 credential scope names
/// (`signing_service`, when the request is signed), else the one whose API `version` it
/// names, else the one whose operations include `action`. `None`: no query service here
/// takes it.
pub fn query_service(
    signing_service: Option<&str>,
    version: Option<&str>,
    action: &str,
) -> Option<&'static Service> {
    let query_services = || SERVICES.iter().filter(|service| service.query);
    if let Some(signing_service) = signing_service {
        return query_services().find(|service| service.signing_name == signing_service);
    }
    let id = match version {
        Some(SQS_VERSION) => Some(ServiceId::Sqs),
        Some(SNS_VERSION) => Some(ServiceId::Sns),
        Some(_) => None,
        // SNS's SubscribeURL and UnsubscribeURL carry no Version.
        None if crate::api::sqs::is_operation(action) => Some(ServiceId::Sqs),
        None => crate::api::sns::is_operation(action).then_some(ServiceId::Sns),
    }?;
    query_services().find(|service| service.id == id)
}

/// The service of a request's SigV4 credential scope, read (not verified) from the
/// `Authorization` header or the presigned `X-Amz-Credential` parameter: the fourth part of
/// `<key>/<date>/<region>/<service>/aws4_request`.
pub fn credential_service<'a>(
    authorization: Option<&'a str>,
    query_string: Option<&'a str>,
) -> Option<String> {
    if let Some(credential) = authorization
        .and_then(|value| value.split_once("Credential="))
        .map(|(_, rest)| rest.split([',', ' ']).next().unwrap_or_default())
    {
        return credential.split('/').nth(3).map(str::to_owned);
    }
    let encoded = query_string?
        .split('&')
        .find_map(|pair| pair.strip_prefix("X-Amz-Credential="))?;
    let decoded = percent_decode(encoded);
    decoded.split('/').nth(3).map(str::to_owned)
}

/// `%XX` decoding of a query parameter (invalid escapes kept as they are).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = (byte == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                index += 3;
            }
            None => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a request is for, as far as its head tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// A JSON-protocol operation of a known service.
    Json {
        /// The service.
        service: &'static Service,
        /// The body format.
        format: Format,
        /// The operation (after the target prefix).
        operation: &'a str,
    },
    /// A query-protocol request: its `Action` is in the body (POST) or the query string.
    Query,
    /// A JSON-protocol request whose target names no service here (or is missing).
    Unknown {
        /// The body format, for the error answer.
        format: Format,
        /// The target, possibly empty.
        target: &'a str,
    },
}

impl Route<'_> {
    /// The service's SigV4 name, when the head already tells the service.
    pub fn signing_name(&self) -> Option<&'static str> {
        match self {
            Self::Json { service, .. } => Some(service.signing_name),
            Self::Query | Self::Unknown { .. } => None,
        }
    }

    /// The format an error answer before the body is read uses.
    pub fn error_format(&self) -> Format {
        match self {
            Self::Json { format, .. } | Self::Unknown { format, .. } => *format,
            Self::Query => Format::Json,
        }
    }
}

/// Recognises a request from its head: the `X-Amz-Target` header, the `Content-Type`, the
/// method and whether the query string carries an `Action`.
pub fn recognise<'a>(
    target: Option<&'a str>,
    content_type: Option<&str>,
    method: &http::Method,
    query_string: Option<&str>,
) -> Route<'a> {
    let format = Format::from_content_type(content_type);
    if let Some(target) = target {
        for service in SERVICES {
            if let Some(operation) = service
                .target_prefix
                .and_then(|prefix| target.strip_prefix(prefix))
            {
                return Route::Json {
                    service,
                    format,
                    operation,
                };
            }
        }
        return Route::Unknown { format, target };
    }
    let form_body =
        content_type.is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    let action_in_query = query_string.is_some_and(|query| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some("Action"))
    });
    if (*method == http::Method::POST && form_body) || action_in_query {
        return Route::Query;
    }
    Route::Unknown { format, target: "" }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::{Format, Route, ServiceId, recognise};

    #[test]
    fn targets_name_their_service_and_operation() {
        let route = recognise(
            Some("Kinesis_20131202.PutRecords"),
            Some("application/x-amz-json-1.1"),
            &Method::POST,
            None,
        );
        let Route::Json {
            service,
            format,
            operation,
        } = route
        else {
            panic!("{route:?}");
        };
        assert_eq!(
            (service.id, format, operation),
            (ServiceId::Kinesis, Format::Json, "PutRecords")
        );
        assert_eq!(route.signing_name(), Some("kinesis"));
        let firehose = recognise(
            Some("Firehose_20150804.PutRecordBatch"),
            Some("application/x-amz-cbor-1.1"),
            &Method::POST,
            None,
        );
        assert!(matches!(
            firehose,
            Route::Json { service, format: Format::Cbor, operation: "PutRecordBatch" }
                if service.id == ServiceId::Firehose
        ));
        let json10 = recognise(
            Some("Kinesis_20131202.ListStreams"),
            Some("application/x-amz-json-1.0"),
            &Method::POST,
            None,
        );
        assert_eq!(json10.error_format(), Format::Json10);
    }

    #[test]
    fn forms_and_actions_are_the_query_protocol_and_anything_else_is_unknown() {
        let form = Some("application/x-www-form-urlencoded; charset=utf-8");
        assert_eq!(recognise(None, form, &Method::POST, None), Route::Query);
        assert_eq!(
            recognise(
                None,
                None,
                &Method::GET,
                Some("Action=ListQueues&Version=2012-11-05")
            ),
            Route::Query
        );
        assert_eq!(
            recognise(None, None, &Method::GET, Some("NotAction=1")),
            Route::Unknown {
                format: Format::Json,
                target: ""
            }
        );
        assert_eq!(
            recognise(Some("Nope_1.Op"), None, &Method::POST, None),
            Route::Unknown {
                format: Format::Json,
                target: "Nope_1.Op"
            }
        );
    }

    #[test]
    fn a_query_request_names_its_service_by_signature_then_version_then_action() {
        use super::{credential_service, query_service};
        let header = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs/aws4_request, \
                      SignedHeaders=host, Signature=00";
        assert_eq!(
            credential_service(Some(header), None).as_deref(),
            Some("sqs")
        );
        assert_eq!(
            credential_service(
                None,
                Some("Action=ListQueues&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fsns%2Faws4_request")
            )
            .as_deref(),
            Some("sns")
        );
        assert_eq!(credential_service(None, Some("Action=ListQueues")), None);
        let sqs = |service: Option<&'static super::Service>| service.map(|s| s.id);
        assert_eq!(
            sqs(query_service(Some("sqs"), None, "Anything")),
            Some(ServiceId::Sqs)
        );
        // Signed for a service that takes no query requests here: none.
        assert_eq!(
            sqs(query_service(Some("kinesis"), None, "ListQueues")),
            None
        );
        assert_eq!(
            sqs(query_service(None, Some("2012-11-05"), "Nope")),
            Some(ServiceId::Sqs)
        );
        // SNS's version names SNS, whatever the action (it answers InvalidAction).
        assert_eq!(
            sqs(query_service(None, Some("2010-03-31"), "ListQueues")),
            Some(ServiceId::Sns)
        );
        assert_eq!(
            sqs(query_service(None, Some("2011-01-01"), "Publish")),
            None
        );
        assert_eq!(
            sqs(query_service(None, None, "SendMessage")),
            Some(ServiceId::Sqs)
        );
        // SubscribeURL and UnsubscribeURL carry no version: the action names SNS.
        assert_eq!(
            sqs(query_service(None, None, "ConfirmSubscription")),
            Some(ServiceId::Sns)
        );
        assert_eq!(sqs(query_service(None, None, "Nope")), None);
    }
}
