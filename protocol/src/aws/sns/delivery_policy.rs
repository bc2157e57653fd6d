//! The HTTP/S `DeliveryPolicy`: its subscription form (`{"healthyRetryPolicy":{…},
//! "throttlePolicy":{…},"requestPolicy":{…}}`), its topic form (`{"http":{
//! "defaultHealthyRetryPolicy":{…},"disableSubscriptionOverrides":…}}`), the effective policy
//! and its retry schedule.
//!
//! The schedule has four phases (SNS "message delivery retries"): `numNoDelayRetries` at once,
//! `numMinDelayRetries` at `minDelayTarget`, the backoff phase (the rest of `numRetries`)
//! rising from `minDelayTarget` to `maxDelayTarget` by `backoffFunction`, and
//! `numMaxDelayRetries` at `maxDelayTarget`. [`EffectivePolicy::jittered_delay_before_attempt`]
//! shortens each delay by up to [`JITTER_FRACTION`] (never below `minDelayTarget`), so the
//! retries of many messages that failed together spread out rather than arrive together.
//!
//! AWS does not publish the backoff curves' formulas; with `x = i / n` for the `i`-th of `n`
//! backoff retries, the delay is `min + (max - min) · f(x)` with linear `f(x) = x`,
//! arithmetic `x²`, geometric `x³`, and exponential `min · (max / min)^x`. All four start near
//! `min` and end at `max`, as AWS's charts show.

use std::time::Duration;

use serde_json::{Map, Value};

use super::errors::Error;

/// `numRetries` bound.
pub const NUM_RETRIES_MAX: u32 = 100;
/// `maxDelayTarget` bound, and the bound of the schedule's total, in seconds.
pub const DELAY_SECONDS_MAX: u32 = 3_600;

/// `backoffFunction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backoff {
    /// `linear` (the default).
    Linear,
    /// `arithmetic`.
    Arithmetic,
    /// `geometric`.
    Geometric,
    /// `exponential`.
    Exponential,
}

impl Backoff {
    /// The JSON text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Arithmetic => "arithmetic",
            Self::Geometric => "geometric",
            Self::Exponential => "exponential",
        }
    }
}

/// `healthyRetryPolicy` (delays in seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// `minDelayTarget`.
    pub min_delay_target: u32,
    /// `maxDelayTarget`.
    pub max_delay_target: u32,
    /// `numRetries`: the attempts after the first.
    pub num_retries: u32,
    /// `numNoDelayRetries`.
    pub num_no_delay_retries: u32,
    /// `numMinDelayRetries`.
    pub num_min_delay_retries: u32,
    /// `numMaxDelayRetries`.
    pub num_max_delay_retries: u32,
    /// `backoffFunction`.
    pub backoff_function: Backoff,
}

impl RetryPolicy {
    /// AWS's default HTTP/S policy: 3 retries 20 s apart.
    pub const DEFAULT: Self = Self {
        min_delay_target: 20,
        max_delay_target: 20,
        num_retries: 3,
        num_no_delay_retries: 0,
        num_min_delay_retries: 0,
        num_max_delay_retries: 0,
        backoff_function: Backoff::Linear,
    };

    fn to_json(self) -> String {
        format!(
            "{{\"minDelayTarget\":{},\"maxDelayTarget\":{},\"numRetries\":{},\
             \"numMaxDelayRetries\":{},\"numNoDelayRetries\":{},\"numMinDelayRetries\":{},\
             \"backoffFunction\":\"{}\"}}",
            self.min_delay_target,
            self.max_delay_target,
            self.num_retries,
            self.num_max_delay_retries,
            self.num_no_delay_retries,
            self.num_min_delay_retries,
            self.backoff_function.as_str()
        )
    }
}

/// A subscription's `DeliveryPolicy`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SubscriptionDeliveryPolicy {
    /// `healthyRetryPolicy`.
    pub healthy_retry_policy: Option<RetryPolicy>,
    /// `throttlePolicy.maxReceivesPerSecond`.
    pub max_receives_per_second: Option<u32>,
    /// `requestPolicy.headerContentType`.
    pub header_content_type: Option<String>,
}

