//! `--executor dask[=ADDRESS]` and `--executor ray[=ADDRESS]`: the engine's cluster backends,
//! with this binary as the flow the cluster's workers run (`__weft-worker`, same config) and
//! `$WEFT_PYTHON` (default `python3`) as the Python that runs weft's bridge.

use weft::Builder;

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
