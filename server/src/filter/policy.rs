//! Parsing and validating a policy, its compiled form, and the reference interpreter.
//!
//! Validation follows AWS's order loosely: the shape (objects, arrays, `$or`, nesting), then
//! the key and combination limits, then each leaf's operators. Messages are the text AWS puts
//! after `Invalid parameter: FilterPolicy: `, taken from the AWS-snapshotted validator of
//! LocalStack and from event-ruler where SNS shares its text. Unverified ones are marked.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use serde_json::{Map, Value as Json};

use super::fields::{Fields, Value};
use super::{Dialect, Scope};

/// SNS: a filter policy's text is at most 256 KiB.
pub(super) const POLICY_BYTES_MAX: usize = 256 * 1024;
/// SNS: at most 5 keys (distinct leaf paths, see the module doc).
pub(super) const KEYS_MAX: usize = 5;
/// SNS: at most 150 combinations of values.
pub(super) const SNS_COMBINATIONS_MAX: u64 = 150;
/// EventBridge has no combination limit of its own; this one bounds the compiled size.
pub(super) const EVENT_BRIDGE_COMBINATIONS_MAX: u64 = 4096;
/// SNS numeric values: within ±1e9, at most 5 decimal places.
const SNS_NUMBER_ABS_MAX: f64 = 1e9;
const SNS_DECIMALS_MAX: i64 = 5;
/// EventBridge (event-ruler) numeric values: within ±5e9, at most 6 decimal places.
const EVENT_BRIDGE_NUMBER_ABS_MAX: f64 = 5e9;
const EVENT_BRIDGE_DECIMALS_MAX: i64 = 6;

/// A parsed, validated policy of one scope: a disjunction of conjunctions of clauses.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    scope: Scope,
    conjunctions: Vec<Vec<Clause>>,
}

/// One path and the OR of its predicates.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Clause {
    pub(super) path: String,
    pub(super) predicates: Vec<Predicate>,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Predicate {
    Term(Term),
    /// Matches a present, comparable value that no term matches.
    AnythingBut(Vec<Term>),
    Exists(bool),
}

/// A test on one value.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Term {
    Exact(Key),
    Prefix(String),
    Suffix(String),
    /// The texts of the folded terms are lowercased when compiled.
    EqualsFolded(String),
    PrefixFolded(String),
    SuffixFolded(String),
    Numeric(Range),
    Cidr(Network),
    Wildcard(Wildcard),
}

/// An exact value, hashable: numbers by the bits of their `f64` (with `-0` as `0`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Str(String),
    Number(u64),
    Bool(bool),
    Null,
}

pub(super) fn number_key(number: f64) -> u64 {
    if number == 0.0 {
        0.0f64.to_bits()
    } else {
        number.to_bits()
    }
}

impl Key {
    pub(super) fn of(value: &Value) -> Option<Key> {
        match value {
            Value::Str(text) => Some(Key::Str(text.clone())),
            Value::Number(number) => Some(Key::Number(number_key(*number))),
            Value::Bool(flag) => Some(Key::Bool(*flag)),
            Value::Null => Some(Key::Null),
            Value::Opaque => None,
        }
    }
}

/// A numeric range with at most one lower and one upper bound, `(value, inclusive)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Range {
    pub(super) lower: Option<(f64, bool)>,
    pub(super) upper: Option<(f64, bool)>,
}

impl Range {
    pub(super) fn contains(&self, number: f64) -> bool {
        let above = match self.lower {
            None => true,
            Some((bound, true)) => number >= bound,
            Some((bound, false)) => number > bound,
        };
        let below = match self.upper {
            None => true,
            Some((bound, true)) => number <= bound,
            Some((bound, false)) => number < bound,
        };
        above && below
    }
}

/// A CIDR block, its address masked to its prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Network {
    V4 { address: u32, bits: u8 },
    V6 { address: u128, bits: u8 },
}

pub(super) fn mask_v4(address: u32, bits: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0) & address
}

pub(super) fn mask_v6(address: u128, bits: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0) & address
}

impl Network {
    fn contains(&self, text: &str) -> bool {
        match (self, text.parse::<IpAddr>()) {
            (Network::V4 { address, bits }, Ok(IpAddr::V4(ip))) => {
                mask_v4(u32::from(ip), *bits) == *address
            }
            (Network::V6 { address, bits }, Ok(IpAddr::V6(ip))) => {
                mask_v6(u128::from(ip), *bits) == *address
            }
            _ => false,
        }
    }
}

