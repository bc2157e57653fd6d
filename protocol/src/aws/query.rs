//! The request side of the AWS query protocol (SQS's older SDKs, SNS always): a form-encoded
//! body (`application/x-www-form-urlencoded`) or a GET query string, decoded into the same
//! serde shapes the JSON path uses.
//!
//! # Design constraints
//!
//! - **Pure and bounded.** [`parse_form`] takes bytes and returns a [`Form`] or a
//!   [`QueryError`]; it never panics and never indexes with `[]` (`clippy::indexing_slicing` is
//!   denied here). At most [`FORM_PAIRS_MAX`] pairs, keys of at most [`FORM_KEY_BYTES_MAX`]
//!   bytes and [`FORM_KEY_SEGMENTS_MAX`] dot-separated segments, so the key tree, and the
//!   deserializer's recursion over it, are bounded whatever the input.
//! - **Strict text.** `%XX` must be two hex digits, `+` is a space, and every key and value
//!   must be UTF-8 after decoding. A key given twice is refused: the two values would otherwise
//!   race for one field.
//! - **One shape per operation.** A shape derives `Deserialize` once with its JSON member names;
//!   a query `locationName` that differs is an alias (`#[serde(alias = "Attribute")]` on
//!   `Attributes`). Unknown keys are ignored, as AWS ignores them; `Action` and `Version` stay in
//!   the form (and are ignored by shapes that do not name them) and are read with
//!   [`Form::action`] and [`Form::version`].
//!
//! # Byte shapes
//!
//! ```text
//! Action=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2Fh%2Fq&MessageBody=hi+there
//!   &MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String
//!   &MessageAttribute.1.Value.StringValue=x&AttributeName.1=All
//! ```
//!
//! Keys split on `.` into a tree. What a node means depends on what the target type asks for:
//!
//! | target | node shape |
//! |---|---|
//! | struct | children named by a field's serde name or alias |
//! | sequence | children `1..N` (flattened, SQS) or `member.1..N` (SNS); a bare `Name=` is the empty list |
//! | map | children `N.Name`/`N.Value`, `N.key`/`N.value`, or `entry.N.…` (SNS); the `Name`/`key` and `Value`/`value` names match case-insensitively |
//! | number, bool | the text, parsed (`true`/`false`, any case) |
//! | string, enum, [`Blob`](super::body::Blob) | the text (a blob is base64) |
//! | `Option` | absent → `None` |
//!
//! List and map indices must run from 1 to N without gaps (AWS's rule for the query
//! protocol); a gap or a non-numeric index is `MalformedQueryString`.
//!
//! Not covered: `#[serde(flatten)]` and untagged enums (they read nodes through
//! `deserialize_any`, which sees only text), and ISO 8601 timestamps (botocore's query form;
//! [`Timestamp`](super::body::Timestamp) reads epoch seconds, and no SQS or SNS input has a
//! timestamp member).
#![deny(clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

/// The most `key=value` pairs one form may hold. The largest legitimate requests (a 10-entry
/// `SendMessageBatch` or `PublishBatch` with 10 attributes per entry) stay under 700.
pub const FORM_PAIRS_MAX: usize = 4096;
/// The longest key, in bytes after percent-decoding.
pub const FORM_KEY_BYTES_MAX: usize = 256;
/// The most dot-separated segments in one key; bounds the key tree's depth.
pub const FORM_KEY_SEGMENTS_MAX: usize = 12;

/// Why a form could not be parsed or decoded into a request shape. [`QueryError::code`] is the
/// query error code and `Display` the message, as AWS words them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The bytes are not a well-formed form (bad `%XX`, not UTF-8, a duplicate or oversized
    /// key, too many pairs, a list index out of order).
    #[error("{0}")]
    MalformedQueryString(String),
    /// A required member is absent.
    #[error("The request must contain the parameter {parameter}.")]
    MissingParameter {
        /// The full key, e.g. `MessageAttribute.1.Value.DataType`.
        parameter: String,
    },
    /// A member is present but its text is not a value of its type.
    #[error("Value {value} for parameter {parameter} is invalid. Reason: {reason}.")]
    InvalidParameterValue {
        /// The full key.
        parameter: String,
        /// The text given (empty when the key has no value of its own).
        value: String,
        /// What was expected.
        reason: String,
    },
}

