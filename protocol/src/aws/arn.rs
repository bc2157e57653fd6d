//! Amazon Resource Names, parsed once: `arn:<partition>:<service>:<region>:<account>:<resource>`.
//! Every operation that takes an ARN (a stream, a consumer, a delivery stream's source, a
//! bucket, a channel) reads it through [`Arn::parse`] and checks the parts it cares about.
#![deny(clippy::indexing_slicing)]

/// The parts of an ARN. The resource keeps its own separators (`stream/clicks`,
/// `stream/clicks/consumer/c:1`, or a bare bucket name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`, …
    pub partition: &'a str,
    /// `kinesis`, `firehose`, `s3`, `sqs`, …
    pub service: &'a str,
    /// Empty for global resources (S3 buckets).
    pub region: &'a str,
    /// Empty for S3 buckets.
    pub account: &'a str,
    /// Everything after the fifth colon.
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// The parts of `text`, or `None` when it is not `arn:` followed by five colon-separated
    /// parts with a non-empty partition, service and resource.
    #[must_use]
    pub fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let arn = Self {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        };
        (!arn.partition.is_empty() && !arn.service.is_empty() && !arn.resource.is_empty())
            .then_some(arn)
    }

    /// Whether this is an ARN of `service` in an AWS partition (`aws`, `aws-cn`, …) with a
    /// 12-digit account, the form the services' models require of their own ARNs.
    #[must_use]
    pub fn is_account_resource_of(&self, service: &str) -> bool {
        self.service == service
            && self.partition.starts_with("aws")
            && self.account.len() == 12
            && self.account.bytes().all(|b| b.is_ascii_digit())
    }

    /// The resource's name after `kind/` (`stream/clicks` → `clicks` for `kind` "stream"),
    /// when this ARN is of `service` and names a resource of that kind with nothing after
    /// the name.
    #[must_use]
    pub fn named(&self, service: &str, kind: &str) -> Option<&'a str> {
        if self.service != service {
            return None;
        }
        let name = self.resource.strip_prefix(kind)?.strip_prefix('/')?;
        (!name.is_empty() && !name.contains('/')).then_some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::Arn;

    #[test]
    fn arns_split_into_their_parts() {
        let arn = Arn::parse("arn:aws:kinesis:us-east-1:000000000000:stream/clicks").unwrap();
        assert_eq!(
            (
                arn.partition,
                arn.service,
                arn.region,
                arn.account,
                arn.resource
            ),
            (
                "aws",
                "kinesis",
                "us-east-1",
                "000000000000",
                "stream/clicks"
            )
        );
        assert_eq!(arn.named("kinesis", "stream"), Some("clicks"));
        assert_eq!(arn.named("firehose", "stream"), None);
        assert_eq!(arn.named("kinesis", "channel"), None);
        let bucket = Arn::parse("arn:aws:s3:::lake").unwrap();
        assert_eq!(
            (bucket.region, bucket.account, bucket.resource),
            ("", "", "lake")
        );
        let consumer =
            Arn::parse("arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:17").unwrap();
        assert_eq!(consumer.resource, "stream/s/consumer/c:17");
        assert_eq!(
            consumer.named("kinesis", "stream"),
            None,
            "more after the name"
        );
        for bad in [
            "",
            "arn",
            "arn:aws:s3::",
            "urn:aws:s3:::b",
            "arn::s3:::b",
            "arn:aws:s3:::",
        ] {
            assert_eq!(Arn::parse(bad), None, "{bad:?}");
        }
    }
}
