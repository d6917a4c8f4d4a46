//! Data frames as node values (feature `polars`): fingerprints from Arrow buffers, lazy frames
//! versioned by their plan, parquet and Arrow IPC cache formats as plain files any tool reads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use weft::frames::polars::prelude::*;
use weft::prelude::*;
use weft::{data_version_of, BuildError, CacheConfig};
use weft_tests::temp_dir;

fn sales() -> DataFrame {
    df!(
        "region" => ["eu", "us", "eu", "apac", "us", "eu"],
        "amount" => [Some(10.0f64), Some(20.0), None, Some(5.5), Some(7.0), Some(1.0)],
        "qty" => [1i64, 2, 3, 4, 5, 6],
        "ok" => [true, false, true, true, false, true],
    )
    .unwrap()
}

#[test]
fn chunk_layout_does_not_count_values_and_schema_do() {
    let whole = sales();
    // The same rows as three chunks.
    let mut chunked = whole.slice(0, 2);
    chunked.vstack_mut(&whole.slice(2, 3)).unwrap();
    chunked.vstack_mut(&whole.slice(5, 1)).unwrap();
    assert!(
        chunked.first_col_n_chunks() > 1,
        "the test needs several chunks"
    );
    assert_eq!(data_version_of(&whole), data_version_of(&chunked));
    assert_eq!(
        data_version_of(&whole),
        data_version_of(&{
            let mut c = chunked.clone();
            c.rechunk_mut();
            c
        })
    );

    // A value, a null, a name, an order, a dtype: each changes the version.
    let changed = |f: &dyn Fn(DataFrame) -> DataFrame| {
        assert_ne!(data_version_of(&whole), data_version_of(&f(whole.clone())));
    };
    changed(&|d| {
        d.lazy()
            .with_column(
                when(col("qty").eq(lit(4)))
                    .then(lit(40i64))
                    .otherwise(col("qty"))
                    .alias("qty"),
            )
            .collect()
            .unwrap()
    });
    changed(&|d| {
        d.lazy()
            .with_column(col("amount").fill_null(lit(0.0)))
            .collect()
            .unwrap()
    });
    changed(&|mut d| {
        d.rename("qty", "quantity".into()).unwrap();
        d
    });
    changed(&|d| d.select(["qty", "region", "amount", "ok"]).unwrap());
    changed(&|d| {
        d.lazy()
            .with_column(col("qty").cast(DataType::Int32))
            .collect()
            .unwrap()
    });
    changed(&|d| d.lazy().with_column(col("ok").not()).collect().unwrap());
    changed(&|d| {
        d.lazy()
            .with_column(
                when(col("region").eq(lit("us")))
                    .then(lit("usa"))
                    .otherwise(col("region"))
                    .alias("region"),
            )
            .collect()
            .unwrap()
    });
    // A series is versioned like a one-column frame's column.
    let s = whole
        .column("qty")
        .unwrap()
        .as_materialized_series()
        .clone();
    assert_eq!(data_version_of(&s), data_version_of(&s.rechunk()));
    assert_ne!(data_version_of(&s), data_version_of(&(&s + 1)));
}

#[test]
fn a_lazy_frame_is_versioned_by_its_plan_and_inputs_without_collecting() {
    let dir = temp_dir("frames", "lazy");
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("sales.csv");
    std::fs::write(&csv, "region,qty\neu,1\nus,2\n").unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let plan = |path: &std::path::Path| {
        let calls = calls.clone();
        LazyCsvReader::new(PlRefPath::try_from_path(path).unwrap())
            .finish()
            .unwrap()
            .with_column(col("qty").map(
                move |c| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok(c)
                },
                |_, f| Ok(f.clone()),
            ))
    };
    let a = data_version_of(&plan(&csv));
    assert_eq!(a, data_version_of(&plan(&csv)), "same plan, same file");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "fingerprinting collected the plan"
    );
    // Another plan over the same file.
    let other = plan(&csv).filter(col("qty").gt(lit(1)));
    assert_ne!(a, data_version_of(&other));
    // The same plan over changed contents.
    std::fs::write(&csv, "region,qty\neu,1\nus,3\n").unwrap();
    assert_ne!(a, data_version_of(&plan(&csv)));
    // An in-memory frame's values count.
    let one = df!("x" => [1i64, 2])
        .unwrap()
        .lazy()
        .select([col("x") * lit(2)]);
    let two = df!("x" => [1i64, 3])
        .unwrap()
        .lazy()
        .select([col("x") * lit(2)]);
    assert_ne!(data_version_of(&one), data_version_of(&two));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let _ = std::fs::remove_dir_all(dir);
}