/// An EventBridge wildcard: the literal texts between unescaped `*`s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Wildcard {
    segments: Vec<String>,
}

impl Wildcard {
    fn parse(pattern: &str) -> Result<Wildcard, PolicyError> {
        let mut segments = vec![String::new()];
        let mut characters = pattern.chars().enumerate().peekable();
        let mut previous_star = false;
        while let Some((position, character)) = characters.next() {
            match character {
                '\\' => match characters.next() {
                    Some((_, escaped @ ('*' | '\\'))) => {
                        push_char(&mut segments, escaped);
                        previous_star = false;
                    }
                    _ => {
                        return Err(PolicyError::invalid(format!(
                            "Invalid escape character at pos {position}"
                        )));
                    }
                },
                '*' => {
                    if previous_star {
                        return Err(PolicyError::invalid(format!(
                            "Consecutive wildcard characters at pos {position}"
                        )));
                    }
                    segments.push(String::new());
                    previous_star = true;
                }
                other => {
                    push_char(&mut segments, other);
                    previous_star = false;
                }
            }
        }
        Ok(Wildcard { segments })
    }

    fn matches(&self, text: &str) -> bool {
        let (Some(first), Some(last)) = (self.segments.first(), self.segments.last()) else {
            return false;
        };
        if self.segments.len() == 1 {
            return text == first;
        }
        let Some(rest) = text.strip_prefix(first.as_str()) else {
            return false;
        };
        let Some(mut middle) = rest.strip_suffix(last.as_str()) else {
            return false;
        };
        let inner = self
            .segments
            .get(1..self.segments.len() - 1)
            .unwrap_or_default();
        for segment in inner {
            let Some(found) = middle.find(segment.as_str()) else {
                return false;
            };
            match middle.get(found + segment.len()..) {
                Some(after) => middle = after,
                None => return false,
            }
        }
        true
    }
}

fn push_char(segments: &mut [String], character: char) {
    if let Some(last) = segments.last_mut() {
        last.push(character);
    }
}

impl Term {
    pub(super) fn matches(&self, value: &Value) -> bool {
        match (self, value) {
            (Term::Exact(key), value) => Key::of(value).as_ref() == Some(key),
            (Term::Prefix(prefix), Value::Str(text)) => text.starts_with(prefix.as_str()),
            (Term::Suffix(suffix), Value::Str(text)) => text.ends_with(suffix.as_str()),
            (Term::EqualsFolded(folded), Value::Str(text)) => text.to_lowercase() == *folded,
            (Term::PrefixFolded(prefix), Value::Str(text)) => {
                text.to_lowercase().starts_with(prefix.as_str())
            }
            (Term::SuffixFolded(suffix), Value::Str(text)) => {
                text.to_lowercase().ends_with(suffix.as_str())
            }
            (Term::Numeric(range), Value::Number(number)) => range.contains(*number),
            (Term::Cidr(network), Value::Str(text)) => network.contains(text),
            (Term::Wildcard(wildcard), Value::Str(text)) => wildcard.matches(text),
            _ => false,
        }
    }
}

impl Predicate {
    fn matches(&self, values: &[&Value]) -> bool {
        match self {
            Predicate::Term(term) => values.iter().any(|value| term.matches(value)),
            Predicate::Exists(present) => values.is_empty() != *present,
            Predicate::AnythingBut(terms) => {
                values.iter().any(|value| value.is_comparable())
                    && !values
                        .iter()
                        .any(|value| terms.iter().any(|term| term.matches(value)))
            }
        }
    }
}

impl Clause {
    fn matches(&self, fields: &Fields) -> bool {
        let values: Vec<&Value> = fields.values(&self.path).collect();
        self.predicates
            .iter()
            .any(|predicate| predicate.matches(&values))
    }

    /// Whether an absent path satisfies the clause (it holds `exists: false`).
    pub(super) fn accepts_absence(&self) -> bool {
        self.predicates.contains(&Predicate::Exists(false))
    }
}

