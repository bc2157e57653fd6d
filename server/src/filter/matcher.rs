//! Many policies compiled together, indexed by path and value (see the module doc of
//! `filter` for the design and its cost).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::Hash;
use std::net::IpAddr;

use super::fields::{Fields, Value};
use super::policy::{Key, Network, Policy, Predicate, Range, Term, Wildcard, mask_v4, mask_v6};

/// An id of a conjunction, a clause or an `anything-but` predicate; never reused.
type Id = u64;

/// Many policies, each under a key `K` (a subscription or a rule).
#[derive(Debug)]
pub struct Matcher<K> {
    installed: HashMap<K, Installed>,
    conjunctions: HashMap<Id, Conjunction<K>>,
    clauses: HashMap<Id, ClauseInfo>,
    /// The conjunctions whose every clause accepts an absent path: they match unless a
    /// present path spoils one of their clauses.
    absence_only: BTreeSet<Id>,
    paths: HashMap<String, PathIndex>,
    next_id: Id,
}

/// What an inserted policy put in the indexes, so that `remove` can take it out.
#[derive(Debug)]
struct Installed {
    policy: Policy,
    conjunctions: Vec<Id>,
    /// Per conjunction of the policy, per clause: its id and its `anything-but` ids.
    clauses: Vec<Vec<(Id, Vec<Id>)>>,
}

#[derive(Debug)]
struct Conjunction<K> {
    key: K,
    clause_count: usize,
    /// Clauses satisfied when every path is absent.
    absent_satisfied: usize,
}

#[derive(Debug, Clone, Copy)]
struct ClauseInfo {
    conjunction: Id,
    accepts_absence: bool,
}

/// The predicates of one path.
#[derive(Debug, Default)]
struct PathIndex {
    /// Positive terms, to clause ids.
    positive: TermIndex,
    exists_true: Vec<Id>,
    exists_false: Vec<Id>,
    /// `(anything-but id, clause id)`.
    anything_but: Vec<(Id, Id)>,
    /// The terms of `anything-but` predicates, to anything-but ids.
    excluded: TermIndex,
}

impl PathIndex {
    fn is_empty(&self) -> bool {
        self.positive.is_empty()
            && self.exists_true.is_empty()
            && self.exists_false.is_empty()
            && self.anything_but.is_empty()
            && self.excluded.is_empty()
    }
}

impl<K: Clone + Eq + Hash + Ord> Default for Matcher<K> {
    fn default() -> Self {
        Matcher::new()
    }
}

impl<K: Clone + Eq + Hash + Ord> Matcher<K> {
    pub fn new() -> Self {
        Matcher {
            installed: HashMap::new(),
            conjunctions: HashMap::new(),
            clauses: HashMap::new(),
            absence_only: BTreeSet::new(),
            paths: HashMap::new(),
            next_id: 0,
        }
    }

    fn allocate(&mut self) -> Id {
        self.next_id += 1;
        self.next_id
    }

    /// Adds `policy` under `key`, replacing the policy `key` had.
    pub fn insert(&mut self, key: K, policy: &Policy) {
        self.remove(&key);
        let mut installed = Installed {
            policy: policy.clone(),
            conjunctions: Vec::new(),
            clauses: Vec::new(),
        };
        for conjunction in policy.conjunctions() {
            let conjunction_id = self.allocate();
            let mut clause_ids = Vec::with_capacity(conjunction.len());
            let mut absent_satisfied = 0;
            for clause in conjunction {
                let clause_id = self.allocate();
                let accepts_absence = clause.accepts_absence();
                absent_satisfied += usize::from(accepts_absence);
                self.clauses.insert(
                    clause_id,
                    ClauseInfo {
                        conjunction: conjunction_id,
                        accepts_absence,
                    },
                );
                let mut anything_but_ids = Vec::new();
                for predicate in &clause.predicates {
                    if let Predicate::AnythingBut(_) = predicate {
                        anything_but_ids.push(self.allocate());
                    }
                }
                let index = self.paths.entry(clause.path.clone()).or_default();
                let mut anything_but_ids_left = anything_but_ids.iter();
                for predicate in &clause.predicates {
                    match predicate {
                        Predicate::Term(term) => index.positive.insert(term, clause_id),
                        Predicate::Exists(true) => index.exists_true.push(clause_id),
                        Predicate::Exists(false) => index.exists_false.push(clause_id),
                        Predicate::AnythingBut(terms) => {
                            if let Some(&anything_but_id) = anything_but_ids_left.next() {
                                index.anything_but.push((anything_but_id, clause_id));
                                for term in terms {
                                    index.excluded.insert(term, anything_but_id);
                                }
                            }
                        }
                    }
                }
                clause_ids.push((clause_id, anything_but_ids));
            }
            if absent_satisfied == conjunction.len() {
                self.absence_only.insert(conjunction_id);
            }
            self.conjunctions.insert(
                conjunction_id,
                Conjunction {
                    key: key.clone(),
                    clause_count: conjunction.len(),
                    absent_satisfied,
                },
            );
            installed.conjunctions.push(conjunction_id);
            installed.clauses.push(clause_ids);
        }
        self.installed.insert(key, installed);
    }

