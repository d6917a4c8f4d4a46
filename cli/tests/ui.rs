//! `weft ui` over HTTP: real runs of the `flow_cli` example into a real cache, a real server
//! (`weft ui --port 0`, and `ui_flow watch --ui`), real requests. The browser side is in
//! `ui_browser.rs`.
#![cfg(feature = "ui")]

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::{
    flow, held_watch, run_ids, stderr, tempdir, ui_flow_bin, Served, PATIENCE, REPORT_INPUTS,
};
use futures_util::StreamExt as _;

/// Two runs of `report` (the second all hits) and one with another input, in `dir`.
fn three_runs(dir: &Path) {
    for spend in ["10", "10", "12"] {
        let mut inputs = REPORT_INPUTS.to_vec();
        inputs[1] = if spend == "10" {
            "spend=10"
        } else {
            "spend=12"
        };
        let out = flow(dir)
            .args(["build", "report", "--quiet"])
            .args(&inputs)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

fn weft_ui(cache: &Path) -> Served {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("weft"));
    cmd.args(["ui", "--port", "0", "--cache"]).arg(cache);
    Served::start(cmd)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// GET `url`: status and body.
fn get(url: &str) -> (u16, String) {
    runtime().block_on(async {
        let r = reqwest::get(url).await.expect("the server answers");
        let status = r.status().as_u16();
        (status, r.text().await.expect("a body"))
    })
}

/// Every file under `dir` with its bytes, SQLite's shared-memory index and log left out.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if !p.to_string_lossy().ends_with("-shm")
                && !p.to_string_lossy().ends_with("-wal")
            {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn the_pages_show_the_runs_a_run_and_a_node_and_write_nothing() {
    let tmp = tempdir();
    three_runs(tmp.path());
    let cache = tmp.path().join(".weft/cache");
    let ids = run_ids(tmp.path());
    assert_eq!(ids.len(), 3);
    let before = snapshot(&cache);
    let ui = weft_ui(&cache);
    assert!(ui.url.starts_with("http://127.0.0.1:"), "{}", ui.url);

    // Runs, newest first, with counts.
    let (status, runs) = get(&format!("{}/", ui.url));
    assert_eq!(status, 200, "{runs}");
    let at: Vec<usize> = ids
        .iter()
        .map(|id| {
            runs.find(&format!("data-run=\"{id}\""))
                .expect("every run is listed")
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "newest first: {at:?}");
    assert!(runs.contains("0 executed"), "the all-hit run: {runs}");
    assert!(runs.contains("3 hits"), "{runs}");
    assert!(runs.contains("report"), "the requested output");

    // The filter: a node that took part, one that never ran.
    let (_, hit) = get(&format!("{}/?node=cost_ratio", ui.url));
    assert!(ids.iter().all(|id| hit.contains(id.as_str())), "{hit}");
    let (_, none) = get(&format!("{}/?node=budget_split", ui.url));
    assert!(
        !ids.iter()
            .any(|id| none.contains(&format!("data-run=\"{id}\""))),
        "{none}"
    );
    assert!(none.contains("No run involves"), "{none}");

    // A run: the engine's picture with a box per node, bars, the slowest path.
    let (status, run) = get(&format!("{}/runs/{}", ui.url, ids[2]));
    assert_eq!(status, 200, "{run}");
    for node in ["spend_per_signup", "cost_ratio", "report"] {
        assert!(
            run.contains(&format!("data-node=\"{node}\"")),
            "{node} in the picture"
        );
        assert!(
            run.contains(&format!("/runs/{}/nodes/{node}", ids[2])),
            "{node} linked"
        );
    }
    assert!(run.contains("Time per node"), "{run}");
    assert!(
        run.contains("data-path=\"[&quot;spend_per_signup&quot;,&quot;cost_ratio&quot;,&quot;report&quot;]\""),
        "the slowest path is the chain: {run}"
    );
    let (status, svg) = get(&format!("{}/runs/{}/picture.svg", ui.url, ids[0]));
    assert_eq!(status, 200);
    assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"), "{svg}");

    // A node: the explanation the CLI gives, the value, the history across runs.
    let (status, node) = get(&format!("{}/runs/{}/nodes/cost_ratio", ui.url, ids[0]));
    assert_eq!(status, 200, "{node}");
    let explain = flow(tmp.path())
        .args(["explain", "cost_ratio", "--run", &ids[0]])
        .output()
        .unwrap();
    let explain = common::stdout(&explain);
    for reason in explain.lines().filter_map(|l| l.trim().strip_prefix("- ")) {
        let shown = reason.replace('>', "&gt;");
        assert!(node.contains(&shown), "`{reason}` on the page: {node}");
    }
    assert!(
        node.contains("dependency `spend_per_signup` changed data version"),
        "{node}"
    );
    assert!(node.contains("f64"), "the type");
    assert!(
        node.contains("<pre class=\"preview\">1.5</pre>"),
        "12/4/2 = 1.5: {node}"
    );
    for id in &ids {
        assert!(
            node.contains(&format!("/runs/{id}/nodes/cost_ratio")),
            "history has {id}"
        );
    }
    assert!(
        node.contains("changed"),
        "the data version changed in the last run"
    );

    // Not found, and nothing was written.
    let (status, _) = get(&format!("{}/runs/{}/nodes/budget_split", ui.url, ids[0]));
    assert_eq!(status, 404);
    let (status, _) = get(&format!("{}/runs/0000000000000000", ui.url));
    assert_eq!(status, 404);
    drop(ui);
    assert_eq!(snapshot(&cache), before, "the view wrote into the cache");
}

/// A raw request (no client normalising the path), returning the status line and body.
fn raw(url: &str, path: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn no_path_leads_out_of_the_cache() {
    let tmp = tempdir();
    three_runs(tmp.path());
    let cache = tmp.path().join(".weft/cache");
    let id = run_ids(tmp.path()).remove(0);
    // A file beside the cache that a traversal would reach.
    std::fs::write(tmp.path().join(".weft/secret.txt"), "TOP SECRET").unwrap();
    let ui = weft_ui(&cache);
    let attempts = [
        "/runs/../../secret.txt".to_string(),
        "/runs/..%2F..%2Fsecret.txt".to_string(),
        "/runs/%2e%2e/nodes/x".to_string(),
        "/runs/%2E%2E%2F%2E%2E%2Fsecret.txt/nodes/report".to_string(),
        format!("/runs/{id}/nodes/..%2F..%2F..%2Fsecret.txt"),
        format!("/runs/{id}/nodes/%2e%2e"),
        format!("/runs/{id}/nodes/..%5C..%5Csecret.txt"),
        "/assets/..%2F..%2F..%2Fsecret.txt".to_string(),
        "/assets/%2e%2e/meta.sqlite".to_string(),
        "/../meta.sqlite".to_string(),
        "/%2e%2e/%2e%2e/secret.txt".to_string(),
    ];
    for path in &attempts {
        let answer = raw(&ui.url, path);
        let status = answer.split_whitespace().nth(1).unwrap_or("").to_string();
        assert!(
            status == "400" || status == "404",
            "{path} answered {status}: {answer}"
        );
        assert!(!answer.contains("TOP SECRET"), "{path} leaked the file");
        assert!(
            !answer.contains("SQLite format"),
            "{path} leaked the database"
        );
    }
    // A page of another site cannot read the view through a name rebound to 127.0.0.1.
    let addr = ui.url.trim_start_matches("http://").to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: evil.example:80\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 421"), "{answer}");
    assert!(!answer.contains(&id), "{answer}");
    // The refusal says why (asked raw: an HTTP client would resolve the dots itself).
    let answer = raw(&ui.url, "/runs/%2e%2e");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("is not a valid run id"), "{answer}");
}

#[test]
fn a_missing_or_foreign_cache_is_an_error_at_start() {
    let tmp = tempdir();
    let missing = tmp.path().join("nope");
    let out = common::weft(tmp.path())
        .args(["ui", "--port", "0", "--cache"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot be opened"),
        "{}",
        stderr(&out)
    );
    assert!(!missing.exists(), "the view created the directory");

    let out = common::weft(tmp.path())
        .args(["ui", "--port", "0", "--cache"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not a weft cache"),
        "{}",
        stderr(&out)
    );
}

/// Server-sent events of a watch session, as JSON objects, read until `until` holds.
async fn events_until<B: AsRef<[u8]>>(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<B>> + Unpin),
    buf: &mut String,
    seen: &mut Vec<serde_json::Value>,
    until: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            for line in frame.lines() {
                if let Some(data) = line.strip_prefix("data:") {
                    let v: serde_json::Value = serde_json::from_str(data.trim()).unwrap();
                    seen.push(v.clone());
                    if until(&v) {
                        return v;
                    }
                }
            }
        }
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("the awaited event came in time")
            .expect("the stream is open")
            .expect("a chunk");
        buf.push_str(&String::from_utf8_lossy(chunk.as_ref()));
    }
}

/// The next run's reason, which must be the edit of `notes.txt`.
async fn edit_is_the_reason<B: AsRef<[u8]>>(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<B>> + Unpin),
    buf: &mut String,
    seen: &mut Vec<serde_json::Value>,
) -> serde_json::Value {
    let reason = events_until(stream, buf, seen, |e| e["kind"] == "reason").await;
    assert!(
        reason["reason"]
            .as_str()
            .unwrap()
            .ends_with("notes.txt changed"),
        "{reason}"
    );
    reason
}

#[test]
fn watch_ui_streams_nodes_runs_and_the_reason_of_each_rerun() {
    let tmp = tempdir();
    let notes = tmp.path().join("notes.txt");
    std::fs::write(&notes, "to be or not to be").unwrap();
    let mut cmd = Command::new(ui_flow_bin());
    cmd.current_dir(tmp.path()).args([
        "watch",
        "summary",
        "--input",
        "notes=notes.txt",
        "--input",
        "name=Ada",
        "--ui",
        "--ui-port",
        "0",
    ]);
    let ui = Served::start(cmd);
    assert!(ui.url.starts_with("http://127.0.0.1:"), "{}", ui.url);
    runtime().block_on(async {
        let response = reqwest::get(format!("{}/events", ui.url)).await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let mut stream = response.bytes_stream();
        let (mut buf, mut seen) = (String::new(), Vec::new());
        // The first run ends (replayed if it ended before the page connected).
        let first = events_until(&mut stream, &mut buf, &mut seen, |e| {
            e["kind"] == "run_ended"
        })
        .await;
        assert_eq!(first["status"], "completed", "{seen:?}");
        assert_eq!(first["reason"], "first run");

        // Edit the file: the rerun says why, and only what reads the notes runs.
        let t = Instant::now();
        std::fs::write(&notes, "to be or not to be, that is the question").unwrap();
        edit_is_the_reason(&mut stream, &mut buf, &mut seen).await;
        seen.clear();
        let done = events_until(&mut stream, &mut buf, &mut seen, |e| {
            e["kind"] == "run_finished"
        })
        .await;
        let finished: Vec<(&str, &str)> = seen
            .iter()
            .filter(|e| e["kind"] == "node_finished")
            .map(|e| (e["node"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
            .collect();
        for node in ["text", "word_count", "summary"] {
            assert!(finished.contains(&(node, "executed")), "{node}: {seen:?}");
            assert!(
                seen.iter()
                    .any(|e| e["kind"] == "node_started" && e["node"] == node),
                "{node} started"
            );
        }
        assert!(!finished.iter().any(|(n, _)| *n == "greeting"), "{seen:?}");
        assert!(
            done["reused"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n == "greeting"),
            "{done}"
        );
        let ended = events_until(&mut stream, &mut buf, &mut seen, |e| {
            e["kind"] == "run_ended"
        })
        .await;
        assert_eq!(ended["status"], "completed");
        assert!(t.elapsed() < PATIENCE);
        // The stored run is a page now.
        let run_id = done["run_id"].as_str().unwrap().to_string();
        let page = reqwest::get(format!("{}/runs/{run_id}/nodes/greeting", ui.url))
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        assert!(
            page.contains("A greeting"),
            "the doc, from the flow's binary: {page}"
        );
        // `greeting` was memoized: its input `name` was given, not drawn as missing.
        let svg = reqwest::get(format!("{}/runs/{run_id}/picture.svg", ui.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(svg.contains("data-node=\"name\""), "{svg}");
        assert!(!svg.contains("not given"), "{svg}");
    });
}

#[test]
fn a_flows_own_binary_adds_docs_and_the_nodes_a_run_did_not_reach() {
    let tmp = tempdir();
    three_runs(tmp.path());
    let ids = run_ids(tmp.path());
    let mut cmd = Command::new(common::flow_bin());
    cmd.current_dir(tmp.path()).args(["ui", "--port", "0"]);
    let ui = Served::start(cmd);
    let (status, run) = get(&format!("{}/runs/{}", ui.url, ids[0]));
    assert_eq!(status, 200, "{run}");
    for absent in ["budget_split", "headline"] {
        assert!(
            run.contains(&format!("data-node=\"{absent}\"")),
            "{absent} drawn"
        );
    }
    assert!(run.contains("not on the path"), "{run}");
    let (_, node) = get(&format!("{}/runs/{}/nodes/cost_ratio", ui.url, ids[0]));
    assert!(
        node.contains("Cost per signup, relative to the target cost."),
        "{node}"
    );
}

#[test]
fn watch_ui_shows_a_run_cancelled_by_an_edit_as_cancelled() {
    let tmp = tempdir();
    let gate = tmp.path().join("gate");
    let ui = held_watch(tmp.path(), &gate);
    let cancelled_id = runtime().block_on(async {
        let response = reqwest::get(format!("{}/events", ui.url)).await.unwrap();
        let mut stream = response.bytes_stream();
        let (mut buf, mut seen) = (String::new(), Vec::new());
        // The first run is held in `held` (its gate is shut): edit the notes meanwhile.
        let started = events_until(&mut stream, &mut buf, &mut seen, |e| {
            e["kind"] == "run_started"
        })
        .await;
        let first_id = started["run_id"].as_str().unwrap().to_string();
        events_until(&mut stream, &mut buf, &mut seen, |e| {
            e["kind"] == "node_started" && e["node"] == "held"
        })
        .await;
        std::fs::write(
            tmp.path().join("notes.txt"),
            "to be or not to be, that is the question",
        )
        .unwrap();
        let cancelling = events_until(&mut stream, &mut buf, &mut seen, |e| {
            e["kind"] == "cancelling"
        })
        .await;
        assert_eq!(cancelling["run"], 1, "{cancelling}");
        assert!(
            cancelling["files"][0]
                .as_str()
                .unwrap()
                .ends_with("notes.txt"),
            "{cancelling}"
        );
        // Let `held` finish: the run stops before `held_summary`, as cancelled.
        std::fs::write(&gate, "open").unwrap();
        let ended = events_until(&mut stream, &mut buf, &mut seen, |e| {
            e["kind"] == "run_ended"
        })
        .await;
        assert_eq!(ended["status"], "cancelled", "{seen:?}");
        assert_eq!(ended["run"], 1);
        assert_eq!(ended["run_id"], first_id.as_str());
        assert!(
            !seen
                .iter()
                .any(|e| e["kind"] == "node_started" && e["node"] == "held_summary"),
            "nothing starts after the cancel: {seen:?}"
        );
        // The rerun, for the edit, completes.
        let reason = edit_is_the_reason(&mut stream, &mut buf, &mut seen).await;
        assert_eq!(reason["run"], 2);
        let second = events_until(&mut stream, &mut buf, &mut seen, |e| {
            e["kind"] == "run_ended"
        })
        .await;
        assert_eq!(second["status"], "completed", "{seen:?}");
        assert_ne!(second["run_id"], first_id.as_str());
        first_id
    });

    // Pages rendered now say so too: the live panel lists both endings, the runs page and the
    // run's own page show the first run as cancelled.
    let (status, live) = get(&format!("{}/live", ui.url));
    assert_eq!(status, 200, "{live}");
    assert!(
        live.contains(&format!(
            "<li data-number=\"1\" data-status=\"cancelled\"><span class=\"badge cancelled\">cancelled</span> run 1 <a class=\"mono\" href=\"/runs/{cancelled_id}\">"
        )),
        "{live}"
    );
    assert!(
        live.contains("<li data-number=\"2\" data-status=\"completed\">"),
        "{live}"
    );
    let (_, runs) = get(&format!("{}/", ui.url));
    let row_at = runs
        .find(&format!("<tr data-run=\"{cancelled_id}\""))
        .expect("the cancelled run is listed");
    let row = &runs[row_at..row_at + runs[row_at..].find("</tr>").unwrap()];
    assert!(
        row.contains("<span class=\"badge cancelled\">cancelled</span>"),
        "{row}"
    );
    let (status, run) = get(&format!("{}/runs/{cancelled_id}", ui.url));
    assert_eq!(status, 200, "{run}");
    assert!(
        run.contains("<dt>status</dt><dd><span class=\"badge cancelled\">cancelled</span>"),
        "{run}"
    );
}

/// A flow that stores a data frame (parquet, the frames' default format).
#[cfg(feature = "polars")]
mod frames {
    use weft::frames::polars::prelude::*;
    use weft::prelude::*;

    /// Sales by region, `n` rows of the first region.
    #[node]
    pub fn sales(n: &i64) -> Result<DataFrame, PolarsError> {
        df!("region" => ["eu", "us", "eu"], "qty" => [*n, 5, 7])
    }
}

#[cfg(feature = "polars")]
#[test]
fn a_stored_frame_is_previewed_with_its_schema_and_first_rows() {
    let tmp = tempdir();
    let cache = tmp.path().join(".weft/cache");
    let dr = weft::Builder::new()
        .with_modules(weft::modules![crate::frames])
        .with_cache_config(weft::CacheConfig::at(&cache))
        .build()
        .unwrap();
    dr.execute(&["sales"], weft::inputs! { "n" => 3i64 })
        .unwrap();
    drop(dr);
    let id = run_ids(tmp.path()).remove(0);
    let ui = weft_ui(&cache);
    let (status, node) = get(&format!("{}/runs/{id}/nodes/sales", ui.url));
    assert_eq!(status, 200, "{node}");
    assert!(
        node.contains(
            "<dt>type</dt><dd class=\"mono\">DataFrame</dd><dt>format</dt><dd>parquet</dd>"
        ),
        "{node}"
    );
    for shown in [
        "3 rows, 2 columns",
        "region: str",
        "qty: i64",
        "│ us ",
        "┆ 7 ",
    ] {
        assert!(node.contains(shown), "`{shown}` in: {node}");
    }
}
