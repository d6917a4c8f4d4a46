//! Errors: building the graph, executing it, and a node's own failure.

use std::fmt;
use std::time::Duration;

use crate::type_name::{short_type_name, short_type_name_pair, short_type_names};

/// Why a node produced no value.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The function returned `Err`.
    #[error("{0}")]
    User(std::sync::Arc<dyn std::error::Error + Send + Sync>),
    /// The function panicked.
    #[error("panicked: {0}")]
    Panic(String),
    /// The node ran longer than its `timeout`.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The run was cancelled before the node finished.
    #[error("cancelled")]
    Cancelled,
    /// Something weft itself got wrong; please report it.
    #[error("internal error: {0}")]
    Internal(String),
}

impl NodeError {
    /// Wraps any error (or message) as a node's own failure.
    pub fn user<E: Into<Box<dyn std::error::Error + Send + Sync>>>(e: E) -> NodeError {
        NodeError::User(std::sync::Arc::from(e.into()))
    }

    /// The chain of sources below this error, outermost first.
    pub fn chain(&self) -> Vec<String> {
        let mut out = vec![self.to_string()];
        let mut src = std::error::Error::source(self);
        if let NodeError::User(e) = self {
            src = e.source();
        }
        while let Some(s) = src {
            out.push(s.to_string());
            src = s.source();
        }
        out
    }
}

/// Converts a node function's error.
#[doc(hidden)]
pub fn user_error<E: Into<Box<dyn std::error::Error + Send + Sync>>>(e: E) -> NodeError {
    NodeError::User(std::sync::Arc::from(e.into()))
}

/// One problem found while building the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A dependency's producer and consumer disagree on its type.
    TypeMismatch {
        /// The node (or input/config) that produces the value.
        producer: String,
        /// What it produces.
        produced: String,
        /// The node that consumes it.
        consumer: String,
        /// What the consumer's parameter expects.
        expected: String,
    },
    /// Two consumers of the same external input expect different types.
    InputTypeConflict {
        /// The input's name.
        input: String,
        /// `(consumer, expected type)` pairs that disagree.
        consumers: Vec<(String, String)>,
    },
    /// A config value's type differs from what its consumer expects.
    ConfigTypeMismatch {
        /// The config key.
        key: String,
        /// The type given in the config.
        given: String,
        /// A node that consumes it.
        consumer: String,
        /// The type it expects.
        expected: String,
    },
    /// The graph has a cycle; the path starts and ends at the same node.
    Cycle(Vec<String>),
    /// Two modules define the same node.
    Duplicate {
        /// The node's name.
        name: String,
        /// The modules that define it.
        modules: Vec<String>,
    },
    /// A module passed to the builder has no `#[node]` functions.
    EmptyModule(String),
    /// A config key names a node that a function produces.
    ConfigShadowsNode(String),
    /// A fan-out is used inconsistently (mixed fan-outs, a `Collect` outside one).
    FanOut(String),
    /// The cache configuration is inconsistent (unknown node, node in two lists).
    CachePolicy(String),
    /// The cache directory cannot be opened.
    Cache(String),
    /// A `with_columns` group is not right (a selected or passed column nobody makes, ...).
    Columns(String),
    /// Two functions of one module define the same node (an explicit `name =`, a
    /// `parameterize` output or an extracted field named like another node).
    DefinedTwice {
        /// The node's name.
        name: String,
        /// The module.
        module: String,
        /// The functions that define it.
        functions: Vec<String>,
    },
    /// The build-time config leaves out every implementation of a node that others need.
    NoImplementation {
        /// The node.
        node: String,
        /// Its functions and the conditions that left each out.
        variants: Vec<String>,
        /// Nodes that need it.
        needed_by: Vec<String>,
    },
    /// A [`Subdag`](crate::Subdag) names an input or output its nodes do not have.
    Subdag {
        /// The part's namespace.
        namespace: String,
        /// What is wrong.
        message: String,
    },
    /// The build-time config keeps several implementations of one node.
    AmbiguousImplementations {
        /// The node.
        node: String,
        /// The functions kept, with their conditions.
        functions: Vec<String>,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::TypeMismatch {
                producer,
                produced,
                consumer,
                expected,
            } => {
                let (produced, expected) = short_type_name_pair(produced, expected);
                write!(
                    f,
                    "type mismatch: `{producer}` produces `{produced}`, but `{consumer}` expects \
                     `{expected}`; change one of the two types"
                )
            }
            Problem::InputTypeConflict { input, consumers } => {
                write!(f, "input `{input}` is expected with different types:")?;
                let types: Vec<&str> = consumers.iter().map(|(_, t)| t.as_str()).collect();
                for ((c, _), t) in consumers.iter().zip(short_type_names(&types)) {
                    write!(f, " `{c}` wants `{t}`;")?;
                }
                write!(f, " make them agree")
            }
            Problem::ConfigTypeMismatch {
                key,
                given,
                consumer,
                expected,
            } => {
                let (given, expected) = short_type_name_pair(given, expected);
                write!(
                    f,
                    "config `{key}` is a `{given}`, but `{consumer}` expects `{key}: {expected}`"
                )
            }
            Problem::Cycle(path) => write!(
                f,
                "cycle: {} (a node cannot depend on itself, even indirectly)",
                path.join(" -> ")
            ),
            Problem::Duplicate { name, modules } => write!(
                f,
                "node `{name}` is defined in several modules ({}); rename one, or call \
                 `allow_module_overrides()` so the last module wins",
                modules.join(", ")
            ),
            Problem::EmptyModule(m) => write!(
                f,
                "module `{m}` has no #[node] functions (is the path right, and are its functions \
                 marked #[node]?)"
            ),
            Problem::CachePolicy(m) | Problem::FanOut(m) => write!(f, "{m}"),
            Problem::Cache(m) => write!(f, "cache: {m}"),
            Problem::Columns(m) => write!(f, "with_columns: {m}"),
            Problem::DefinedTwice {
                name,
                module,
                functions,
            } => write!(
                f,
                "node `{name}` is defined twice in module `{module}` (by {}); rename one",
                functions.join(", ")
            ),
            Problem::NoImplementation {
                node,
                variants,
                needed_by,
            } => write!(
                f,
                "the config leaves node `{node}` without an implementation, but {} need{} it; \
                 its functions are left out: {}; change the config or add an implementation",
                needed_by
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if needed_by.len() == 1 { "s" } else { "" },
                variants.join("; ")
            ),
            Problem::Subdag { namespace, message } => write!(f, "subdag `{namespace}`: {message}"),
            Problem::AmbiguousImplementations { node, functions } => write!(
                f,
                "the config keeps several implementations of node `{node}`: {}; make their \
                 `when` conditions exclusive",
                functions.join("; ")
            ),
            Problem::ConfigShadowsNode(k) => write!(
                f,
                "config key `{k}` has the name of a node a function produces; rename the key"
            ),
        }
    }
}