impl Policy {
    /// Parses and validates a policy text.
    pub fn parse(text: &str, scope: Scope, dialect: Dialect) -> Result<Policy, PolicyError> {
        // Unverified wording: AWS's text for an oversized policy.
        if text.len() > POLICY_BYTES_MAX {
            return Err(PolicyError::invalid("Filter policy is too long".to_owned()));
        }
        let json: Json = serde_json::from_str(text)
            .map_err(|error| PolicyError::invalid(format!("failed to parse JSON. {error}")))?;
        let Json::Object(object) = &json else {
            // Unverified wording (event-ruler: "Filter is not an object").
            return Err(PolicyError::invalid(
                "Filter policy must be a JSON object".to_owned(),
            ));
        };
        let parser = Parser { scope, dialect };
        let mut paths = BTreeSet::new();
        let combinations = parser.shape(object, "", &mut paths)?;
        if dialect == Dialect::Sns && paths.len() > KEYS_MAX {
            return Err(PolicyError::invalid(format!(
                "Filter policy can not have more than {KEYS_MAX} keys"
            )));
        }
        let combinations_max = match dialect {
            Dialect::Sns => SNS_COMBINATIONS_MAX,
            Dialect::EventBridge => EVENT_BRIDGE_COMBINATIONS_MAX,
        };
        if combinations > combinations_max {
            return Err(PolicyError::too_complex());
        }
        let conjunctions = parser.compile(object, "")?;
        Ok(Policy {
            scope,
            conjunctions,
        })
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// The reference interpreter: whether `fields` satisfy the policy, evaluated clause by
    /// clause. [`super::Matcher`] gives the same answers for many policies at once.
    pub fn matches(&self, fields: &Fields) -> bool {
        self.conjunctions
            .iter()
            .any(|conjunction| conjunction.iter().all(|clause| clause.matches(fields)))
    }

    pub(super) fn conjunctions(&self) -> &[Vec<Clause>] {
        &self.conjunctions
    }
}

struct Parser {
    scope: Scope,
    dialect: Dialect,
}

/// `$or` is a keyword when its value is an array of objects; otherwise it is a field name.
fn or_branches<'a>(key: &str, value: &'a Json) -> Option<Vec<&'a Map<String, Json>>> {
    if key != "$or" {
        return None;
    }
    let Json::Array(elements) = value else {
        return None;
    };
    let branches: Vec<&Map<String, Json>> = elements.iter().filter_map(Json::as_object).collect();
    (!branches.is_empty() && branches.len() == elements.len()).then_some(branches)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

impl Parser {
    /// Checks the shape of an object and returns its number of combinations, collecting
    /// the leaf paths.
    fn shape(
        &self,
        object: &Map<String, Json>,
        prefix: &str,
        paths: &mut BTreeSet<String>,
    ) -> Result<u64, PolicyError> {
        let mut combinations: u64 = 1;
        for (key, value) in object {
            let count = if let Some(branches) = or_branches(key, value) {
                if branches.len() < 2 {
                    // Unverified wording: AWS asks for at least two objects in a `$or`.
                    return Err(PolicyError::invalid(
                        "$or must be an array of at least two objects".to_owned(),
                    ));
                }
                let mut sum: u64 = 0;
                for branch in branches {
                    sum = sum.saturating_add(self.shape(branch, prefix, paths)?);
                }
                sum
            } else {
                match value {
                    Json::Object(nested) => {
                        if self.scope == Scope::MessageAttributes {
                            return Err(PolicyError::nested_attributes());
                        }
                        self.shape(nested, &join(prefix, key), paths)?
                    }
                    Json::Array(elements) => {
                        if elements.is_empty() {
                            return Err(PolicyError::invalid(
                                "Empty arrays are not allowed".to_owned(),
                            ));
                        }
                        paths.insert(join(prefix, key));
                        u64::try_from(elements.len()).unwrap_or(u64::MAX)
                    }
                    _ => {
                        return Err(PolicyError::invalid(format!(
                            "\"{key}\" must be an object or an array"
                        )));
                    }
                }
            };
            combinations = combinations.saturating_mul(count);
        }
        Ok(combinations)
    }

    /// Compiles a checked object into its disjunction of conjunctions.
    fn compile(
        &self,
        object: &Map<String, Json>,
        prefix: &str,
    ) -> Result<Vec<Vec<Clause>>, PolicyError> {
        let mut disjunction: Vec<Vec<Clause>> = vec![Vec::new()];
        for (key, value) in object {
            let part = if let Some(branches) = or_branches(key, value) {
                let mut part = Vec::new();
                for branch in branches {
                    part.extend(self.compile(branch, prefix)?);
                }
                part
            } else {
                match value {
                    Json::Object(nested) => self.compile(nested, &join(prefix, key))?,
                    Json::Array(elements) => {
                        let predicates = elements
                            .iter()
                            .map(|element| self.predicate(element))
                            .collect::<Result<Vec<_>, _>>()?;
                        vec![vec![Clause {
                            path: join(prefix, key),
                            predicates,
                        }]]
                    }
                    // `shape` refused every other value.
                    _ => Vec::new(),
                }
            };
            let mut product = Vec::with_capacity(disjunction.len().saturating_mul(part.len()));
            for left in &disjunction {
                for right in &part {
                    let mut conjunction = left.clone();
                    conjunction.extend(right.iter().cloned());
                    product.push(conjunction);
                }
            }
            disjunction = product;
        }
        Ok(disjunction)
    }

