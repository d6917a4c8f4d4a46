//! Node specifications: what `#[node]` records about a function, or what a program builds with
//! [`NodeSpec::builder`].

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::modifiers::ConfigCondition;
use crate::value::{AnyValue, ValueType};

mod body;
mod builder;

pub use body::{Args, BodyResult, BoxFuture, NodeBody, OwnedArgs};
pub use builder::NodeSpecBuilder;

/// A node's cache behaviour (Hamilton's `CachingBehavior`). See the book's "Caching" chapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum CacheBehavior {
    /// Reuse a result whose cache key matches; otherwise execute and store.
    Default,
    /// Always execute, then store; children still hit when the value did not change.
    Recompute,
    /// Always execute; never read nor write the store.
    Disable,
    /// Execute without a key; children's keys leave this dependency out.
    Ignore,
}

/// Whether a parameter must be satisfied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamKind {
    /// `&T` or `T`: execution fails if no value is available.
    Required,
    /// `Option<&T>`: `None` when no node produces it and no input supplies it.
    Optional,
    /// `Collect<T>`: the values of a node inside a fan-out, one per item.
    Collect,
}

/// One dependency of a node.
#[derive(Debug, Clone)]
pub struct ParamSpec {
    name: Arc<str>,
    kind: ParamKind,
    ty: ValueType,
}

impl ParamSpec {
    /// A dependency on the node or input called `name`, of type `ty`.
    pub fn new(name: impl Into<Arc<str>>, kind: ParamKind, ty: ValueType) -> Self {
        ParamSpec {
            name: name.into(),
            kind,
            ty,
        }
    }
    /// The dependency's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Required or optional.
    pub fn kind(&self) -> ParamKind {
        self.kind
    }
    /// The expected type.
    pub fn value_type(&self) -> ValueType {
        self.ty
    }
}

/// Everything weft knows about one node. Built by `#[node]`, or by [`NodeSpec::builder`] for
/// nodes generated at run time.
#[derive(Clone)]
pub struct NodeSpec {
    pub(crate) name: Arc<str>,
    pub(crate) module: Arc<str>,
    pub(crate) doc: Arc<str>,
    pub(crate) code_version: Arc<str>,
    pub(crate) params: Arc<[ParamSpec]>,
    pub(crate) output: ValueType,
    pub(crate) tags: Vec<(String, String)>,
    pub(crate) cache_behavior: Option<CacheBehavior>,
    pub(crate) cache_format: Option<String>,
    pub(crate) retries: u32,
    pub(crate) timeout: Option<Duration>,
    pub(crate) body: NodeBody,
    /// For a fan-out node (returning `Parallel<T>`): the type of one item. Boxed: few nodes
    /// fan out, and a spec is in every node of the graph (a million-node graph holds a
    /// million of them).
    pub(crate) item_type: Option<Box<ValueType>>,
    /// For a fan-out node: how to split its value into items.
    pub(crate) item_split: Option<crate::fanout::SplitFn>,
    /// The Rust function that defines it (for a built node: its name).
    pub(crate) function: Arc<str>,
    /// `#[node(when(..))]` conditions: the node exists only if the build-time config meets
    /// all of them.
    pub(crate) when: Vec<ConfigCondition>,
    /// `#[node(task = "..")]`: the task group it runs in on a remote executor.
    pub(crate) task: Option<Arc<str>>,
    /// `#[node(resources(..))]`: what it needs from the machine that runs it.
    pub(crate) resources: Option<Arc<crate::resources::Resources>>,
}

impl fmt::Debug for NodeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeSpec")
            .field("name", &self.name)
            .field("module", &self.module)
            .field("params", &self.params)
            .field("output", &self.output)
            .finish_non_exhaustive()
    }
}

/// What `#[node]` generates; not for direct use.
#[doc(hidden)]
pub struct NodeParts {
    pub name: &'static str,
    pub module: &'static str,
    pub doc: &'static str,
    pub code_version: &'static str,
    pub params: Vec<ParamSpec>,
    pub output: ValueType,
    pub tags: &'static [(&'static str, &'static str)],
    pub cache_behavior: Option<CacheBehavior>,
    pub cache_format: Option<&'static str>,
    pub retries: u32,
    pub timeout: Option<Duration>,
    pub body: NodeBody,
    pub item_type: Option<ValueType>,
    pub item_split: Option<crate::fanout::SplitFn>,
    pub function: &'static str,
    pub when: Vec<ConfigCondition>,
}

impl NodeSpec {
    #[doc(hidden)]
    pub fn from_parts(p: NodeParts) -> NodeSpec {
        NodeSpec {
            name: p.name.into(),
            module: p.module.into(),
            doc: p.doc.into(),
            code_version: p.code_version.into(),
            params: p.params.into(),
            output: p.output,
            tags: p
                .tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cache_behavior: p.cache_behavior,
            cache_format: p.cache_format.map(str::to_string),
            retries: p.retries,
            timeout: p.timeout,
            body: p.body,
            item_type: p.item_type.map(Box::new),
            item_split: p.item_split,
            function: p.function.into(),
            when: p.when,
            task: None,
            resources: None,
        }
    }