/// A topic's `DeliveryPolicy` (its `http` member).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TopicDeliveryPolicy {
    /// `defaultHealthyRetryPolicy`.
    pub default_healthy_retry_policy: Option<RetryPolicy>,
    /// `disableSubscriptionOverrides`.
    pub disable_subscription_overrides: bool,
    /// `defaultThrottlePolicy.maxReceivesPerSecond`.
    pub max_receives_per_second: Option<u32>,
    /// `defaultRequestPolicy.headerContentType`.
    pub header_content_type: Option<String>,
}

/// The policy a delivery follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectivePolicy {
    /// The retry policy.
    pub retry: RetryPolicy,
    /// Whether the topic forbids subscription overrides.
    pub disable_subscription_overrides: bool,
    /// Deliveries per second, if throttled.
    pub max_receives_per_second: Option<u32>,
    /// The `Content-Type` of HTTP/S deliveries, if set.
    pub header_content_type: Option<String>,
}

fn invalid(reason: &str) -> Error {
    Error::invalid_parameter_reason("DeliveryPolicy", reason)
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, Error> {
    value
        .as_object()
        .ok_or_else(|| invalid(&format!("{what} must be a JSON object")))
}

fn count(policy: &Map<String, Value>, prefix: &str, key: &str) -> Result<Option<u32>, Error> {
    match policy.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| invalid(&format!("{prefix}.{key} must be a non-negative integer"))),
    }
}

fn parse_retry(value: &Value, prefix: &str) -> Result<RetryPolicy, Error> {
    let policy = object(value, prefix)?;
    let required = |key: &str| -> Result<u32, Error> {
        count(policy, prefix, key)?
            .ok_or_else(|| invalid(&format!("{prefix}.{key} must be specified")))
    };
    let min_delay_target = required("minDelayTarget")?;
    let max_delay_target = required("maxDelayTarget")?;
    let num_retries = required("numRetries")?;
    let optional = |key: &str| count(policy, prefix, key).map(Option::unwrap_or_default);
    let retry = RetryPolicy {
        min_delay_target,
        max_delay_target,
        num_retries,
        num_no_delay_retries: optional("numNoDelayRetries")?,
        num_min_delay_retries: optional("numMinDelayRetries")?,
        num_max_delay_retries: optional("numMaxDelayRetries")?,
        backoff_function: match policy.get("backoffFunction").and_then(Value::as_str) {
            None => Backoff::Linear,
            Some("linear") => Backoff::Linear,
            Some("arithmetic") => Backoff::Arithmetic,
            Some("geometric") => Backoff::Geometric,
            Some("exponential") => Backoff::Exponential,
            Some(_) => {
                return Err(invalid(&format!(
                    "{prefix}.backoffFunction must be one of linear, arithmetic, geometric, \
                     exponential"
                )));
            }
        },
    };
    if retry.num_retries > NUM_RETRIES_MAX {
        return Err(invalid(&format!(
            "{prefix}.numRetries must be between 0 and {NUM_RETRIES_MAX}"
        )));
    }
    if retry.min_delay_target > retry.max_delay_target {
        return Err(invalid(&format!(
            "{prefix}.minDelayTarget must be less than or equal to maxDelayTarget"
        )));
    }
    if retry.max_delay_target > DELAY_SECONDS_MAX {
        return Err(invalid(&format!(
            "{prefix}.maxDelayTarget must be less than or equal to {DELAY_SECONDS_MAX}"
        )));
    }
    let phases = u64::from(retry.num_no_delay_retries)
        + u64::from(retry.num_min_delay_retries)
        + u64::from(retry.num_max_delay_retries);
    if phases > u64::from(retry.num_retries) {
        return Err(invalid(&format!(
            "{prefix}.numRetries must be greater than or equal to the sum of \
             numNoDelayRetries, numMinDelayRetries and numMaxDelayRetries"
        )));
    }
    let effective = EffectivePolicy {
        retry,
        disable_subscription_overrides: false,
        max_receives_per_second: None,
        header_content_type: None,
    };
    let total: Duration = (1..=retry.num_retries)
        .filter_map(|attempt| effective.delay_before_attempt(attempt))
        .sum();
    if total > Duration::from_secs(u64::from(DELAY_SECONDS_MAX)) {
        return Err(invalid(&format!(
            "{prefix}: the total retry time must be less than or equal to {DELAY_SECONDS_MAX} \
             seconds"
        )));
    }
    Ok(retry)
}

