//! The persistent cache, on real SQLite files and real blob directories, across drivers and
//! across processes (including processes killed mid-run).
//!
//! Tests about the cache's behaviour run against every store (`on_every_store!`: SQLite, the
//! in-memory store and, with feature `object-store`, the S3 test server, as `sqlite::…`,
//! `memory::…` and `object::…`); those about SQLite's files (damaged
//! rows and files, the write-ahead log) or about processes (which share a directory, not
//! memory) run on SQLite only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use weft::cache::{GcPolicy, ResultStore, Status, StoreError};
use weft::prelude::*;
use weft::{value_type, CacheBehavior, CacheConfig, NodeSpec, Problem};
use weft_tests::stores::Store;

weft_tests::on_every_store!("cache":
    second_driver_hits_everything_and_loads_only_what_it_returns,
    behaviours_recompute_disable_ignore,
    driver_lists_beat_attributes_and_defaults_opt_in,
    unfingerprintable_values_stay_in_memory_and_are_reported_once,
    a_missing_result_is_recomputed_with_a_warning,
    a_failed_run_keeps_what_succeeded,
    inspection_runs_versions_store_explain_view_gc,
    values_that_do_not_round_trip_are_not_stored,
    a_codec_wrongly_marked_exact_is_caught_when_read,
    a_finished_run_is_visible_to_another_live_driver_at_once,
    an_ignored_input_stays_out_of_keys_and_explain_says_so,
    a_cancelled_run_is_recorded_as_cancelled_with_what_it_did;
    in_process_stores: a_long_chain_of_hits_is_read_and_dropped_without_deep_recursion,
);

fn temp_dir(name: &str) -> PathBuf {
    weft_tests::temp_dir("cache", name)
}

/// A driver over `modules` with the cache in `store` (each test's "new process").
fn cached(modules: weft::Modules, store: &Store) -> Driver {
    Builder::new()
        .with_modules(modules)
        .with_cache_config(store.config())
        .build()
        .unwrap()
}

/// Statuses of the last run, by node.
fn statuses(dr: &Driver) -> BTreeMap<String, Status> {
    let cache = dr.cache().unwrap();
    cache
        .records(None)
        .unwrap()
        .into_iter()
        .map(|r| (r.node, r.status))
        .collect()
}

fn status_map(pairs: &[(&str, Status)]) -> BTreeMap<String, Status> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Counts how often values of this type are deserialized (i.e. loaded from the store) on this
/// thread: the default executor runs a test's nodes, and reads its hits, on the test's thread,
/// and other tests running at the same time do not count.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Counted(pub u64);
thread_local! {
    pub static LOADS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}
fn loads() -> usize {
    LOADS.with(|l| l.get())
}
impl<'de> serde::Deserialize<'de> for Counted {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        LOADS.with(|l| l.set(l.get() + 1));
        u64::deserialize(d).map(Counted)
    }
}

pub mod lazy {
    use super::Counted;
    use weft::prelude::*;
    #[node]
    pub fn a(x: &u64) -> Counted {
        Counted(x + 1)
    }
    #[node]
    pub fn b(a: &Counted) -> Counted {
        Counted(a.0 * 2)
    }
    #[node]
    pub fn c(b: &Counted) -> Counted {
        Counted(b.0 + 3)
    }
}

#[path = "cache/behaviour.rs"]
mod behaviour;
#[path = "cache/processes.rs"]
mod processes;
#[path = "cache/stored.rs"]
mod stored;
#[path = "cache/unkeyed.rs"]
mod unkeyed;

use behaviour::*;
use processes::*;
use stored::*;
