//! Mobile push applications and endpoints, SMS settings and the SMS sandbox: stored and
//! listed, never sent to (Strata has no push services or SMS gateway).

use std::collections::BTreeMap;

use protocol::aws::sns::errors::{Error, ErrorCode};
use protocol::aws::sns::shapes::*;

use super::page;
use crate::views::topics::Topics;
use crate::views::topics::platform::{Application, Endpoint as StoredEndpoint};

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidParameter, message.into())
}

/// The platforms SNS knows.
const PLATFORMS: &[&str] = &[
    "ADM",
    "APNS",
    "APNS_SANDBOX",
    "APNS_VOIP",
    "APNS_VOIP_SANDBOX",
    "BAIDU",
    "GCM",
    "MACOS",
    "MACOS_SANDBOX",
    "MPNS",
    "WNS",
];

fn application_arn(topics: &Topics, application: &Application) -> String {
    topics.topic_arn(&format!(
        "app/{}/{}",
        application.platform, application.name
    ))
}

/// The platform and name an application ARN names.
fn application_of(topics: &Topics, arn: &str) -> Result<(String, String), Error> {
    let prefix = topics.topic_arn("app/");
    arn.strip_prefix(&prefix)
        .and_then(|rest| rest.split_once('/'))
        .filter(|(platform, name)| !platform.is_empty() && !name.is_empty())
        .map(|(platform, name)| (platform.to_owned(), name.to_owned()))
        .ok_or_else(|| invalid("Invalid parameter: PlatformApplicationArn"))
}

fn endpoint_arn(topics: &Topics, platform: &str, endpoint: &StoredEndpoint) -> String {
    topics.topic_arn(&format!(
        "endpoint/{platform}/{}/{}",
        endpoint.application, endpoint.id
    ))
}

/// The platform, application and id an endpoint ARN names.
fn endpoint_of(topics: &Topics, arn: &str) -> Result<(String, String, String), Error> {
    let prefix = topics.topic_arn("endpoint/");
    let rest = arn
        .strip_prefix(&prefix)
        .ok_or_else(|| invalid("Invalid parameter: EndpointArn"))?;
    let mut parts = rest.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(platform), Some(application), Some(id))
            if !platform.is_empty() && !application.is_empty() && !id.is_empty() =>
        {
            Ok((platform.to_owned(), application.to_owned(), id.to_owned()))
        }
        _ => Err(invalid("Invalid parameter: EndpointArn")),
    }
}