fn throttle(value: Option<&Value>, prefix: &str) -> Result<Option<u32>, Error> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            let policy = object(value, prefix)?;
            count(policy, prefix, "maxReceivesPerSecond")
        }
    }
}

fn content_type(value: Option<&Value>, prefix: &str) -> Result<Option<String>, Error> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            let policy = object(value, prefix)?;
            Ok(policy
                .get("headerContentType")
                .and_then(Value::as_str)
                .map(str::to_owned))
        }
    }
}

fn parse_json(text: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|_| invalid("failed to parse JSON"))
}

/// Parses and validates a subscription's `DeliveryPolicy`.
pub fn parse_subscription_policy(text: &str) -> Result<SubscriptionDeliveryPolicy, Error> {
    let value = parse_json(text)?;
    let policy = object(&value, "DeliveryPolicy")?;
    Ok(SubscriptionDeliveryPolicy {
        healthy_retry_policy: policy
            .get("healthyRetryPolicy")
            .map(|retry| parse_retry(retry, "healthyRetryPolicy"))
            .transpose()?,
        max_receives_per_second: throttle(policy.get("throttlePolicy"), "throttlePolicy")?,
        header_content_type: content_type(policy.get("requestPolicy"), "requestPolicy")?,
    })
}

/// Parses and validates a topic's `DeliveryPolicy` (only its `http` member is read).
pub fn parse_topic_policy(text: &str) -> Result<TopicDeliveryPolicy, Error> {
    let value = parse_json(text)?;
    let policy = object(&value, "DeliveryPolicy")?;
    let Some(http) = policy.get("http") else {
        return Ok(TopicDeliveryPolicy::default());
    };
    let http = object(http, "http")?;
    Ok(TopicDeliveryPolicy {
        default_healthy_retry_policy: http
            .get("defaultHealthyRetryPolicy")
            .map(|retry| parse_retry(retry, "http.defaultHealthyRetryPolicy"))
            .transpose()?,
        disable_subscription_overrides: http
            .get("disableSubscriptionOverrides")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        max_receives_per_second: throttle(
            http.get("defaultThrottlePolicy"),
            "http.defaultThrottlePolicy",
        )?,
        header_content_type: content_type(
            http.get("defaultRequestPolicy"),
            "http.defaultRequestPolicy",
        )?,
    })
}

/// The policy a subscription's deliveries follow: the subscription's members where it sets
/// them (unless the topic disables overrides), then the topic's, then AWS's defaults.
pub fn effective(
    topic: Option<&TopicDeliveryPolicy>,
    subscription: Option<&SubscriptionDeliveryPolicy>,
) -> EffectivePolicy {
    let overrides = !topic.is_some_and(|topic| topic.disable_subscription_overrides);
    let subscription = subscription.filter(|_| overrides);
    EffectivePolicy {
        retry: subscription
            .and_then(|s| s.healthy_retry_policy)
            .or_else(|| topic.and_then(|t| t.default_healthy_retry_policy))
            .unwrap_or(RetryPolicy::DEFAULT),
        disable_subscription_overrides: !overrides,
        max_receives_per_second: subscription
            .and_then(|s| s.max_receives_per_second)
            .or_else(|| topic.and_then(|t| t.max_receives_per_second)),
        header_content_type: subscription
            .and_then(|s| s.header_content_type.clone())
            .or_else(|| topic.and_then(|t| t.header_content_type.clone())),
    }
}

/// The largest share of a retry delay jitter takes off.
pub const JITTER_FRACTION: f64 = 0.1;