mod flow {
    use weft::frames::polars::prelude::*;
    use weft::prelude::*;

    /// The raw frame, from an input.
    #[node]
    pub fn eu(raw: &DataFrame) -> LazyFrame {
        raw.clone().lazy().filter(col("region").eq(lit("eu")))
    }

    /// Stored as parquet (the frames' own default format).
    #[node]
    pub fn eu_frame(eu: &LazyFrame) -> Result<DataFrame, PolarsError> {
        eu.clone().collect()
    }

    /// Stored as Arrow IPC.
    #[node(cache(format = "ipc"))]
    pub fn totals(eu_frame: &DataFrame) -> Result<DataFrame, PolarsError> {
        eu_frame
            .clone()
            .lazy()
            .group_by([col("region")])
            .agg([col("qty").sum()])
            .collect()
    }

    #[node]
    pub fn qty(eu_frame: &DataFrame) -> Result<Series, PolarsError> {
        Ok(eu_frame.column("qty")?.as_materialized_series().clone())
    }
}

fn read_parquet(path: &std::path::Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap()
}

#[test]
fn frames_are_cached_as_parquet_and_ipc_files_any_tool_reads() {
    let dir = temp_dir("frames", "formats");
    let build = || {
        Builder::new()
            .with_modules(weft::modules![crate::flow])
            .with_cache_config(CacheConfig::at(&dir))
            .build()
            .unwrap()
    };
    let want = ["eu_frame", "totals", "qty"];
    let dr = build();
    let out = dr.execute(&want, inputs! { "raw" => sales() }).unwrap();
    let eu_frame = out.get::<DataFrame>("eu_frame").unwrap().clone();
    assert_eq!(eu_frame.height(), 3);
    drop(dr);

    let cache = weft::Cache::open(&dir).unwrap();
    let parquet = cache.result_path("eu_frame", None).unwrap();
    assert_eq!(parquet.extension().unwrap(), "parquet");
    assert!(read_parquet(&parquet).equals_missing(&eu_frame));
    let ipc = cache.result_path("totals", None).unwrap();
    assert_eq!(ipc.extension().unwrap(), "arrow");
    let back = IpcReader::new(std::fs::File::open(&ipc).unwrap())
        .finish()
        .unwrap();
    assert_eq!(back.column("qty").unwrap().i64().unwrap().get(0), Some(10));
    // A lazy frame is never stored (weft does not collect it).
    assert!(cache.result_path("eu", None).is_err());

    // A new driver: every stored frame is read back and checked.
    let dr = build();
    let out = dr.execute(&want, inputs! { "raw" => sales() }).unwrap();
    assert!(out
        .get::<DataFrame>("eu_frame")
        .unwrap()
        .equals_missing(&eu_frame));
    let record = dr.cache().unwrap().records(None).unwrap();
    let status = |n: &str| {
        record
            .iter()
            .find(|r| r.node == n)
            .map(|r| r.status.as_str().to_string())
    };
    assert_eq!(status("eu_frame").as_deref(), Some("hit"));
    assert_eq!(status("totals").as_deref(), Some("hit"));
    drop(dr);

    // A damaged file is not returned: the value is recomputed (and stored again).
    std::fs::write(&parquet, b"PAR1 not really").unwrap();
    let dr = build();
    let out = dr
        .execute(&["eu_frame"], inputs! { "raw" => sales() })
        .unwrap();
    assert!(out
        .get::<DataFrame>("eu_frame")
        .unwrap()
        .equals_missing(&eu_frame));
    drop(dr);
    let cache = weft::Cache::open(&dir).unwrap();
    assert!(read_parquet(&cache.result_path("eu_frame", None).unwrap()).equals_missing(&eu_frame));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_driver_sets_the_format_of_a_type() {
    let dir = temp_dir("frames", "per-type");
    let dr = Builder::new()
        .with_modules(weft::modules![crate::flow])
        .with_cache_config(
            CacheConfig::at(&dir)
                .format("json")
                .format_for::<DataFrame>("ipc"),
        )
        .build()
        .unwrap();
    dr.execute(&["eu_frame", "totals"], inputs! { "raw" => sales() })
        .unwrap();
    drop(dr);
    let cache = weft::Cache::open(&dir).unwrap();
    let p = cache.result_path("eu_frame", None).unwrap();
    assert_eq!(p.extension().unwrap(), "arrow");
    let _ = std::fs::remove_dir_all(dir);
}

mod misfit {
    use weft::frames::polars::prelude::*;
    use weft::prelude::*;

    #[node(cache(format = "parquet"))]
    pub fn counts() -> Vec<u64> {
        vec![1, 2]
    }

    #[node(cache(format = "json"))]
    pub fn frame() -> DataFrame {
        DataFrame::empty()
    }
}

fn build_error(b: Builder) -> BuildError {
    match b.build() {
        Ok(_) => panic!("the build should fail"),
        Err(e) => e,
    }
}

#[test]
fn a_format_that_does_not_fit_the_type_is_a_build_error_naming_both() {
    let e = build_error(Builder::new().with_modules(weft::modules![crate::misfit])).to_string();
    assert!(
        e.contains("`counts`") && e.contains("`parquet`") && e.contains("Vec<u64>"),
        "{e}"
    );
    assert!(
        e.contains("`frame`") && e.contains("`json`") && e.contains("DataFrame"),
        "{e}"
    );
    assert!(e.contains("parquet or ipc"), "{e}");
    let e = build_error(
        Builder::new()
            .with_modules(weft::modules![crate::flow])
            .with_cache_config(
                CacheConfig::at(temp_dir("frames", "misfit")).format_for::<DataFrame>("parket"),
            ),
    )
    .to_string();
    assert!(
        e.contains("`parket`") && e.contains("did you mean `parquet`"),
        "{e}"
    );
}

/// Two frames over the encoders' 1 MiB threshold, the second made from the first.
mod big {
    use weft::frames::polars::prelude::*;

    #[weft::node]
    pub fn first(seed: &i64) -> DataFrame {
        let x: Vec<i64> = (0..300_000).map(|i| i + seed).collect();
        df!("x" => x).unwrap()
    }

    #[weft::node]
    pub fn second(first: &DataFrame) -> Result<DataFrame, PolarsError> {
        first
            .clone()
            .lazy()
            .with_columns([col("x") * lit(2)])
            .collect()
    }
}

/// A program may run its drivers on rayon's global pool. weft's frame work (fingerprints,
/// encoders) must not need that pool: with every one of its threads running a driver that
/// waits for it — for a frame's version, or for its frames to be stored (the backlog at 0:
/// each frame waits for the one before) — it would wait for ever. Both executors: a
/// multi-threaded one hashes frames on its own threads, the sequential one on the caller's.
#[test]
fn frames_are_stored_while_every_thread_of_rayons_global_pool_runs_a_driver() {
    let dir = temp_dir("frames", "rayon-global-pool");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let stored: Vec<Result<bool, String>> = rayon::broadcast(|ctx| {
            let cache = dir.join(format!("cache-{}", ctx.index()));
            let cfg = CacheConfig::at(&cache).store_backlog(0);
            let mut b = Builder::new()
                .with_modules(weft::modules![crate::big])
                .with_cache_config(cfg);
            if ctx.index() % 2 == 0 {
                b = b.with_local_executor(weft::executors::MultiThreading::new(2));
            }
            let dr = b.build().map_err(|e| e.to_string())?;
            dr.execute(&["second"], inputs! { "seed" => ctx.index() as i64 })
                .map_err(|e| e.to_string())?;
            let file = dr.cache().unwrap().result_path("second", None);
            Ok(file.is_ok_and(|f| f.extension().is_some_and(|e| e == "parquet") && f.is_file()))
        });
        let _ = tx.send(stored);
    });
    let stored = rx
        .recv_timeout(std::time::Duration::from_secs(300))
        .expect("the runs end: the frames' encoders do not wait for the threads the runs hold");
    for (thread, outcome) in stored.into_iter().enumerate() {
        assert_eq!(outcome, Ok(true), "the driver on rayon thread {thread}");
    }
}