    /// Removes the policy of `key`, if any.
    pub fn remove(&mut self, key: &K) {
        let Some(installed) = self.installed.remove(key) else {
            return;
        };
        let compiled = installed
            .policy
            .conjunctions()
            .iter()
            .zip(&installed.clauses);
        for (conjunction, clause_ids) in compiled {
            for (clause, (clause_id, anything_but_ids)) in conjunction.iter().zip(clause_ids) {
                self.clauses.remove(clause_id);
                let Some(index) = self.paths.get_mut(&clause.path) else {
                    continue;
                };
                let mut anything_but_ids_left = anything_but_ids.iter();
                for predicate in &clause.predicates {
                    match predicate {
                        Predicate::Term(term) => index.positive.remove(term, *clause_id),
                        Predicate::Exists(true) => index.exists_true.retain(|id| id != clause_id),
                        Predicate::Exists(false) => {
                            index.exists_false.retain(|id| id != clause_id);
                        }
                        Predicate::AnythingBut(terms) => {
                            if let Some(&anything_but_id) = anything_but_ids_left.next() {
                                index.anything_but.retain(|(id, _)| *id != anything_but_id);
                                for term in terms {
                                    index.excluded.remove(term, anything_but_id);
                                }
                            }
                        }
                    }
                }
                if index.is_empty() {
                    self.paths.remove(&clause.path);
                }
            }
        }
        for conjunction_id in &installed.conjunctions {
            self.conjunctions.remove(conjunction_id);
            self.absence_only.remove(conjunction_id);
        }
    }

    /// The number of keys with a policy.
    pub fn len(&self) -> usize {
        self.installed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.installed.is_empty()
    }

    /// Every key whose policy `fields` satisfy, sorted, each once.
    pub fn matches(&self, fields: &Fields) -> Vec<K> {
        self.matches_counting(fields).0
    }

    /// [`Matcher::matches`], with the number of index entries and predicates it visited.
    pub(super) fn matches_counting(&self, fields: &Fields) -> (Vec<K>, u64) {
        let mut work: u64 = 0;
        let mut deltas: HashMap<Id, isize> = HashMap::new();
        for (path, entries) in fields.groups() {
            let Some(index) = self.paths.get(path) else {
                continue;
            };
            let mut satisfied: HashSet<Id> = HashSet::new();
            for (_, value) in entries {
                index.positive.hits(value, &mut work, &mut |id| {
                    satisfied.insert(id);
                });
            }
            for id in &index.exists_true {
                work += 1;
                satisfied.insert(*id);
            }
            if !index.anything_but.is_empty()
                && entries.iter().any(|(_, value)| value.is_comparable())
            {
                let mut excluded: HashSet<Id> = HashSet::new();
                for (_, value) in entries {
                    index.excluded.hits(value, &mut work, &mut |id| {
                        excluded.insert(id);
                    });
                }
                for (anything_but_id, clause_id) in &index.anything_but {
                    work += 1;
                    if !excluded.contains(anything_but_id) {
                        satisfied.insert(*clause_id);
                    }
                }
            }
            for clause_id in &satisfied {
                if let Some(info) = self.clauses.get(clause_id) {
                    let delta = deltas.entry(info.conjunction).or_insert(0);
                    if !info.accepts_absence {
                        *delta += 1;
                    }
                }
            }
            for clause_id in &index.exists_false {
                work += 1;
                if !satisfied.contains(clause_id)
                    && let Some(info) = self.clauses.get(clause_id)
                {
                    *deltas.entry(info.conjunction).or_insert(0) -= 1;
                }
            }
        }
        let mut keys = BTreeSet::new();
        for (conjunction_id, delta) in &deltas {
            work += 1;
            if let Some(conjunction) = self.conjunctions.get(conjunction_id) {
                let count = conjunction.absent_satisfied.checked_add_signed(*delta);
                if count == Some(conjunction.clause_count) {
                    keys.insert(conjunction.key.clone());
                }
            }
        }
        for conjunction_id in &self.absence_only {
            work += 1;
            if !deltas.contains_key(conjunction_id)
                && let Some(conjunction) = self.conjunctions.get(conjunction_id)
            {
                keys.insert(conjunction.key.clone());
            }
        }
        (keys.into_iter().collect(), work)
    }
}

