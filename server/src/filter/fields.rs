//! A message as the matcher sees it: `(path, value)` pairs sorted by path, built once.

use serde_json::Value as Json;

/// One value of a message field.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    /// Always finite: texts that do not parse as a finite number become [`Value::Opaque`].
    Number(f64),
    Bool(bool),
    Null,
    /// Present but comparable with nothing: Binary attributes, unparseable Number and
    /// String.Array texts, unknown data types, empty String.Arrays. Only `exists` sees it.
    Opaque,
}

impl Value {
    /// Whether `anything-but` may compare this value (everything but [`Value::Opaque`]).
    pub(super) fn is_comparable(&self) -> bool {
        !matches!(self, Value::Opaque)
    }
}

/// A message's fields, flattened: `(path, value)` pairs sorted by path, values of one path
/// kept in message order. A path with several values (a String.Array, a JSON array) matches
/// a predicate when any of its values does.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields {
    entries: Vec<(String, Value)>,
}

impl Fields {
    /// Attribute scope: `(name, data type, string value)` per attribute.
    ///
    /// `String` and `String.<custom>` values are strings; `Number` and `Number.<custom>`
    /// values are numbers (opaque when the text is not a finite number); `String.Array`'s
    /// value is a JSON array text whose string, number, boolean and null elements each become
    /// a value of the attribute (objects and arrays inside it are skipped; a text that is not a
    /// JSON array, or an empty array, leaves the attribute present but opaque). `Binary` and
    /// unknown types are present and opaque.
    pub fn from_attributes<'a>(
        attributes: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Fields {
        let mut entries = Vec::new();
        for (name, data_type, text) in attributes {
            let before = entries.len();
            if data_type == "String.Array" {
                if let Ok(Json::Array(elements)) = serde_json::from_str::<Json>(text) {
                    for element in &elements {
                        if let Some(value) = scalar(element) {
                            entries.push((name.to_owned(), value));
                        }
                    }
                }
            } else if data_type == "String" || data_type.starts_with("String.") {
                entries.push((name.to_owned(), Value::Str(text.to_owned())));
            } else if data_type == "Number" || data_type.starts_with("Number.") {
                let value = match text.parse::<f64>() {
                    Ok(number) if number.is_finite() => Value::Number(number),
                    _ => Value::Opaque,
                };
                entries.push((name.to_owned(), value));
            }
            if entries.len() == before {
                entries.push((name.to_owned(), Value::Opaque));
            }
        }
        Fields::sorted(entries)
    }

    /// Body scope: the body must be a JSON object, else `None` (body-scope policies then
    /// match nothing). See [`Fields::from_json`] for the flattening.
    pub fn from_json_body(body: &str) -> Option<Fields> {
        let value: Json = serde_json::from_str(body).ok()?;
        Fields::from_json(&value)
    }

    /// An already-parsed JSON object, flattened: nested objects give dotted paths `a.b.c`,
    /// arrays give every element the array's path (arrays of objects too, so
    /// `Records[].s3.bucket.name` is the path `Records.s3.bucket.name`). Objects and empty
    /// arrays contribute no value of their own. `None` if `value` is not an object.
    pub fn from_json(value: &Json) -> Option<Fields> {
        let Json::Object(_) = value else {
            return None;
        };
        let mut entries = Vec::new();
        // An explicit stack: a deeply nested value built in memory cannot overflow ours.
        let mut stack: Vec<(String, &Json)> = vec![(String::new(), value)];
        while let Some((path, node)) = stack.pop() {
            match node {
                Json::Object(members) => {
                    for (key, member) in members.iter().rev() {
                        let child = if path.is_empty() {
                            key.clone()
                        } else {
                            format!("{path}.{key}")
                        };
                        stack.push((child, member));
                    }
                }
                Json::Array(elements) => {
                    for element in elements.iter().rev() {
                        stack.push((path.clone(), element));
                    }
                }
                scalar_node => {
                    if let Some(value) = scalar(scalar_node) {
                        entries.push((path, value));
                    }
                }
            }
        }
        Some(Fields::sorted(entries))
    }

    fn sorted(mut entries: Vec<(String, Value)>) -> Fields {
        // Stable: the values of one path keep their message order.
        entries.sort_by(|left, right| left.0.cmp(&right.0));
        Fields { entries }
    }

    /// The values at `path`, empty when the path is absent.
    pub fn values(&self, path: &str) -> impl Iterator<Item = &Value> {
        let start = self.entries.partition_point(|(key, _)| key.as_str() < path);
        self.entries
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(move |(key, _)| key == path)
            .map(|(_, value)| value)
    }

    /// Each distinct path with its values, in path order.
    pub(super) fn groups(&self) -> impl Iterator<Item = (&str, &[(String, Value)])> {
        self.entries
            .chunk_by(|left, right| left.0 == right.0)
            .filter_map(|group| group.first().map(|(path, _)| (path.as_str(), group)))
    }

    /// The number of `(path, value)` pairs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn scalar(value: &Json) -> Option<Value> {
    match value {
        Json::String(text) => Some(Value::Str(text.clone())),
        Json::Number(number) => number.as_f64().filter(|n| n.is_finite()).map(Value::Number),
        Json::Bool(flag) => Some(Value::Bool(*flag)),
        Json::Null => Some(Value::Null),
        Json::Array(_) | Json::Object(_) => None,
    }
}
