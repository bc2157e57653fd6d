//! The front door's route table: which service, protocol and operation a request is for.
//!
//! A request names its service and operation in one of two ways, on the same port:
//! - the AWS JSON protocols (JSON 1.0, JSON 1.1, CBOR 1.1): `X-Amz-Target: <prefix>.<Op>`,
//!   where the prefix names the service (`Kinesis_20131202`, `Firehose_20150804`);
//! - the AWS query protocol: `Action=<Op>` in a form-encoded POST body or a GET query string;
//!   the operation alone does not say which service (SQS and SNS share names), so the SigV4
//!   credential scope's service will pick it once query services are served; today every
//!   action is answered `InvalidAction`.
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
];

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
}
