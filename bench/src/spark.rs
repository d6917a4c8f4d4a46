//! `weft-bench spark-run REMOTE CSV DIR|-`: weft's side of `bench/compare.sh spark`, the seed's
//! Spark flow as `bench/hamilton_spark.py` runs it: `raw_data(spark_session) -> filtered_data
//! -> aggregated_stats` on a CSV, against the Spark Connect server at REMOTE, the result
//! collected. `aggregated_stats` is tagged `spark = "cache"`: with the cache at DIR (weft's
//! metadata, and Spark's parquet under `DIR/spark`), a later process reads it back instead of
//! running the plan; `-` runs uncached, without the adapter (the same work as Hamilton's
//! side: one Spark job). Prints `seconds S` timed from connecting the session to having the
//! collected rows (and the run committed), as Hamilton's side is timed.
//!
//! The flow is `examples/spark`'s first snippet written again on purpose: it mirrors
//! `bench/spark_flow.py` node for node, so both sides do the same work.

use std::time::Instant;

use weft::spark::{DataFrame, SparkAdapter};
use weft::{inputs, Builder, CacheConfig};

mod flow {
    use weft::prelude::*;
    use weft::spark::{col, lit, DataFrame, SparkSession};

    /// The people, read by Spark (an explicit schema keeps the read lazy).
    #[node]
    pub fn raw_data(spark_session: &SparkSession, data_csv: &str) -> DataFrame {
        spark_session
            .read()
            .option("header", "true")
            .schema("name STRING, age INT, country STRING, amount DOUBLE".to_string())
            .csv(data_csv)
    }

    /// Adults only.
    #[node]
    pub fn filtered_data(raw_data: &DataFrame) -> DataFrame {
        raw_data.filter(col("age").gt(lit(18)))
    }

    /// People per country; written by Spark and kept across runs.
    #[node(tags(spark = "cache"))]
    pub fn aggregated_stats(filtered_data: &DataFrame) -> DataFrame {
        filtered_data.group_by(["country"]).count()
    }
}

pub fn run(remote: &str, csv: &str, dir: &str) {
    let t = Instant::now();
    let spark = weft::spark::connect(remote).expect("a Spark Connect server");
    let mut b = Builder::new().with_modules(weft::modules![self::flow]);
    if dir != "-" {
        let dir = std::path::Path::new(dir);
        b = b
            .with_cache_config(CacheConfig::at(dir.join("weft")))
            .with_adapter(SparkAdapter::new().cache_at(dir.join("spark").to_string_lossy()));
    }
    let dr = b.build().expect("valid flow");
    let out = dr
        .execute(
            &["aggregated_stats"],
            inputs! { "spark_session" => spark, "data_csv" => csv.to_string() },
        )
        .expect("the flow runs");
    let stats = out
        .get::<DataFrame>("aggregated_stats")
        .expect("a Spark frame");
    let batches = weft::spark::to_arrow(stats).expect("Spark collects the stats");
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if let Some(cache) = dr.cache() {
        cache.flush();
    }
    let secs = t.elapsed().as_secs_f64();
    drop(out);
    drop(dr);
    println!("rows {rows}");
    println!("seconds {secs:.6}");
}
