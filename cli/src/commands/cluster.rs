//! `--executor dask[=ADDRESS]` and `--executor ray[=ADDRESS]`: the engine's cluster backends,
//! with this binary as the flow the cluster's workers run (`__weft-worker`, same config) and
//! `$WEFT_PYTHON` (default `python3`) as the Python that runs weft's bridge. Ctrl-C during such
//! a run cancels it ([`Interrupt`]): the backend stops what runs on the cluster.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use signal_hook::consts::SIGINT;
use signal_hook::iterator::{Handle, Signals};
use weft::{Builder, CancelToken};

use crate::args::Cluster;
#[cfg(any(feature = "dask", feature = "ray"))]
use crate::args::ClusterKind;
use crate::error::CliError;

/// `builder` running its nodes on the cluster `c`; `worker_args` follow `__weft-worker`.
pub(super) fn on_cluster(
    builder: Builder,
    c: &Cluster,
    worker_args: Vec<String>,
) -> Result<Builder, CliError> {
    match c.kind {
        #[cfg(feature = "dask")]
        ClusterKind::Dask => {
            let mut dask = weft::remote::DaskExecutor::new().args(worker_args);
            if let Some(a) = &c.address {
                dask = dask.address(a);
            }
            Ok(builder.with_remote_executor(dask))
        }
        #[cfg(feature = "ray")]
        ClusterKind::Ray => {
            let mut ray = weft::remote::RayExecutor::new().args(worker_args);
            if let Some(a) = &c.address {
                ray = ray.address(a);
            }
            Ok(builder.with_remote_executor(ray))
        }
        #[allow(unreachable_patterns)]
        kind => {
            let _ = (builder, worker_args);
            Err(CliError::usage(format!(
                "`--executor {}` needs the `{}` feature of weft-dataflow-cli, which this flow \
                 was built without: add `features = [\"{}\"]` to its weft-dataflow-cli \
                 dependency and rebuild",
                kind.feature(),
                kind.feature(),
                kind.feature()
            )))
        }
    }
}

/// Ctrl-C (SIGINT) while a run is on a cluster: the first one cancels the run's token — the
/// backend then stops the Ray job or cancels the Dask futures, and the run ends with
/// `Cancelled`, reported as an interruption — a second one exits at once.
pub(super) struct Interrupt {
    token: CancelToken,
    seen: Arc<AtomicBool>,
    handle: Handle,
}

impl Interrupt {
    /// Catches SIGINT until dropped.
    pub(super) fn catch() -> Result<Interrupt, CliError> {
        let mut signals = Signals::new([SIGINT])
            .map_err(|e| CliError::failure(format!("cannot catch Ctrl-C (SIGINT): {e}")))?;
        let handle = signals.handle();
        let token = CancelToken::new();
        let seen = Arc::new(AtomicBool::new(false));
        let (t, s) = (token.clone(), seen.clone());
        std::thread::spawn(move || {
            for _ in signals.forever() {
                if s.swap(true, Ordering::SeqCst) {
                    eprintln!("weft: interrupted again: exiting without waiting");
                    std::process::exit(130);
                }
                eprintln!(
                    "weft: interrupted: stopping the run and what it runs on the cluster \
                     (Ctrl-C again to exit at once)"
                );
                t.cancel();
            }
        });
        Ok(Interrupt {
            token,
            seen,
            handle,
        })
    }

    /// The token the run is cancelled with.
    pub(super) fn token(&self) -> &CancelToken {
        &self.token
    }

    /// Whether Ctrl-C was pressed.
    pub(super) fn interrupted(&self) -> bool {
        self.seen.load(Ordering::SeqCst)
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        self.handle.close();
    }
}
