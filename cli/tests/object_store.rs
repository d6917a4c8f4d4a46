//! The team cache end to end (feature `object-store`): two flow processes in separate working
//! directories, with nothing local in common, share one cache on the S3-compatible test server
//! (`tests/services/s3.sh`) through `--cache s3://…`; the second run is all hits; `cache
//! runs/show/explain/gc` work on the URL.
#![cfg(feature = "object-store")]

mod common;

use common::{flow, stderr, stdout, tempdir, weft, REPORT_INPUTS};

/// A fresh prefix of the test bucket; fails, saying how to start the server, without it.
fn s3_url(name: &str) -> String {
    let bucket = std::env::var("WEFT_TEST_S3_BUCKET").unwrap_or_else(|_| {
        panic!(
            "WEFT_TEST_S3_BUCKET is not set: these tests need the S3 test server; run them \
             with `bash tests/run.sh` (it starts tests/services/s3.sh)"
        )
    });
    let dir = tempdir();
    let unique = dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    format!("s3://{bucket}/cli-{name}-{unique}")
}

#[test]
fn two_drivers_share_a_team_cache_and_cache_commands_read_it() {
    let url = s3_url("team");
    let (alice, bob, lead) = (tempdir(), tempdir(), tempdir());
    for who in [&alice, &bob] {
        flow(who.path())
            .args(["build", "report", "--cache", &url, "-q"])
            .args(REPORT_INPUTS)
            .assert()
            .success();
    }
    // Nothing was written locally: the cache is the URL.
    assert!(!bob.path().join(".weft").exists());

    let runs = weft(lead.path())
        .args(["cache", "runs", "--json", "--cache", &url])
        .output()
        .unwrap();
    assert!(runs.status.success(), "{}", stderr(&runs));
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0]["executed"], 3);
    assert_eq!(runs[1]["executed"], 0, "bob's run is all hits: {runs:?}");
    assert_eq!(runs[1]["hits"], 3);
    assert_eq!(runs[1]["status"], "ok");

    let show = weft(lead.path())
        .args(["cache", "show", "--cache", &url])
        .output()
        .unwrap();
    assert!(show.status.success(), "{}", stderr(&show));
    assert!(
        stdout(&show).contains("0 executed, 3 hits, 0 failed"),
        "{}",
        stdout(&show)
    );

    let explain = weft(lead.path())
        .args(["cache", "explain", "report", "--cache", &url])
        .output()
        .unwrap();
    assert!(explain.status.success(), "{}", stderr(&explain));
    assert!(stdout(&explain).contains("hit"), "{}", stdout(&explain));

    // The flow's own `explain` reads it too.
    let explain = flow(lead.path())
        .args(["explain", "report", "--cache", &url])
        .output()
        .unwrap();
    assert!(explain.status.success(), "{}", stderr(&explain));

    let gc = weft(lead.path())
        .args(["cache", "--cache", &url, "gc", "--keep-runs", "1"])
        .output()
        .unwrap();
    assert!(gc.status.success(), "{}", stderr(&gc));
    assert!(
        stdout(&gc).starts_with("removed 1 run and 0 stored results"),
        "{}",
        stdout(&gc)
    );
    let clear = weft(lead.path())
        .args(["cache", "--cache", &url, "clear"])
        .output()
        .unwrap();
    assert!(clear.status.success(), "{}", stderr(&clear));
    assert!(
        stdout(&clear).starts_with(&format!(
            "cleared {url}: removed 1 run and 3 stored results"
        )),
        "{}",
        stdout(&clear)
    );
}

#[test]
fn a_store_that_cannot_be_reached_is_an_error_naming_the_url() {
    let url = s3_url("unreachable");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempdir();
    let out = flow(dir.path())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .args(["build", "report", "--cache", &url, "-q"])
        .args(REPORT_INPUTS)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cache location `{url}`: cannot reach it")),
        "{err}"
    );
    assert!(err.contains("--no-cache"), "{err}");
    let out = weft(dir.path())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .args(["cache", "runs", "--cache", &url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!("cache location `{url}`")),
        "{}",
        stderr(&out)
    );
    // A location with an unknown scheme is a usage error.
    let out = weft(dir.path())
        .args(["cache", "runs", "--cache", "s4://bucket/x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unknown scheme `s4://`"),
        "{}",
        stderr(&out)
    );
}

/// `weft ui --cache s3://…`: the web view of a team cache lists its runs and opens a run.
#[cfg(feature = "ui")]
#[test]
fn the_web_view_shows_a_team_cache_on_object_storage() {
    use std::io::{Read, Write};
    let url = s3_url("ui");
    let who = tempdir();
    flow(who.path())
        .args(["build", "report", "--cache", &url, "-q"])
        .args(REPORT_INPUTS)
        .assert()
        .success();
    let runs = weft(who.path())
        .args(["cache", "runs", "--json", "--cache", &url])
        .output()
        .unwrap();
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    let run = runs[0]["run_id"].as_str().unwrap().to_string();

    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("weft"));
    cmd.current_dir(who.path())
        .args(["ui", "--port", "0", "--cache", &url]);
    let ui = common::Served::start(cmd);
    let get = |path: &str| {
        let addr = ui.url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(common::PATIENCE)).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let page = get("/");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains(&run[..8]),
        "the runs page lists the run: {page}"
    );
    let page = get(&format!("/runs/{run}"));
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("report"),
        "the run page shows its nodes: {page}"
    );
    // Nothing local was created: the cache is the URL.
    assert!(!who.path().join(".weft").exists());
}
