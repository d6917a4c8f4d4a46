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
mod ray_only {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use weft::{inputs, Builder, CacheConfig, CancelToken, ExecuteError};

    use super::service_env;

    /// `GET` on the Ray dashboard's Jobs API, as JSON.
    fn jobs_api(path: &str) -> serde_json::Value {
        let url = format!("{}{path}", service_env("ray", "WEFT_TEST_RAY"));
        let out = std::process::Command::new("curl")
            .args(["-sf", &url])
            .output()
            .unwrap();
        assert!(out.status.success(), "GET {url}: {out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Waits (bounded) until `check` gives something.
    fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(t) = check() {
                return t;
            }
            assert!(
                start.elapsed() < weft_tests::PATIENCE,
                "gave up waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The submission id of the running job whose metadata has `key: value`.
    fn running_job(key: &str, value: &str) -> String {
        wait_for(&format!("a running Ray job with {key}={value}"), || {
            let jobs = jobs_api("/api/jobs/");
            jobs.as_array()?.iter().find_map(|j| {
                (j["metadata"][key].as_str() == Some(value) && j["status"] == "RUNNING")
                    .then(|| j["submission_id"].as_str().map(String::from))
                    .flatten()
            })
        })
    }

    /// Waits (bounded) for job `id` to be `STOPPED`.
    fn wait_stopped(id: &str) {
        let start = Instant::now();
        loop {
            let job = jobs_api(&format!("/api/jobs/{id}"));
            if job["status"] == "STOPPED" {
                return;
            }
            assert!(
                start.elapsed() < weft_tests::PATIENCE,
                "the Ray job {id} is not STOPPED: {job}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_started(work: &Path) {
        wait_for("the gate to start on the cluster", || {
            work.join("started").exists().then_some(())
        });
    }

    #[test]
    fn cancelling_a_run_stops_its_ray_job() {
        let work = weft_tests::temp_dir("ray-only", "cancel-work");
        std::fs::create_dir_all(&work).unwrap();
        let mark = work.display().to_string();
        let dr = Builder::new()
            .with_modules(weft::modules![crate::flow])
            .with_cache_config(CacheConfig::at(weft_tests::temp_dir("ray-only", "cancel")))
            .with_remote_executor(crate::cluster::ray().metadata("weft_test", &mark))
            .build()
            .unwrap();
        let token = CancelToken::new();
        let run = {
            let (token, dir) = (token.clone(), mark.clone());
            std::thread::spawn(move || {
                dr.request(&["after_gate"])
                    .inputs(inputs! { "x" => 1u64, "dir" => dir })
                    .cancel(&token)
                    .run()
                    .map(drop)
            })
        };
        wait_started(&work);
        let job = running_job("weft_test", &mark);
        token.cancel();
        let err = run.join().unwrap().unwrap_err();
        assert!(matches!(err, ExecuteError::Cancelled), "{err}");
        // Stopped through the Jobs API, while the driver still holds its executor.
        wait_stopped(&job);
        std::fs::write(work.join("go"), b"").unwrap();
    }

    #[test]
    fn ctrl_c_stops_the_ray_job_and_the_cli_says_it_was_interrupted() {
        let work = weft_tests::temp_dir("ray-only", "sigint-work");
        std::fs::create_dir_all(&work).unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_remote_flow"))
            .args(["build", "after_gate", "--input", "x=1", "--input"])
            .arg(format!("dir={}", work.display()))
            .arg("--executor")
            .arg(format!("ray={}", service_env("ray", "WEFT_TEST_RAY")))
            .arg("--cache-dir")
            .arg(weft_tests::temp_dir("ray-only", "sigint-cache"))
            .env("WEFT_PYTHON", service_env("ray", "WEFT_TEST_RAY_PYTHON"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        wait_started(&work);
        let job = running_job("weft_driver_pid", &child.id().to_string());
        let kill = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        wait_for("the CLI to exit after Ctrl-C", || child.try_wait().unwrap());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains("interrupted (Ctrl-C)"), "{stderr}");
        wait_stopped(&job);
        std::fs::write(work.join("go"), b"").unwrap();
    }

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

    /// With no `in_flight` given, the driver keeps 16 tasks in flight per CPU of the cluster
    /// (at least 256), as the job's bridge found them; a number given is kept.
    #[test]
    fn tasks_in_flight_are_sized_by_the_cluster_unless_given() {
        use weft::remote::RemoteExecutor;
        let ray = crate::cluster::ray();
        assert_eq!((ray.cluster_threads(), ray.slots()), (None, 256));
        ray.begin_run("sizing").unwrap();
        // tests/services/ray.sh starts the head with --num-cpus=2.
        assert_eq!(ray.cluster_threads(), Some(2));
        assert_eq!(ray.slots(), 256);
        ray.end_run();
        let given = crate::cluster::ray().in_flight(40);
        given.begin_run("sizing-given").unwrap();
        assert_eq!((given.cluster_threads(), given.slots()), (Some(2), 40));
        given.end_run();
    }

    #[test]
    fn a_task_ray_refuses_as_it_is_submitted_fails_alone_with_rays_reason() {
        let dr = Builder::new()
            .with_modules(weft::modules![crate::flow])
            .with_cache_config(CacheConfig::at(weft_tests::temp_dir(
                "ray-only",
                "refused-at-submission",
            )))
            .with_remote_executor(crate::cluster::ray())
            .keep_going(true)
            .build()
            .unwrap();
        let err = dr
            .execute(&["misdeclared", "doubled"], inputs! { "x" => 3u64 })
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(
            text.contains("`misdeclared`")
                && text.contains("cannot submit to Ray")
                && text.contains("num_cpus"),
            "{text}"
        );
        // The task submitted beside it ran.
        let records = dr.cache().unwrap().records(None).unwrap();
        let status = |n: &str| (records.iter()).find(|r| r.node == n).map(|r| r.status);
        assert_eq!(
            status("doubled"),
            Some(weft::cache::Status::Executed),
            "{records:?}"
        );
        assert_eq!(
            status("misdeclared"),
            Some(weft::cache::Status::Failed),
            "{records:?}"
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
    modules = weft::modules![crate::flow],
    on_cancel = stop
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

    /// A scheduler of this test's own, with no worker: `dask scheduler` from the service's
    /// Python environment on a free port of 127.0.0.1; killed on drop.
    struct LoneScheduler {
        child: std::process::Child,
        address: String,
    }

    impl LoneScheduler {
        fn start() -> LoneScheduler {
            let python = std::path::PathBuf::from(super::dask_env("WEFT_TEST_DASK_PYTHON"));
            let dask = python.with_file_name("dask");
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = std::process::Command::new(&dask)
                .args(["scheduler", "--host", "127.0.0.1", "--no-dashboard"])
                .args(["--dashboard-address", "127.0.0.1:0", "--port"])
                .arg(port.to_string())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", dask.display()));
            let me = LoneScheduler {
                child,
                address: format!("tcp://127.0.0.1:{port}"),
            };
            // Bounded wait on the condition (the port answers), never a fixed sleep.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the scheduler does not listen on {}",
                    me.address
                );
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            me
        }
    }

    impl Drop for LoneScheduler {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    #[test]
    fn tasks_on_a_cluster_without_workers_fail_after_the_bound_naming_the_scheduler() {
        let scheduler = LoneScheduler::start();
        let backend = DaskExecutor::new()
            .address(&scheduler.address)
            .python(super::dask_env("WEFT_TEST_DASK_PYTHON"))
            .program(env!("CARGO_BIN_EXE_remote_flow"))
            .no_workers_timeout(std::time::Duration::from_secs(2));
        let err = driver("no-workers", backend)
            .execute(&["doubled"], inputs! { "x" => 1u64 })
            .unwrap_err();
        let ExecuteError::NodeFailed { node, source, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(node, "doubled");
        let text = source.to_string();
        assert!(text.contains("has had no workers for 2 s"), "{text}");
        assert!(text.contains(&scheduler.address), "{text}");
        assert!(text.contains("dask worker"), "{text}");
    }

    /// The processes whose program is `exe` (their command line's first word).
    fn processes_of(exe: &std::path::Path) -> Vec<u32> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue; // gone meanwhile
            };
            if cmdline.split(|b| *b == 0).next() == Some(exe.as_os_str().as_encoded_bytes()) {
                found.push(pid);
            }
        }
        found
    }

    /// A Dask worker outlives its clients: the flow's worker processes a driver started there
    /// end when the driver's executor does, rather than piling up with every run of a flow CLI.
    #[test]
    fn the_flow_workers_on_dask_end_with_the_executor() {
        // A copy of the flow binary of this test's own, so its processes are told apart from
        // the other tests' on the same cluster.
        let dir = weft_tests::temp_dir("dask-only", "own-binary");
        std::fs::create_dir_all(&dir).unwrap();
        let exe = dir.join("remote_flow");
        std::fs::copy(env!("CARGO_BIN_EXE_remote_flow"), &exe).unwrap();
        let dr = driver("workers-end", super::dask().program(&exe));
        let out = dr.execute(&["doubled"], inputs! { "x" => 21u64 }).unwrap();
        assert_eq!(*out.get::<u64>("doubled").unwrap(), 42);
        assert!(
            !processes_of(&exe).is_empty(),
            "the task ran in a worker process of {}",
            exe.display()
        );
        // Dropping the executor closes the bridge, which ends them before it exits.
        drop(out);
        drop(dr);
        assert_eq!(processes_of(&exe), Vec::<u32>::new());
    }

    /// With no `in_flight` given, the driver keeps 16 tasks in flight per worker thread the
    /// scheduler has (at least 256), as the bridge found it on connecting; a number given is
    /// kept.
    #[test]
    fn tasks_in_flight_are_sized_by_the_cluster_unless_given() {
        use weft::remote::RemoteExecutor;
        let dask = super::dask();
        assert_eq!((dask.cluster_threads(), dask.slots()), (None, 256));
        dask.begin_run("sizing").unwrap();
        // tests/services/dask.sh: two workers of one thread each (one may be restarting).
        let threads = dask.cluster_threads();
        assert!(matches!(threads, Some(1..=2)), "{threads:?}");
        assert_eq!(dask.slots(), 256);
        dask.end_run();
        let given = super::dask().in_flight(3);
        given.begin_run("sizing-given").unwrap();
        assert!(given.cluster_threads().is_some());
        assert_eq!(given.slots(), 3);
        given.end_run();
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

    /// Runs `script` with the Dask service's Python, the scheduler's address as `sys.argv[1]`;
    /// returns its stdout.
    fn python(script: &str) -> String {
        let out = std::process::Command::new(super::dask_env("WEFT_TEST_DASK_PYTHON"))
            .args(["-c", script, &super::dask_env("WEFT_TEST_DASK")])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{script}\n{stderr}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Twelve tasks of one node go to the scheduler under keys named after the node (Dask's
    /// task prefix, the dashboard's name), each its own task group: one large group would be
    /// "root-ish" to the scheduler, which holds such tasks back (`queued`) and sends each to a
    /// worker only as a thread frees, a round trip per task. A scheduler plugin watches every
    /// transition of the run's `cubed` tasks.
    #[test]
    fn a_nodes_tasks_are_named_after_it_and_never_held_back_by_the_scheduler() {
        let plugin = format!("weft-test-watch-{}", std::process::id());
        python(&format!(
            "import sys\n\
             from dask.distributed import Client\n\
             from distributed.diagnostics.plugin import SchedulerPlugin\n\
             class Watch(SchedulerPlugin):\n    \
                 name = '{plugin}'\n    \
                 def __init__(self):\n        self.seen = {{}}\n    \
                 def transition(self, key, start, finish, *args, **kwargs):\n        \
                     k = key[0] if isinstance(key, tuple) else key\n        \
                     if isinstance(k, str) and 'cubed' in k:\n            \
                         self.seen.setdefault(k, set()).add(finish)\n\
             c = Client(sys.argv[1])\n\
             c.register_plugin(Watch())\n\
             c.close()\n"
        ));
        let dr = driver("named", super::dask());
        let out = dr.execute(&["cubes_sum"], inputs! { "x" => 12u64 });
        let seen = python(&format!(
            "import sys\n\
             from dask.distributed import Client\n\
             c = Client(sys.argv[1])\n\
             seen = c.run_on_scheduler(lambda dask_scheduler: {{k: sorted(v) for k, v in \
             dask_scheduler.plugins['{plugin}'].seen.items()}})\n\
             c.unregister_scheduler_plugin('{plugin}')\n\
             c.close()\n\
             for k, v in sorted(seen.items()):\n    print(k, ' '.join(v))\n"
        ));
        assert_eq!(*out.unwrap().get::<u64>("cubes_sum").unwrap(), 6084);
        let tasks: Vec<&str> = seen.lines().collect();
        assert!(tasks.len() >= 12, "{seen}");
        // Each task reached `processing` (the scheduler sent it to a worker, which happens
        // before its report can exist) and never `queued`. (`memory` may come after the run:
        // the report travels ahead of the worker's word that the task finished.)
        for t in &tasks {
            assert!(t.starts_with("cubed-"), "{seen}");
            assert!(t.contains("processing") && !t.contains("queued"), "{seen}");
        }
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