/// Terms of one path, indexed by what they test, each to the ids it stands for.
#[derive(Debug, Default)]
struct TermIndex {
    exact: HashMap<Key, Vec<Id>>,
    prefix: AffixIndex,
    suffix: AffixIndex,
    equals_folded: HashMap<String, Vec<Id>>,
    prefix_folded: AffixIndex,
    suffix_folded: AffixIndex,
    /// By the order key of the lower bound (none: `i64::MIN`).
    numeric: BTreeMap<i64, Vec<(Range, Id)>>,
    cidr_v4: BTreeMap<u8, HashMap<u32, Vec<Id>>>,
    cidr_v6: BTreeMap<u8, HashMap<u128, Vec<Id>>>,
    wildcard: Vec<(Wildcard, Id)>,
}

impl TermIndex {
    fn is_empty(&self) -> bool {
        self.exact.is_empty()
            && self.prefix.is_empty()
            && self.suffix.is_empty()
            && self.equals_folded.is_empty()
            && self.prefix_folded.is_empty()
            && self.suffix_folded.is_empty()
            && self.numeric.is_empty()
            && self.cidr_v4.is_empty()
            && self.cidr_v6.is_empty()
            && self.wildcard.is_empty()
    }

    fn insert(&mut self, term: &Term, id: Id) {
        match term {
            Term::Exact(key) => self.exact.entry(key.clone()).or_default().push(id),
            Term::Prefix(text) => self.prefix.insert(text, id),
            Term::Suffix(text) => self.suffix.insert(text, id),
            Term::EqualsFolded(text) => {
                self.equals_folded.entry(text.clone()).or_default().push(id)
            }
            Term::PrefixFolded(text) => self.prefix_folded.insert(text, id),
            Term::SuffixFolded(text) => self.suffix_folded.insert(text, id),
            Term::Numeric(range) => {
                let lower = range.lower.map_or(i64::MIN, |(bound, _)| order_key(bound));
                self.numeric.entry(lower).or_default().push((*range, id));
            }
            Term::Cidr(Network::V4 { address, bits }) => {
                let by_address = self.cidr_v4.entry(*bits).or_default();
                by_address.entry(*address).or_default().push(id);
            }
            Term::Cidr(Network::V6 { address, bits }) => {
                let by_address = self.cidr_v6.entry(*bits).or_default();
                by_address.entry(*address).or_default().push(id);
            }
            Term::Wildcard(wildcard) => self.wildcard.push((wildcard.clone(), id)),
        }
    }

    fn remove(&mut self, term: &Term, id: Id) {
        match term {
            Term::Exact(key) => remove_from(&mut self.exact, key, id),
            Term::Prefix(text) => self.prefix.remove(text, id),
            Term::Suffix(text) => self.suffix.remove(text, id),
            Term::EqualsFolded(text) => remove_from(&mut self.equals_folded, text, id),
            Term::PrefixFolded(text) => self.prefix_folded.remove(text, id),
            Term::SuffixFolded(text) => self.suffix_folded.remove(text, id),
            Term::Numeric(range) => {
                let lower = range.lower.map_or(i64::MIN, |(bound, _)| order_key(bound));
                if let Some(entries) = self.numeric.get_mut(&lower) {
                    entries.retain(|(_, entry)| *entry != id);
                    if entries.is_empty() {
                        self.numeric.remove(&lower);
                    }
                }
            }
            Term::Cidr(Network::V4 { address, bits }) => {
                if let Some(by_address) = self.cidr_v4.get_mut(bits) {
                    remove_from(by_address, address, id);
                    if by_address.is_empty() {
                        self.cidr_v4.remove(bits);
                    }
                }
            }
            Term::Cidr(Network::V6 { address, bits }) => {
                if let Some(by_address) = self.cidr_v6.get_mut(bits) {
                    remove_from(by_address, address, id);
                    if by_address.is_empty() {
                        self.cidr_v6.remove(bits);
                    }
                }
            }
            Term::Wildcard(_) => self.wildcard.retain(|(_, entry)| *entry != id),
        }
    }

