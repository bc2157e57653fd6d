//! ListStreamConsumers: a stream's consumers by name, paged by MaxResults (default 100) and
//! NextToken.
//!
//! NextToken is base64 of `<issued ms>/<last consumer name>/<stream name>`. It expires after
//! five minutes (ExpiredNextTokenException) and must come with the StreamARN of the stream it
//! was issued for.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN;
use protocol::aws::kinesis::{
    ListStreamConsumersInput, ListStreamConsumersOutput, errors as code, limits,
};

use super::consumers::shape;
use super::error::ApiError;
use super::validate::Checks;
use crate::views::streams::Streams;

/// MaxResults when none is given.
const PAGE_DEFAULT: usize = 100;

/// The largest MaxResults.
const PAGE_MAX: i64 = 10_000;

pub async fn apply(
    streams: &Streams,
    input: ListStreamConsumersInput,
) -> Result<ListStreamConsumersOutput, ApiError> {
    let mut checks = Checks::new();
    checks.stream_arn("streamARN", Some(&input.stream_arn));
    checks.range("maxResults", input.max_results, 1, PAGE_MAX);
    checks.length("nextToken", input.next_token.as_deref(), 1, 1_048_576);
    checks.finish()?;
    let name = streams.resolve(None, Some(&input.stream_arn))?;
    let view = streams.describe(&name)?;
    if let Some(created) = input.stream_creation_timestamp
        && created.0.div_euclid(1000) != view.info.created_ms.div_euclid(1000)
    {
        return Err(streams.not_found(&name).into());
    }
    let now = streams.log().now_ms();
    let after = match &input.next_token {
        Some(token) => {
            let invalid = || ApiError::invalid(format!("Invalid NextToken: {token}"));
            let (issued, last, stream) = decode_token(token).ok_or_else(invalid)?;
            if stream != name {
                return Err(invalid());
            }
            if now.saturating_sub(issued) > limits::NEXT_TOKEN_TTL_MS {
                return Err(ApiError::new(
                    code::EXPIRED_NEXT_TOKEN,
                    format!("NextToken issued at {issued} has expired."),
                ));
            }
            Some(last)
        }
        None => None,
    };
    let limit = input
        .max_results
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(PAGE_DEFAULT);
    let all = streams.consumers(&name);
    let mut rest = all
        .iter()
        .filter(|consumer| after.as_ref().is_none_or(|after| consumer.name > *after));
    let page: Vec<_> = rest.by_ref().take(limit).collect();
    let next_token = match (rest.next(), page.last()) {
        (Some(_), Some(last)) => Some(TOKEN.encode(format!("{now}/{}/{name}", last.name))),
        _ => None,
    };
    Ok(ListStreamConsumersOutput {
        consumers: page.into_iter().map(shape).collect(),
        next_token,
    })
}

/// The issue time, last consumer name and stream name of a NextToken.
fn decode_token(token: &str) -> Option<(i64, String, String)> {
    let text = String::from_utf8(TOKEN.decode(token).ok()?).ok()?;
    let mut parts = text.splitn(3, '/');
    let issued = parts.next()?.parse().ok()?;
    let last = parts.next()?.to_owned();
    let stream = parts.next()?.to_owned();
    Some((issued, last, stream))
}