mod quality {
    use weft::frames::polars::prelude::*;
    use weft::prelude::*;

    /// Every value of every column within [0, 1000], no NaN or null: a warning when not.
    #[node(check_output(range = (0, 1000), allow_nans = false))]
    pub fn amounts(raw: &DataFrame) -> Result<DataFrame, PolarsError> {
        raw.select(["amount", "qty"])
    }

    /// Every column a float.
    #[node(check_output(data_type = "f64", importance = "fail"))]
    pub fn floats(raw: &DataFrame) -> Result<DataFrame, PolarsError> {
        raw.select(["amount", "qty"])
    }

    /// A check that cannot look at strings: it fails, naming the column.
    #[node(check_output(range = (0, 1), importance = "fail"))]
    pub fn regions(raw: &DataFrame) -> Result<DataFrame, PolarsError> {
        raw.select(["region", "amount"])
    }

    /// Hamilton's other validators on a series: its values from a set, at most a third of
    /// them missing, a mean and a spread within bounds.
    #[node(check_output(values_in = ["eu", "us"], importance = "fail"))]
    pub fn region(raw: &DataFrame) -> Result<Series, PolarsError> {
        Ok(raw.column("region")?.as_materialized_series().clone())
    }

    #[node(check_output(
        max_fraction_nans = 0.34,
        mean_in_range = (0, 100),
        max_standard_dev = 50,
        importance = "fail"
    ))]
    pub fn amount(raw: &DataFrame) -> Result<Series, PolarsError> {
        Ok(raw.column("amount")?.as_materialized_series().clone())
    }
}