impl EffectivePolicy {
    /// [`Self::delay_before_attempt`] shortened by `jitter` (0 to 1, scaled to at most
    /// [`JITTER_FRACTION`] of the delay), but never below `minDelayTarget` where the delay
    /// was at least that. The caller draws `jitter` (a hash of the message and the attempt
    /// keeps schedules reproducible).
    pub fn jittered_delay_before_attempt(&self, attempt: u32, jitter: f64) -> Option<Duration> {
        let delay = self.delay_before_attempt(attempt)?;
        let min = Duration::from_secs(u64::from(self.retry.min_delay_target));
        let cut = delay.mul_f64(jitter.clamp(0.0, 1.0) * JITTER_FRACTION);
        let jittered = delay.saturating_sub(cut);
        Some(if delay >= min {
            jittered.max(min)
        } else {
            jittered
        })
    }

    /// The delay before attempt `attempt` (0 is the first try, at once); `None` once the
    /// `1 + numRetries` attempts are spent.
    pub fn delay_before_attempt(&self, attempt: u32) -> Option<Duration> {
        let retry = &self.retry;
        if attempt == 0 {
            return Some(Duration::ZERO);
        }
        if attempt > retry.num_retries {
            return None;
        }
        let min = f64::from(retry.min_delay_target);
        let max = f64::from(retry.max_delay_target);
        let backoff = retry.num_retries
            - retry.num_no_delay_retries
            - retry.num_min_delay_retries
            - retry.num_max_delay_retries;
        let mut n = attempt;
        if n <= retry.num_no_delay_retries {
            return Some(Duration::ZERO);
        }
        n -= retry.num_no_delay_retries;
        if n <= retry.num_min_delay_retries {
            return Some(Duration::from_secs(u64::from(retry.min_delay_target)));
        }
        n -= retry.num_min_delay_retries;
        if n > backoff {
            return Some(Duration::from_secs(u64::from(retry.max_delay_target)));
        }
        let x = f64::from(n) / f64::from(backoff);
        let seconds = match retry.backoff_function {
            Backoff::Linear => min + (max - min) * x,
            Backoff::Arithmetic => min + (max - min) * x * x,
            Backoff::Geometric => min + (max - min) * x * x * x,
            Backoff::Exponential if min > 0.0 => min * (max / min).powf(x),
            Backoff::Exponential => max.powf(x) - 1.0 + min,
        };
        Some(Duration::from_secs_f64(seconds.clamp(min, max)))
    }

    /// `EffectiveDeliveryPolicy` of a topic: `{"http":{"defaultHealthyRetryPolicy":{…},
    /// "disableSubscriptionOverrides":false,…}}`.
    pub fn topic_json(&self) -> String {
        let mut out = format!(
            "{{\"http\":{{\"defaultHealthyRetryPolicy\":{},\"disableSubscriptionOverrides\":{}",
            self.retry.to_json(),
            self.disable_subscription_overrides
        );
        if let Some(rate) = self.max_receives_per_second {
            out.push_str(&format!(
                ",\"defaultThrottlePolicy\":{{\"maxReceivesPerSecond\":{rate}}}"
            ));
        }
        if let Some(content_type) = &self.header_content_type {
            out.push_str(&format!(
                ",\"defaultRequestPolicy\":{{\"headerContentType\":{}}}",
                serde_json::to_string(content_type).unwrap_or_default()
            ));
        }
        out.push_str("}}");
        out
    }

    /// `EffectiveDeliveryPolicy` of a subscription: `{"healthyRetryPolicy":{…},…}`.
    pub fn subscription_json(&self) -> String {
        let mut out = format!("{{\"healthyRetryPolicy\":{}", self.retry.to_json());
        if let Some(rate) = self.max_receives_per_second {
            out.push_str(&format!(
                ",\"throttlePolicy\":{{\"maxReceivesPerSecond\":{rate}}}"
            ));
        }
        if let Some(content_type) = &self.header_content_type {
            out.push_str(&format!(
                ",\"requestPolicy\":{{\"headerContentType\":{}}}",
                serde_json::to_string(content_type).unwrap_or_default()
            ));
        }
        out.push('}');
        out
    }
}