/// An application's attributes as Get answers them: credentials are never shown.
fn shown(attributes: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    attributes
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "PlatformCredential" | "PlatformPrincipal"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

pub async fn create_platform_application(
    topics: &Topics,
    input: CreatePlatformApplicationInput,
) -> Result<CreatePlatformApplicationResponse, Error> {
    if !PLATFORMS.contains(&input.platform.as_str()) {
        return Err(invalid("Invalid parameter: Platform"));
    }
    let valid_name = !input.name.is_empty()
        && input.name.len() <= 256
        && input
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !valid_name {
        return Err(invalid("Invalid parameter: Name"));
    }
    let application = topics.create_application(&input.name, &input.platform, input.attributes)?;
    Ok(CreatePlatformApplicationResponse {
        platform_application_arn: Some(application_arn(topics, &application)),
    })
}

pub async fn delete_platform_application(
    topics: &Topics,
    input: DeletePlatformApplicationInput,
) -> Result<(), Error> {
    let (platform, name) = application_of(topics, &input.platform_application_arn)?;
    topics.delete_application(&platform, &name)?;
    Ok(())
}

pub async fn get_platform_application_attributes(
    topics: &Topics,
    input: GetPlatformApplicationAttributesInput,
) -> Result<GetPlatformApplicationAttributesResponse, Error> {
    let (platform, name) = application_of(topics, &input.platform_application_arn)?;
    let application = topics.application(&platform, &name)?;
    Ok(GetPlatformApplicationAttributesResponse {
        attributes: shown(&application.attributes),
    })
}

pub async fn set_platform_application_attributes(
    topics: &Topics,
    input: SetPlatformApplicationAttributesInput,
) -> Result<(), Error> {
    let (platform, name) = application_of(topics, &input.platform_application_arn)?;
    topics.set_application_attributes(&platform, &name, input.attributes)?;
    Ok(())
}

pub async fn list_platform_applications(
    topics: &Topics,
    input: ListPlatformApplicationsInput,
) -> Result<ListPlatformApplicationsResponse, Error> {
    let (applications, next_token) = page(
        topics.applications(),
        |application| application_arn(topics, application),
        input.next_token.as_deref(),
    )?;
    Ok(ListPlatformApplicationsResponse {
        platform_applications: applications
            .iter()
            .map(|application| PlatformApplication {
                platform_application_arn: Some(application_arn(topics, application)),
                attributes: shown(&application.attributes),
            })
            .collect(),
        next_token,
    })
}

pub async fn create_platform_endpoint(
    topics: &Topics,
    input: CreatePlatformEndpointInput,
) -> Result<CreateEndpointResponse, Error> {
    let (platform, name) = application_of(topics, &input.platform_application_arn)?;
    topics.application(&platform, &name)?;
    if input.token.is_empty() {
        return Err(invalid("Invalid parameter: Token"));
    }
    let mut attributes = input.attributes;
    attributes.insert("Token".into(), input.token);
    attributes
        .entry("Enabled".into())
        .or_insert_with(|| "true".into());
    if let Some(data) = input.custom_user_data {
        attributes.insert("CustomUserData".into(), data);
    }
    let endpoint = topics.create_endpoint(&name, attributes)?;
    Ok(CreateEndpointResponse {
        endpoint_arn: Some(endpoint_arn(topics, &platform, &endpoint)),
    })
}

pub async fn delete_endpoint(topics: &Topics, input: DeleteEndpointInput) -> Result<(), Error> {
    let (_, application, id) = endpoint_of(topics, &input.endpoint_arn)?;
    topics.delete_endpoint(&application, &id)?;
    Ok(())
}

pub async fn get_endpoint_attributes(
    topics: &Topics,
    input: GetEndpointAttributesInput,
) -> Result<GetEndpointAttributesResponse, Error> {
    let (_, application, id) = endpoint_of(topics, &input.endpoint_arn)?;
    Ok(GetEndpointAttributesResponse {
        attributes: topics.endpoint(&application, &id)?.attributes,
    })
}

pub async fn set_endpoint_attributes(
    topics: &Topics,
    input: SetEndpointAttributesInput,
) -> Result<(), Error> {
    let (_, application, id) = endpoint_of(topics, &input.endpoint_arn)?;
    topics.set_endpoint_attributes(&application, &id, input.attributes)?;
    Ok(())
}

pub async fn list_endpoints_by_platform_application(
    topics: &Topics,
    input: ListEndpointsByPlatformApplicationInput,
) -> Result<ListEndpointsByPlatformApplicationResponse, Error> {
    let (platform, name) = application_of(topics, &input.platform_application_arn)?;
    topics.application(&platform, &name)?;
    let (endpoints, next_token) = page(
        topics.endpoints(&name),
        |endpoint| endpoint.id.clone(),
        input.next_token.as_deref(),
    )?;
    Ok(ListEndpointsByPlatformApplicationResponse {
        endpoints: endpoints
            .iter()
            .map(|endpoint| Endpoint {
                endpoint_arn: Some(endpoint_arn(topics, &platform, endpoint)),
                attributes: endpoint.attributes.clone(),
            })
            .collect(),
        next_token,
    })
}

pub async fn get_sms_attributes(
    topics: &Topics,
    input: GetSmsAttributesInput,
) -> Result<GetSmsAttributesResponse, Error> {
    let mut attributes = topics.sms_attributes();
    if !input.attributes.is_empty() {
        attributes.retain(|key, _| input.attributes.contains(key));
    }
    Ok(GetSmsAttributesResponse { attributes })
}

pub async fn set_sms_attributes(
    topics: &Topics,
    input: SetSmsAttributesInput,
) -> Result<SetSmsAttributesResponse, Error> {
    topics.set_sms_attributes(input.attributes)?;
    Ok(SetSmsAttributesResponse {})
}

fn check_phone_number(number: &str) -> Result<(), Error> {
    let digits = number.strip_prefix('+').unwrap_or(number);
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("Invalid parameter: PhoneNumber"));
    }
    Ok(())
}

