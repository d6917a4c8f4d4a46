//! `weft ui`: the cache in a browser. A local HTTP server (axum on tokio, bound to 127.0.0.1
//! unless told otherwise) serving three kinds of pages over a cache directory, read-only:
//!
//! - **runs** (`/`): every run, newest first, with time, duration, executed / hits / failed
//!   counts and the requested outputs, filtered by node name;
//! - **a run** (`/runs/{run}`): the engine's own picture of the run coloured by outcome, each
//!   node a link; per-node timings as a sorted bar chart; the slowest path highlighted;
//! - **a node in a run** (`/runs/{run}/nodes/{node}`): doc, type, code version, inputs' data
//!   versions, the `explain` text, the stored value's summary and preview, and the node's data
//!   versions across runs.
//!
//! With `watch --ui` / `dev --ui` the pages are live: [`live::Hub`] carries node and run
//! events (from an adapter on the driver and from the watcher) to every open page as
//! server-sent events (`/events`).
//!
//! `weft dev --ui` ([`dev_view`]) follows the code-edit loop: why each rerun happened and the
//! new run's picture (its flow runs in a child process, so nodes are not followed one by one).
//!
//! One concept per file: [`args`] (the flags), [`server`] (start, bind, serve), [`routes`]
//! (URLs to pages), [`site`] (what pages read: the cache, memos of finished runs, the flow's
//! docs), [`pages`] (the HTML), [`live`] (events), [`assets`] (embedded CSS and script),
//! [`safety`] (what the server accepts and opens), [`timing`] (bars and the slowest path),
//! [`preview`] (stored values shown).

pub(crate) mod args;
mod assets;
pub(crate) mod dev_view;
pub(crate) mod live;
mod pages;
mod preview;
mod routes;
mod safety;
pub(crate) mod server;
mod site;
mod timing;

pub(crate) use args::UiArgs;
pub(crate) use server::Server;
pub(crate) use site::FlowInfo;
