//! [`Subdag`] (Hamilton's `@subdag`): the nodes of some modules, reused under a namespace, with
//! their own inputs and config. Every node `x` of the part becomes `namespace.x` (or the name
//! an [`output`](Subdag::output) gives it); its parameters follow: a dependency on a node of the
//! part is renamed the same way, an [`input`](Subdag::input) is read from a node or input of
//! the outer graph, a key of the part's [`config`](Subdag::config) becomes a fixed value, and
//! anything else is read from the outer graph under its own name.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::error::Problem;
use crate::inputs::Inputs;
use crate::module::Modules;
use crate::node::{NodeSpec, ParamSpec};
use crate::value::AnyValue;

use super::when;

/// A subdag that a `#[node(subdag(..))]` function registers in its module: the builder adds
/// it with the module's nodes. Generated code only.
#[doc(hidden)]
pub struct SubdagRegistration {
    pub module: &'static str,
    pub function: &'static str,
    pub ctor: fn() -> Subdag,
}

inventory::collect!(SubdagRegistration);

/// A reusable part of a graph. See the module documentation and the book's "Function
/// modifiers".
///
/// ```
/// mod features {
///     use weft::prelude::*;
///     #[node]
///     pub fn cleaned(raw: &[f64]) -> Vec<f64> { raw.iter().copied().filter(|x| *x >= 0.0).collect() }
///     #[node]
///     pub fn total(cleaned: &[f64], rate: &f64) -> f64 { cleaned.iter().sum::<f64>() * rate }
/// }
/// use weft::{inputs, Builder, Subdag};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let eu = Subdag::new("eu", weft::modules![crate::features])
///     .input("raw", "raw_eu")
///     .config(inputs! { "rate" => 1.1 })
///     .output("total", "total_eu");
/// let dr = Builder::new().with_subdag(eu).build()?;
/// let out = dr.execute(&["total_eu"], inputs! { "raw_eu" => vec![10.0, -1.0] })?;
/// assert_eq!(*out.get::<f64>("total_eu")?, 11.0);
/// assert!(dr.graph().node("eu.cleaned").is_some());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Subdag {
    namespace: String,
    modules: Modules,
    inputs: BTreeMap<String, String>,
    outputs: BTreeMap<String, String>,
    config: Inputs,
}

