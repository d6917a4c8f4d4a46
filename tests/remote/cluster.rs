//! The remote suite ([`remote_suite!`]) on real clusters: a Dask scheduler with two workers
//! (feature `dask`, service `tests/services/dask.sh`: `WEFT_TEST_DASK`,
//! `WEFT_TEST_DASK_PYTHON`) and a one-machine Ray head (feature `ray`, service
//! `tests/services/ray.sh`: `WEFT_TEST_RAY`, `WEFT_TEST_RAY_PYTHON`), with the `remote_flow` binary as the flow the cluster's workers
//! run. Plus what only a cluster has: an unreachable scheduler, a resource no worker has, a
//! node that kills the process running it on a cluster worker.

/// A variable written by the test service `service` (`tests/services/SERVICE.sh`).
#[cfg(any(feature = "dask", feature = "ray"))]
pub(crate) fn service_env(service: &str, name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: this suite needs the {service} test cluster; run the tests \
             with `bash tests/run.sh`, or `bash tests/services/{service}.sh install && bash \
             tests/services/{service}.sh start` and export $WEFT_SERVICES/{service}.env"
        )
    })
}

#[cfg(feature = "dask")]
pub(crate) fn dask_env(name: &str) -> String {
    service_env("dask", name)
}

#[cfg(feature = "ray")]
pub(crate) fn ray() -> weft::remote::RayExecutor {
    weft::remote::RayExecutor::new()
        .address(service_env("ray", "WEFT_TEST_RAY"))
        .python(service_env("ray", "WEFT_TEST_RAY_PYTHON"))
        .program(env!("CARGO_BIN_EXE_remote_flow"))
}

#[cfg(feature = "ray")]
remote_suite!(
    ray,
    backend = crate::cluster::ray(),
    modules = weft::modules![crate::flow],
    on_cancel = stop
);

#[cfg(feature = "ray")]
#[path = "cluster_ray.rs"]
mod ray_only;

#[cfg(feature = "dask")]
pub(crate) fn dask() -> weft::remote::DaskExecutor {
    weft::remote::DaskExecutor::new()
        .address(dask_env("WEFT_TEST_DASK"))
        .python(dask_env("WEFT_TEST_DASK_PYTHON"))
        .program(env!("CARGO_BIN_EXE_remote_flow"))
}

#[cfg(feature = "dask")]
remote_suite!(
    dask,
    backend = crate::cluster::dask(),
    modules = weft::modules![crate::flow],
    on_cancel = stop
);

#[cfg(feature = "dask")]
#[path = "cluster_dask.rs"]
mod dask_only;

/// `--executor dask=ADDRESS` runs a flow CLI's nodes on the cluster, the workers being the same
/// binary with the same config; the bridge runs with `$WEFT_PYTHON`.
#[cfg(feature = "dask")]
#[test]
fn a_flow_cli_runs_on_dask() {
    let cache = weft_tests::temp_dir("dask-cli", "cache");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_remote_flow"))
        .args(["build", "label", "--input", "x=3", "--input", "prefix=sum:"])
        .arg("--executor")
        .arg(format!("dask={}", dask_env("WEFT_TEST_DASK")))
        .arg("--cache-dir")
        .arg(&cache)
        .env("WEFT_PYTHON", dask_env("WEFT_TEST_DASK_PYTHON"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("sum:15"), "{stdout}");
}

/// Runs a cluster example (a flow CLI) with `args`, `--executor executor` and its own cache,
/// returning its stdout; the bridge runs with `python`.
#[cfg(any(feature = "dask", feature = "ray"))]
fn run_example(bin: &str, args: &[&str], executor: &str, python: &str, cache: &str) -> String {
    let out = std::process::Command::new(bin)
        .args(args)
        .arg("--executor")
        .arg(executor)
        .arg("--cache-dir")
        .arg(weft_tests::temp_dir("cluster-examples", cache))
        .env("WEFT_PYTHON", python)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{bin} {args:?} --executor {executor}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// examples/ray on the Ray head: the primes below 200,000 (there are 17,984), counted in 8
/// Ray tasks, as a local run counts them.
#[cfg(feature = "ray")]
#[test]
fn the_ray_example_counts_primes_on_the_cluster() {
    let bin = env!("CARGO_BIN_EXE_example_ray");
    let args = [
        "build",
        "large_computation",
        "--input",
        "limit=200000",
        "--input",
        "chunks=8",
    ];
    let python = service_env("ray", "WEFT_TEST_RAY_PYTHON");
    let url = service_env("ray", "WEFT_TEST_RAY");
    let on_ray = run_example(bin, &args, &format!("ray={url}"), &python, "ray");
    let local = run_example(bin, &args, "sequential", &python, "ray-local");
    assert!(on_ray.contains("17984"), "{on_ray}");
    assert_eq!(on_ray, local);
}

/// examples/dask on the Dask cluster: the summary of 8 partitions, as a local run makes it.
#[cfg(feature = "dask")]
#[test]
fn the_dask_example_summarizes_partitions_on_the_cluster() {
    let bin = env!("CARGO_BIN_EXE_example_dask");
    let args = [
        "build",
        "summary",
        "--input",
        "rows=400000",
        "--input",
        "parts=8",
    ];
    let python = dask_env("WEFT_TEST_DASK_PYTHON");
    let address = dask_env("WEFT_TEST_DASK");
    let on_dask = run_example(bin, &args, &format!("dask={address}"), &python, "dask");
    let local = run_example(bin, &args, "sequential", &python, "dask-local");
    assert!(on_dask.contains("rows=400000"), "{on_dask}");
    assert_eq!(on_dask, local);
}
