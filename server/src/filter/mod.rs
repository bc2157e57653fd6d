//! The filter engine: SNS filter policies now, EventBridge event patterns next.
//!
//! Pure and deterministic: no AWS wire types, no I/O, no async, and no panic on any input.
//! A policy text is parsed and validated once into a [`Policy`]; a message is flattened once
//! into [`Fields`]; a [`Matcher`] holds many policies compiled together and answers which of
//! them a message satisfies.
//!
//! # Layout
//!
//! - `fields.rs`: [`Value`] and [`Fields`], a message as sorted `(path, value)` pairs.
//! - `policy.rs`: [`Policy::parse`], the validator with AWS's messages ([`PolicyError`]), the
//!   compiled form (a disjunction of conjunctions of clauses) and [`Policy::matches`], the
//!   straightforward interpreter that is the reference for the matcher.
//! - `matcher.rs`: [`Matcher`], the index over many policies.
//! - `tests.rs`: tables per operator and error, a proptest against the interpreter, and the
//!   cost property.
//!
//! # The language (SNS)
//!
//! A policy is a JSON object: AND across keys, OR across the values of a key's array.
//! `"$or": [{..}, {..}]` (two objects or more) may appear at any level and is ANDed with its
//! sibling keys. In body scope nested objects are nested keys, and a dotted key `"a.b"` is the
//! same path as `{"a": {"b": ..}}`. In attribute scope a policy is flat (a nested object other
//! than `$or` branches is refused, with AWS's message) and keys are attribute names, dots
//! included. An empty policy `{}` matches every message. Leaf elements: strings (exact, case
//! sensitive), numbers (numeric equality, numbers only), `null` and booleans (JSON values), and
//! the operators `prefix`, `suffix`, `equals-ignore-case`, `anything-but`, `numeric`, `exists`
//! and `cidr`; [`Dialect::EventBridge`] adds `wildcard`, `prefix`/`suffix` with
//! `equals-ignore-case`, and `anything-but` lists of `prefix`, `suffix`, `wildcard` and
//! `equals-ignore-case`.
//!
//! Decisions where AWS's documents are silent or disagree (each is pinned by a test):
//!
//! - **Key limit.** At most 5 distinct leaf paths in the whole policy, `$or` branches
//!   included; `$or` itself is not a key. In attribute scope every key is a leaf.
//! - **Combinations.** Per object the product of its keys' counts, where a value array counts
//!   its length, a nested object its own count and a `$or` the sum of its branches; at most
//!   150. [`Dialect::EventBridge`] has no key limit and a combination cap of 4,096 only to
//!   bound the compiled size.
//! - **Presence.** A path is present when the message has at least one value at it. A body
//!   key whose value is an object or an empty array is not present (`exists` applies to
//!   leaves, as in event-ruler). An attribute is always present, whatever its type.
//! - **Values that match nothing.** Binary attributes, Number attributes whose text is not a
//!   finite number, unknown data types, and String.Array values that are not a JSON array
//!   are present (for `exists`) but opaque: no other operator, `anything-but` included,
//!   matches them. A String.Array's elements that are objects or arrays are skipped.
//! - **anything-but** matches when the path has at least one comparable value and none of
//!   its values is excluded (current AWS text for String.Array, applied to body arrays too).
//!   A value of another type than the excluded ones is not excluded: `{"anything-but":
//!   ["a"]}` matches the number 5 and JSON `null`.
//! - **Numbers.** Number attributes and JSON numbers compare as `f64`; `100` equals `100.0`.
//!   A string never matches a number and a number never matches a string.
//! - **cidr** matches string values that parse as an IP address of the same family; host
//!   bits set in the policy's address are masked off rather than refused.
//!
//! # The matcher and its cost
//!
//! A policy compiles to a disjunction of conjunctions (the `$or` branches multiplied out,
//! bounded by the combination limit); each conjunction is a list of clauses, and a clause is
//! one path with the OR of its predicates. The matcher indexes every clause by its path, and
//! within a path by its predicates' values: a hash map for exact values and
//! `equals-ignore-case`, hash maps keyed by text plus the set of their lengths for prefixes and
//! suffixes (a value is probed once per distinct length, so the cost is bounded by the
//! value's length, not by the number of prefixes), hash maps per mask length for cidr, and a
//! map ordered by lower bound for numeric ranges. `wildcard` patterns of a path are tried one
//! by one (event-ruler warns about their cost as well).
//!
//! Matching counts satisfied clauses per conjunction. Each conjunction starts from the number
//! of its clauses an absent path satisfies (those with `exists: false`); the conjunctions
//! whose every clause accepts absence are kept in a list and match unless a present path
//! spoils them. For every path the message has, the matcher probes that path's indexes,
//! marks the clauses hit, adds the `exists: true` and unexcluded `anything-but` clauses of
//! that path (excluded values are themselves indexed, so only the `anything-but` predicates
//! of present paths are visited), and subtracts the `exists: false` clauses of that path
//! left unsatisfied. A conjunction matches when its count equals its clause count.
//!
//! The work per message is therefore O(message values × distinct affix lengths + clauses
//! hit + negative predicates of the paths present + numeric ranges whose lower bound is at
//! most the value + the absence-only conjunctions), independent of the number of policies
//! on other paths or other values. Policies are per scope: the caller keeps one matcher for
//! attribute-scope and one for body-scope policies, and passes each the matching [`Fields`].
//! Subscriptions without a policy are the caller's (they match everything).

mod fields;
mod matcher;
mod policy;
#[cfg(test)]
mod tests;

pub use fields::{Fields, Value};
pub use matcher::Matcher;
pub use policy::{Policy, PolicyError};

/// Which part of a message a policy filters on (SNS `FilterPolicyScope`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The message attributes, flat, by name (SNS's default scope).
    MessageAttributes,
    /// The message body, which must be a JSON object; nested keys are paths.
    MessageBody,
}

/// Which service's pattern language a policy is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SNS filter policies, with SNS's limits and messages.
    Sns,
    /// EventBridge event patterns: SNS's operators plus `wildcard`, `prefix`/`suffix` with
    /// `equals-ignore-case`, and `anything-but` lists of `prefix`, `suffix`, `wildcard` and
    /// `equals-ignore-case`.
    EventBridge,
}