#[test]
fn check_output_looks_at_every_number_of_a_frame_and_names_what_is_not_one() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::quality])
        .build()
        .unwrap();
    let raw = df!(
        "region" => ["eu", "us", "eu"],
        "amount" => [Some(10.0f64), None, Some(2500.0)],
        "qty" => [1i64, 2, 3],
    )
    .unwrap();
    let out = dr
        .execute(
            &["amounts", "amounts_check"],
            inputs! { "raw" => raw.clone() },
        )
        .unwrap();
    // A warning: the frame is passed on, the report says what failed (`range` skips the null).
    assert_eq!(out.get::<DataFrame>("amounts").unwrap().height(), 3);
    let report = out.get::<weft::CheckReport>("amounts_check").unwrap();
    assert!(!report.passed());
    assert_eq!(
        report.results[0].message,
        "1 of 5 outside [0, 1000] (first: 2500)"
    );
    // A null is a missing value, as NaN is in pandas: `allow_nans = false` counts it.
    assert_eq!(report.results[1].message, "1 of 6 are NaN or null (1 null)");
    assert!(!report.results[1].passed);

    let err = dr
        .execute(&["regions"], inputs! { "raw" => raw.clone() })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "`regions` failed its checks: range: columns `region` (str) do not hold numbers"
        ),
        "{err}"
    );

    let err = dr
        .execute(&["floats"], inputs! { "raw" => raw.clone() })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`floats` failed its checks: data_type: `qty` is `i64`, not `f64`"),
        "{err}"
    );
    let as_floats = raw
        .lazy()
        .with_column(col("qty").cast(DataType::Float64))
        .collect()
        .unwrap();
    let out = dr
        .execute(&["floats"], inputs! { "raw" => as_floats })
        .unwrap();
    assert_eq!(out.get::<DataFrame>("floats").unwrap().width(), 2);
}

