//! Cluster backends: `DaskExecutor` (feature `dask`) and `RayExecutor` (feature `ray`).
//!
//! Neither Dask nor Ray has a Rust client, so weft drives them the way they offer to other
//! languages: through a small Python **bridge** (`bridge.py`, the client's side, and
//! `flow_worker.py`, the workers' side; embedded in weft and written out or shipped by it; users
//! never maintain them). The bridge turns each weft [`Task`] into one
//! cluster task — a Dask future, a Ray task with the node's resources — whose arguments include
//! the futures of the earlier tasks whose results it reads, so the cluster's scheduler sees the
//! dependencies and places the work. On the cluster's worker the task is handed to a worker
//! process of the flow binary (the worker primitive of [`crate::remote`]), which reads its
//! inputs from the store shared with the driver, runs the node and stores the result. Reports
//! stream back as tasks finish, one JSON line each (see `bridge.py` for the protocol).
//!
//! Everything else — the plan, cache hits (never sent), retries, time limits, keep-going,
//! cancellation, records, adapters — is the driver's, exactly as with
//! [`ProcessPool`](crate::remote::ProcessPool): a cluster backend is only a
//! [`RemoteExecutor`](crate::remote::RemoteExecutor).

mod connection;
#[cfg(feature = "dask")]
mod dask;
mod options;
#[cfg(feature = "ray")]
mod ray;

pub(crate) use connection::Connection;
#[cfg(feature = "dask")]
pub use dask::DaskExecutor;
pub(crate) use options::{cluster_setters, ClusterOptions, TAIL_LINES};
#[cfg(feature = "ray")]
pub use ray::RayExecutor;

/// The bridge script, written with its clients ([`BRIDGE_DASK_PY`], [`BRIDGE_RAY_PY`]) and
/// its worker half ([`FLOW_WORKER_PY`]) in a directory of their own (Dask) or shipped in the
/// job's working directory (Ray).
pub(crate) const BRIDGE_PY: &str = include_str!("bridge.py");

/// The bridge's Dask client, `bridge_dask.py` (imported by the bridge for `dask`).
pub(crate) const BRIDGE_DASK_PY: &str = include_str!("bridge_dask.py");

/// The bridge's Ray client, `bridge_ray.py` (imported by the bridge for `ray`).
pub(crate) const BRIDGE_RAY_PY: &str = include_str!("bridge_ray.py");

/// The bridge's worker half, `flow_worker.py`: what runs on the cluster's workers. Its module
/// name must stay `flow_worker` (the bridge imports it; Ray's workers import
/// `flow_worker.run_task`).
pub(crate) const FLOW_WORKER_PY: &str = include_str!("flow_worker.py");

/// The bridge's files: name and content.
pub(crate) const BRIDGE_FILES: [(&str, &str); 4] = [
    ("bridge.py", BRIDGE_PY),
    ("bridge_dask.py", BRIDGE_DASK_PY),
    ("bridge_ray.py", BRIDGE_RAY_PY),
    ("flow_worker.py", FLOW_WORKER_PY),
];

/// A directory holding the bridge's scripts, removed when dropped.
#[cfg(feature = "dask")]
pub(crate) struct BridgeDir(pub(crate) std::path::PathBuf);

#[cfg(feature = "dask")]
impl BridgeDir {
    /// Writes the bridge's files ([`BRIDGE_FILES`]) into a fresh temporary directory.
    pub(crate) fn write(kind: &str) -> std::io::Result<BridgeDir> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("weft-{kind}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let dir = BridgeDir(dir);
        // A fresh private directory: nothing reads the scripts before they are complete.
        for (name, text) in BRIDGE_FILES {
            std::fs::write(dir.0.join(name), text)?;
        }
        Ok(dir)
    }

    /// The script's path.
    pub(crate) fn script(&self) -> std::path::PathBuf {
        self.0.join("bridge.py")
    }
}

#[cfg(feature = "dask")]
impl Drop for BridgeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
