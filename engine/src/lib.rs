//! # weft
//!
//! A dataflow engine in Rust, after Apache Hamilton: a function is a node, its name is what it
//! produces, its parameter names are what it needs. weft builds and validates the DAG, runs only
//! what the requested outputs need, and never recomputes what it already knows.
//!
//! ```
//! use weft::prelude::*;
//!
//! mod marketing {
//!     use weft::prelude::*;
//!     /// Spend per signup.
//!     #[node]
//!     pub fn spend_per_signup(spend: &f64, signups: &u64) -> f64 { spend / *signups as f64 }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dr = Builder::new().with_modules(weft::modules![crate::marketing]).build()?;
//! let out = dr.execute(&["spend_per_signup"], inputs! { "spend" => 10.0, "signups" => 4u64 })?;
//! assert_eq!(*out.get::<f64>("spend_per_signup")?, 2.5);
//! # Ok(()) }
//! ```
//!
//! See the book (`book/`) for concepts and guides, and `ARCHITECTURE.md` for the internals.
//!
//! ## Cargo features
//!
//! All on by default. Without them (`default-features = false`) weft is a light core: graphs
//! built and validated, sync and `async fn` nodes, incremental reruns, executors, fan-out,
//! retries, time limits, adapters, file inputs and sessions, without SQLite, the OS file watcher
//! or a layout engine. Each feature adds only the items named here; code that uses an item of a
//! feature that is off does not compile (nothing fails at run time).
//!
//! | feature | adds | dependencies |
//! |---|---|---|
//! | `cache` | the persistent cache: the `cache` module, `Cache`, `CacheConfig`, `Builder::with_cache*`, `Driver::cache` | `rusqlite` (bundled SQLite) |
//! | `async` | `Driver::execute_async`, `Request::run_async`: runs on the caller's tokio runtime | tokio's `rt-multi-thread`, `macros` |
//! | `watch` | `Watcher` (watch mode): rerun a request when a file it reads changes | `notify`, `notify-debouncer-full` |
//! | `viz` | the `viz` module, `Driver::display_all`, `visualize_execution`, `Cache::view_run` | `layout-rs` |
//! | `spark` (off by default) | the `spark` module: Spark DataFrames through Spark Connect as node values, `SparkAdapter` (analysis, `spark = "cache"`/`"persist"` tags), `RowLimit`, `with_columns` over Spark `Column`s | `apache-spark-connect` (needs `protoc` and `libprotobuf-dev` to build) |
//! | `polars` (off by default) | the `frames` module: polars `DataFrame`, `LazyFrame`, `Series` as node values (fingerprints, `parquet`/`ipc` cache formats), `#[node(with_columns(..))]`, `#[node(extract_columns(..))]` | `polars` (heavy: minutes of build) |
//!
//! tokio (`rt`, `sync`, `time`) is in the core: a node's stack is a future, and one that waits
//! (an `async fn` body, a retry's pause) is finished on a current-thread runtime.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate self as weft;

mod adapter;
#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
pub mod cache;
mod cancel;
pub mod columns;
mod driver;
mod error;
mod evaluation;
mod executor;
mod fanout;
pub mod files;
mod fingerprint;
#[cfg(feature = "polars")]
#[cfg_attr(docsrs, doc(cfg(feature = "polars")))]
pub mod frames;
mod graph;
mod incremental;
mod inputs;
mod invoke;
mod memory;
mod modifiers;
mod module;
mod node;
mod outputs;
mod panics;
mod plan;
mod probe;
pub mod remote;
mod resources;
mod session;
#[cfg(feature = "spark")]
#[cfg_attr(docsrs, doc(cfg(feature = "spark")))]
pub mod spark;
mod type_name;
mod value;
#[cfg(feature = "viz")]
#[cfg_attr(docsrs, doc(cfg(feature = "viz")))]
pub mod viz;
mod warnings;
pub mod watch;

pub use adapter::{
    Adapter, Next, NodeFuture, NodeInfo, NodeResult, Retry, RunInfo, RunSummary, TracingAdapter,
};
#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
pub use cache::{Cache, CacheConfig};
pub use cancel::CancelToken;
pub use driver::{Builder, Driver, Request, RunRecord};
pub use fanout::{Collect, Parallel, SplitFn};
pub use files::{FileInput, FileSet};
pub use session::Session;
pub use watch::RunReport;
#[cfg(feature = "watch")]
#[cfg_attr(docsrs, doc(cfg(feature = "watch")))]
pub use watch::Watcher;

/// Executors: where ready nodes run. See [`Builder::with_local_executor`].
pub mod executors {
    pub use crate::executor::{
        Executor, Handle, MultiThreading, Runner, Scheduler, Sequential, TaskOutcome, Walk,
    };
}
pub use error::{BuildError, ExecuteError, InputProblem, NodeError, Problem};
pub use fingerprint::{data_version_of, DataVersion, Fingerprint, FingerprintHasher};
pub use graph::{Graph, GraphNode, NodeId, NodeKind};
pub use inputs::Inputs;
pub use memory::MemorySize;
pub use modifiers::{
    CheckReport, CheckResult, ConfigCondition, ConfigLiteral, DataTypes, Element, Elements,
    Importance, Nullable, Numbers, Subdag, Text,
};
pub use module::Modules;
pub use node::{
    Args, BodyResult, BoxFuture, CacheBehavior, NodeBody, NodeSpec, NodeSpecBuilder, OwnedArgs,
    ParamKind, ParamSpec,
};
pub use outputs::Outputs;
pub use plan::Plan;
pub use type_name::short_type_name;
pub use value::{AnyValue, CacheFormats, Codec, EncodeTo, ParseFn, Value, ValueType};
pub use warnings::Warning;