    /// Starts a node built at run time (generated DAGs, parameterized families of nodes).
    ///
    /// ```
    /// use weft::{NodeSpec, value_type};
    /// let double = NodeSpec::builder("double", value_type!(u64))
    ///     .param("x", value_type!(u64))
    ///     .code_version("double-v1")
    ///     .sync(|args| Ok(std::sync::Arc::new(*args.get::<u64>(0)? * 2)));
    /// assert_eq!(double.name(), "double");
    /// ```
    pub fn builder(name: impl Into<Arc<str>>, output: ValueType) -> NodeSpecBuilder {
        NodeSpecBuilder::new(name.into(), output)
    }

    /// The node's name: what it produces.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The Rust module the function lives in.
    pub fn module(&self) -> &str {
        &self.module
    }
    /// The doc comment.
    pub fn doc(&self) -> &str {
        &self.doc
    }
    /// What the node's code is, as 64 hex characters: for a `#[node]` function, blake3 of its
    /// tokens as written (layout, comments, doc comments and visibility aside; every comma
    /// counts); for a built node, what [`NodeSpecBuilder::code_version`] was given, or else a
    /// hash of its name and parameters.
    pub fn code_version(&self) -> &str {
        &self.code_version
    }
    /// Its dependencies, in parameter order.
    pub fn params(&self) -> &[ParamSpec] {
        &self.params
    }
    /// The type it produces.
    pub fn output(&self) -> ValueType {
        self.output
    }
    /// `#[node(tags(k = "v"))]` pairs.
    pub fn tags(&self) -> &[(String, String)] {
        &self.tags
    }
    /// The value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// Whether it is an `async fn`.
    pub fn is_async(&self) -> bool {
        matches!(self.body, NodeBody::Async(_))
    }
    /// `#[node(cache = "..")]`, if given.
    pub fn cache_behavior(&self) -> Option<CacheBehavior> {
        self.cache_behavior
    }
    /// `#[node(cache(format = ".."))]`, if given.
    pub fn cache_format(&self) -> Option<&str> {
        self.cache_format.as_deref()
    }
    /// For a fan-out node (returning `Parallel<T>`), the item type.
    pub fn item_type(&self) -> Option<ValueType> {
        self.item_type.as_deref().copied()
    }
    /// `#[node(retries = N)]`.
    pub fn retries(&self) -> u32 {
        self.retries
    }
    /// `#[node(timeout = "..")]`.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
    /// The Rust function that defines the node: its own name, or for a node made by a
    /// modifier (`parameterize`, `extract_fields`, `when` with a `__suffix`), the function's.
    pub fn function(&self) -> &str {
        &self.function
    }
    /// The `#[node(when(..))]` conditions it was kept under (all held for the build-time
    /// config).
    pub fn conditions(&self) -> &[ConfigCondition] {
        &self.when
    }
    /// The task group (`#[node(task = "..")]`): on a remote executor, a chain of nodes of one
    /// group runs as one task (see [`weft::remote`](crate::remote)).
    pub fn task(&self) -> Option<&str> {
        self.task.as_deref()
    }
    /// What the node needs (`#[node(resources(..))]`), for backends that schedule by it.
    pub fn resources(&self) -> Option<&crate::resources::Resources> {
        self.resources.as_deref()
    }
    /// Puts the node in task group `group` (see [`task`](Self::task)).
    ///
    /// ```
    /// use weft::{NodeSpec, value_type};
    /// let n = NodeSpec::builder("n", value_type!(u64))
    ///     .sync(|_| Ok(std::sync::Arc::new(1u64)))
    ///     .with_task("prep");
    /// assert_eq!(n.task(), Some("prep"));
    /// ```
    pub fn with_task(mut self, group: impl Into<Arc<str>>) -> Self {
        self.task = Some(group.into());
        self
    }
    /// Declares what the node needs (see [`resources`](Self::resources)).
    pub fn with_resources(mut self, resources: crate::resources::Resources) -> Self {
        self.resources = (!resources.is_empty()).then(|| Arc::new(resources));
        self
    }
    pub(crate) fn body(&self) -> &NodeBody {
        &self.body
    }
}

/// A `#[node]` function's registration, collected per module with `inventory`.
#[doc(hidden)]
pub struct Registration {
    pub module: &'static str,
    pub name: &'static str,
    pub ctor: fn() -> NodeSpec,
}

inventory::collect!(Registration);

/// Erases a node's return value.
#[doc(hidden)]
pub fn boxed<T: Any + Send + Sync>(v: T) -> AnyValue {
    Arc::new(v)
}