    fn predicate(&self, element: &Json) -> Result<Predicate, PolicyError> {
        match element {
            Json::Object(operator) => self.operator(operator),
            Json::Array(_) => Err(match_value_error()),
            scalar => Ok(Predicate::Term(Term::Exact(exact(scalar)?))),
        }
    }

    fn operator(&self, object: &Map<String, Json>) -> Result<Predicate, PolicyError> {
        let (name, value) = single(object)?;
        let event_bridge = self.dialect == Dialect::EventBridge;
        let term = match (name, value) {
            ("prefix", Json::String(text)) => Term::Prefix(text.clone()),
            ("suffix", Json::String(text)) => Term::Suffix(text.clone()),
            ("prefix" | "suffix", Json::Object(inner)) if event_bridge => {
                let (inner_name, inner_value) = single(inner)?;
                match (inner_name, inner_value) {
                    ("equals-ignore-case", Json::String(text)) if name == "prefix" => {
                        Term::PrefixFolded(text.to_lowercase())
                    }
                    ("equals-ignore-case", Json::String(text)) => {
                        Term::SuffixFolded(text.to_lowercase())
                    }
                    ("equals-ignore-case", _) => return Err(must_be_string(inner_name)),
                    _ => return Err(unrecognized(inner_name)),
                }
            }
            ("prefix" | "suffix", _) => return Err(must_be_string(name)),
            ("equals-ignore-case", Json::String(text)) => Term::EqualsFolded(text.to_lowercase()),
            ("equals-ignore-case", _) => return Err(must_be_string(name)),
            ("wildcard", Json::String(text)) if event_bridge => {
                Term::Wildcard(Wildcard::parse(text)?)
            }
            ("wildcard", _) if event_bridge => return Err(must_be_string(name)),
            ("exists", Json::Bool(present)) => return Ok(Predicate::Exists(*present)),
            ("exists", _) => {
                return Err(PolicyError::invalid(
                    "exists match pattern must be either true or false.".to_owned(),
                ));
            }
            ("anything-but", value) => return self.anything_but(value),
            ("numeric", Json::Array(elements)) => self.numeric(elements)?,
            ("numeric", _) => {
                return Err(PolicyError::invalid(
                    "Value of numeric must be an array.".to_owned(),
                ));
            }
            ("cidr", Json::String(text)) => Term::Cidr(cidr(text)?),
            // AWS answers a non-string cidr with the prefix message.
            ("cidr", _) => return Err(must_be_string("prefix")),
            _ => return Err(unrecognized(name)),
        };
        Ok(Predicate::Term(term))
    }

