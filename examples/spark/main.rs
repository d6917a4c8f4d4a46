//! The seed's two Spark snippets as a weft flow (feature `spark`): `raw_data(spark_session) ->
//! filtered_data -> aggregated_stats`, and `enriched_data` with a `with_columns` group of
//! Spark column expressions. `aggregated_stats` is tagged `spark = "cache"`: Spark writes it as
//! parquet under `target/spark-example/spark`, and a second run (another process) reads it
//! back instead of running the plan.
//!
//! Start a local Spark Connect server (in this checkout: `bash tests/services/spark.sh install
//! && bash tests/services/spark.sh start`, then `. .test-services/run/spark.env`), then:
//!
//! ```sh
//! WEFT_SPARK_REMOTE=$WEFT_TEST_SPARK_REMOTE \
//!   cargo run --example spark --features spark        # twice: the second run hits
//! ```
//!
//! `WEFT_SPARK_REMOTE` defaults to `sc://127.0.0.1:15002`. `--limit N` runs on N rows per
//! source frame (`RowLimit`).

use std::path::Path;

use weft::prelude::*;
use weft::spark::{DataFrame, RowLimit, SparkAdapter};
use weft::CacheConfig;

/// The seed's first snippet.
mod my_spark_functions {
    use weft::prelude::*;
    use weft::spark::{col, lit, DataFrame, SparkSession};

    /// Load data into Spark (an explicit schema keeps the read lazy).
    #[node]
    pub fn raw_data(spark_session: &SparkSession, data_csv: &str) -> DataFrame {
        spark_session
            .read()
            .option("header", "true")
            .schema("name STRING, age INT, country STRING, amount DOUBLE".to_string())
            .csv(data_csv)
    }

    /// Filter using Spark operations.
    #[node]
    pub fn filtered_data(raw_data: &DataFrame) -> DataFrame {
        raw_data.filter(col("age").gt(lit(18)))
    }

    /// Aggregate using Spark; written by Spark and kept across runs.
    #[node(tags(spark = "cache"))]
    pub fn aggregated_stats(filtered_data: &DataFrame) -> DataFrame {
        filtered_data.group_by(["country"]).count()
    }
}

/// The seed's second snippet: column nodes are Spark expressions, not pandas UDFs.
mod map_transforms {
    use weft::prelude::*;
    use weft::spark::connect::functions::{avg, stddev, when};
    use weft::spark::connect::lit_string;
    use weft::spark::connect::window::Window;
    use weft::spark::{lit, Column};

    /// Normalization over the whole frame.
    #[node]
    pub fn normalized_amount(amount: Column) -> Column {
        let all = || Window::partition_by(vec![]);
        (amount.clone() - avg(amount.clone()).over(all())) / stddev(amount).over(all())
    }

    /// Categorize based on the normalized amount.
    #[node]
    pub fn amount_category(normalized_amount: Column) -> Column {
        when(normalized_amount.clone().lt(lit(-1)), lit_string("low"))
            .when(normalized_amount.gt(lit(1)), lit_string("high"))
            .otherwise(lit_string("medium"))
    }
}

mod main_dataflow {
    use weft::prelude::*;
    use weft::spark::DataFrame;

    /// Apply the column expressions to the raw frame, in one withColumns.
    #[node(with_columns(super::map_transforms, columns_to_pass = ["amount"]))]
    pub fn enriched_data(raw_data: DataFrame) -> DataFrame {
        raw_data
    }
}

fn write_data(path: &Path, rows: usize) -> std::io::Result<()> {
    let mut text = String::from("name,age,country,amount\n");
    for i in 0..rows {
        let country = ["de", "fr", "us", "jp"][i % 4];
        text.push_str(&format!("p{i},{},{country},{}\n", i % 70, (i * 37) % 1000));
    }
    std::fs::write(path, text)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let remote =
        std::env::var("WEFT_SPARK_REMOTE").unwrap_or_else(|_| "sc://127.0.0.1:15002".into());
    let args: Vec<String> = std::env::args().collect();
    let limit = match args.iter().position(|a| a == "--limit") {
        Some(i) => Some(
            args.get(i + 1)
                .ok_or("--limit needs a number")?
                .parse::<u64>()?,
        ),
        None => None,
    };
    let root = Path::new("target/spark-example");
    std::fs::create_dir_all(root)?;
    let csv = root.join("data.csv");
    if !csv.exists() {
        write_data(&csv, 100_000)?;
    }
    let spark = weft::spark::connect(&remote)?;
    let mut builder = Builder::new()
        .with_modules(weft::modules![
            crate::my_spark_functions,
            crate::main_dataflow
        ])
        .with_cache_config(CacheConfig::at(root.join("cache")))
        .with_adapter(SparkAdapter::new().cache_at(root.join("spark").to_string_lossy()));
    if let Some(n) = limit {
        builder = builder.with_adapter(RowLimit::new(n));
    }
    let dr = builder.build()?;
    let (out, run) = dr.execute_recorded(
        &["aggregated_stats", "enriched_data"],
        inputs! {
            "spark_session" => spark,
            "data_csv" => std::path::absolute(&csv)?.to_string_lossy().into_owned(),
        },
        weft::Inputs::new(),
    )?;
    println!(
        "executed: {:?}\nfrom the cache: {:?}",
        run.executed, run.hits
    );
    println!(
        "{}",
        weft::spark::to_polars(out.get::<DataFrame>("aggregated_stats")?)?
    );
    let enriched = out.get::<DataFrame>("enriched_data")?;
    println!("{}", weft::spark::to_polars(&enriched.limit(5))?);
    Ok(())
}
