//! A data-frame pipeline over 1,000,000 generated orders (feature `polars`): load a CSV,
//! clean it, add features with a `with_columns` group of column nodes, and report revenue per
//! region and product. Caching is on: the big frames are stored as parquet files, which any
//! tool reads (`weft cache --cache-dir target/dataframe/cache show --path cleaned`); a second
//! run is answered from the cache.
//!
//! Run with `cargo run --release --example dataframe --features polars` (twice, to see the
//! second process hit everything).

use std::path::Path;
use std::time::Instant;

use weft::frames::polars::prelude::*;
use weft::prelude::*;
use weft::{CacheConfig, FileInput};

mod orders {
    use weft::frames::polars::prelude::*;
    use weft::prelude::*;
    use weft::FileInput;

    /// The orders, read from the CSV (its data version is the file's content).
    #[node(cache(format = "parquet"))]
    pub fn raw(data_file: &FileInput) -> Result<DataFrame, PolarsError> {
        CsvReadOptions::default()
            .with_has_header(true)
            .try_into_reader_with_file_path(Some(data_file.to_path_buf()))?
            .finish()
    }

    /// Orders with an amount and a positive quantity.
    #[node(cache(format = "parquet"))]
    pub fn cleaned(raw: &DataFrame) -> Result<DataFrame, PolarsError> {
        raw.clone()
            .lazy()
            .filter(col("amount").is_not_null().and(col("qty").gt(lit(0))))
            .collect()
    }

    /// Column nodes: each is one column of `featured`.
    pub mod features {
        use weft::frames::polars::prelude::*;

        /// Price of one unit (an expression: runs inside polars' plan).
        #[weft::column]
        pub fn unit_price(amount: Expr, qty: Expr) -> Expr {
            amount / qty.cast(DataType::Float64)
        }

        /// How unusual the amount is.
        #[weft::column]
        pub fn amount_z(amount: Expr) -> Expr {
            (amount.clone() - amount.clone().mean()) / amount.std(1)
        }

        /// Orders over a threshold (an input of the flow).
        #[weft::column]
        pub fn is_large(amount: Expr, large_order: &f64) -> Expr {
            amount.gt(lit(*large_order))
        }

        /// Days into the quarter: a Rust function over the whole column, mapped into the
        /// same plan.
        #[weft::column]
        pub fn day_of_quarter(day: Series) -> Result<Series, PolarsError> {
            let day = day.cast(&DataType::Int64)?;
            Ok(day.i64()?.apply_values(|d| d % 91).into_series())
        }
    }

    /// The cleaned orders with their features, in one `with_columns` call.
    #[node(
        with_columns(features, columns_to_pass = ["amount", "qty", "day"]),
        cache(format = "parquet")
    )]
    pub fn featured(cleaned: &DataFrame) -> DataFrame {
        cleaned.clone()
    }

    /// Revenue, average unit price and large orders per region and product.
    #[node]
    pub fn report(featured: &DataFrame) -> Result<DataFrame, PolarsError> {
        featured
            .clone()
            .lazy()
            .group_by([col("region"), col("product")])
            .agg([
                col("amount").sum().alias("revenue"),
                col("unit_price").mean().alias("avg_unit_price"),
                col("is_large").sum().alias("large_orders"),
                col("day_of_quarter").mean().alias("avg_day_of_quarter"),
            ])
            .sort(["region", "product"], Default::default())
            .collect()
    }
}

/// 1,000,000 orders, the same on every machine (a fixed linear congruential sequence).
fn generate(path: &Path, rows: usize) -> PolarsResult<()> {
    let mut state: u64 = 7;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 33
    };
    let regions = ["eu", "us", "apac", "latam", "mea"];
    let (mut region, mut product, mut amount, mut qty, mut day) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rows {
        region.push(regions[(next() % 5) as usize]);
        product.push(format!("p{:02}", next() % 20));
        let a = (next() % 40_000) as f64 / 100.0;
        amount.push((next() % 100 != 0).then_some(a));
        qty.push((next() % 11) as i64);
        day.push((next() % 365) as i64);
    }
    let mut df = df!(
        "id" => (0..rows as i64).collect::<Vec<_>>(),
        "region" => region,
        "product" => product,
        "amount" => amount,
        "qty" => qty,
        "day" => day,
    )?;
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    let tmp = path.with_extension("csv.tmp");
    CsvWriter::new(std::fs::File::create(&tmp)?).finish(&mut df)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let work = Path::new("target/dataframe");
    let csv = work.join("orders.csv");
    if !csv.is_file() {
        println!("generating 1,000,000 orders in {} ...", csv.display());
        generate(&csv, 1_000_000)?;
    }
    let cache_dir = work.join("cache");
    let dr = Builder::new()
        .with_modules(weft::modules![crate::orders])
        .with_cache_config(CacheConfig::at(&cache_dir))
        // A one-shot run: each frame is let go as soon as the last node reading it has run.
        .with_memory_budget(0)
        .build()?;
    let t = Instant::now();
    let out = dr.execute(
        &["report"],
        inputs! { "data_file" => FileInput::new(&csv), "large_order" => 300.0f64 },
    )?;
    let report = out.get::<DataFrame>("report")?;
    println!("{}", report.head(Some(5)));
    println!(
        "report: {} rows in {:.3} s",
        report.height(),
        t.elapsed().as_secs_f64()
    );
    let cache = dr.cache().expect("caching is on");
    for r in cache.records(None)? {
        println!("  {:<22} {}", r.node, r.status.as_str());
    }
    println!(
        "`cleaned` as a parquet file: {}",
        cache.result_path("cleaned", None)?.display()
    );
    Ok(())
}