impl QueryError {
    /// The `<Code>` of the query error response.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedQueryString(_) => "MalformedQueryString",
            Self::MissingParameter { .. } => "MissingParameter",
            Self::InvalidParameterValue { .. } => "InvalidParameterValue",
        }
    }
}

/// One node of the key tree: the value given for exactly this key (if any) and the keys one
/// segment longer.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Node {
    value: Option<String>,
    children: BTreeMap<String, Node>,
}

/// A parsed form: every pair, arranged as a tree on the key's `.` segments.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Form {
    root: Node,
    pairs: usize,
}

impl Form {
    /// The `Action` parameter: the operation name.
    pub fn action(&self) -> Option<&str> {
        self.get("Action")
    }

    /// The `Version` parameter: the API version (`2012-11-05` for SQS, `2010-03-31` for SNS).
    pub fn version(&self) -> Option<&str> {
        self.get("Version")
    }

    /// The value of one full key, e.g. `MessageAttribute.1.Name`.
    pub fn get(&self, key: &str) -> Option<&str> {
        let mut node = &self.root;
        for segment in key.split('.') {
            node = node.children.get(segment)?;
        }
        node.value.as_deref()
    }

    /// How many pairs the form holds.
    pub fn len(&self) -> usize {
        self.pairs
    }

    /// Whether the form holds no pair.
    pub fn is_empty(&self) -> bool {
        self.pairs == 0
    }

    /// Decodes the form into a request shape.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, QueryError> {
        from_form(self)
    }
}

/// Parses a form body or query string (without the leading `?`).
pub fn parse_form(bytes: &[u8]) -> Result<Form, QueryError> {
    let mut form = Form::default();
    for pair in bytes.split(|&byte| byte == b'&') {
        if pair.is_empty() {
            continue;
        }
        if form.pairs == FORM_PAIRS_MAX {
            return Err(QueryError::MalformedQueryString(format!(
                "The request has more than {FORM_PAIRS_MAX} parameters."
            )));
        }
        let (raw_key, raw_value) = match pair.iter().position(|&byte| byte == b'=') {
            Some(at) => (
                pair.get(..at).unwrap_or_default(),
                pair.get(at + 1..).unwrap_or_default(),
            ),
            None => (pair, &[][..]),
        };
        let key = percent_decode(raw_key)?;
        let value = percent_decode(raw_value)?;
        insert(&mut form.root, &key, value)?;
        form.pairs += 1;
    }
    Ok(form)
}

