//! What only a Ray cluster shows: its jobs (cancelled with the run, stopped by Ctrl-C), an
//! unreachable dashboard, tasks in flight, a task or a job Ray refuses.

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
