//! `#[node(when(k = v))]`, `when_not`, `when_in`, `when_not_in` (Hamilton's `@config.when*`):
//! a function is a node only if the build-time config matches, so several functions can
//! implement one node, each for its own configuration.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::Problem;
use crate::node::{NodeSpec, ParamKind};
use crate::value::AnyValue;

/// A literal a config value is compared with.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfigLiteral {
    /// Matches a `String` (or `&'static str`) config value.
    Str(&'static str),
    /// Matches a `bool` config value.
    Bool(bool),
    /// Matches a config value of any integer type with this value.
    Int(i128),
    /// Matches an `f64` or `f32` config value.
    Float(f64),
}

impl ConfigLiteral {
    /// Whether the config value `v` equals this literal.
    fn matches(&self, v: &AnyValue) -> bool {
        let v: &dyn std::any::Any = &**v;
        match self {
            ConfigLiteral::Str(s) => {
                v.downcast_ref::<String>().is_some_and(|x| x == s)
                    || v.downcast_ref::<&'static str>().is_some_and(|x| x == s)
            }
            ConfigLiteral::Bool(b) => v.downcast_ref::<bool>() == Some(b),
            ConfigLiteral::Int(i) => as_int(v) == Some(*i),
            ConfigLiteral::Float(f) => {
                v.downcast_ref::<f64>() == Some(f)
                    || v.downcast_ref::<f32>().is_some_and(|x| f64::from(*x) == *f)
            }
        }
    }
}

fn as_int(v: &dyn std::any::Any) -> Option<i128> {
    macro_rules! try_int {
        ($($t:ty),*) => {
            $(if let Some(x) = v.downcast_ref::<$t>() { return Some(*x as i128); })*
        };
    }
    try_int!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, usize);
    None
}

impl fmt::Display for ConfigLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigLiteral::Str(s) => write!(f, "{s:?}"),
            ConfigLiteral::Bool(b) => write!(f, "{b}"),
            ConfigLiteral::Int(i) => write!(f, "{i}"),
            ConfigLiteral::Float(x) => write!(f, "{x:?}"),
        }
    }
}

/// One condition on the build-time config: config key `key` equals one of `values` (or, when
/// `negated`, equals none of them). A key missing from the config equals nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigCondition {
    key: &'static str,
    values: Vec<ConfigLiteral>,
    negated: bool,
}

impl ConfigCondition {
    /// `key` is one of `values` (`when`, `when_in`).
    pub fn is_in(key: &'static str, values: Vec<ConfigLiteral>) -> Self {
        ConfigCondition {
            key,
            values,
            negated: false,
        }
    }
    /// `key` is none of `values` (`when_not`, `when_not_in`).
    pub fn is_not_in(key: &'static str, values: Vec<ConfigLiteral>) -> Self {
        ConfigCondition {
            key,
            values,
            negated: true,
        }
    }
    /// The config key it reads.
    pub fn key(&self) -> &str {
        self.key
    }
    /// Whether `config` satisfies it.
    pub(crate) fn holds(&self, config: &BTreeMap<String, (AnyValue, &'static str)>) -> bool {
        let found = config
            .get(self.key)
            .is_some_and(|(v, _)| self.values.iter().any(|lit| lit.matches(v)));
        found != self.negated
    }
}

impl fmt::Display for ConfigCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values: Vec<String> = self.values.iter().map(ToString::to_string).collect();
        match (self.negated, &values[..]) {
            (false, [one]) => write!(f, "{} = {one}", self.key),
            (true, [one]) => write!(f, "{} != {one}", self.key),
            (false, many) => write!(f, "{} in [{}]", self.key, many.join(", ")),
            (true, many) => write!(f, "{} not in [{}]", self.key, many.join(", ")),
        }
    }
}

/// How one function reads in messages: `total__eu (when region = "eu")`.
fn describe(spec: &NodeSpec) -> String {
    let conds: Vec<String> = spec.when.iter().map(ToString::to_string).collect();
    format!("{} (when {})", spec.function(), conds.join(", "))
}

/// The functions the config leaves out, by node name.
#[derive(Default)]
pub(crate) struct Dropped {
    by_node: BTreeMap<String, Vec<String>>,
}

impl Dropped {
    /// Keeps the specs whose conditions hold; remembers the others.
    pub(crate) fn filter(
        &mut self,
        specs: Vec<NodeSpec>,
        config: &BTreeMap<String, (AnyValue, &'static str)>,
    ) -> Vec<NodeSpec> {
        specs
            .into_iter()
            .filter(|spec| {
                let keep = spec.when.iter().all(|c| c.holds(config));
                if !keep {
                    self.by_node
                        .entry(spec.name().to_string())
                        .or_default()
                        .push(describe(spec));
                }
                keep
            })
            .collect()
    }

    /// A node whose every implementation the config left out, while a kept node needs it:
    /// without this check the name would silently become an input.
    pub(crate) fn problems(&self, kept: &[NodeSpec]) -> Vec<Problem> {
        let mut out = Vec::new();
        for (node, variants) in &self.by_node {
            if kept.iter().any(|s| s.name() == node) {
                continue;
            }
            let needed_by: Vec<String> = kept
                .iter()
                .filter(|s| {
                    s.params()
                        .iter()
                        .any(|p| p.name() == node && p.kind() != ParamKind::Optional)
                })
                .map(|s| s.name().to_string())
                .collect();
            if !needed_by.is_empty() {
                out.push(Problem::NoImplementation {
                    node: node.clone(),
                    variants: variants.clone(),
                    needed_by,
                });
            }
        }
        out
    }
}

/// Two kept functions of one module that implement the same node, at least one of them
/// conditionally: the config chose more than one.
pub(crate) fn ambiguous(name: &str, specs: &[&NodeSpec]) -> Option<Problem> {
    if specs.len() < 2 || specs.iter().all(|s| s.when.is_empty()) {
        return None;
    }
    Some(Problem::AmbiguousImplementations {
        node: name.to_string(),
        functions: specs
            .iter()
            .map(|s| {
                if s.when.is_empty() {
                    format!("{} (always)", s.function())
                } else {
                    describe(s)
                }
            })
            .collect(),
    })
}

/// Within one module, a node defined by several functions: a problem (ambiguous
/// implementations, or defined twice); only the first definition is kept.
pub(crate) fn one_per_name(module: &str, specs: Vec<NodeSpec>) -> (Vec<NodeSpec>, Vec<Problem>) {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, s) in specs.iter().enumerate() {
        groups.entry(s.name().to_string()).or_default().push(i);
    }
    let mut problems = Vec::new();
    let mut drop = vec![false; specs.len()];
    for (name, idx) in groups.iter().filter(|(_, idx)| idx.len() > 1) {
        let group: Vec<&NodeSpec> = idx.iter().map(|&i| &specs[i]).collect();
        problems.push(
            ambiguous(name, &group).unwrap_or_else(|| Problem::DefinedTwice {
                name: name.clone(),
                module: module.to_string(),
                functions: group.iter().map(|s| s.function().to_string()).collect(),
            }),
        );
        for &i in &idx[1..] {
            drop[i] = true;
        }
    }
    let kept = specs
        .into_iter()
        .zip(drop)
        .filter_map(|(s, d)| (!d).then_some(s))
        .collect();
    (kept, problems)
}
