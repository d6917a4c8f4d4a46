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
    modules = weft::modules![crate::flow]
);

#[cfg(feature = "ray")]
mod ray_only {
    use weft::{inputs, Builder, CacheConfig};

    #[test]
    fn an_unreachable_dashboard_is_named_with_how_to_start_a_head() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("http://127.0.0.1:{port}");
        let dr = Builder::new()
            .with_modules(weft::modules![crate::flow])
            .with_cache_config(CacheConfig::at(weft_tests::temp_dir(
                "ray-only",
                "unreachable",
            )))
            .with_remote_executor(weft::remote::RayExecutor::new().address(&address))
            .build()
            .unwrap();
        let err = dr
            .execute(&["doubled"], inputs! { "x" => 1u64 })
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&address) && text.contains("ray start --head"),
            "{text}"
        );
    }

    #[test]
    fn a_job_that_cannot_start_fails_with_its_log() {
        // A Python that does not exist on the head: the job fails, its log says why.
        let backend = crate::cluster::ray().python("/nonexistent/python3");
        let dr = Builder::new()
            .with_modules(weft::modules![crate::flow])
            .with_cache_config(CacheConfig::at(weft_tests::temp_dir(
                "ray-only",
                "no-python",
            )))
            .with_remote_executor(backend)
            .build()
            .unwrap();
        let err = dr
            .execute(&["doubled"], inputs! { "x" => 1u64 })
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("Ray job") && text.contains("/nonexistent/python3"),
            "{text}"
        );
    }
}

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
    modules = weft::modules![crate::flow]
);

#[cfg(feature = "dask")]
mod dask_only {
    use weft::remote::DaskExecutor;
    use weft::{inputs, Builder, CacheConfig, Driver, ExecuteError};

    fn driver(name: &str, backend: DaskExecutor) -> Driver {
        Builder::new()
            .with_modules(weft::modules![crate::flow])
            .with_cache_config(CacheConfig::at(weft_tests::temp_dir("dask-only", name)))
            .with_remote_executor(backend)
            .keep_going(true)
            .build()
            .unwrap()
    }

    #[test]
    fn an_unreachable_scheduler_is_named_with_how_to_start_one() {
        // A port nothing listens on: bound, then closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("tcp://127.0.0.1:{port}");
        let backend = DaskExecutor::new()
            .address(&address)
            .python(super::dask_env("WEFT_TEST_DASK_PYTHON"))
            .program(env!("CARGO_BIN_EXE_remote_flow"));
        let err = driver("unreachable", backend)
            .execute(&["doubled"], inputs! { "x" => 1u64 })
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&address), "{text}");
        assert!(text.contains("dask scheduler"), "{text}");
    }

    #[test]
    fn a_node_that_aborts_its_cluster_worker_fails_alone() {
        let dr = driver("abort", super::dask());
        let err = dr
            .execute(
                &["after_abort", "label"],
                inputs! { "x" => 2u64, "prefix" => "t".to_string() },
            )
            .unwrap_err();
        let ExecuteError::NodeFailed { node, source, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(node, "aborts");
        assert!(source.to_string().contains("aborted"), "{source}");
        let records = dr.cache().unwrap().records(None).unwrap();
        let label = records.iter().find(|r| r.node == "label").unwrap();
        assert_eq!(label.status, weft::cache::Status::Executed);
        // The cluster worker starts a new worker of the flow for the next task.
        let out = dr.execute(&["doubled"], inputs! { "x" => 21u64 }).unwrap();
        assert_eq!(*out.get::<u64>("doubled").unwrap(), 42);
    }
}

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