fn insert(root: &mut Node, key: &str, value: String) -> Result<(), QueryError> {
    if key.is_empty() {
        return Err(QueryError::MalformedQueryString(
            "A parameter name is empty.".to_owned(),
        ));
    }
    if key.len() > FORM_KEY_BYTES_MAX {
        return Err(QueryError::MalformedQueryString(format!(
            "A parameter name is longer than {FORM_KEY_BYTES_MAX} bytes."
        )));
    }
    let mut node = root;
    for (count, segment) in key.split('.').enumerate() {
        if count == FORM_KEY_SEGMENTS_MAX {
            return Err(QueryError::MalformedQueryString(format!(
                "Parameter {key} has more than {FORM_KEY_SEGMENTS_MAX} parts."
            )));
        }
        if segment.is_empty() {
            return Err(QueryError::MalformedQueryString(format!(
                "Parameter {key} has an empty part."
            )));
        }
        node = node.children.entry(segment.to_owned()).or_default();
    }
    if node.value.is_some() {
        return Err(QueryError::MalformedQueryString(format!(
            "Parameter {key} is given more than once."
        )));
    }
    node.value = Some(value);
    Ok(())
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte, and the
/// result must be UTF-8.
pub fn percent_decode(raw: &[u8]) -> Result<String, QueryError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&byte) = bytes.next() {
        match byte {
            b'+' => out.push(b' '),
            b'%' => {
                let high = bytes.next().and_then(|&digit| hex_value(digit));
                let low = bytes.next().and_then(|&digit| hex_value(digit));
                match (high, low) {
                    (Some(high), Some(low)) => out.push((high << 4) | low),
                    _ => {
                        return Err(QueryError::MalformedQueryString(
                            "A % is not followed by two hexadecimal digits.".to_owned(),
                        ));
                    }
                }
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out)
        .map_err(|_| QueryError::MalformedQueryString("A parameter is not valid UTF-8.".to_owned()))
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Decodes a parsed form into a request shape.
pub fn from_form<T: DeserializeOwned>(form: &Form) -> Result<T, QueryError> {
    T::deserialize(NodeDeserializer {
        node: &form.root,
        path: String::new(),
    })
    .map_err(DeError::into_query_error)
}

/// The deserializer's error: a [`QueryError`] in the making, whose key is filled in by the
/// innermost node that knows it.
#[derive(Debug)]
struct DeError {
    kind: DeErrorKind,
    parameter: Option<String>,
    value: String,
}

#[derive(Debug)]
enum DeErrorKind {
    Malformed(String),
    Missing(&'static str),
    Invalid(String),
}

impl DeError {
    fn new(kind: DeErrorKind) -> Self {
        Self {
            kind,
            parameter: None,
            value: String::new(),
        }
    }

    fn malformed(message: String) -> Self {
        Self::new(DeErrorKind::Malformed(message))
    }

    /// Names the key the error is about, unless a deeper node already did.
    fn within(mut self, node: &Node, path: &str) -> Self {
        if self.parameter.is_none() {
            self.parameter = Some(match self.kind {
                DeErrorKind::Missing(field) => join(path, field),
                _ => {
                    self.value = node.value.clone().unwrap_or_default();
                    path.to_owned()
                }
            });
        }
        self
    }

    fn into_query_error(self) -> QueryError {
        let parameter = self.parameter.unwrap_or_default();
        match self.kind {
            DeErrorKind::Malformed(message) => QueryError::MalformedQueryString(message),
            DeErrorKind::Missing(_) => QueryError::MissingParameter { parameter },
            DeErrorKind::Invalid(reason) => QueryError::InvalidParameterValue {
                parameter,
                value: self.value,
                reason,
            },
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DeErrorKind::Malformed(message) | DeErrorKind::Invalid(message) => f.write_str(message),
            DeErrorKind::Missing(field) => write!(f, "missing {field}"),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        // Serde's own messages end without a period; AWS's reason is followed by one.
        Self::new(DeErrorKind::Invalid(
            message.to_string().trim_end_matches('.').to_owned(),
        ))
    }

    fn missing_field(field: &'static str) -> Self {
        Self::new(DeErrorKind::Missing(field))
    }

    fn duplicate_field(field: &'static str) -> Self {
        // A member given under both its name and its alias (`AttributeNames.member.1` and
        // `AttributeName.1`).
        Self::malformed(format!("Parameter {field} is given more than once."))
    }
}

fn join(path: &str, segment: &str) -> String {
    if path.is_empty() {
        segment.to_owned()
    } else {
        format!("{path}.{segment}")
    }
}

/// A deserializer over one node of the key tree.
struct NodeDeserializer<'de> {
    node: &'de Node,
    path: String,
}

impl<'de> NodeDeserializer<'de> {
    /// The node's own text, for a scalar target.
    fn text(&self) -> Result<&'de str, DeError> {
        match &self.node.value {
            Some(value) => Ok(value),
            None => Err(
                DeError::new(DeErrorKind::Invalid("expected a single value".to_owned()))
                    .within(self.node, &self.path),
            ),
        }
    }

    fn parse<T: std::str::FromStr>(&self, reason: &str) -> Result<T, DeError> {
        let text = self.text()?;
        text.parse().map_err(|_| {
            DeError::new(DeErrorKind::Invalid(reason.to_owned())).within(self.node, &self.path)
        })
    }

    /// The elements of a list node, in index order, with their paths.
    fn elements(&self) -> Result<Vec<(&'de Node, String)>, DeError> {
        let (node, path) = match self.node.children.get("member") {
            Some(member) => {
                if self.node.children.len() > 1 {
                    return Err(DeError::malformed(format!(
                        "Parameter {} mixes member and flattened list elements.",
                        self.path
                    )));
                }
                (member, join(&self.path, "member"))
            }
            None => (self.node, self.path.clone()),
        };
        if node.children.is_empty() {
            // botocore writes an empty list as `Name=`.
            return Ok(Vec::new());
        }
        indexed(node, &path)
    }

    /// The entries of a map node as `(key node, value node)`, in index order.
    fn entries(&self) -> Result<Vec<Entry<'de>>, DeError> {
        let (node, path) = match self.node.children.get("entry") {
            Some(entry) => (entry, join(&self.path, "entry")),
            None => (self.node, self.path.clone()),
        };
        let mut entries = Vec::new();
        for (entry, entry_path) in indexed(node, &path)? {
            let mut key = None;
            let mut value = None;
            for (name, child) in &entry.children {
                if name.eq_ignore_ascii_case("name") || name.eq_ignore_ascii_case("key") {
                    key = Some((child, join(&entry_path, name)));
                } else if name.eq_ignore_ascii_case("value") {
                    value = Some((child, join(&entry_path, name)));
                }
            }
            let Some((key, key_path)) = key else {
                return Err(DeError::new(DeErrorKind::Missing("Name")).within(entry, &entry_path));
            };
            let Some((value, value_path)) = value else {
                return Err(DeError::new(DeErrorKind::Missing("Value")).within(entry, &entry_path));
            };
            entries.push(Entry {
                key,
                key_path,
                value,
                value_path,
            });
        }
        Ok(entries)
    }
}

struct Entry<'de> {
    key: &'de Node,
    key_path: String,
    value: &'de Node,
    value_path: String,
}

