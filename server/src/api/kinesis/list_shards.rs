//! ListShards: shards in id order, paged by MaxResults and NextToken (which stands for the
//! stream and the position, so it must come without StreamName, StreamARN,
//! ExclusiveStartShardId or StreamCreationTimestamp), filtered by ShardFilter.
//!
//! NextToken is base64 of `<issued ms>/<last shard id>/<stream name>` and expires after five
//! minutes (ExpiredNextTokenException), as on AWS.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN;
use protocol::aws::kinesis::{ListShardsInput, ListShardsOutput, limits};
use storage::{ShardInfo, StreamInfo};

use super::error::ApiError;
use super::validate::Checks;
use super::{shard_shape, stream_name};
use crate::views::streams::{Streams, sequence};

/// MaxResults when none is given.
const PAGE_DEFAULT: usize = 1000;

const FILTERS: &[&str] = &[
    "AFTER_SHARD_ID",
    "AT_TRIM_HORIZON",
    "FROM_TRIM_HORIZON",
    "AT_LATEST",
    "AT_TIMESTAMP",
    "FROM_TIMESTAMP",
];

pub async fn apply(
    streams: &Streams,
    input: ListShardsInput,
) -> Result<ListShardsOutput, ApiError> {
    let mut checks = Checks::new();
    checks.range(
        "maxResults",
        input.max_results,
        1,
        i64::from(limits::SHARDS_PAGE_MAX),
    );
    checks.shard_id(
        "exclusiveStartShardId",
        input.exclusive_start_shard_id.as_deref(),
    );
    checks.length("nextToken", input.next_token.as_deref(), 1, 1_048_576);
    checks.one_of(
        "shardFilter.type",
        input.shard_filter.as_ref().map(|f| f.kind.as_str()),
        FILTERS,
    );
    checks.finish()?;
    let now = streams.log().now_ms();
    let (name, after) = match &input.next_token {
        Some(token) => {
            // NextToken stands for the stream and the position: AWS refuses it beside any
            // member that names either.
            if input.stream.stream_name.is_some() || input.stream.stream_arn.is_some() {
                return Err(ApiError::invalid(
                    "NextToken and StreamName cannot be provided together.",
                ));
            }
            if input.exclusive_start_shard_id.is_some() {
                return Err(ApiError::invalid(
                    "NextToken and ExclusiveStartShardId cannot be provided together.",
                ));
            }
            if input.stream_creation_timestamp.is_some() {
                return Err(ApiError::invalid(
                    "NextToken and StreamCreationTimestamp cannot be provided together.",
                ));
            }
            let (issued, last, name) = decode_token(token).ok_or_else(|| {
                ApiError::invalid(format!("Invalid ShardId in NextToken: {token}"))
            })?;
            if now.saturating_sub(issued) > limits::NEXT_TOKEN_TTL_MS {
                return Err(crate::views::streams::Error::NextTokenExpired(format!(
                    "NextToken issued at {issued} has expired; NextTokens are valid for {} ms.",
                    limits::NEXT_TOKEN_TTL_MS
                ))
                .into());
            }
            (name, Some(last))
        }
        None => {
            let name = stream_name(streams, &input.stream)?;
            let after = input
                .exclusive_start_shard_id
                .as_deref()
                .map(|id| sequence::parse_shard_name(id).map_or(i64::MAX, i64::from));
            (name, after)
        }
    };
    let view = streams.describe(&name)?;
    if let Some(created) = input.stream_creation_timestamp
        && created.0 / 1000 != view.info.created_ms / 1000
    {
        return Err(streams.not_found(&name).into());
    }
    let filter = match &input.shard_filter {
        Some(filter) => Some(Filter::parse(filter)?),
        None => None,
    };
    let limit = input
        .max_results
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(PAGE_DEFAULT);
    let mut shards = view
        .info
        .shards
        .iter()
        .filter(|shard| after.is_none_or(|after| i64::from(shard.id) > after))
        .filter(|shard| {
            filter
                .as_ref()
                .is_none_or(|f| f.keeps(streams, &view.info, shard))
        });
    let page: Vec<&ShardInfo> = shards.by_ref().take(limit).collect();
    let next_token = match (shards.next(), page.last()) {
        (Some(_), Some(last)) => Some(TOKEN.encode(format!("{now}/{}/{name}", last.id))),
        _ => None,
    };
    Ok(ListShardsOutput {
        shards: page.into_iter().map(shard_shape).collect(),
        next_token,
    })
}

