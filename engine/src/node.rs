//! Node specifications: what `#[node]` records about a function, or what a program builds with
//! [`NodeSpec::builder`].

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::error::NodeError;
use crate::modifiers::ConfigCondition;
use crate::type_name::short_type_name_pair;
use crate::value::{AnyValue, Value, ValueType};

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

/// Result of a node body: the erased value, or the node's error.
pub type BodyResult = Result<AnyValue, NodeError>;
/// A boxed future of a node body.
pub type BoxFuture = Pin<Box<dyn Future<Output = BodyResult> + Send>>;

type SyncFn = dyn Fn(&Args<'_>) -> BodyResult + Send + Sync;
type AsyncFn = dyn Fn(OwnedArgs) -> BoxFuture + Send + Sync;

/// The code a node runs.
#[derive(Clone)]
#[non_exhaustive]
pub enum NodeBody {
    /// A plain function.
    Sync(Arc<SyncFn>),
    /// An `async fn`.
    Async(Arc<AsyncFn>),
}

impl NodeBody {
    /// A synchronous body.
    pub fn sync(f: impl Fn(&Args<'_>) -> BodyResult + Send + Sync + 'static) -> Self {
        NodeBody::Sync(Arc::new(f))
    }
    /// An asynchronous body.
    pub fn asynchronous(f: impl Fn(OwnedArgs) -> BoxFuture + Send + Sync + 'static) -> Self {
        NodeBody::Async(Arc::new(f))
    }
}

/// The resolved dependency values handed to a node body, in parameter order.
pub struct Args<'a> {
    node: &'a str,
    params: &'a [ParamSpec],
    values: &'a [Option<Value>],
}

impl<'a> Args<'a> {
    pub(crate) fn new(node: &'a str, params: &'a [ParamSpec], values: &'a [Option<Value>]) -> Self {
        Args {
            node,
            params,
            values,
        }
    }

    /// The value of parameter `i`, which must be present.
    pub fn get<T: Any>(&self, i: usize) -> Result<&'a T, NodeError> {
        self.get_optional::<T>(i)?.ok_or_else(|| {
            NodeError::Internal(format!(
                "node `{}`: required dependency `{}` has no value",
                self.node,
                self.param_name(i)
            ))
        })
    }

    /// The value of parameter `i`, or `None` when it is absent.
    pub fn get_optional<T: Any>(&self, i: usize) -> Result<Option<&'a T>, NodeError> {
        let Some(slot) = self.values.get(i) else {
            return Err(NodeError::Internal(format!(
                "node `{}` has no parameter #{i}",
                self.node
            )));
        };
        let Some(value) = slot else { return Ok(None) };
        let data = value.data().map_err(|e| {
            NodeError::Internal(format!(
                "node `{}`: could not load dependency `{}`: {e}",
                self.node,
                self.param_name(i)
            ))
        })?;
        data.downcast_ref::<T>().map(Some).ok_or_else(|| {
            let (is, wanted) =
                short_type_name_pair(value.value_type().name(), std::any::type_name::<T>());
            NodeError::Internal(format!(
                "node `{}`: dependency `{}` is a `{is}`, not a `{wanted}`",
                self.node,
                self.param_name(i),
            ))
        })
    }

    /// The value of parameter `i` as it is shared (no copy), which must be present: for a
    /// body that passes a dependency's value on.
    pub fn shared(&self, i: usize) -> Result<AnyValue, NodeError> {
        let value = self.values.get(i).and_then(Option::as_ref).ok_or_else(|| {
            NodeError::Internal(format!(
                "node `{}`: required dependency `{}` has no value",
                self.node,
                self.param_name(i)
            ))
        })?;
        value.data().cloned().map_err(|e| {
            NodeError::Internal(format!(
                "node `{}`: could not load dependency `{}`: {e}",
                self.node,
                self.param_name(i)
            ))
        })
    }

    /// The items of a `Collect<T>` parameter, all loaded.
    pub fn collect<T: Any>(&self, i: usize) -> Result<crate::Collect<T>, NodeError> {
        let value = self.values.get(i).and_then(Option::as_ref).ok_or_else(|| {
            NodeError::Internal(format!(
                "node `{}`: no collected values for `{}`",
                self.node,
                self.param_name(i)
            ))
        })?;
        let data = value.data().map_err(NodeError::Internal)?;
        let collected = data
            .downcast_ref::<crate::fanout::Collected>()
            .ok_or_else(|| {
                NodeError::Internal(format!(
                    "node `{}`: parameter `{}` is not a collected fan-out",
                    self.node,
                    self.param_name(i)
                ))
            })?;
        for (n, item) in collected.0.iter().enumerate() {
            let loaded = item.data().map_err(|e| {
                NodeError::Internal(format!(
                    "item {n} of `{}` could not be loaded: {e}",
                    self.param_name(i)
                ))
            })?;
            if loaded.downcast_ref::<T>().is_none() {
                let (is, wanted) =
                    short_type_name_pair(item.value_type().name(), std::any::type_name::<T>());
                return Err(NodeError::Internal(format!(
                    "item {n} of `{}` is a `{is}`, not a `{wanted}`",
                    self.param_name(i),
                )));
            }
        }
        Ok(crate::Collect::new(collected.0.clone()))
    }

    fn param_name(&self, i: usize) -> &str {
        self.params.get(i).map(|p| p.name()).unwrap_or("?")
    }
}

