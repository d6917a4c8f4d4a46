//! Where each kind of object lives under the cache's prefix. Every object is written whole by
//! one PUT (atomic on every provider), and no object is ever updated by two writers:
//!
//! | object | written | by |
//! |---|---|---|
//! | `results/<data version>` | once, create-only (content-addressed) | any driver |
//! | `keys/<cache key>` | per stored key (same key, same meaning: last writer wins) | any driver |
//! | `forgotten/<cache key>` | when a key turned out unusable | any driver |
//! | `runs/<run id>` | at the run's start and end | the run's driver |
//! | `records/<run id>/<seq>-<writer>` | one per batch of the run's records | the run's driver |
//! | `finished/<start µs>-<run id>` | at the run's end, after its records | the run's driver |
//!
//! So several drivers on several machines can share one prefix: nobody's records are lost
//! (each batch is its own object) and a run is "finished" only once its records are in.

use object_store::path::Path;

use crate::cache::CacheKey;
use crate::fingerprint::DataVersion;

pub(super) const RESULTS: &str = "results";
pub(super) const KEYS: &str = "keys";
pub(super) const FORGOTTEN: &str = "forgotten";
pub(super) const RUNS: &str = "runs";
pub(super) const RECORDS: &str = "records";
pub(super) const FINISHED: &str = "finished";

/// The cache's objects: paths under one prefix.
#[derive(Clone, Debug)]
pub(super) struct Layout {
    prefix: Path,
}

impl Layout {
    pub(super) fn new(prefix: Path) -> Layout {
        Layout { prefix }
    }

    /// `prefix/dir`.
    pub(super) fn dir(&self, dir: &str) -> Path {
        self.prefix.clone().join(dir)
    }

    /// `prefix/dir/name`.
    fn at(&self, dir: &str, name: &str) -> Path {
        self.dir(dir).join(name)
    }

    pub(super) fn result(&self, v: &DataVersion) -> Path {
        self.at(RESULTS, &v.to_hex())
    }

    pub(super) fn key(&self, k: &CacheKey) -> Path {
        self.at(KEYS, &k.to_hex())
    }

    pub(super) fn forgotten(&self, k: &CacheKey) -> Path {
        self.at(FORGOTTEN, &k.to_hex())
    }

    pub(super) fn run(&self, run_id: &str) -> Path {
        self.at(RUNS, run_id)
    }

    pub(super) fn records_of(&self, run_id: &str) -> Path {
        self.at(RECORDS, run_id)
    }

    /// One batch of a run's records: `seq` orders the batches of one writer (zero-padded, so
    /// names sort), `writer` tells writers apart.
    pub(super) fn record_batch(&self, run_id: &str, seq: u64, writer: &str) -> Path {
        self.records_of(run_id)
            .join(format!("{seq:012}-{writer}").as_str())
    }

    /// The marker of a finished run: names sort by start time (microseconds, zero-padded).
    pub(super) fn finished(&self, started_at: f64, run_id: &str) -> Path {
        let micros = (started_at.max(0.0) * 1e6) as u64;
        self.at(FINISHED, &format!("{micros:020}-{run_id}"))
    }

    /// The last part of a path.
    pub(super) fn name(path: &Path) -> Option<String> {
        path.filename().map(str::to_string)
    }

    /// The run id in a finished marker's name.
    pub(super) fn finished_run(path: &Path) -> Option<String> {
        Layout::name(path)?
            .split_once('-')
            .map(|(_, id)| id.to_string())
    }
}
