//! `--spark-limit N` (feature `spark`) against the real Spark Connect server of
//! `tests/services/spark.sh` (address in `WEFT_TEST_SPARK_REMOTE`, as `tests/spark.rs` uses):
//! every source frame of a flow CLI's run is cut to N rows, and limited and full runs never
//! share cached results, on the sequential and the async walk; and a Spark action in an
//! `async fn` node needs `weft::spark::outside_runtime` (the book's caveat).
#![cfg(feature = "spark")]
// The client's `SparkError` is large (its own crate allows the same lint); nodes return it as is.
#![allow(clippy::result_large_err)]

use std::path::Path;

mod flow {
    use weft::prelude::*;
    use weft::spark::{col, lit, ConnectError, DataFrame, SparkSession};

    /// The session, made from the server's address (a flow CLI's inputs are text).
    #[node]
    pub fn spark_session(spark_remote: &str) -> Result<SparkSession, ConnectError> {
        weft::spark::connect(spark_remote)
    }

    /// The people, read by Spark.
    #[node]
    pub fn raw_data(spark_session: &SparkSession, data_csv: &str) -> DataFrame {
        spark_session
            .read()
            .option("header", "true")
            .schema("name STRING, age INT".to_string())
            .csv(data_csv)
    }

    /// Adults only.
    #[node]
    pub fn adults(raw_data: &DataFrame) -> DataFrame {
        raw_data.filter(col("age").gt(lit(18)))
    }

    /// How many adults Spark finds (an action: the rows collected).
    #[node]
    pub fn adult_count(adults: &DataFrame) -> Result<u64, weft::spark::connect::SparkError> {
        let batches = weft::spark::to_arrow(adults)?;
        Ok(batches.iter().map(|b| b.num_rows() as u64).sum())
    }
}

/// Spark actions in `async fn` nodes (which run on the runtime's own threads).
mod async_nodes {
    use weft::prelude::*;
    use weft::spark::{connect::SparkError, DataFrame};

    /// The client called directly: its `block_on` inside the runtime panics.
    #[node]
    pub async fn direct_count(adults: &DataFrame) -> Result<i64, SparkError> {
        adults.count()
    }

    /// The same action stepped out of the runtime.
    #[node]
    pub async fn stepped_out_count(adults: &DataFrame) -> Result<i64, SparkError> {
        weft::spark::outside_runtime(|| adults.count())
    }
}

#[test]
fn an_async_node_runs_a_spark_action_through_outside_runtime_only() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, "name,age\na,30\nb,40\nc,9\n").unwrap();
    let remote = format!("spark_remote={}", remote());
    let data = format!("data_csv={}", csv.display());
    let results = dir.path().join("results.json");
    let build = |node: &str| {
        let args = ["flow", "build", node, "--input", &remote, "--input", &data];
        weft_cli::Cli::new(weft::modules![crate::flow, crate::async_nodes]).run_from(
            args.into_iter().chain([
                "--no-cache",
                "--executor",
                "async",
                "-q",
                "-o",
                results.to_str().unwrap(),
            ]),
        )
    };
    assert_eq!(build("stepped_out_count").code(), 0);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    assert_eq!(json["stepped_out_count"], 2, "{json}");
    // What the book's caveat warns of: the node fails (its panic reported), nothing hangs.
    assert_eq!(build("direct_count").code(), 1);
}

fn remote() -> String {
    std::env::var("WEFT_TEST_SPARK_REMOTE").unwrap_or_else(|_| {
        panic!(
            "WEFT_TEST_SPARK_REMOTE is not set: this test needs a Spark Connect server; run it \
             with `bash tests/run.sh` (it starts tests/services/spark.sh)"
        )
    })
}

/// `adult_count` as the flow CLI computes it, with `extra` arguments, from its `-o` file.
fn adult_count(dir: &Path, csv: &Path, extra: &[&str]) -> u64 {
    let results = dir.join("results.json");
    let _ = std::fs::remove_file(&results);
    let remote = format!("spark_remote={}", remote());
    let data = format!("data_csv={}", csv.display());
    let cache = dir.join("cache");
    let mut args = vec!["flow", "build", "adult_count", "--input", &remote];
    args.extend(["--input", &data, "--cache", cache.to_str().unwrap(), "-q"]);
    args.extend(["-o", results.to_str().unwrap()]);
    args.extend(extra);
    let exit = weft_cli::Cli::new(weft::modules![crate::flow])
        .with_builder(|b| b.with_adapter(weft::spark::SparkAdapter::new()))
        .run_from(args);
    assert_eq!(exit.code(), 0, "flow build {extra:?} failed");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    json["adult_count"]
        .as_u64()
        .unwrap_or_else(|| panic!("no adult_count in {json}"))
}

#[test]
fn spark_limit_cuts_every_source_frame_and_never_shares_cached_results() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("people.csv");
    // 200 people, all adults: the count is the number of rows read.
    let mut text = String::from("name,age\n");
    for i in 0..200 {
        text.push_str(&format!("p{i},{}\n", 20 + i % 50));
    }
    std::fs::write(&csv, text).unwrap();

    assert_eq!(adult_count(dir.path(), &csv, &[]), 200);
    // The same cache: the limited run is not served the full run's result, nor the reverse.
    assert_eq!(adult_count(dir.path(), &csv, &["--spark-limit", "10"]), 10);
    // The async walk too (its node bodies run inside tokio; `to_arrow` steps out).
    let async_limited = ["--spark-limit", "25", "--executor", "async"];
    assert_eq!(adult_count(dir.path(), &csv, &async_limited), 25);
    assert_eq!(adult_count(dir.path(), &csv, &[]), 200);
}