fn decode_token(token: &str) -> Option<(i64, i64, String)> {
    let text = String::from_utf8(TOKEN.decode(token).ok()?).ok()?;
    let mut parts = text.splitn(3, '/');
    let issued = parts.next()?.parse().ok()?;
    let last = parts.next()?.parse().ok()?;
    let name = parts.next()?.to_owned();
    Some((issued, last, name))
}

enum Filter {
    AfterShard(u32),
    AtTrimHorizon,
    FromTrimHorizon,
    AtLatest,
    AtTimestamp(i64),
    FromTimestamp(i64),
}

impl Filter {
    fn parse(filter: &protocol::aws::kinesis::ShardFilter) -> Result<Self, ApiError> {
        let timestamp = || {
            filter.timestamp.map(|t| t.0).ok_or_else(|| {
                ApiError::invalid(format!(
                    "Timestamp must be provided for ShardFilter type {}",
                    filter.kind
                ))
            })
        };
        Ok(match filter.kind.as_str() {
            "AFTER_SHARD_ID" => {
                let id = filter.shard_id.as_deref().ok_or_else(|| {
                    ApiError::invalid(
                        "ShardId must be provided for ShardFilter type AFTER_SHARD_ID",
                    )
                })?;
                Self::AfterShard(
                    sequence::parse_shard_name(id)
                        .ok_or_else(|| ApiError::invalid(format!("Invalid ShardId {id}")))?,
                )
            }
            "AT_TRIM_HORIZON" => Self::AtTrimHorizon,
            "FROM_TRIM_HORIZON" => Self::FromTrimHorizon,
            "AT_LATEST" => Self::AtLatest,
            "AT_TIMESTAMP" => Self::AtTimestamp(timestamp()?),
            _ => Self::FromTimestamp(timestamp()?),
        })
    }

    /// When a shard stopped taking records: its children's creation time.
    fn closed_at(info: &StreamInfo, shard: &ShardInfo) -> Option<i64> {
        shard.ending_offset?;
        info.shards
            .iter()
            .filter(|child| {
                child.parent == Some(shard.id) || child.adjacent_parent == Some(shard.id)
            })
            .map(|child| child.created_ms)
            .min()
            .or(Some(shard.created_ms))
    }

    /// Whether a closed shard still holds records (retention has not removed them all).
    fn has_data(streams: &Streams, info: &StreamInfo, shard: &ShardInfo) -> bool {
        match (
            shard.ending_offset,
            streams.log().shard_bounds(&info.name, shard.id),
        ) {
            (Some(ending), Ok(bounds)) => bounds.earliest < ending,
            (None, _) => true,
            (Some(_), Err(_)) => false,
        }
    }

    fn keeps(&self, streams: &Streams, info: &StreamInfo, shard: &ShardInfo) -> bool {
        match *self {
            Self::AfterShard(id) => shard.id > id,
            Self::FromTrimHorizon => true,
            Self::AtTrimHorizon => {
                // The oldest shards still holding data: no parent that still holds data.
                let parent_has_data = [shard.parent, shard.adjacent_parent]
                    .into_iter()
                    .flatten()
                    .filter_map(|id| info.shard(id))
                    .any(|parent| Self::has_data(streams, info, parent));
                !parent_has_data
            }
            Self::AtLatest => shard.is_open(),
            Self::AtTimestamp(at) => {
                shard.created_ms <= at
                    && Self::closed_at(info, shard).is_none_or(|closed| closed > at)
                    || (shard.parent.is_none() && info.created_ms > at)
            }
            Self::FromTimestamp(at) => {
                Self::closed_at(info, shard).is_none_or(|closed| closed > at)
            }
        }
    }
}
