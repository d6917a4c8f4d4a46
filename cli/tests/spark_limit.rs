//! `--spark-limit N` (feature `spark`) against the real Spark Connect server of
//! `tests/services/spark.sh` (address in `WEFT_TEST_SPARK_REMOTE`, as `tests/spark.rs` uses):
//! every source frame of a flow CLI's run is cut to N rows, and limited and full runs never
//! share cached results.
#![cfg(feature = "spark")]

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
    assert_eq!(adult_count(dir.path(), &csv, &["--spark-limit", "25"]), 25);
    assert_eq!(adult_count(dir.path(), &csv, &[]), 200);
}
