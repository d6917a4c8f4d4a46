//! `weft ui` in a real browser: headless Chromium driven through chromedriver (started by
//! `tests/services/chromium.sh`, address in `WEFT_TEST_WEBDRIVER`) against a real `weft ui`
//! over a real cache, and a real `watch --ui` session. Screenshots of the three page kinds and
//! of the live page are saved under `target/ui-screenshots/` as artifacts.
#![cfg(feature = "ui")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    flow, held_watch, run_ids, stderr, tempdir, ui_flow_bin, Served, PATIENCE, REPORT_INPUTS,
};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// chromedriver's address, from the test service.
fn webdriver() -> String {
    std::env::var("WEFT_TEST_WEBDRIVER").unwrap_or_else(|_| {
        panic!(
            "WEFT_TEST_WEBDRIVER is not set: the browser tests need chromedriver and Chromium; \
             run `bash tests/run.sh` (it starts tests/services/chromium.sh), or \
             `apt-get install -y chromium chromium-driver` and `bash tests/services/chromium.sh \
             start`, then source .test-services/run/chromium.env"
        )
    })
}

/// A headless Chromium session at a laptop's width.
async fn browser() -> Client {
    browser_with(&[]).await
}

/// [`browser`], with more Chromium flags.
async fn browser_with(flags: &[&str]) -> Client {
    let mut args = vec![
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1366,900",
        "--no-first-run",
        "--no-default-browser-check",
    ];
    args.extend_from_slice(flags);
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), json!({ "args": args }));
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&webdriver())
        .await
        .expect("chromedriver starts a Chromium session")
}

/// Where screenshots go: `target/ui-screenshots/`.
fn shots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(shots().join(name), png).unwrap();
}

/// Evaluates `script` in the page until it returns something other than `null`/`false`
/// (bounded: a broken page fails after PATIENCE).
async fn until(c: &Client, what: &str, script: &str) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let v = c.execute(script, vec![]).await.expect("the script runs");
        if !(v.is_null() || v == json!(false)) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited too long for {what}"
        );
        // Give the page's own event handling the thread (a condition is polled, not a time).
        tokio::task::yield_now().await;
        c.execute(
            "return new Promise(r => requestAnimationFrame(() => r(true)))",
            vec![],
        )
        .await
        .ok();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn runs_list_run_picture_and_a_node_page_in_chromium() {
    webdriver();
    let tmp = tempdir();
    for spend in ["spend=10", "spend=12"] {
        let mut inputs = REPORT_INPUTS.to_vec();
        inputs[1] = spend;
        let out = flow(tmp.path())
            .args(["build", "report", "--quiet"])
            .args(&inputs)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let ids = run_ids(tmp.path());
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("weft"));
    cmd.args(["ui", "--port", "0", "--cache"])
        .arg(tmp.path().join(".weft/cache"));
    let ui = Served::start(cmd);
    let explain = flow(tmp.path())
        .args(["explain", "cost_ratio", "--run", &ids[0]])
        .output()
        .unwrap();
    let reason = common::stdout(&explain)
        .lines()
        .find_map(|l| l.trim().strip_prefix("- ").map(str::to_string))
        .expect("explain gives a reason");

    runtime().block_on(async {
        let c = browser().await;
        // The runs list shows this test's runs, newest first.
        c.goto(&format!("{}/", ui.url)).await.unwrap();
        let listed = c
            .execute(
                "return [...document.querySelectorAll('table.runs tr[data-run]')].map(r => r.dataset.run)",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(listed, json!(ids), "the runs, newest first");
        screenshot(&c, "runs.png").await;

        // Open the newest run, then click `cost_ratio`'s box in the picture.
        c.find(Locator::Css(&format!("tr[data-run='{}'] a", ids[0])))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let node = c
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css("g.weft-node[data-node='cost_ratio']"))
            .await
            .expect("the picture has the node");
        // The slowest path is outlined by the script.
        until(
            &c,
            "the slowest path",
            "return document.querySelectorAll('g.weft-node.on-path').length >= 3",
        )
        .await;
        screenshot(&c, "run.png").await;
        node.click().await.unwrap();
        c.wait()
            .at_most(PATIENCE)
            .for_element(Locator::Id("explain"))
            .await
            .expect("the node page");
        let url = c.current_url().await.unwrap();
        assert!(
            url.path().ends_with(&format!("/runs/{}/nodes/cost_ratio", ids[0])),
            "{url}"
        );
        let text = c
            .find(Locator::Id("explain"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains(&reason), "`{reason}` in: {text}");
        screenshot(&c, "node.png").await;
        c.close().await.unwrap();
    });
}

#[test]
fn the_theme_follows_the_systems_light_or_dark_setting() {
    webdriver();
    let tmp = tempdir();
    let out = flow(tmp.path())
        .args(["build", "report", "--quiet"])
        .args(REPORT_INPUTS)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("weft"));
    cmd.args(["ui", "--port", "0", "--cache"])
        .arg(tmp.path().join(".weft/cache"));
    let ui = Served::start(cmd);
    let look = "return [matchMedia('(prefers-color-scheme: dark)').matches, \
                getComputedStyle(document.body).backgroundColor, \
                getComputedStyle(document.body).color]";
    runtime().block_on(async {
        for (flags, dark, bg, text) in [
            (&[][..], false, "rgb(248, 250, 252)", "rgb(15, 23, 42)"),
            (
                &["--force-dark-mode"][..],
                true,
                "rgb(11, 17, 32)",
                "rgb(229, 231, 235)",
            ),
        ] {
            let c = browser_with(flags).await;
            c.goto(&format!("{}/", ui.url)).await.unwrap();
            let seen = c.execute(look, vec![]).await.unwrap();
            assert_eq!(seen, json!([dark, bg, text]), "{flags:?}");
            if dark {
                screenshot(&c, "runs-dark.png").await;
            }
            c.close().await.unwrap();
        }
    });
}