pub async fn check_if_phone_number_is_opted_out(
    topics: &Topics,
    input: CheckIfPhoneNumberIsOptedOutInput,
) -> Result<CheckIfPhoneNumberIsOptedOutResponse, Error> {
    check_phone_number(&input.phone_number)?;
    Ok(CheckIfPhoneNumberIsOptedOutResponse {
        is_opted_out: Some(topics.opted_out().contains(&input.phone_number)),
    })
}

pub async fn list_phone_numbers_opted_out(
    topics: &Topics,
    input: ListPhoneNumbersOptedOutInput,
) -> Result<ListPhoneNumbersOptedOutResponse, Error> {
    let (phone_numbers, next_token) = page(
        topics.opted_out(),
        Clone::clone,
        input.next_token.as_deref(),
    )?;
    Ok(ListPhoneNumbersOptedOutResponse {
        phone_numbers,
        next_token,
    })
}

pub async fn opt_in_phone_number(
    topics: &Topics,
    input: OptInPhoneNumberInput,
) -> Result<OptInPhoneNumberResponse, Error> {
    check_phone_number(&input.phone_number)?;
    topics.opt_in(&input.phone_number)?;
    Ok(OptInPhoneNumberResponse {})
}

/// The SMS sandbox: Strata's account is never in it, so there is nothing to verify.
fn not_in_sandbox() -> Error {
    Error::new(
        ErrorCode::InvalidParameter,
        "Invalid parameter: PhoneNumber Reason: this account is not in the SMS sandbox (Strata sends no SMS)".to_owned(),
    )
}

pub async fn create_sms_sandbox_phone_number(
    _topics: &Topics,
    input: CreateSmsSandboxPhoneNumberInput,
) -> Result<CreateSmsSandboxPhoneNumberResult, Error> {
    check_phone_number(&input.phone_number)?;
    Err(not_in_sandbox())
}

pub async fn delete_sms_sandbox_phone_number(
    _topics: &Topics,
    input: DeleteSmsSandboxPhoneNumberInput,
) -> Result<DeleteSmsSandboxPhoneNumberResult, Error> {
    check_phone_number(&input.phone_number)?;
    Err(Error::new(
        ErrorCode::ResourceNotFound,
        "Phone number not found in the SMS sandbox".to_owned(),
    ))
}

pub async fn verify_sms_sandbox_phone_number(
    _topics: &Topics,
    input: VerifySmsSandboxPhoneNumberInput,
) -> Result<VerifySmsSandboxPhoneNumberResult, Error> {
    check_phone_number(&input.phone_number)?;
    Err(Error::new(
        ErrorCode::ResourceNotFound,
        "Phone number not found in the SMS sandbox".to_owned(),
    ))
}

pub async fn get_sms_sandbox_account_status(
    _topics: &Topics,
    _input: GetSmsSandboxAccountStatusInput,
) -> Result<GetSmsSandboxAccountStatusResult, Error> {
    Ok(GetSmsSandboxAccountStatusResult {
        is_in_sandbox: false,
    })
}

pub async fn list_sms_sandbox_phone_numbers(
    _topics: &Topics,
    _input: ListSmsSandboxPhoneNumbersInput,
) -> Result<ListSmsSandboxPhoneNumbersResult, Error> {
    Ok(ListSmsSandboxPhoneNumbersResult::default())
}

pub async fn list_origination_numbers(
    _topics: &Topics,
    _input: ListOriginationNumbersRequest,
) -> Result<ListOriginationNumbersResult, Error> {
    Ok(ListOriginationNumbersResult::default())
}