/// Building the graph failed; every problem found is listed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuildError {
    /// All problems, in a stable order.
    pub problems: Vec<Problem>,
}

impl Problem {
    /// Whether this is a problem of the driver's configuration (build-time config values,
    /// the cache's configuration or directory) rather than of the graph the functions make.
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            Problem::ConfigTypeMismatch { .. }
                | Problem::ConfigShadowsNode(_)
                | Problem::CachePolicy(_)
                | Problem::Cache(_)
        )
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        let config = self
            .problems
            .iter()
            .filter(|p| p.is_configuration())
            .count();
        let what = match config {
            0 => "the graph is invalid",
            c if c == n => "the configuration is invalid",
            _ => "the graph and its configuration are invalid",
        };
        writeln!(f, "{what} ({n} problem{}):", if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BuildError {}

/// Executing the graph failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ExecuteError {
    /// Requested outputs that no node produces.
    #[error("{}", unknown_outputs(.0))]
    UnknownOutputs(Vec<(String, Option<String>)>),
    /// Inputs that are missing, of the wrong type, or not used anywhere.
    #[error("{}", bad_inputs(.0))]
    BadInputs(Vec<InputProblem>),
    /// A node failed.
    #[error("node `{node}` failed: {source}\n  upstream path: {}", .path.join(" <- "))]
    NodeFailed {
        /// The node that failed.
        node: String,
        /// From the requested output down to the failed node.
        path: Vec<String>,
        /// What went wrong.
        source: NodeError,
    },
    /// Asked for a result that is not there or of another type.
    #[error("{0}")]
    Output(String),
    /// The run was cancelled (a newer change arrived).
    #[error("the run was cancelled")]
    Cancelled,
    /// Something weft itself got wrong; please report it.
    #[error("internal error: {0}")]
    Internal(String),
    /// Several nodes failed (when the driver keeps going after a failure).
    #[error("{} nodes failed:{}", .0.len(), .0.iter().map(|e| format!("\n- {e}")).collect::<String>())]
    Many(Vec<ExecuteError>),
}

/// One problem with the inputs given to `execute`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputProblem {
    /// A required input was not given.
    Missing {
        /// The input.
        input: String,
        /// Its expected type.
        expected: String,
        /// A node that needs it.
        needed_by: String,
    },
    /// An input (or override) has the wrong type.
    WrongType {
        /// The input.
        input: String,
        /// Its expected type.
        expected: String,
        /// The type given.
        given: String,
    },
    /// A key given both as input and in the build-time config.
    ConfigClash(String),
    /// An override names no node.
    UnknownOverride(String, Option<String>),
    /// An input names nothing in the graph (with a suggestion).
    Unknown(String, Option<String>),
    /// An input names a function node (which computes its own value).
    NotAnInput(String),
}