#[test]
fn a_watch_sessions_page_changes_colour_when_a_file_input_is_edited() {
    webdriver();
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
    // The first run is over (and so in the cache) once watch prints its report.
    ui.wait_for_line("run 1:");
    let (executed, hit) = (
        weft::viz::VizRole::Executed.colours().0,
        weft::viz::VizRole::Hit.colours().0,
    );
    let fill = |node: &str| {
        format!(
            "const g = document.querySelector(\"g.weft-node[data-node='{node}']\"); \
             return g && g.querySelector('rect').getAttribute('fill');"
        )
    };

    runtime().block_on(async {
        let c = browser().await;
        c.goto(&format!("{}/live", ui.url)).await.unwrap();
        // First run: everything executed.
        until(
            &c,
            "greeting drawn as executed",
            &format!("return ({})() === '{executed}'", wrap(&fill("greeting"))),
        )
        .await;
        // The page is listening before the edit.
        until(
            &c,
            "the live panel",
            "return document.getElementById('live').dataset.state !== undefined",
        )
        .await;
        std::fs::write(&notes, "to be or not to be, that is the question").unwrap();
        // The rerun reuses `greeting` (green) and executes `word_count` (orange).
        until(
            &c,
            "greeting drawn as reused",
            &format!("return ({})() === '{hit}'", wrap(&fill("greeting"))),
        )
        .await;
        let wc = c.execute(&fill("word_count"), vec![]).await.unwrap();
        assert_eq!(wc, json!(executed));
        let said = until(
            &c,
            "the reason shown",
            "const t = document.querySelector('#live .what').textContent; \
             return t.includes('notes.txt changed') && t",
        )
        .await;
        assert!(said.as_str().unwrap().contains("notes.txt"), "{said}");
        screenshot(&c, "live.png").await;
        c.close().await.unwrap();
    });
}

#[test]
fn a_watch_sessions_live_page_shows_a_cancelled_run_as_cancelled() {
    webdriver();
    let tmp = tempdir();
    let notes = tmp.path().join("notes.txt");
    let gate = tmp.path().join("gate");
    // `held` waits for the gate file: the first run stays in flight until the test opens it.
    let ui = held_watch(tmp.path(), &gate);

    runtime().block_on(async {
        let c = browser().await;
        c.goto(&format!("{}/live", ui.url)).await.unwrap();
        until(
            &c,
            "the first run held in `held`",
            "return document.querySelector('#live .what').textContent.includes('running held')",
        )
        .await;
        // An edit while the run is in flight cancels it.
        std::fs::write(&notes, "to be or not to be, that is the question").unwrap();
        let said = until(
            &c,
            "the run shown as being cancelled",
            "const p = document.getElementById('live'); \
             return p.dataset.state === 'cancelled' && p.querySelector('.what').textContent",
        )
        .await;
        assert!(
            said.as_str().unwrap().contains("notes.txt changed"),
            "{said}"
        );
        // Once `held` lets go, the run ends as cancelled and the rerun completes.
        std::fs::write(&gate, "open").unwrap();
        until(
            &c,
            "the rerun listed as completed",
            "return !!document.querySelector('#endings li[data-number=\"2\"][data-status=\"completed\"]')",
        )
        .await;
        let first = c
            .find(Locator::Css("#endings li[data-number='1']"))
            .await
            .expect("the first run is listed");
        assert_eq!(
            first.attr("data-status").await.unwrap().as_deref(),
            Some("cancelled")
        );
        let text = first.text().await.unwrap();
        assert!(
            text.starts_with("cancelled run 1") && text.ends_with("first run"),
            "{text}"
        );
        screenshot(&c, "live-cancelled.png").await;
        c.close().await.unwrap();
    });
}

/// `script` (a function body) as an expression.
fn wrap(script: &str) -> String {
    format!("function() {{ {script} }}")
}
