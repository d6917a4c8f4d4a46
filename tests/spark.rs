//! Spark DataFrames through a real Spark Connect server (feature `spark`, service
//! `tests/services/spark.sh`, address in `WEFT_TEST_SPARK_REMOTE`): the seed's flow on a
//! generated CSV, with_columns as Spark expressions, caching across two processes, the row
//! limit, persisting, and the errors (a bad column, a wrong input, no server).

mod spark_flow;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use weft::prelude::*;
use weft::spark::{DataFrame, RowLimit, SparkAdapter};
use weft::ExecuteError;

use spark_flow::{people, remote, write_people};

fn csv(test: &str, rows: usize) -> (PathBuf, String) {
    let dir = weft_tests::temp_dir("spark", test);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("people.csv");
    write_people(&path, rows);
    let s = path.to_string_lossy().into_owned();
    (dir, s)
}

/// The expected `aggregated_stats`: adults per country.
fn adults_per_country(rows: usize) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for (_, age, country, _) in people(rows) {
        if age > 18 {
            *m.entry(country.to_string()).or_insert(0) += 1;
        }
    }
    m
}

fn counts(df: &DataFrame) -> BTreeMap<String, i64> {
    let pl = weft::spark::to_polars(df).expect("collect");
    let countries = pl.column("country").unwrap().str().unwrap().clone();
    // The client names the count column `count(1)` (PySpark says `count`).
    let counts = pl.column("count(1)").unwrap().i64().unwrap().clone();
    countries
        .iter()
        .zip(counts.iter())
        .map(|(c, n)| (c.unwrap().to_string(), n.unwrap()))
        .collect()
}

fn seed_driver(adapters: Vec<std::sync::Arc<dyn weft::Adapter>>) -> Driver {
    let mut b = Builder::new().with_modules(weft::modules![crate::spark_flow::seed]);
    for a in adapters {
        b = b.with_adapter_arc(a);
    }
    b.build().expect("valid graph")
}

#[test]
fn the_seed_flow_runs_on_spark_and_collects_into_polars() {
    let (dir, path) = csv("seed", 300);
    let spark = weft::spark::connect(&remote()).expect("server");
    let at = dir.join("spark-cache");
    let dr = seed_driver(vec![std::sync::Arc::new(
        SparkAdapter::new().cache_at(at.to_string_lossy()),
    )]);
    let out = dr
        .execute(
            &["aggregated_stats", "filtered_data"],
            inputs! { "spark_session" => spark, "people_csv" => path },
        )
        .expect("runs");
    let stats = out.get::<DataFrame>("aggregated_stats").unwrap();
    assert_eq!(counts(stats), adults_per_country(300));
    // Only the tagged node was written by Spark, under the cache location.
    let written: Vec<String> = std::fs::read_dir(&at)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(written[0].starts_with("aggregated_stats-"), "{written:?}");
    assert!(at.join(&written[0]).join("_SUCCESS").exists());
    // The other frames stay plans: collecting one is the caller's action.
    let adults = weft::spark::to_polars(out.get::<DataFrame>("filtered_data").unwrap()).unwrap();
    assert_eq!(
        adults.height() as i64,
        adults_per_country(300).values().sum::<i64>()
    );
}

#[test]
fn a_frames_data_version_follows_its_plan_and_files_not_its_session() {
    let (dir, path) = csv("versions", 30);
    let a = weft::spark::connect(&remote()).expect("server");
    let b = weft::spark::connect(&remote()).expect("server");
    let read = |s: &weft::spark::SparkSession| spark_flow::seed::raw_data(s, &path);
    let v = |df: &DataFrame| weft::data_version_of(df);
    // Two sessions, the same plan over the same file: the same version.
    assert_eq!(v(&read(&a)), v(&read(&b)));
    // Another plan: another version.
    assert_ne!(v(&read(&a)), v(&spark_flow::seed::filtered_data(&read(&a))));
    // The file changed (size and time): another version.
    let before = v(&read(&a));
    write_people(Path::new(&path), 31);
    assert_ne!(before, v(&read(&a)));
    drop(dir);
}