/// The children `1..N` of a node, in order; anything else among them is malformed.
fn indexed<'de>(node: &'de Node, path: &str) -> Result<Vec<(&'de Node, String)>, DeError> {
    let mut elements: Vec<Option<&'de Node>> = vec![None; node.children.len()];
    for (name, child) in &node.children {
        let index = canonical_index(name)
            .and_then(|index| index.checked_sub(1))
            .and_then(|index| elements.get_mut(index));
        match index {
            Some(slot) => *slot = Some(child),
            None => {
                return Err(DeError::malformed(format!(
                    "Parameter {} is not a list element: indices run from 1 to {} without gaps.",
                    join(path, name),
                    node.children.len()
                )));
            }
        }
    }
    // Every slot is filled: the names are distinct and all within 1..=N.
    Ok(elements
        .into_iter()
        .enumerate()
        .filter_map(|(at, child)| child.map(|child| (child, join(path, &(at + 1).to_string()))))
        .collect())
}

/// A list index as botocore writes it: decimal, no sign, no leading zero.
fn canonical_index(name: &str) -> Option<usize> {
    if name.starts_with('0') || !name.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

macro_rules! parse_number {
    ($($method:ident => $visit:ident ($reason:literal),)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let number = self.parse($reason)?;
            visitor.$visit(number).map_err(|error: DeError| error.within(self.node, &self.path))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match (&self.node.value, self.node.children.is_empty()) {
            (Some(value), true) => visitor
                .visit_borrowed_str(value)
                .map_err(|error: DeError| error.within(self.node, &self.path)),
            (None, true) => visitor.visit_unit(),
            (_, false) => self.deserialize_struct("", &[], visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let text = self.text()?;
        let value = if text.eq_ignore_ascii_case("true") {
            true
        } else if text.eq_ignore_ascii_case("false") {
            false
        } else {
            return Err(
                DeError::new(DeErrorKind::Invalid("must be true or false".to_owned()))
                    .within(self.node, &self.path),
            );
        };
        visitor
            .visit_bool(value)
            .map_err(|error: DeError| error.within(self.node, &self.path))
    }

    parse_number! {
        deserialize_i8 => visit_i8("must be an integer"),
        deserialize_i16 => visit_i16("must be an integer"),
        deserialize_i32 => visit_i32("must be an integer"),
        deserialize_i64 => visit_i64("must be an integer"),
        deserialize_u8 => visit_u8("must be a non-negative integer"),
        deserialize_u16 => visit_u16("must be a non-negative integer"),
        deserialize_u32 => visit_u32("must be a non-negative integer"),
        deserialize_u64 => visit_u64("must be a non-negative integer"),
        deserialize_f32 => visit_f32("must be a number"),
        deserialize_f64 => visit_f64("must be a number"),
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let text = self.text()?;
        visitor
            .visit_borrowed_str(text)
            .map_err(|error: DeError| error.within(self.node, &self.path))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let text = self.text()?;
        let bytes = BASE64.decode(text).map_err(|_| {
            DeError::new(DeErrorKind::Invalid(
                "Base64 encoded data is not valid".to_owned(),
            ))
            .within(self.node, &self.path)
        })?;
        visitor
            .visit_byte_buf(bytes)
            .map_err(|error: DeError| error.within(self.node, &self.path))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let elements = self.elements()?;
        visitor
            .visit_seq(Elements {
                elements: elements.into_iter(),
            })
            .map_err(|error: DeError| error.within(self.node, &self.path))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let entries = self.entries()?;
        visitor
            .visit_map(Entries {
                entries: entries.into_iter(),
                value: None,
            })
            .map_err(|error: DeError| error.within(self.node, &self.path))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor
            .visit_map(Fields {
                children: self.node.children.iter(),
                path: &self.path,
                value: None,
            })
            .map_err(|error: DeError| error.within(self.node, &self.path))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        // Enums on the query wire are strings (a unit variant per value).
        let text = self.text()?;
        visitor
            .visit_enum(BorrowedStrDeserializer::<DeError>::new(text))
            .map_err(|error: DeError| error.within(self.node, &self.path))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

/// A struct's members: the node's children, by name.
struct Fields<'de, 'p> {
    children: std::collections::btree_map::Iter<'de, String, Node>,
    path: &'p str,
    value: Option<(&'de Node, String)>,
}

impl<'de> de::MapAccess<'de> for Fields<'de, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((name, node)) = self.children.next() else {
            return Ok(None);
        };
        self.value = Some((node, join(self.path, name)));
        seed.deserialize(BorrowedStrDeserializer::<DeError>::new(name))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.value.take() {
            Some((node, path)) => seed.deserialize(NodeDeserializer { node, path }),
            None => Err(DeError::malformed(
                "a value was asked for before its key".to_owned(),
            )),
        }
    }
}

/// A map's entries, in index order.
struct Entries<'de> {
    entries: std::vec::IntoIter<Entry<'de>>,
    value: Option<(&'de Node, String)>,
}

impl<'de> de::MapAccess<'de> for Entries<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some((entry.value, entry.value_path));
        seed.deserialize(NodeDeserializer {
            node: entry.key,
            path: entry.key_path,
        })
        .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.value.take() {
            Some((node, path)) => seed.deserialize(NodeDeserializer { node, path }),
            None => Err(DeError::malformed(
                "a value was asked for before its key".to_owned(),
            )),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// A list's elements, in index order.
struct Elements<'de> {
    elements: std::vec::IntoIter<(&'de Node, String)>,
}

impl<'de> de::SeqAccess<'de> for Elements<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.elements.next() {
            Some((node, path)) => seed.deserialize(NodeDeserializer { node, path }).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.elements.len())
    }
}

impl<'de> IntoDeserializer<'de, DeError> for NodeDeserializer<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

#[cfg(test)]
mod tests;
