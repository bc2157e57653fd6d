//! Dynamic partitioning: the partition keys of a record, from its JSON.
//!
//! Firehose's MetadataExtraction processor runs a jq query such as
//! `{customer_id: .customer_id, region: .geo.region}` (JsonParsingEngine `JQ-1.6`) on each
//! record; every member of the resulting object is a partition key that
//! `!{partitionKeyFromQuery:<name>}` puts into the prefix. Strata supports the subset
//! Firehose's documentation shows: an object of `name: .path.to.field` members. A field must
//! be a string, a number or a boolean; a record that is not JSON, or lacks a field, cannot be
//! partitioned and goes to the error output (`partitioning-failed`).

/// Why a query was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "MetadataExtractionQuery {query:?} is not supported: {reason}. Strata supports objects of \
     field paths, such as {{customer_id: .customer_id, region: .geo.region}}."
)]
pub struct QueryError {
    /// The query.
    pub query: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Partition-key query members, at most this many (Firehose allows 50 keys).
pub const KEYS_MAX: usize = 50;

/// A parsed MetadataExtractionQuery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// Key name → path of object members.
    keys: Vec<(String, Vec<String>)>,
}

impl Query {
    /// Parses `{name: .a.b, other: .c}`.
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        let refuse = |reason| QueryError {
            query: text.to_owned(),
            reason,
        };
        let body = text
            .trim()
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
            .ok_or_else(|| refuse("it is not an object {...}"))?;
        let mut keys = Vec::new();
        for member in body.split(',') {
            let member = member.trim();
            if member.is_empty() {
                continue;
            }
            let (name, path) = member
                .split_once(':')
                .ok_or_else(|| refuse("a member is not `name: .path`"))?;
            let name = name.trim().trim_matches('"');
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(refuse("a key name is not made of letters, digits and _"));
            }
            let path = path
                .trim()
                .strip_prefix('.')
                .ok_or_else(|| refuse("a path does not start with '.'"))?;
            let fields: Vec<String> = path.split('.').map(|f| f.trim().to_owned()).collect();
            if fields.iter().any(|field| {
                field.is_empty() || !field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            }) {
                return Err(refuse("a path is not a chain of .field names"));
            }
            if keys.iter().any(|(known, _)| known == name) {
                return Err(refuse("a key name appears twice"));
            }
            keys.push((name.to_owned(), fields));
        }
        if keys.is_empty() {
            return Err(refuse("it has no members"));
        }
        if keys.len() > KEYS_MAX {
            return Err(refuse("it has more than 50 members"));
        }
        Ok(Self { keys })
    }

    /// The key names, in query order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(name, _)| name.as_str())
    }

    /// The record's partition: each key's value, in query order; or why it has none.
    pub fn extract(&self, data: &[u8]) -> Result<Vec<(String, String)>, String> {
        let value: serde_json::Value = serde_json::from_slice(data)
            .map_err(|error| format!("Non JSON record provided: {error}"))?;
        self.keys
            .iter()
            .map(|(name, path)| {
                let mut node = &value;
                for field in path {
                    node = node.get(field).ok_or_else(|| {
                        format!(
                            "The key {name} (.{}) was not found in the record.",
                            path.join(".")
                        )
                    })?;
                }
                let text = match node {
                    serde_json::Value::String(text) => text.clone(),
                    serde_json::Value::Number(number) => number.to_string(),
                    serde_json::Value::Bool(flag) => flag.to_string(),
                    _ => {
                        return Err(format!(
                            "The key {name} (.{}) is not a string, number or boolean.",
                            path.join(".")
                        ));
                    }
                };
                Ok((name.clone(), text))
            })
            .collect()
    }
}

/// A partition as one string (for plans and key hashes): `name=value` pairs joined by NUL.
pub fn partition_id(partition: &[(String, String)]) -> String {
    partition
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("\0")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn field_paths_extract_strings_numbers_and_booleans() {
        let query =
            Query::parse("{customer_id: .customer_id, region: .geo.region, ok: .ok}").unwrap();
        assert_eq!(
            query.names().collect::<Vec<_>>(),
            ["customer_id", "region", "ok"]
        );
        let record = br#"{"customer_id": 42, "geo": {"region": "eu"}, "ok": true}"#;
        assert_eq!(
            query.extract(record).unwrap(),
            pairs(&[("customer_id", "42"), ("region", "eu"), ("ok", "true")])
        );
    }

    #[test]
    fn records_without_json_or_a_key_have_no_partition() {
        let query = Query::parse("{region: .geo.region}").unwrap();
        assert!(
            query
                .extract(b"not json")
                .unwrap_err()
                .starts_with("Non JSON")
        );
        assert!(
            query
                .extract(br#"{"geo": {}}"#)
                .unwrap_err()
                .contains("not found")
        );
        assert!(query.extract(br#"{"geo": {"region": null}}"#).is_err());
        assert!(query.extract(br#"{"geo": "eu"}"#).is_err());
    }

    #[test]
    fn unsupported_queries_are_refused() {
        for text in [
            "",
            ".a",
            "{}",
            "{a .b}",
            "{a: b}",
            "{a: .b | length}",
            "{a: .b, a: .c}",
            "{a: .}",
        ] {
            assert!(Query::parse(text).is_err(), "{text}");
        }
        assert!(Query::parse(r#"{"a": .b}"#).is_ok());
    }

    #[test]
    fn partition_ids_join_names_and_values() {
        assert_eq!(partition_id(&pairs(&[("a", "1"), ("b", "x")])), "a=1\0b=x");
        assert_eq!(partition_id(&[]), "");
    }
}