/// The seed's `@with_columns` example, as Spark expressions.
mod map_transforms {
    use weft::prelude::*;
    use weft::spark::connect::functions::{avg, stddev, when};
    use weft::spark::connect::lit_string;
    use weft::spark::connect::window::Window;
    use weft::spark::{lit, Column};

    /// (amount - mean) / std, over the whole frame.
    #[node]
    pub fn normalized_amount(amount: Column) -> Column {
        let all = || Window::partition_by(vec![]);
        (amount.clone() - avg(amount.clone()).over(all())) / stddev(amount).over(all())
    }

    /// low / medium / high by the normalized amount.
    #[node]
    pub fn amount_category(normalized_amount: Column) -> Column {
        when(normalized_amount.clone().lt(lit(-1)), lit_string("low"))
            .when(normalized_amount.gt(lit(1)), lit_string("high"))
            .otherwise(lit_string("medium"))
    }
}

mod enriched {
    use weft::prelude::*;
    use weft::spark::DataFrame;

    #[node(with_columns(super::map_transforms, columns_to_pass = ["amount"]))]
    pub fn enriched_data(raw_data: DataFrame) -> DataFrame {
        raw_data
    }
}

#[test]
fn with_columns_compiles_column_nodes_into_one_with_columns() {
    let (_dir, path) = csv("with-columns", 90);
    let spark = weft::spark::connect(&remote()).expect("server");
    let dr = Builder::new()
        .with_modules(weft::modules![crate::spark_flow::seed, crate::enriched])
        .with_adapter(SparkAdapter::new())
        .build()
        .unwrap();
    let out = dr
        .execute(
            &["enriched_data"],
            inputs! { "spark_session" => spark, "people_csv" => path },
        )
        .unwrap();
    let df = weft::spark::to_polars(out.get::<DataFrame>("enriched_data").unwrap()).unwrap();
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    // The frame's columns, then the group's (in name order).
    assert_eq!(
        names,
        [
            "name",
            "age",
            "country",
            "amount",
            "amount_category",
            "normalized_amount"
        ]
    );
    // Compare with the same computation in Rust.
    let amounts: Vec<f64> = people(90).into_iter().map(|p| p.3).collect();
    let n = amounts.len() as f64;
    let mean = amounts.iter().sum::<f64>() / n;
    let std = (amounts.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let norm = df
        .column("normalized_amount")
        .unwrap()
        .f64()
        .unwrap()
        .clone();
    let cat = df.column("amount_category").unwrap().str().unwrap().clone();
    let got_amounts = df.column("amount").unwrap().f64().unwrap().clone();
    for ((a, z), c) in got_amounts.iter().zip(norm.iter()).zip(cat.iter()) {
        let want = (a.unwrap() - mean) / std;
        assert!((z.unwrap() - want).abs() < 1e-9);
        let want_cat = if want < -1.0 {
            "low"
        } else if want > 1.0 {
            "high"
        } else {
            "medium"
        };
        assert_eq!(c.unwrap(), want_cat);
    }
    // The group is nodes: the passed column, each column node, and the one with_columns; the
    // picture boxes them, and shows the Spark nodes with their types.
    let viz = dr.display_all();
    assert_eq!(viz.groups.len(), 1);
    let members: Vec<&str> = (viz.groups[0].1.iter())
        .map(|&i| viz.nodes[i].name.as_str())
        .collect();
    for node in [
        "amount",
        "normalized_amount",
        "amount_category",
        "enriched_data.with_columns",
    ] {
        assert!(members.contains(&node), "{node} in {members:?}");
    }
    let dot = viz.to_dot().unwrap();
    assert!(dot.contains("subgraph cluster_group0"), "{dot}");
    for shown in [
        "raw_data",
        "spark_session",
        "DataFrame",
        "SparkSession",
        "Column",
    ] {
        assert!(dot.contains(shown), "{shown} in {dot}");
    }
}

#[test]
fn the_row_limit_cuts_every_source_frame() {
    let (dir, path) = csv("limit", 300);
    let spark = weft::spark::connect(&remote()).expect("server");
    let dr = seed_driver(vec![
        std::sync::Arc::new(SparkAdapter::new().cache_at(dir.join("spark").to_string_lossy())),
        std::sync::Arc::new(RowLimit::new(20)),
    ]);
    let out = dr
        .execute(
            &["raw_data", "aggregated_stats"],
            inputs! { "spark_session" => spark, "people_csv" => path },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let raw = weft::spark::to_polars(out.get::<DataFrame>("raw_data").unwrap()).unwrap();
    assert_eq!(raw.height(), 20);
    // Downstream frames are computed from the cut source: 20 rows, one adult in 0..20.
    let total: i64 = counts(out.get::<DataFrame>("aggregated_stats").unwrap())
        .values()
        .sum();
    assert_eq!(total, 1);
}

mod shared {
    use weft::prelude::*;
    use weft::spark::{col, lit, DataFrame};

    #[node(tags(spark = "persist"))]
    pub fn adults(raw_data: &DataFrame) -> DataFrame {
        raw_data.filter(col("age").gt(lit(30)))
    }

    #[node]
    pub fn rich(adults: &DataFrame) -> DataFrame {
        adults.filter(col("amount").gt(lit(50)))
    }

    #[node]
    pub fn poor(adults: &DataFrame) -> DataFrame {
        adults.filter(col("amount").lt(lit(50)))
    }
}

#[test]
fn a_frame_tagged_persist_is_persisted_on_the_cluster() {
    let (_dir, path) = csv("persist", 60);
    let spark = weft::spark::connect(&remote()).expect("server");
    let dr = Builder::new()
        .with_modules(weft::modules![crate::spark_flow::seed, crate::shared])
        .with_adapter(SparkAdapter::new())
        .build()
        .unwrap();
    let out = dr
        .execute(
            &["rich", "poor", "adults", "filtered_data"],
            inputs! { "spark_session" => spark, "people_csv" => path },
        )
        .unwrap();
    assert!(out.get::<DataFrame>("adults").unwrap().is_cached().unwrap());
    assert!(!out
        .get::<DataFrame>("filtered_data")
        .unwrap()
        .is_cached()
        .unwrap());
    let rich = weft::spark::to_polars(out.get::<DataFrame>("rich").unwrap()).unwrap();
    let want = people(60).iter().filter(|p| p.1 > 30 && p.3 > 50.0).count();
    assert_eq!(rich.height(), want);
}

fn child(cache: &Path, spark_dir: &Path, csv: &str) -> (Vec<(String, String)>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_spark_child"))
        .args([cache.to_str().unwrap(), spark_dir.to_str().unwrap(), csv])
        .output()
        .expect("spark_child runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "spark_child failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut records = Vec::new();
    let mut tail = String::new();
    for line in stdout.lines() {
        let (a, b) = line.split_once(' ').unwrap();
        if a == "rows" || a == "total" {
            tail.push_str(line);
            tail.push('\n');
        } else {
            records.push((a.to_string(), b.to_string()));
        }
    }
    (records, tail)
}

fn warnings(records: &[(String, String)]) -> Vec<&str> {
    (records.iter())
        .filter(|(n, _)| n == "warning")
        .map(|(_, w)| w.as_str())
        .collect()
}

fn status<'a>(records: &'a [(String, String)], node: &str) -> &'a str {
    &records
        .iter()
        .find(|(n, _)| n == node)
        .unwrap_or_else(|| panic!("no record of {node}: {records:?}"))
        .1
}

#[test]
fn a_cached_spark_node_is_read_back_by_the_next_process() {
    let (dir, path) = csv("two-processes", 120);
    let (cache, spark_dir) = (dir.join("cache"), dir.join("spark"));
    let want = format!(
        "rows 3\ntotal {}\n",
        adults_per_country(120).values().sum::<i64>()
    );

    let (first, out1) = child(&cache, &spark_dir, &path);
    assert_eq!(status(&first, "aggregated_stats"), "executed", "{first:?}");
    assert_eq!(out1, want);
    // The untagged frames are plans: recorded as not stored, and nothing to warn about.
    assert_eq!(status(&first, "raw_data"), "uncached", "{first:?}");
    assert_eq!(warnings(&first), Vec::<&str>::new());
    // The stored form names the directory and the schema it is read back with (no job of
    // Spark's reads the footers for it).
    let stored: serde_json::Value = serde_json::from_str(status(&first, "stored")).unwrap();
    assert!(stored["dir"]
        .as_str()
        .unwrap()
        .starts_with(spark_dir.to_str().unwrap()));
    let schema = stored["schema"].as_str().expect("a schema");
    assert!(schema.contains(r#""name":"count(1)""#), "{schema}");
    assert!(schema.contains(r#""name":"country""#), "{schema}");

    // A new process, nothing changed: Spark's parquet is read back, the plan is not run, and
    // the directory checks out (its files are those the stored form names).
    let (second, out2) = child(&cache, &spark_dir, &path);
    assert_eq!(status(&second, "aggregated_stats"), "hit", "{second:?}");
    let about_stats = |records| -> Vec<&str> {
        let mut w = warnings(records);
        w.retain(|w| w.contains("aggregated_stats"));
        w
    };
    assert_eq!(about_stats(&second), Vec::<&str>::new());
    assert_eq!(warnings(&second), Vec::<&str>::new());
    assert_eq!(out2, want);

    // One of the files Spark wrote changed since: the stored frame is not the one its key
    // names any more. Said once, and the node is computed again.
    let part = std::fs::read_dir(&spark_dir)
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .expect("a parquet file Spark wrote");
    std::fs::File::options()
        .write(true)
        .open(&part)
        .unwrap()
        .set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(7))
        .unwrap();
    let (changed, out_changed) = child(&cache, &spark_dir, &path);
    let said = about_stats(&changed);
    assert!(
        said.len() == 1 && said[0].contains("aggregated_stats") && said[0].contains("recomputing"),
        "{changed:?}"
    );
    assert_eq!(out_changed, want);

    // The CSV changed: its size and time are in the source frame's version, so a miss.
    write_people(Path::new(&path), 150);
    let (third, out3) = child(&cache, &spark_dir, &path);
    assert_eq!(status(&third, "aggregated_stats"), "executed", "{third:?}");
    assert_eq!(
        out3,
        format!(
            "rows 3\ntotal {}\n",
            adults_per_country(150).values().sum::<i64>()
        )
    );
}

mod kept {
    use weft::prelude::*;
    use weft::spark::DataFrame;

    /// Every person, written by Spark for the cache.
    #[node(tags(spark = "cache"))]
    pub fn everyone(raw_data: &DataFrame) -> DataFrame {
        raw_data.clone()
    }
}

#[test]
fn a_small_cached_frame_comes_back_as_local_rows_and_a_large_one_as_a_scan() {
    let rows = weft::spark::LOCAL_ROWS + 500;
    let (dir, path) = csv("local-rows", rows);
    let spark = weft::spark::connect(&remote()).expect("server");
    let dr = Builder::new()
        .with_modules(weft::modules![crate::spark_flow::seed, crate::kept])
        .with_adapter(SparkAdapter::new().cache_at(dir.join("spark").to_string_lossy()))
        .build()
        .expect("valid graph");
    let out = dr
        .execute(
            &["aggregated_stats", "everyone"],
            inputs! { "spark_session" => spark.clone(), "people_csv" => path },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let files = |node: &str| {
        let df = out.get::<DataFrame>(node).unwrap();
        weft::spark::outside_runtime(|| df.input_files().map_err(|e| e.message()))
            .expect("the server answers")
    };
    // Three rows: Spark is handed them as local data, and scans no file to collect them.
    let stats = out.get::<DataFrame>("aggregated_stats").unwrap();
    assert_eq!(files("aggregated_stats"), Vec::<String>::new());
    // More rows than are kept local: read back by Spark from the directory it wrote.
    let everyone = weft::spark::to_polars(out.get::<DataFrame>("everyone").unwrap()).unwrap();
    assert_eq!(everyone.height(), rows);
    let scanned = files("everyone");
    assert!(
        !scanned.is_empty() && scanned.iter().all(|f| f.contains("/spark/everyone-")),
        "{scanned:?}"
    );

    // The small frame's rows as Spark collects them from the directory it wrote...
    let written = std::fs::read_dir(dir.join("spark"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("aggregated_stats-")
        })
        .expect("the directory Spark wrote");
    let by_spark =
        one_batch(weft::spark::to_arrow(&spark.read().parquet(written.to_str().unwrap())).unwrap());
    // ... are what collecting the frame read back gives with no server at all: the session is
    // released, so any request would fail.
    weft::spark::outside_runtime(|| spark.stop().map_err(|e| e.message()))
        .expect("the session is released");
    let local = one_batch(weft::spark::to_arrow(stats).expect("collected with no request"));
    assert_eq!(local.schema(), by_spark.schema());
    assert_eq!(sorted_by_country(&local), sorted_by_country(&by_spark));
    assert_eq!(counts(stats), adults_per_country(rows));
    // A plan over it is Spark's to run: it goes to the server, and fails there now.
    let over = stats.filter(weft::spark::col("count(1)").gt(weft::spark::lit(0)));
    assert!(weft::spark::to_arrow(&over).is_err());
}

fn one_batch(
    batches: Vec<weft::spark::arrow::record_batch::RecordBatch>,
) -> weft::spark::arrow::record_batch::RecordBatch {
    let schema = batches.first().expect("rows").schema();
    weft::spark::arrow::compute::concat_batches(&schema, &batches).unwrap()
}

fn sorted_by_country(b: &weft::spark::arrow::record_batch::RecordBatch) -> Vec<(String, String)> {
    use weft::spark::arrow::util::display::array_value_to_string;
    let mut rows: Vec<(String, String)> = (0..b.num_rows())
        .map(|i| {
            (
                array_value_to_string(b.column(0), i).unwrap(),
                array_value_to_string(b.column(1), i).unwrap(),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn a_frame_made_from_frames_is_versioned_by_its_code_and_its_inputs() {
    use weft::spark::{col, lit};
    use weft::{value_type, NodeSpec};
    let (dir, path) = csv("derived", 40);
    let spark = weft::spark::connect(&remote()).expect("server");
    // `adults` reads only a frame: its version is made from its code version and its input's
    // version, without asking the server; `raw_data` reads the session (a source): the
    // server's analysis of its plan and of the file it scans.
    let driver = |code: &str| {
        let adults = NodeSpec::builder("adults", value_type!(DataFrame))
            .param("raw_data", value_type!(DataFrame))
            .code_version(code)
            .sync(|a| {
                Ok(std::sync::Arc::new(
                    a.get::<DataFrame>(0)?.filter(col("age").gt(lit(18))),
                ))
            });
        Builder::new()
            .with_modules(weft::modules![crate::spark_flow::seed])
            .with_nodes(vec![adults])
            .with_adapter(SparkAdapter::new())
            .build()
            .expect("valid graph")
    };
    let versions = |dr: &Driver| {
        let out = dr
            .execute(
                &["raw_data", "adults"],
                inputs! { "spark_session" => spark.clone(), "people_csv" => path.clone() },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let adults = weft::spark::to_polars(out.get::<DataFrame>("adults").unwrap()).unwrap();
        assert!(adults.height() > 0);
        let v = |n: &str| out.value(n).unwrap().version();
        (v("raw_data"), v("adults"))
    };
    let (raw1, adults1) = versions(&driver("v1"));
    // The same code and the same input: the same version, from another driver.
    assert_eq!(versions(&driver("v1")), (raw1, adults1));
    // Another code version, the same plan: another version (the source's is the plan's).
    let (raw2, adults2) = versions(&driver("v2"));
    assert_eq!(raw2, raw1);
    assert_ne!(adults2, adults1);
    // The file changed: the source's version changes, and so does the frame made from it.
    write_people(Path::new(&path), 41);
    let (raw3, adults3) = versions(&driver("v1"));
    assert_ne!(raw3, raw1);
    assert_ne!(adults3, adults1);
    drop(dir);
}

#[path = "spark/errors.rs"]
mod errors;