    /// Calls `hit` with the id of every term `value` matches (an id may come more than once).
    fn hits(&self, value: &Value, work: &mut u64, hit: &mut dyn FnMut(Id)) {
        let mut report = |ids: &[Id], work: &mut u64| {
            for id in ids {
                *work += 1;
                hit(*id);
            }
        };
        if let Some(key) = Key::of(value) {
            *work += 1;
            if let Some(ids) = self.exact.get(&key) {
                report(ids, work);
            }
        }
        match value {
            Value::Str(text) => {
                self.prefix.hits(text, false, work, &mut report);
                self.suffix.hits(text, true, work, &mut report);
                let folding = !self.equals_folded.is_empty()
                    || !self.prefix_folded.is_empty()
                    || !self.suffix_folded.is_empty();
                if folding {
                    let folded = text.to_lowercase();
                    *work += 1;
                    if let Some(ids) = self.equals_folded.get(&folded) {
                        report(ids, work);
                    }
                    self.prefix_folded.hits(&folded, false, work, &mut report);
                    self.suffix_folded.hits(&folded, true, work, &mut report);
                }
                if !self.cidr_v4.is_empty() || !self.cidr_v6.is_empty() {
                    match text.parse::<IpAddr>() {
                        Ok(IpAddr::V4(ip)) => {
                            for (bits, by_address) in &self.cidr_v4 {
                                *work += 1;
                                if let Some(ids) = by_address.get(&mask_v4(u32::from(ip), *bits)) {
                                    report(ids, work);
                                }
                            }
                        }
                        Ok(IpAddr::V6(ip)) => {
                            for (bits, by_address) in &self.cidr_v6 {
                                *work += 1;
                                let masked = mask_v6(u128::from(ip), *bits);
                                if let Some(ids) = by_address.get(&masked) {
                                    report(ids, work);
                                }
                            }
                        }
                        Err(_) => {}
                    }
                }
                for (wildcard, id) in &self.wildcard {
                    *work += 1;
                    if Term::Wildcard(wildcard.clone()).matches(value) {
                        hit(*id);
                    }
                }
            }
            Value::Number(number) => {
                for entries in self
                    .numeric
                    .range(..=order_key(*number))
                    .map(|(_, entries)| entries)
                {
                    for (range, id) in entries {
                        *work += 1;
                        if range.contains(*number) {
                            hit(*id);
                        }
                    }
                }
            }
            Value::Bool(_) | Value::Null | Value::Opaque => {}
        }
    }
}

/// Prefixes (or suffixes) by text, with the set of their byte lengths: a value is probed
/// once per distinct length.
#[derive(Debug, Default)]
struct AffixIndex {
    by_text: HashMap<String, Vec<Id>>,
    /// Byte length → how many texts of that length.
    lengths: BTreeMap<usize, usize>,
}

impl AffixIndex {
    fn is_empty(&self) -> bool {
        self.by_text.is_empty()
    }

    fn insert(&mut self, text: &str, id: Id) {
        let ids = self.by_text.entry(text.to_owned()).or_default();
        if ids.is_empty() {
            *self.lengths.entry(text.len()).or_insert(0) += 1;
        }
        ids.push(id);
    }

    fn remove(&mut self, text: &str, id: Id) {
        let Some(ids) = self.by_text.get_mut(text) else {
            return;
        };
        ids.retain(|entry| *entry != id);
        if ids.is_empty() {
            self.by_text.remove(text);
            if let Some(count) = self.lengths.get_mut(&text.len()) {
                *count -= 1;
                if *count == 0 {
                    self.lengths.remove(&text.len());
                }
            }
        }
    }

    fn hits(
        &self,
        text: &str,
        from_end: bool,
        work: &mut u64,
        report: &mut impl FnMut(&[Id], &mut u64),
    ) {
        for length in self.lengths.range(..=text.len()).map(|(length, _)| *length) {
            *work += 1;
            let affix = if from_end {
                text.len()
                    .checked_sub(length)
                    .and_then(|start| text.get(start..))
            } else {
                text.get(..length)
            };
            if let Some(ids) = affix.and_then(|affix| self.by_text.get(affix)) {
                report(ids, work);
            }
        }
    }
}

fn remove_from<T, Q>(map: &mut HashMap<Q, Vec<Id>>, key: &T, id: Id)
where
    T: Eq + Hash + ?Sized,
    Q: Eq + Hash + std::borrow::Borrow<T>,
{
    if let Some(ids) = map.get_mut(key) {
        ids.retain(|entry| *entry != id);
        if ids.is_empty() {
            map.remove(key);
        }
    }
}

/// A total order on finite `f64`s as `i64`s (`-0` and `0` as one).
fn order_key(number: f64) -> i64 {
    let number = if number == 0.0 { 0.0 } else { number };
    let bits = i64::from_ne_bytes(number.to_bits().to_ne_bytes());
    if bits < 0 { i64::MIN - bits } else { bits }
}