impl Subdag {
    /// The nodes of `modules`, each named `namespace.name`.
    pub fn new(namespace: impl Into<String>, modules: Modules) -> Self {
        Subdag {
            namespace: namespace.into(),
            modules,
            inputs: BTreeMap::new(),
            outputs: BTreeMap::new(),
            config: Inputs::new(),
        }
    }
    /// The part's input `inner` is the outer graph's node (or input) `outer` (Hamilton's
    /// `inputs={"inner": source("outer")}`).
    pub fn input(mut self, inner: impl Into<String>, outer: impl Into<String>) -> Self {
        self.inputs.insert(inner.into(), outer.into());
        self
    }
    /// The part's node `inner` is called `outer` in the graph (instead of `namespace.inner`),
    /// so the outer graph's functions can take it as a parameter.
    pub fn output(mut self, inner: impl Into<String>, outer: impl Into<String>) -> Self {
        self.outputs.insert(inner.into(), outer.into());
        self
    }
    /// The part's own config: it selects the part's `when` implementations (over the outer
    /// config), and its keys are fixed values for the part's parameters of that name.
    pub fn config(mut self, config: Inputs) -> Self {
        for (k, (v, t)) in config.entries() {
            self.config.insert_erased(k.clone(), v.clone(), t);
        }
        self
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The part's nodes, renamed, with a constant node per config key they use; or what is
    /// wrong with it.
    pub(crate) fn expand(
        self,
        outer_config: &BTreeMap<String, (AnyValue, &'static str)>,
        problems: &mut Vec<Problem>,
    ) -> Vec<NodeSpec> {
        let ns = self.namespace.clone();
        let mut config = outer_config.clone();
        config.extend(self.config.entries().clone());
        let mut dropped = when::Dropped::default();
        let mut specs = Vec::new();
        for (module, nodes) in self.modules.collect() {
            if nodes.is_empty() {
                problems.push(Problem::EmptyModule(module.clone()));
            }
            let (kept, clashes) = when::one_per_name(&module, dropped.filter(nodes, &config));
            problems.extend(clashes);
            specs.extend(kept);
        }
        problems.extend(dropped.problems(&specs));
        // Subdags of the part's own `#[node(subdag(..))]` functions: expanded against the
        // part's config, then renamed with the rest of the part (`ns.inner.x`).
        for inner in self.modules.subdags() {
            specs.extend(inner.expand(&config, problems));
        }
        let inner: BTreeSet<String> = specs.iter().map(|s| s.name().to_string()).collect();
        let problem = |what: String| Problem::Subdag {
            namespace: ns.clone(),
            message: what,
        };
        for name in self.outputs.keys().filter(|o| !inner.contains(*o)) {
            problems.push(problem(format!(
                "`output(\"{name}\", ..)` names no node of the part (its nodes: {})",
                inner.iter().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        let name_of = |n: &str| -> Arc<str> {
            match self.outputs.get(n) {
                Some(outer) => outer.as_str().into(),
                None => format!("{ns}.{n}").into(),
            }
        };
        let mut used_inputs = BTreeSet::new();
        let mut constants: BTreeMap<String, Vec<(String, crate::value::ValueType)>> =
            BTreeMap::new();
        let mut out: Vec<NodeSpec> = specs
            .into_iter()
            .map(|spec| {
                let params: Vec<ParamSpec> = spec
                    .params()
                    .iter()
                    .map(|p| {
                        let name: Arc<str> = if inner.contains(p.name()) {
                            name_of(p.name())
                        } else if let Some(outer) = self.inputs.get(p.name()) {
                            used_inputs.insert(p.name().to_string());
                            outer.as_str().into()
                        } else if self.config.contains(p.name()) {
                            constants
                                .entry(p.name().to_string())
                                .or_default()
                                .push((spec.name().to_string(), p.value_type()));
                            format!("{ns}.{}", p.name()).into()
                        } else {
                            p.name().into()
                        };
                        ParamSpec::new(name, p.kind(), p.value_type())
                    })
                    .collect();
                let mut s = spec.clone();
                s.name = name_of(spec.name());
                s.params = params.into();
                // Resolved here, against the part's config.
                s.when.clear();
                s
            })
            .collect();
        for name in self.inputs.keys().filter(|i| !used_inputs.contains(*i)) {
            problems.push(problem(format!(
                "`input(\"{name}\", ..)` is not a parameter of any node of the part that it \
                 does not compute itself"
            )));
        }
        for (key, consumers) in constants {
            let Some((value, given)) = self.config.entries().get(&key).cloned() else {
                continue;
            };
            let (consumer, ty) = consumers[0].clone();
            if let Some((other, t)) = consumers.iter().find(|(_, t)| t.id() != ty.id()) {
                problems.push(Problem::InputTypeConflict {
                    input: format!("{ns}.{key}"),
                    consumers: vec![
                        (consumer.clone(), ty.name().to_string()),
                        (other.clone(), t.name().to_string()),
                    ],
                });
            }
            if (*value).type_id() != ty.id() {
                problems.push(Problem::ConfigTypeMismatch {
                    key: format!("{ns}.{key}"),
                    given: given.to_string(),
                    consumer,
                    expected: ty.name().to_string(),
                });
                continue;
            }
            let mut hash = blake3::Hasher::new();
            hash.update(b"weft subdag config\n");
            hash.update(
                crate::value::Value::new(value.clone(), ty)
                    .version()
                    .to_string()
                    .as_bytes(),
            );
            out.push(
                NodeSpec::builder(format!("{ns}.{key}"), ty)
                    .doc(format!("Config `{key}` of the part `{ns}`."))
                    .code_version(hash.finalize().to_hex().as_str())
                    .sync(move |_| Ok(value.clone())),
            );
        }
        out
    }
}
