//! The code a node runs ([`NodeBody`]) and the arguments it is called with ([`Args`],
//! [`OwnedArgs`]).

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::ParamSpec;
use crate::error::NodeError;
use crate::type_name::short_type_name_pair;
use crate::value::{AnyValue, Value};

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