    fn anything_but(&self, value: &Json) -> Result<Predicate, PolicyError> {
        let terms = match value {
            Json::String(_) | Json::Number(_) => vec![Term::Exact(exact(value)?)],
            Json::Array(elements) => {
                if elements.is_empty() {
                    return Err(PolicyError::invalid(
                        "Empty arrays are not allowed".to_owned(),
                    ));
                }
                elements
                    .iter()
                    .map(|element| match element {
                        Json::String(_) | Json::Number(_) => Ok(Term::Exact(exact(element)?)),
                        _ => Err(PolicyError::invalid(
                            "Inside anything but list, start|null|boolean is not supported."
                                .to_owned(),
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            Json::Object(inner) => {
                let (name, inner_value) = single(inner)?;
                let allowed = match self.dialect {
                    Dialect::Sns => matches!(name, "prefix" | "suffix"),
                    Dialect::EventBridge => {
                        matches!(
                            name,
                            "prefix" | "suffix" | "wildcard" | "equals-ignore-case"
                        )
                    }
                };
                if !allowed {
                    return Err(PolicyError::invalid(format!(
                        "Unsupported anything-but pattern: {name}"
                    )));
                }
                let texts: Vec<&str> = match inner_value {
                    Json::String(text) => vec![text.as_str()],
                    Json::Array(elements) if self.dialect == Dialect::EventBridge => {
                        if elements.is_empty() {
                            return Err(PolicyError::invalid(
                                "Empty arrays are not allowed".to_owned(),
                            ));
                        }
                        elements
                            .iter()
                            .map(|element| element.as_str().ok_or_else(|| must_be_string(name)))
                            .collect::<Result<Vec<_>, _>>()?
                    }
                    _ => return Err(must_be_string(name)),
                };
                texts
                    .into_iter()
                    .map(|text| {
                        Ok(match name {
                            "prefix" => Term::Prefix(text.to_owned()),
                            "suffix" => Term::Suffix(text.to_owned()),
                            "wildcard" => Term::Wildcard(Wildcard::parse(text)?),
                            _ => Term::EqualsFolded(text.to_lowercase()),
                        })
                    })
                    .collect::<Result<Vec<_>, PolicyError>>()?
            }
            Json::Bool(_) | Json::Null => {
                return Err(PolicyError::invalid(
                    "Value of anything-but must be an array or single string/number value."
                        .to_owned(),
                ));
            }
        };
        Ok(Predicate::AnythingBut(terms))
    }

    fn numeric(&self, elements: &[Json]) -> Result<Term, PolicyError> {
        let mut rest = elements.iter();
        let Some(first) = rest.next() else {
            return Err(PolicyError::invalid(
                "Invalid member in numeric match: ]".to_owned(),
            ));
        };
        let Json::String(operator) = first else {
            return Err(PolicyError::invalid(format!(
                "Invalid member in numeric match: {}",
                show(first)
            )));
        };
        if !matches!(operator.as_str(), "<" | "<=" | "=" | ">" | ">=") {
            return Err(PolicyError::invalid(format!(
                "Unrecognized numeric range operator: {operator}"
            )));
        }
        let value = self.numeric_value(operator, rest.next())?;
        if rest.len() == 0 {
            let bound = Some((value, operator.contains('=')));
            return Ok(match operator.as_str() {
                "=" => Term::Exact(Key::Number(number_key(value))),
                "<" | "<=" => Term::Numeric(Range {
                    lower: None,
                    upper: bound,
                }),
                _ => Term::Numeric(Range {
                    lower: bound,
                    upper: None,
                }),
            });
        }
        if !matches!(operator.as_str(), ">" | ">=") {
            return Err(PolicyError::invalid(
                "Too many elements in numeric expression".to_owned(),
            ));
        }
        let second = rest.next();
        let Some(Json::String(second_operator)) = second else {
            return Err(PolicyError::invalid(format!(
                "Bad value in numeric range: {}",
                second.map(show).unwrap_or_default()
            )));
        };
        if !matches!(second_operator.as_str(), "<" | "<=") {
            return Err(PolicyError::invalid(format!(
                "Bad numeric range operator: {second_operator}"
            )));
        }
        let top = self.numeric_value(second_operator, rest.next())?;
        if top <= value {
            return Err(PolicyError::invalid(
                "Bottom must be less than top".to_owned(),
            ));
        }
        if rest.len() > 0 {
            return Err(PolicyError::invalid(
                "Too many terms in numeric range expression".to_owned(),
            ));
        }
        Ok(Term::Numeric(Range {
            lower: Some((value, operator == ">=")),
            upper: Some((top, second_operator == "<=")),
        }))
    }

    fn numeric_value(&self, operator: &str, value: Option<&Json>) -> Result<f64, PolicyError> {
        let Some(Json::Number(number)) = value else {
            let name = if operator == "=" { "equals" } else { operator };
            return Err(PolicyError::invalid(format!(
                "Value of {name} must be numeric"
            )));
        };
        let (absolute_max, decimals_max, range_text) = match self.dialect {
            Dialect::Sns => (SNS_NUMBER_ABS_MAX, SNS_DECIMALS_MAX, "-1.0E9 and 1.0E9"),
            Dialect::EventBridge => (
                EVENT_BRIDGE_NUMBER_ABS_MAX,
                EVENT_BRIDGE_DECIMALS_MAX,
                "-5.0E9 and 5.0E9",
            ),
        };
        let float = number.as_f64().unwrap_or(f64::INFINITY);
        // Unverified wording: AWS's text for numbers out of the range or too precise.
        if float.is_nan() || float.abs() > absolute_max || decimal_places(number) > decimals_max {
            return Err(PolicyError::invalid(format!(
                "Numeric value must be between {range_text} inclusive, \
                 with at most {decimals_max} decimal places"
            )));
        }
        Ok(float)
    }
}

/// The decimal places of a JSON number as serde_json prints it (shortest form).
fn decimal_places(number: &serde_json::Number) -> i64 {
    let text = number.to_string();
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i64>().unwrap_or(i64::MAX)),
        None => (text.as_str(), 0),
    };
    let fraction = mantissa.split_once('.').map_or(0, |(_, fraction)| {
        i64::try_from(fraction.trim_end_matches('0').len()).unwrap_or(i64::MAX)
    });
    fraction.saturating_sub(exponent).max(0)
}

fn single(object: &Map<String, Json>) -> Result<(&str, &Json), PolicyError> {
    let mut members = object.iter();
    match (members.next(), members.next()) {
        (Some((name, value)), None) => Ok((name.as_str(), value)),
        _ => Err(PolicyError::invalid(
            "Only one key allowed in match expression".to_owned(),
        )),
    }
}

fn exact(scalar: &Json) -> Result<Key, PolicyError> {
    match scalar {
        Json::String(text) => Ok(Key::Str(text.clone())),
        Json::Number(number) => number
            .as_f64()
            .filter(|float| float.is_finite())
            .map(|float| Key::Number(number_key(float)))
            .ok_or_else(match_value_error),
        Json::Bool(flag) => Ok(Key::Bool(*flag)),
        Json::Null => Ok(Key::Null),
        Json::Array(_) | Json::Object(_) => Err(match_value_error()),
    }
}

fn cidr(text: &str) -> Result<Network, PolicyError> {
    let parts: Vec<&str> = text.split('/').collect();
    let [address, mask] = parts.as_slice() else {
        return Err(PolicyError::invalid(
            "Malformed CIDR, one '/' required".to_owned(),
        ));
    };
    let Ok(bits) = mask.parse::<i64>() else {
        return Err(PolicyError::invalid(
            "Malformed CIDR, mask bits must be an integer".to_owned(),
        ));
    };
    let nonstandard = || PolicyError::invalid(format!("Nonstandard IP address: {address}"));
    match address.parse::<IpAddr>().map_err(|_| nonstandard())? {
        IpAddr::V4(ip) => {
            let bits = u8::try_from(bits)
                .ok()
                .filter(|bits| *bits <= 32)
                .ok_or_else(nonstandard)?;
            Ok(Network::V4 {
                address: mask_v4(u32::from(ip), bits),
                bits,
            })
        }
        IpAddr::V6(ip) => {
            let bits = u8::try_from(bits)
                .ok()
                .filter(|bits| *bits <= 128)
                .ok_or_else(nonstandard)?;
            Ok(Network::V6 {
                address: mask_v6(u128::from(ip), bits),
                bits,
            })
        }
    }
}

fn show(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn match_value_error() -> PolicyError {
    PolicyError::invalid("Match value must be String, number, true, false, or null".to_owned())
}

fn must_be_string(operator: &str) -> PolicyError {
    PolicyError::invalid(format!("{operator} match pattern must be a string"))
}

fn unrecognized(operator: &str) -> PolicyError {
    PolicyError::invalid(format!("Unrecognized match type {operator}"))
}

/// Why a policy was refused. `Display` is the text AWS puts after
/// `Invalid parameter: FilterPolicy: ` (see [`PolicyError::names_filter_policy`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    message: String,
    kind: ErrorKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ErrorKind {
    Invalid,
    TooComplex,
    NestedAttributes,
}

impl PolicyError {
    fn invalid(message: String) -> PolicyError {
        PolicyError {
            message,
            kind: ErrorKind::Invalid,
        }
    }

    fn too_complex() -> PolicyError {
        PolicyError {
            message: "Filter policy is too complex".to_owned(),
            kind: ErrorKind::TooComplex,
        }
    }

    fn nested_attributes() -> PolicyError {
        PolicyError {
            message: "Filter policy scope MessageAttributes does not support nested filter policy"
                .to_owned(),
            kind: ErrorKind::NestedAttributes,
        }
    }

    /// "Filter policy is too complex": the combination limit.
    pub fn is_too_complex(&self) -> bool {
        self.kind == ErrorKind::TooComplex
    }

    /// Whether AWS prefixes the message with `FilterPolicy: `. The one exception is the
    /// nested attribute-scope policy: `Invalid parameter: Filter policy scope
    /// MessageAttributes does not support nested filter policy`.
    pub fn names_filter_policy(&self) -> bool {
        self.kind != ErrorKind::NestedAttributes
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for PolicyError {}