/// Owned dependency values, moved into an async body's future.
pub struct OwnedArgs {
    node: Arc<str>,
    params: Arc<[ParamSpec]>,
    values: Vec<Option<Value>>,
}

impl OwnedArgs {
    pub(crate) fn new(
        node: Arc<str>,
        params: Arc<[ParamSpec]>,
        values: Vec<Option<Value>>,
    ) -> Self {
        OwnedArgs {
            node,
            params,
            values,
        }
    }
    /// Borrowed view, for extracting typed arguments.
    pub fn borrow(&self) -> Args<'_> {
        Args::new(&self.node, &self.params, &self.values)
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
        NodeSpecBuilder {
            name: name.into(),
            output,
            params: Vec::new(),
            module: shared_str(&DYNAMIC, "dynamic"),
            doc: shared_str(&EMPTY, ""),
            code_version: None,
            tags: Vec::new(),
            cache_behavior: None,
            item_type: None,
            item_split: None,
            when: Vec::new(),
        }
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

static DYNAMIC: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
static EMPTY: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();

/// One shared copy of a default string (generated graphs build thousands of specs).
fn shared_str(cell: &'static std::sync::OnceLock<Arc<str>>, s: &str) -> Arc<str> {
    cell.get_or_init(|| Arc::from(s)).clone()
}

/// Builds a [`NodeSpec`] at run time. See [`NodeSpec::builder`].
pub struct NodeSpecBuilder {
    name: Arc<str>,
    output: ValueType,
    params: Vec<ParamSpec>,
    module: Arc<str>,
    doc: Arc<str>,
    code_version: Option<Arc<str>>,
    tags: Vec<(String, String)>,
    cache_behavior: Option<CacheBehavior>,
    item_type: Option<ValueType>,
    item_split: Option<crate::fanout::SplitFn>,
    when: Vec<ConfigCondition>,
}

impl NodeSpecBuilder {
    /// Makes this a fan-out node: its output is a `Parallel<T>` of items of type `T`, described
    /// by `item` (`value_type!(T)`); its output type should be `value_type!(Parallel<T>)`.
    pub fn expands<T: std::any::Any + Send + Sync>(mut self, item: ValueType) -> Self {
        self.item_type = Some(item);
        self.item_split = Some(crate::fanout::splitter::<T>);
        self
    }
    /// Adds a `Collect<T>` dependency: the per-item values of node `name` (inside a fan-out),
    /// of item type `ty`.
    pub fn collect_param(mut self, name: impl Into<Arc<str>>, ty: ValueType) -> Self {
        self.params
            .push(ParamSpec::new(name, ParamKind::Collect, ty));
        self
    }
    /// Adds a required dependency.
    pub fn param(mut self, name: impl Into<Arc<str>>, ty: ValueType) -> Self {
        self.params
            .push(ParamSpec::new(name, ParamKind::Required, ty));
        self
    }
    /// Adds an optional dependency.
    pub fn optional_param(mut self, name: impl Into<Arc<str>>, ty: ValueType) -> Self {
        self.params
            .push(ParamSpec::new(name, ParamKind::Optional, ty));
        self
    }
    /// Sets the module name reported for this node (default `dynamic`).
    pub fn module(mut self, module: impl Into<Arc<str>>) -> Self {
        self.module = module.into();
        self
    }
    /// Sets the description.
    pub fn doc(mut self, doc: impl Into<Arc<str>>) -> Self {
        self.doc = doc.into();
        self
    }
    /// Sets the code version. Give one whenever the body's logic can change between builds:
    /// the default is derived from the name and parameters only.
    pub fn code_version(mut self, v: impl Into<Arc<str>>) -> Self {
        self.code_version = Some(v.into());
        self
    }
    /// Adds a tag.
    pub fn tag(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.tags.push((k.into(), v.into()));
        self
    }
    /// Keeps the node only if the build-time config meets `condition` (as
    /// `#[node(when(..))]`); several built nodes of one name can so implement one node.
    pub fn when(mut self, condition: ConfigCondition) -> Self {
        self.when.push(condition);
        self
    }
    /// Sets the cache behaviour.
    pub fn cache(mut self, b: CacheBehavior) -> Self {
        self.cache_behavior = Some(b);
        self
    }
    /// Finishes with a synchronous body.
    pub fn sync(self, f: impl Fn(&Args<'_>) -> BodyResult + Send + Sync + 'static) -> NodeSpec {
        self.finish(NodeBody::sync(f))
    }
    /// Finishes with an asynchronous body.
    pub fn asynchronous(
        self,
        f: impl Fn(OwnedArgs) -> BoxFuture + Send + Sync + 'static,
    ) -> NodeSpec {
        self.finish(NodeBody::asynchronous(f))
    }

    fn finish(self, body: NodeBody) -> NodeSpec {
        let code_version = self.code_version.unwrap_or_else(|| {
            let mut h = blake3::Hasher::new();
            h.update(self.name.as_bytes());
            for p in &self.params {
                h.update(p.name().as_bytes());
                h.update(p.value_type().name().as_bytes());
            }
            h.finalize().to_hex().as_str().into()
        });
        NodeSpec {
            function: self.name.clone(),
            when: self.when,
            name: self.name,
            module: self.module,
            doc: self.doc,
            code_version,
            params: self.params.into(),
            output: self.output,
            tags: self.tags,
            cache_behavior: self.cache_behavior,
            cache_format: None,
            retries: 0,
            timeout: None,
            body,
            item_type: self.item_type.map(Box::new),
            item_split: self.item_split,
            task: None,
            resources: None,
        }
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
