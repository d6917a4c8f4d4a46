//! The remote seam's behavioural suite: a flow run through a [`RemoteExecutor`] behaves as on a
//! local executor — same outputs and cache records, hits answered without a task, fan-out items
//! dispatched as tasks, retries, timeouts, keep-going, cancellation, adapters, explain and
//! `view_run` — and crashes of a worker fail only its node.
//!
//! [`RemoteExecutor`]: weft::remote::RemoteExecutor
//! [`ProcessPool`]: weft::remote::ProcessPool
//!
//! [`remote_suite!`] instantiates the suite for one backend; it runs here on the
//! [`ProcessPool`] with the `remote_flow` binary (a flow CLI) as the workers. Cluster backends
//! instantiate the same macro with their own constructor.

#[path = "remote/flow.rs"]
mod flow;

/// The behavioural suite for the backend made by `backend` (an expression giving a fresh
/// `impl RemoteExecutor`) whose workers run the nodes of `tests/remote/flow.rs`, given as
/// `modules` (`weft::modules![crate::flow]` in a test crate that includes that file as `flow`).
/// `on_cancel` says what a cancelled run does to its running tasks: `finish` (they finish and
/// keep their results, as on local executors: the default) or `stop` (the backend stops them
/// where they run, as clusters do: they keep nothing).
#[macro_export]
macro_rules! remote_suite {
    ($suite:ident, backend = $make:expr, modules = $modules:expr) => {
        $crate::remote_suite!($suite, backend = $make, modules = $modules, on_cancel = finish);
    };
    ($suite:ident, backend = $make:expr, modules = $modules:expr, on_cancel = $on_cancel:ident) => {
        mod $suite {
            use std::path::Path;

            use weft::cache::Status;
            use weft::executors::Sequential;
            use weft::{inputs, Builder, CacheConfig, CancelToken, Driver, ExecuteError, Inputs};

            use weft_tests::remote_support::{heads, node_spans, Recording, Seen};

            fn dir(name: &str) -> std::path::PathBuf {
                weft_tests::temp_dir(stringify!($suite), name)
            }

            type Tasks = std::sync::Arc<std::sync::Mutex<Vec<weft::remote::Task>>>;

            fn remote(cache: &Path) -> (Driver, Tasks) {
                remote_with(CacheConfig::at(cache))
            }

            fn remote_with(config: CacheConfig) -> (Driver, Tasks) {
                let (backend, tasks) = Recording::new($make);
                let dr = Builder::new()
                    .with_modules($modules)
                    .with_cache_config(config)
                    .with_remote_executor(backend)
                    .keep_going(true)
                    .build()
                    .unwrap();
                (dr, tasks)
            }

            fn local(cache: &Path) -> Driver {
                local_with(CacheConfig::at(cache))
            }

            fn local_with(config: CacheConfig) -> Driver {
                Builder::new()
                    .with_modules($modules)
                    .with_cache_config(config)
                    .with_local_executor(Sequential)
                    .keep_going(true)
                    .build()
                    .unwrap()
            }

            const OUTPUTS: &[&str] = &["label", "cubes_sum", "step_three"];

            fn flow_inputs() -> Inputs {
                inputs! { "x" => 4u64, "prefix" => "total=".to_string() }
            }

            /// (node, status, data version) of a run's records, sorted.
            fn records(dr: &Driver) -> Vec<(String, Status, Option<weft::DataVersion>)> {
                let mut r: Vec<_> = dr
                    .cache()
                    .unwrap()
                    .records(None)
                    .unwrap()
                    .into_iter()
                    .map(|r| (r.node, r.status, r.data_version))
                    .collect();
                r.sort_by_key(|(n, _, v)| (n.clone(), v.map(|v| v.to_hex())));
                r
            }

            #[test]
            fn outputs_and_records_match_a_local_run() {
                let (dr, tasks) = remote(&dir("remote"));
                let (out, run) = dr.request(OUTPUTS).inputs(flow_inputs()).run().unwrap();
                // A worker's result reaches the driver through the store: a requested output
                // is read from there before the run ends (as Hamilton's `execute` returns
                // values, and so no gc after the run can take it).
                assert!(out.value("label").unwrap().is_loaded());
                assert_eq!(out.get::<String>("label").unwrap(), "total=24");
                assert_eq!(*out.get::<u64>("cubes_sum").unwrap(), 1 + 8 + 27 + 64);
                assert_eq!(*out.get::<u64>("step_three").unwrap(), 57);
                assert!(run.executed.contains(&"label".to_string()), "{run:?}");
                let lo = local(&dir("local"));
                let (lout, _) = lo.request(OUTPUTS).inputs(flow_inputs()).run().unwrap();
                for o in OUTPUTS {
                    assert_eq!(out.value(o).unwrap().version(), lout.value(o).unwrap().version(), "{o}");
                }
                // Same nodes, statuses and data versions; a value the cache's format cannot
                // hold (here the fan-out's `Parallel`) is kept in memory locally but crossed the
                // store in JSON remotely, so it is cached there.
                let remote_records = records(&dr);
                let local_records = records(&lo);
                assert_eq!(remote_records.len(), local_records.len());
                for (r, l) in remote_records.iter().zip(&local_records) {
                    assert_eq!((&r.0, r.2), (&l.0, l.2));
                    let same = r.1 == l.1 || (l.1 == Status::Uncached && r.1 == Status::Executed);
                    assert!(same, "{r:?} vs {l:?}");
                }
                assert!(!tasks.lock().unwrap().is_empty());
            }

            #[test]
            fn hits_are_not_dispatched() {
                let cache = dir("hits");
                let (dr, tasks) = remote(&cache);
                dr.request(OUTPUTS).inputs(flow_inputs()).run().unwrap();
                let first = tasks.lock().unwrap().len();
                assert!(first > 0);
                drop(dr);
                // A new driver on the same cache: every node is a hit, nothing is sent.
                let (dr, tasks) = remote(&cache);
                let (out, run) = dr.request(OUTPUTS).inputs(flow_inputs()).run().unwrap();
                assert_eq!(out.get::<String>("label").unwrap(), "total=24");
                assert!(run.executed.is_empty(), "{run:?}");
                assert!(tasks.lock().unwrap().is_empty(), "{:?}", heads(&tasks));
                // A changed input sends only what depends on it.
                let (_, run) = dr
                    .request(&["label"])
                    .inputs(inputs! { "x" => 4u64, "prefix" => "sum=".to_string() })
                    .run()
                    .unwrap();
                assert_eq!(run.executed, ["label"]);
                assert_eq!(heads(&tasks), ["label"]);
            }

            /// Two runs, each by a new driver on the same cache, the second with another
            /// `prefix`: the second run's (node, status) records, sorted, and its output.
            fn second_run(make: &dyn Fn() -> Driver) -> (Vec<(String, Status)>, String) {
                let mut last = (Vec::new(), String::new());
                for prefix in ["a=", "b="] {
                    let dr = make();
                    let (out, run) = dr
                        .request(&["label"])
                        .inputs(inputs! { "x" => 4u64, "prefix" => prefix.to_string() })
                        .run()
                        .unwrap();
                    let mut statuses: Vec<_> = dr
                        .cache()
                        .unwrap()
                        .records(Some(&run.run_id))
                        .unwrap()
                        .into_iter()
                        .map(|r| (r.node, r.status))
                        .collect();
                    statuses.sort();
                    last = (statuses, out.get::<String>("label").unwrap().clone());
                }
                last
            }

            #[test]
            fn cache_behaviours_match_a_local_run() {
                // RECOMPUTE, DISABLE, and an input left out of keys (IGNORE); the rest
                // DEFAULT.
                let config = |cache: &Path| {
                    CacheConfig::at(cache)
                        .recompute(["doubled"])
                        .disable(["squared"])
                        .ignore(["prefix"])
                };
                let (remote_cache, local_cache) = (dir("behaviours-remote"), dir("behaviours-local"));
                let sent = std::sync::Mutex::new(Vec::new());
                let remote_run = second_run(&|| {
                    let (dr, tasks) = remote_with(config(&remote_cache));
                    *sent.lock().unwrap() = vec![tasks];
                    dr
                });
                let local_run = second_run(&|| local_with(config(&local_cache)));
                assert_eq!(remote_run, local_run);
                // Both nodes that ran kept their values, so `total` and `label` hit; `label`'s
                // key leaves the changed prefix out, so it is the stored one.
                let expected = [
                    ("doubled", Status::Recomputed),
                    ("label", Status::Hit),
                    ("squared", Status::Disabled),
                    ("total", Status::Hit),
                ];
                let expected: Vec<_> = expected.iter().map(|(n, s)| (n.to_string(), *s)).collect();
                assert_eq!(remote_run.0, expected);
                assert_eq!(remote_run.1, "a=24");
                // Only what ran went out: the recomputed and the disabled node.
                let tasks = sent.lock().unwrap().pop().unwrap();
                assert_eq!(heads(&tasks), ["doubled", "squared"]);
            }

            #[test]
            fn tracing_spans_cover_remote_nodes() {
                let spans = node_spans();
                let (backend, _) = Recording::new($make);
                let dr = Builder::new()
                    .with_modules($modules)
                    .with_cache_config(CacheConfig::at(dir("tracing")))
                    .with_remote_executor(backend)
                    .with_adapter(weft::TracingAdapter)
                    .build()
                    .unwrap();
                let (_, run) = dr.request(&["label"]).inputs(flow_inputs()).run().unwrap();
                assert_eq!(spans.of_run(&run.run_id), ["doubled", "label", "squared", "total"]);
            }

            #[test]
            fn fan_out_items_are_tasks() {
                let (dr, tasks) = remote(&dir("fanout"));
                let out = dr.execute(&["cubes_sum"], inputs! { "x" => 5u64 }).unwrap();
                assert_eq!(*out.get::<u64>("cubes_sum").unwrap(), 225);
                let heads = heads(&tasks);
                assert_eq!(heads.iter().filter(|h| *h == "cubed").count(), 5, "{heads:?}");
                assert!(heads.contains(&"cubes_sum".to_string()), "{heads:?}");
            }

            #[test]
            fn a_task_group_is_one_task_with_its_resources() {
                let (dr, tasks) = remote(&dir("group"));
                let (out, run) = dr.request(&["step_three"]).inputs(inputs! { "x" => 1u64 }).run().unwrap();
                assert_eq!(*out.get::<u64>("step_three").unwrap(), 27);
                let mut executed = run.executed.clone();
                executed.sort();
                assert_eq!(executed, ["step_one", "step_three", "step_two"]);
                let tasks = tasks.lock().unwrap();
                assert_eq!(tasks.len(), 1, "{tasks:?}");
                let names: Vec<&str> = tasks[0].nodes.iter().map(|n| n.name.as_str()).collect();
                assert_eq!(names, ["step_one", "step_two", "step_three"]);
                assert_eq!(tasks[0].group.as_deref(), Some("chain"));
                assert_eq!(tasks[0].resources.cpus, Some(2.0));
                assert_eq!(tasks[0].resources.memory, Some(1_000_000_000));
                assert_eq!(tasks[0].resources.custom, [("ssd".to_string(), 1.0)]);
            }

            #[test]
            fn node_errors_and_panics_come_back_naming_the_node() {
                let (dr, _) = remote(&dir("errors"));
                let err = dr.execute(&["refused"], inputs! { "x" => 3u64 }).unwrap_err();
                let text = err.to_string();
                assert!(text.contains("`refused`") && text.contains("no thanks for 3"), "{text}");
                let err = dr.execute(&["panicky"], inputs! { "x" => 3u64 }).unwrap_err();
                let ExecuteError::NodeFailed { node, source, .. } = &err else { panic!("{err}") };
                assert_eq!(node, "panicky");
                assert!(matches!(source, weft::NodeError::Panic(m) if m.contains("boom at 3")), "{source}");
            }

            #[test]
            fn retries_dispatch_each_attempt() {
                let work = dir("retries");
                std::fs::create_dir_all(&work).unwrap();
                let (dr, tasks) = remote(&dir("retries-cache"));
                let out = dr
                    .execute(&["flaky"], inputs! { "x" => 1u64, "dir" => work.display().to_string() })
                    .unwrap();
                assert_eq!(*out.get::<u64>("flaky").unwrap(), 101);
                assert_eq!(heads(&tasks), ["flaky", "flaky", "flaky"]);
            }

            #[test]
            fn a_time_limit_is_enforced_on_the_worker() {
                let work = dir("timeout");
                std::fs::create_dir_all(&work).unwrap();
                let (dr, _) = remote(&dir("timeout-cache"));
                let err = dr
                    .execute(&["stuck"], inputs! { "dir" => work.display().to_string() })
                    .unwrap_err();
                let ExecuteError::NodeFailed { node, source, .. } = &err else { panic!("{err}") };
                assert_eq!(node, "stuck");
                assert!(matches!(source, weft::NodeError::Timeout(_)), "{source}");
            }

            #[test]
            fn keep_going_runs_what_does_not_depend_on_a_failure() {
                let (dr, _) = remote(&dir("keep-going"));
                let err = dr
                    .execute(&["refused", "label"], flow_inputs())
                    .unwrap_err();
                assert!(err.to_string().contains("`refused`"), "{err}");
                let recs = records(&dr);
                let status = |n: &str| recs.iter().find(|r| r.0 == n).map(|r| r.1);
                assert_eq!(status("label"), Some(Status::Executed), "{recs:?}");
                assert_eq!(status("refused"), Some(Status::Failed), "{recs:?}");
            }

            #[test]
            fn cancellation_stops_dispatching() {
                let work = dir("cancel");
                std::fs::create_dir_all(&work).unwrap();
                let (dr, tasks) = remote(&dir("cancel-cache"));
                let token = CancelToken::new();
                // `finish`: the gate is released right after the cancel and finishes;
                // `stop`: it is released only after the run ended, so it ran when stopped.
                let stops = stringify!($on_cancel) == "stop";
                let canceller = {
                    let token = token.clone();
                    let work = work.clone();
                    std::thread::spawn(move || {
                        let start = std::time::Instant::now();
                        while !work.join("started").exists() && start.elapsed() < weft_tests::PATIENCE {
                            std::thread::sleep(std::time::Duration::from_millis(5));
                        }
                        token.cancel();
                        if !stops {
                            std::fs::write(work.join("go"), b"").unwrap();
                        }
                    })
                };
                let err = dr
                    .request(&["after_gate"])
                    .inputs(inputs! { "x" => 1u64, "dir" => work.display().to_string() })
                    .cancel(&token)
                    .run()
                    .unwrap_err();
                canceller.join().unwrap();
                std::fs::write(work.join("go"), b"").unwrap();
                assert!(matches!(err, ExecuteError::Cancelled), "{err}");
                assert_eq!(heads(&tasks), ["gate"]);
                // `finish`: the gate keeps its result, so the next run sends only what is left;
                // `stop`: the stopped gate kept nothing and runs again.
                let (out, run) = dr
                    .request(&["after_gate"])
                    .inputs(inputs! { "x" => 1u64, "dir" => work.display().to_string() })
                    .run()
                    .unwrap();
                assert_eq!(*out.get::<u64>("after_gate").unwrap(), 3);
                if stops {
                    assert_eq!(run.executed, ["gate", "after_gate"]);
                } else {
                    assert_eq!(run.executed, ["after_gate"]);
                }
            }

            #[test]
            fn adapters_explain_and_view_run_see_remote_nodes() {
                let cache = dir("adapters");
                let seen = Seen::default();
                let (backend, _) = Recording::new($make);
                let dr = Builder::new()
                    .with_modules($modules)
                    .with_cache_config(CacheConfig::at(&cache))
                    .with_remote_executor(backend)
                    .with_adapter(seen.clone())
                    .build()
                    .unwrap();
                dr.execute(&["label"], flow_inputs()).unwrap();
                let mut names = seen.0.lock().unwrap().clone();
                names.sort();
                assert_eq!(names, ["doubled", "label", "squared", "total"]);
                let c = dr.cache().unwrap();
                let why = c.explain("label", None).unwrap();
                assert_eq!(why.status, Status::Executed, "{why}");
                let svg = cache.join("run.svg");
                c.view_run(None, &svg).unwrap();
                assert!(std::fs::read_to_string(&svg).unwrap().contains("label"));
            }

            #[test]
            fn a_remote_output_comes_back_read() {
                let (dr, _) = remote(&dir("lazy"));
                let out = dr.execute(&["total"], flow_inputs()).unwrap();
                let v = out.value("total").unwrap();
                assert!(v.is_loaded(), "a remote output is read before the run ends");
                assert_eq!(*out.get::<u64>("total").unwrap(), 24);
            }
        }
    };
}

fn pool() -> weft::remote::ProcessPool {
    weft::remote::ProcessPool::new(2).program(env!("CARGO_BIN_EXE_remote_flow"))
}

remote_suite!(
    process_pool,
    backend = crate::pool(),
    modules = weft::modules![crate::flow]
);

#[path = "remote/crashes.rs"]
mod crashes;

#[path = "remote/refusals.rs"]
mod refusals;

#[path = "remote/command_line.rs"]
mod command_line;

#[path = "remote/stores.rs"]
mod stores;

/// The same suite on real Dask and Ray clusters (features `dask` and `ray`).
#[path = "remote/cluster.rs"]
mod cluster;
