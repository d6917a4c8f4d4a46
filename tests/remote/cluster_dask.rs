//! What only a Dask cluster shows: an unreachable scheduler, no workers, the flow's worker
//! processes ending with the executor, tasks in flight, a node that aborts its worker, task
//! names the scheduler never holds back, a finished run's tasks let go, the bridge's worker
//! plugin.

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

/// A scheduler of this test's own, with no worker unless one is added: `dask scheduler` from
/// the service's Python environment on a free port of 127.0.0.1; killed on drop, with its
/// worker.
struct LoneScheduler {
    child: std::process::Child,
    address: String,
    worker: Option<std::process::Child>,
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
            worker: None,
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

    /// Starts one single-threaded worker (one process: no nanny) and waits until the
    /// scheduler has it (bounded, 2 minutes).
    fn add_worker(&mut self) {
        let python = super::dask_env("WEFT_TEST_DASK_PYTHON");
        let dask = std::path::PathBuf::from(&python).with_file_name("dask");
        let worker = std::process::Command::new(&dask)
            .args([
                "worker",
                &self.address,
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
            ])
            .args([
                "--no-nanny",
                "--no-dashboard",
                "--dashboard-address",
                "127.0.0.1:0",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", dask.display()));
        self.worker = Some(worker);
        python_at(
            &self.address,
            "import sys\n\
             from dask.distributed import Client\n\
             c = Client(sys.argv[1], timeout=120)\n\
             c.wait_for_workers(1, timeout=120)\n\
             c.close()\n",
        );
    }
}

impl Drop for LoneScheduler {
    fn drop(&mut self) {
        if let Some(w) = &mut self.worker {
            let _ = w.kill();
            let _ = w.wait();
        }
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

/// Runs `script` with the Dask service's Python, the service's scheduler's address as
/// `sys.argv[1]`; returns its stdout.
fn python(script: &str) -> String {
    python_at(&super::dask_env("WEFT_TEST_DASK"), script)
}

/// [`python`] with the scheduler at `address`.
fn python_at(address: &str, script: &str) -> String {
    let out = std::process::Command::new(super::dask_env("WEFT_TEST_DASK_PYTHON"))
        .args(["-c", script, address])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script}\n{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Registers scheduler plugin `plugin`, which records, for each task whose key starts with
/// `prefix`, every state it enters, in order.
fn watch(plugin: &str, prefix: &str) {
    python(&format!(
        "import sys\n\
         from dask.distributed import Client\n\
         from distributed.diagnostics.plugin import SchedulerPlugin\n\
         class Watch(SchedulerPlugin):\n    \
             name = '{plugin}'\n    \
             def __init__(self):\n        self.seen = {{}}\n    \
             def transition(self, key, start, finish, *args, **kwargs):\n        \
                 k = key[0] if isinstance(key, tuple) else key\n        \
                 if isinstance(k, str) and k.startswith('{prefix}'):\n            \
                     self.seen.setdefault(k, []).append(finish)\n\
         c = Client(sys.argv[1])\n\
         c.register_plugin(Watch())\n\
         c.close()\n"
    ));
}

/// What plugin `plugin` (see [`watch`]) has seen so far: a line per task, its key and states.
fn watched(plugin: &str) -> String {
    python(&format!(
        "import sys\n\
         from dask.distributed import Client\n\
         c = Client(sys.argv[1])\n\
         seen = c.run_on_scheduler(lambda dask_scheduler: \
         dict(dask_scheduler.plugins['{plugin}'].seen))\n\
         c.close()\n\
         for k, v in sorted(seen.items()):\n    print(k, ' '.join(v))\n"
    ))
}

fn unwatch(plugin: &str) {
    python(&format!(
        "import sys\n\
         from dask.distributed import Client\n\
         c = Client(sys.argv[1])\n\
         c.unregister_scheduler_plugin('{plugin}')\n\
         c.close()\n"
    ));
}

/// Twelve tasks of one node go to the scheduler under keys named after the node (Dask's
/// task prefix, the dashboard's name), each its own task group: one large group would be
/// "root-ish" to the scheduler, which holds such tasks back (`queued`) and sends each to a
/// worker only as a thread frees, a round trip per task. A scheduler plugin watches every
/// transition of the run's `cubed` tasks.
#[test]
fn a_nodes_tasks_are_named_after_it_and_never_held_back_by_the_scheduler() {
    let plugin = format!("weft-test-watch-{}", std::process::id());
    watch(&plugin, "cubed");
    let dr = driver("named", super::dask());
    let run = dr
        .request(&["cubes_sum"])
        .inputs(inputs! { "x" => 12u64 })
        .run();
    let seen = watched(&plugin);
    unwatch(&plugin);
    let (out, record) = run.unwrap();
    assert_eq!(*out.get::<u64>("cubes_sum").unwrap(), 6084);
    // This run's tasks (their keys end in its id's first twelve characters), all submitted
    // after the plugin was registered: the `cubed` tasks of other tests' drivers on the
    // shared cluster, under way by then, show only their later states.
    let part = format!("-{}", &record.run_id[..12]);
    let tasks: Vec<&str> = seen.lines().filter(|t| t.contains(&part)).collect();
    assert!(tasks.len() >= 12, "{seen}");
    // Each task reached `processing` (the scheduler sent it to a worker, which happens
    // before its report can exist) and never `queued`. (`memory` may come after the run:
    // the report travels ahead of the worker's word that the task finished.)
    for t in &tasks {
        assert!(t.starts_with("cubed-"), "{seen}");
        assert!(t.contains("processing") && !t.contains("queued"), "{seen}");
    }
}

/// A run's tasks are let go by the bridge after the run (not as it ends: see `Bridge.retire`
/// in `bridge.py`), whether another run follows or not, so a long-lived driver does not keep
/// every run's answers on the workers. A scheduler plugin records each task of the two runs
/// and the states it went through; the test waits (bounded) until every one was forgotten.
#[test]
fn a_finished_runs_tasks_do_not_stay_on_the_cluster() {
    let plugin = format!("weft-test-forgotten-{}", std::process::id());
    watch(&plugin, "cube");
    let dr = driver("retired", super::dask());
    let mut runs = Vec::new();
    for x in [5u64, 6] {
        let (out, record) = dr
            .request(&["cubes_sum"])
            .inputs(inputs! { "x" => x })
            .run()
            .unwrap();
        assert_eq!(
            *out.get::<u64>("cubes_sum").unwrap(),
            (1..=x).map(|i| i * i * i).sum::<u64>()
        );
        runs.push(record.run_id);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        // Each task of the two runs with the states it went through.
        let seen = watched(&plugin);
        let of = |run: &str| -> Vec<&str> {
            let part = format!("-{}", &run[..12]);
            seen.lines().filter(|l| l.contains(&part)).collect()
        };
        // (The second run's first five items are cache hits, not dispatched.)
        for run in &runs {
            assert!(
                of(run).len() >= 2,
                "no task of run {run} reached the scheduler:\n{seen}"
            );
        }
        let held: Vec<&str> = runs
            .iter()
            .flat_map(|r| of(r))
            .filter(|l| !l.ends_with(" forgotten"))
            .collect();
        if held.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduler still holds tasks two minutes after their run: {held:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    unwatch(&plugin);
}

/// The bridge registers a worker plugin of its own on the cluster, which publishes each
/// task's answer as the worker reports the task done (in one message with that report, not
/// 2 ms ahead of it: see `Announcer` in `flow_worker.py`) and leaves no answer behind on the
/// worker. When the executor ends, nothing of weft's stays on the cluster — the plugin, the
/// uploads of the worker module (which the scheduler would replay to every worker that
/// joins), the module's import and file on the worker and the scheduler, the answers the
/// scheduler kept as events — so a long-lived cluster does not collect them per driver. On a
/// scheduler and worker of this test's own, so that what it finds is this driver's.
#[test]
fn answers_are_published_by_the_bridges_worker_plugin_and_both_end_with_the_executor() {
    let mut cluster = LoneScheduler::start();
    cluster.add_worker();
    let backend = DaskExecutor::new()
        .address(&cluster.address)
        .python(super::dask_env("WEFT_TEST_DASK_PYTHON"))
        .program(env!("CARGO_BIN_EXE_remote_flow"));
    let dr = driver("announcer", backend);
    let out = dr.execute(&["cubes_sum"], inputs! { "x" => 4u64 }).unwrap();
    assert_eq!(*out.get::<u64>("cubes_sum").unwrap(), 100);
    // What of weft's is on the cluster: per answer-publishing plugin on the worker, the answers
    // it published and those it still holds; then weft's plugins on the scheduler (worker and
    // scheduler ones: the announcer, the module's uploads), its answers kept as events, and its
    // module imported and as a file on the worker and the scheduler.
    let plugins = |cluster: &LoneScheduler| python_at(&cluster.address, WEFT_ON_CLUSTER);
    let during = plugins(&cluster);
    let lines: Vec<Vec<&str>> = during.lines().map(|l| l.split(' ').collect()).collect();
    assert_eq!(lines.len(), 6, "one announcer on the worker:\n{during}");
    assert_eq!(lines[0][0], "announcer", "{during}");
    let published: usize = lines[0][1].parse().unwrap();
    // cubed over 1..=4 (a task each) and the sum.
    assert!(published >= 5, "{during}");
    assert_eq!(lines[0][2], "0", "answers left on the worker:\n{during}");
    assert_eq!(lines[1], ["plugins", "2", "1"], "{during}");
    // The scheduler holds the answers it published, until the bridge closes.
    let events: usize = lines[2][1].parse().unwrap();
    assert!(events >= published, "{during}");
    assert_eq!(lines[3], ["modules", "1", "1"], "{during}");
    assert_eq!(lines[4], ["files", "1", "1"], "{during}");
    drop(out);
    drop(dr);
    assert_eq!(
        plugins(&cluster).trim(),
        "plugins 0 0\nevents 0\nmodules 0 0\nfiles 0 0\nworkers 1",
        "the driver left something of weft's on the cluster"
    );
}

/// The script of [`answers_are_published_by_the_bridges_worker_plugin_and_both_end_with_the_executor`]
/// that says what of weft's a Dask cluster holds.
const WEFT_ON_CLUSTER: &str = r#"
import os, sys
from dask.distributed import Client
c = Client(sys.argv[1])
ours = lambda n: "weft_flow_worker_" in n
def announcers(dask_worker):
    return [(p.published, len(sys.modules[type(p).__module__]._answers))
            for n, p in dask_worker.plugins.items() if ours(n) and hasattr(p, "published")]
for found in c.run(announcers).values():
    for published, held in found:
        print("announcer", published, held)
def on_scheduler(dask_scheduler):
    events = sum(len(t.events) for n, t in dask_scheduler._broker._topics.items() if ours(n))
    return (sum(map(ours, dask_scheduler.worker_plugins)), sum(map(ours, dask_scheduler.plugins)),
            events)
worker_plugins, scheduler_plugins, events = c.run_on_scheduler(on_scheduler)
print("plugins", worker_plugins, scheduler_plugins)
print("events", events)
modules = lambda: sum(map(ours, sys.modules))
files = lambda server: sum(map(ours, os.listdir(server.local_directory)))
worker_modules = sum(c.run(lambda dask_worker: modules()).values())
print("modules", worker_modules, c.run_on_scheduler(lambda dask_scheduler: modules()))
worker_files = sum(c.run(lambda dask_worker: files(dask_worker)).values())
print("files", worker_files, c.run_on_scheduler(lambda dask_scheduler: files(dask_scheduler)))
print("workers", len(c.scheduler_info(n_workers=-1)["workers"]))
c.close()
"#;