#[test]
fn values_in_and_the_statistics_validators_check_a_series_through_a_run() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::quality])
        .build()
        .unwrap();
    let raw = df!(
        "region" => [Some("eu"), None, Some("us")],
        "amount" => [Some(10.0f64), None, Some(30.0)],
    )
    .unwrap();
    let out = dr
        .execute(&["region", "amount"], inputs! { "raw" => raw })
        .unwrap();
    assert_eq!(out.get::<Series>("region").unwrap().len(), 3);
    assert_eq!(out.get::<Series>("amount").unwrap().len(), 3);

    let raw = df!(
        "region" => ["eu", "apac", "mea", "apac"],
        "amount" => [Some(10.0f64), None, None, Some(300.0)],
    )
    .unwrap();
    let err = dr
        .execute(&["region"], inputs! { "raw" => raw.clone() })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "`region` failed its checks: values_in: 3 of 4 not in [\"eu\", \"us\"] \
             (\"apac\" ×2, \"mea\" ×1)"
        ),
        "{err}"
    );
    let err = dr
        .execute(&["amount"], inputs! { "raw" => raw })
        .unwrap_err()
        .to_string();
    for part in [
        "max_fraction_nans: 2 of 4 are NaN or null (2 null) (50.00%), more than 34.00%",
        "mean_in_range: the mean of 2 is 155, outside [0, 100]",
        "max_standard_dev: the standard deviation of 2 is 205.061, more than 50",
    ] {
        assert!(err.contains(part), "{err} does not say {part}");
    }
}

mod column_checks {
    use weft::frames::polars::prelude::*;
    use weft::prelude::*;

    /// Each extracted column its own check (Hamilton's `target_`); `qty` is not checked.
    #[node(
        extract_columns("region", "amount", "qty"),
        check_output(values_in = ["eu", "us"], target = "region", importance = "fail"),
        check_output(range = (0, 1000), allow_nans = false, target = "amount")
    )]
    pub fn orders(raw: &DataFrame) -> DataFrame {
        raw.clone()
    }
}

#[test]
fn check_output_targets_extracted_columns_one_check_each() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::column_checks])
        .build()
        .unwrap();
    let raw = df!(
        "region" => ["eu", "apac"],
        "amount" => [Some(10.0f64), None],
        "qty" => [1i64, 2],
    )
    .unwrap();
    let out = dr
        .execute(
            &["amount", "amount_check", "qty"],
            inputs! { "raw" => raw.clone() },
        )
        .unwrap();
    assert_eq!(out.get::<Series>("amount").unwrap().len(), 2);
    let report = out.get::<weft::CheckReport>("amount_check").unwrap();
    assert_eq!(report.node, "amount");
    assert_eq!(report.results[1].message, "1 of 2 are NaN or null (1 null)");
    let err = dr
        .execute(&["region"], inputs! { "raw" => raw })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "`region` failed its checks: values_in: 1 of 2 not in [\"eu\", \"us\"] (\"apac\" ×1)"
        ),
        "{err}"
    );
    let err = dr
        .execute(&["qty_check"], inputs! {})
        .unwrap_err()
        .to_string();
    // `qty` is extracted unchecked: it has no check node.
    assert!(err.contains("unknown output: `qty_check`"), "{err}");
}