/// Turns a function into a node.
///
/// The function's name is the node; each parameter is a dependency on the node (or input, or
/// config value) of that name: `&T` is required, `Option<&T>` optional, a plain `T` is cloned.
/// Returning `Result<T, E>` makes the node fallible; its error is reported with the node's name.
/// `async fn` is accepted. Doc comments become the node's description. The function itself is
/// unchanged and can be called and tested directly.
///
/// Arguments: `tags(key = "value", ..)`, `cache = "default" | "recompute" | "disable" |
/// "ignore"`, `cache(behavior = "..", format = "postcard" | "json")`, `retries = N`,
/// `timeout = "5s"`; Hamilton's function modifiers: `name = ".."`, `when(k = v)` (and
/// `when_not`, `when_in`, `when_not_in`), `parameterize(out(p = value(..), q = source("..")))`,
/// `extract_fields(field: Type, ..)`, `extract_columns("column", ..)` (feature `polars`),
/// `check_output(..)` with Hamilton's validators (`range = (lo, hi)`, `allow_nans = false`,
/// `max_fraction_nans = 0.05`, `mean_in_range = (lo, hi)`, `max_standard_dev = 2.0`,
/// `values_in = ["a", "b"]`, `data_type = "f64"` on a polars series or frame,
/// `allow_none = false`, `contains = ".."`, `does_not_contain = ".."`), `custom = path`,
/// `importance = "warn" | "fail"` and `target = "node"` (Hamilton's `target_`: by default each
/// parameterized output or extracted field or column, else the node). See the book's
/// "Function modifiers".
///
/// ```
/// use weft::prelude::*;
///
/// /// Revenue after refunds.
/// #[node(tags(owner = "finance"))]
/// fn net_revenue(revenue: &f64, refunds: Option<&f64>) -> f64 {
///     revenue - refunds.copied().unwrap_or(0.0)
/// }
///
/// assert_eq!(net_revenue(&10.0, Some(&2.5)), 7.5); // still a plain function
/// ```
pub use weft_macros::node;

/// Turns a function into a *column node* of a `with_columns` group (see [`columns`]): an
/// `Expr -> Expr` function is an ordinary node over expressions; a `Series -> Series` function
/// becomes a node whose value is the expression mapping it over the columns, inside the
/// group's one lazy plan. Parameters of other types are ordinary dependencies (cloned into the
/// expression). Needs feature `polars`.
pub use weft_macros::column;

/// The names most flows need.
pub mod prelude {
    pub use crate::{inputs, modules, node, Builder, Collect, Driver, Inputs, Outputs, Parallel};
}

/// The README's and the book's Rust snippets, compiled and run as doctests. They show the
/// whole engine (cache, async runs, watch mode, pictures), so they need the default features.
#[cfg(all(
    doctest,
    feature = "cache",
    feature = "async",
    feature = "watch",
    feature = "viz"
))]
mod doc_snippets {
    #[doc = include_str!("../../README.md")]
    mod readme {}

    #[doc = include_str!("../../book/src/introduction.md")]
    mod book_introduction {}

    #[doc = include_str!("../../book/src/getting-started.md")]
    mod book_getting_started {}

    #[doc = include_str!("../../book/src/concepts.md")]
    mod book_concepts {}

    #[doc = include_str!("../../book/src/caching.md")]
    mod book_caching {}

    #[doc = include_str!("../../book/src/fan-out.md")]
    mod book_fan_out {}

    #[doc = include_str!("../../book/src/async.md")]
    mod book_async {}

    #[doc = include_str!("../../book/src/multithreading.md")]
    mod book_multithreading {}

    #[doc = include_str!("../../book/src/choosing-a-strategy.md")]
    mod book_choosing_a_strategy {}

    #[doc = include_str!("../../book/src/development-loop.md")]
    mod book_development_loop {}

    #[cfg(feature = "object-store")]
    #[doc = include_str!("../../book/src/shared-stores.md")]
    mod book_shared_stores {}
    #[cfg(feature = "polars")]
    #[doc = include_str!("../../book/src/data-frames.md")]
    mod book_data_frames {}
    #[cfg(all(feature = "dask", feature = "ray"))]
    #[doc = include_str!("../../book/src/ray-and-dask.md")]
    mod book_ray_and_dask {}
    // Compiled, not run (`no_run`): they need a Spark Connect server.
    #[cfg(all(feature = "spark", feature = "polars"))]
    #[doc = include_str!("../../book/src/spark.md")]
    mod book_spark {}
}

#[doc(hidden)]
pub mod __private {
    pub use crate::columns::{ColumnGroup, GroupRegistration};
    pub use crate::error::user_error;
    pub use crate::fanout::splitter;
    #[cfg(feature = "polars")]
    pub use crate::frames::extract_column;
    pub use crate::modifiers::check;
    pub use crate::modifiers::extract::missing_field;
    pub use crate::modifiers::{ConfigCondition, ConfigLiteral, SubdagRegistration};
    pub use crate::node::{boxed, NodeParts, Registration};
    pub use crate::node::{Args, NodeBody, OwnedArgs, ParamKind, ParamSpec};
    pub use crate::value_type;
    pub use inventory;
    pub mod probe {
        pub use crate::probe::*;
    }
}
