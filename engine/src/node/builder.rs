//! [`NodeSpecBuilder`]: a node made at run time, not by `#[node]`.

use std::sync::Arc;

use super::{Args, OwnedArgs};
use super::{BodyResult, BoxFuture, CacheBehavior, NodeBody, NodeSpec, ParamKind, ParamSpec};
use crate::modifiers::ConfigCondition;
use crate::value::ValueType;

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
    /// A node of that name and output type, made at run time (module `dynamic`, no doc).
    pub(super) fn new(name: Arc<str>, output: ValueType) -> Self {
        NodeSpecBuilder {
            name,
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
