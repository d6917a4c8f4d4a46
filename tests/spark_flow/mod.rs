//! The seed's Spark flow and its with_columns example, shared by the spark suite
//! (`tests/spark.rs`) and its child process (`tests/bin/spark_child.rs`).

use std::path::Path;

/// The Spark Connect server the tests use: `WEFT_TEST_SPARK_REMOTE`, set by
/// `tests/services/spark.sh start` (which `tests/run.sh` runs). Unset is a failure, never a skip.
pub fn remote() -> String {
    std::env::var("WEFT_TEST_SPARK_REMOTE").unwrap_or_else(|_| {
        panic!(
            "WEFT_TEST_SPARK_REMOTE is not set: the Spark tests need a Spark Connect server; run \
             `bash tests/run.sh`, or `bash tests/services/spark.sh install && bash \
             tests/services/spark.sh start` and source $WEFT_SERVICES/spark.env"
        )
    })
}

/// Writes the people CSV (`name,age,country,amount`, `rows` rows) to `path`.
pub fn write_people(path: &Path, rows: usize) {
    let mut text = String::from("name,age,country,amount\n");
    for (name, age, country, amount) in people(rows) {
        text.push_str(&format!("{name},{age},{country},{amount}\n"));
    }
    std::fs::write(path, text).expect("write the CSV");
}

/// The rows of the people CSV.
pub fn people(rows: usize) -> Vec<(String, i32, &'static str, f64)> {
    (0..rows)
        .map(|i| {
            let country = ["de", "fr", "us"][i % 3];
            (
                format!("p{i}"),
                (i % 50) as i32,
                country,
                ((i * 7) % 100) as f64,
            )
        })
        .collect()
}

/// The schema the flow reads the CSV with (no schema inference: reading stays lazy).
pub const SCHEMA: &str = "name STRING, age INT, country STRING, amount DOUBLE";

/// The seed's flow: `raw_data(spark_session) -> filtered_data -> aggregated_stats`.
pub mod seed {
    use weft::prelude::*;
    use weft::spark::{col, lit, DataFrame, SparkSession};

    /// Load the people into Spark.
    #[node]
    pub fn raw_data(spark_session: &SparkSession, people_csv: &str) -> DataFrame {
        spark_session
            .read()
            .option("header", "true")
            .schema(super::SCHEMA.to_string())
            .csv(people_csv)
    }

    /// Adults only.
    #[node]
    pub fn filtered_data(raw_data: &DataFrame) -> DataFrame {
        raw_data.filter(col("age").gt(lit(18)))
    }

    /// People per country; written out by Spark and cached across runs.
    #[node(tags(spark = "cache"))]
    pub fn aggregated_stats(filtered_data: &DataFrame) -> DataFrame {
        filtered_data.group_by(["country"]).count()
    }
}