impl fmt::Display for InputProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputProblem::Missing {
                input,
                expected,
                needed_by,
            } => write!(
                f,
                "missing input `{input}: {}` (needed by `{needed_by}`); pass it in the inputs",
                short_type_name(expected)
            ),
            InputProblem::WrongType {
                input,
                expected,
                given,
            } => {
                let (given, expected) = short_type_name_pair(given, expected);
                write!(f, "input `{input}` has type `{given}`, expected `{expected}`")
            }
            InputProblem::ConfigClash(k) => write!(
                f,
                "`{k}` is given as an input but is also a config key; config and inputs must be disjoint"
            ),
            InputProblem::Unknown(k, hint) => {
                write!(f, "input `{k}` is not a parameter of any node")?;
                if let Some(h) = hint {
                    write!(f, " (did you mean `{h}`?)")?;
                }
                Ok(())
            }
            InputProblem::NotAnInput(k) => write!(
                f,
                "`{k}` is computed by a node, not an input; to replace its value, pass it as an override"
            ),
            InputProblem::UnknownOverride(k, hint) => {
                write!(f, "override `{k}` names no node")?;
                if let Some(h) = hint {
                    write!(f, " (did you mean `{h}`?)")?;
                }
                Ok(())
            }
        }
    }
}

fn unknown_outputs(items: &[(String, Option<String>)]) -> String {
    let mut s = String::from("unknown output");
    if items.len() > 1 {
        s.push('s');
    }
    s.push(':');
    for (name, hint) in items {
        s.push_str(&format!(" `{name}`"));
        if let Some(h) = hint {
            s.push_str(&format!(" (did you mean `{h}`?)"));
        }
        s.push(';');
    }
    s.pop();
    s
}

fn bad_inputs(items: &[InputProblem]) -> String {
    let mut s = format!(
        "{} problem{} with the inputs:",
        items.len(),
        if items.len() == 1 { "" } else { "s" }
    );
    for p in items {
        s.push_str(&format!("\n  - {p}"));
    }
    s
}

/// The closest name to `name` among `candidates`, if close enough to suggest.
pub(crate) fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    candidates
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRING: &str = "alloc::string::String";
    const VEC_U64: &str = "alloc::vec::Vec<u64>";

    fn no_paths(text: &str) {
        assert!(!text.contains("alloc::"), "full type path in {text:?}");
    }

    #[test]
    fn build_problems_show_short_type_names() {
        let err = BuildError {
            problems: vec![
                Problem::TypeMismatch {
                    producer: "names".into(),
                    produced: VEC_U64.into(),
                    consumer: "greet".into(),
                    expected: STRING.into(),
                },
                Problem::InputTypeConflict {
                    input: "ids".into(),
                    consumers: vec![("a".into(), VEC_U64.into()), ("b".into(), STRING.into())],
                },
                Problem::ConfigTypeMismatch {
                    key: "region".into(),
                    given: STRING.into(),
                    consumer: "report".into(),
                    expected: VEC_U64.into(),
                },
            ],
        };
        let text = err.to_string();
        no_paths(&text);
        assert!(
            text.contains(
                "type mismatch: `names` produces `Vec<u64>`, but `greet` expects `String`"
            ),
            "{text}"
        );
        assert!(
            text.contains("`a` wants `Vec<u64>`; `b` wants `String`;"),
            "{text}"
        );
        assert!(
            text.contains("config `region` is a `String`, but `report` expects `region: Vec<u64>`"),
            "{text}"
        );
    }

    #[test]
    fn input_problems_show_short_type_names() {
        let err = ExecuteError::BadInputs(vec![
            InputProblem::Missing {
                input: "names".into(),
                expected: VEC_U64.into(),
                needed_by: "greet".into(),
            },
            InputProblem::WrongType {
                input: "region".into(),
                expected: STRING.into(),
                given: VEC_U64.into(),
            },
        ]);
        let text = err.to_string();
        no_paths(&text);
        assert!(
            text.contains("missing input `names: Vec<u64>` (needed by `greet`)"),
            "{text}"
        );
        assert!(
            text.contains("input `region` has type `Vec<u64>`, expected `String`"),
            "{text}"
        );
    }

    #[test]
    fn types_that_read_alike_keep_their_paths() {
        let text = InputProblem::WrongType {
            input: "thing".into(),
            expected: "a::Thing".into(),
            given: "b::Thing".into(),
        }
        .to_string();
        assert_eq!(
            text,
            "input `thing` has type `b::Thing`, expected `a::Thing`"
        );
    }

    #[test]
    fn configuration_problems_are_named_as_such() {
        let config = BuildError {
            problems: vec![Problem::Cache("unknown cache format `jsno`".into())],
        };
        assert!(config
            .to_string()
            .starts_with("the configuration is invalid (1 problem):"));
        let graph = BuildError {
            problems: vec![Problem::Cycle(vec!["a".into(), "b".into(), "a".into()])],
        };
        assert!(graph
            .to_string()
            .starts_with("the graph is invalid (1 problem):"));
        let both = BuildError {
            problems: [config.problems, graph.problems].concat(),
        };
        assert!(both
            .to_string()
            .starts_with("the graph and its configuration are invalid (2 problems):"));
    }
}
