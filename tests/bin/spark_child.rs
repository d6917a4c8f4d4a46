//! The seed's Spark flow in a child process, for the spark suite's cache test: a second process
//! reads what the first one had Spark write.
//!
//! `spark_child CACHE SPARK_DIR CSV` runs `aggregated_stats` with weft's cache at CACHE and the
//! SparkAdapter's cache location at SPARK_DIR against `WEFT_TEST_SPARK_REMOTE`, and prints one
//! line per node record (`node status`), the stored form of `aggregated_stats` (`stored
//! JSON`), one per warning of the driver (`warning TEXT`), then
//! `rows N` (the collected result's rows) and `total N` (the sum of its counts). The result is
//! collected after the session is released: a small frame written for the cache, computed or
//! read back, is collected from the rows weft read, with no request.

// The child uses the flow and the address; the CSV helpers are the suite's.
#[allow(dead_code)]
#[path = "../spark_flow/mod.rs"]
mod spark_flow;

use weft::{inputs, Builder};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (cache, spark_dir, csv) = (&args[1], &args[2], &args[3]);
    let spark = weft::spark::connect(&spark_flow::remote()).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let dr = Builder::new()
        .with_modules(weft::modules![crate::spark_flow::seed])
        .with_cache_config(weft::CacheConfig::at(cache))
        .with_adapter(weft::spark::SparkAdapter::new().cache_at(spark_dir.as_str()))
        .build()
        .expect("valid graph");
    let (out, run) = dr
        .execute_recorded(
            &["aggregated_stats"],
            inputs! { "spark_session" => spark.clone(), "people_csv" => csv.clone() },
            weft::Inputs::new(),
        )
        .expect("run");
    let cache = dr.cache().expect("cache");
    let records = cache.records(Some(&run.run_id)).expect("records");
    for r in &records {
        println!("{} {}", r.node, r.status.as_str());
    }
    // What the cache stores for the Spark-written node (its stored form, JSON).
    cache.flush();
    let stats = records.iter().find(|r| r.node == "aggregated_stats");
    if let Some(v) = stats.and_then(|r| r.data_version) {
        if let Ok(Some(blob)) = cache.result_store().blob(&v) {
            println!("stored {}", String::from_utf8_lossy(&blob.bytes));
        }
    }
    let stats = out
        .get::<weft::spark::DataFrame>("aggregated_stats")
        .expect("stats");
    weft::spark::outside_runtime(|| spark.stop().map_err(|e| e.message()))
        .expect("the session is released");
    let df = weft::spark::to_polars(stats).expect("collect");
    let total: i64 = df
        .column("count(1)")
        .expect("count(1)")
        .i64()
        .expect("i64")
        .iter()
        .flatten()
        .sum();
    for w in dr.warnings() {
        println!("warning {}", w.to_string().replace('\n', " "));
    }
    println!("rows {}", df.height());
    println!("total {total}");
}
