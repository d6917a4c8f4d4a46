//! `weft-bench frames-run CSV DIR|-`: the data-frame pipeline of `bench/compare.sh frames`, the
//! same as `bench/hamilton_frames.py` runs: read a 1,000,000-row CSV, clean it, add features
//! with a `with_columns` group, and report per region and product. With DIR the cache is on
//! (frames stored as parquet); `-` runs uncached. Prints `seconds S` timed from building the
//! driver to having the report (and, cached, the run committed), as Hamilton's side is timed.
//!
//! `weft-bench frames-shared CSV`: how long storing the featured frame takes right after the
//! cleaned frame it shares six columns with was stored (their pages are encoded once), against
//! storing it first (every column encoded): medians of 15, in one process, encoded into
//! memory. The book's Data frames chapter quotes it.
//!
//! The flow is not `examples/dataframe`'s on purpose: it mirrors `bench/hamilton_frames.py` node
//! for node, so both sides do the same work; the example shows more of weft (a column node
//! reading an input, a `Series` column, parquet formats).

use std::time::Instant;

use weft::frames::polars::prelude::*;
use weft::{inputs, Builder, CacheConfig, FileInput};

mod flow {
    use weft::frames::polars::prelude::*;
    use weft::prelude::*;
    use weft::FileInput;

    /// The orders, read from the CSV.
    #[node]
    pub fn raw(data_file: &FileInput) -> Result<DataFrame, PolarsError> {
        CsvReadOptions::default()
            .with_has_header(true)
            .try_into_reader_with_file_path(Some(data_file.to_path_buf()))?
            .finish()
    }

    /// Orders with an amount and a positive quantity.
    #[node]
    pub fn cleaned(raw: &DataFrame) -> Result<DataFrame, PolarsError> {
        raw.clone()
            .lazy()
            .filter(col("amount").is_not_null().and(col("qty").gt(lit(0))))
            .collect()
    }

    pub mod features {
        use weft::frames::polars::prelude::*;

        #[weft::column]
        pub fn unit_price(amount: Expr, qty: Expr) -> Expr {
            amount / qty.cast(DataType::Float64)
        }

        #[weft::column]
        pub fn amount_z(amount: Expr) -> Expr {
            (amount.clone() - amount.clone().mean()) / amount.std(1)
        }

        #[weft::column]
        pub fn is_large(amount: Expr) -> Expr {
            amount.gt(lit(100.0))
        }
    }

    /// The cleaned orders with their features.
    #[node(with_columns(features, columns_to_pass = ["amount", "qty"]))]
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
                col("amount_z").max().alias("max_z"),
            ])
            .sort(["region", "product"], Default::default())
            .collect()
    }
}

pub fn run(csv: &str, dir: &str) {
    let t = Instant::now();
    let mut b = Builder::new().with_modules(weft::modules![self::flow]);
    if dir != "-" {
        b = b.with_cache_config(CacheConfig::at(dir));
    }
    let dr = b.build().expect("valid flow");
    let file = FileInput::new(csv);
    let out = dr
        .execute(&["report"], inputs! { "data_file" => file })
        .expect("the pipeline runs");
    let report = out.get::<DataFrame>("report").expect("a report");
    let rows = report.height();
    let secs = t.elapsed().as_secs_f64();
    drop(dr);
    println!("rows {rows}");
    println!("seconds {secs:.6}");
}

/// The cleaned frame and the featured one, as the flow above makes them: the featured frame's
/// first six columns are the cleaned frame's series.
fn cleaned_and_featured(raw: &DataFrame) -> (DataFrame, DataFrame) {
    let cleaned = (raw.clone().lazy())
        .filter(col("amount").is_not_null().and(col("qty").gt(lit(0))))
        .collect()
        .expect("cleaned");
    let amount = || col("amount");
    let featured = (cleaned.clone().lazy())
        .with_columns([
            (amount() / col("qty").cast(DataType::Float64)).alias("unit_price"),
            ((amount() - amount().mean()) / amount().std(1)).alias("amount_z"),
            amount().gt(lit(100.0)).alias("is_large"),
        ])
        .collect()
        .expect("featured");
    (cleaned, featured)
}

pub fn shared(csv: &str) {
    use weft::CacheFormats;
    let raw = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(csv.into()))
        .expect("the CSV opens")
        .finish()
        .expect("the CSV reads");
    // One buffer, its pages touched once: no write below pays for fresh memory.
    let mut sink = vec![0u8; 256 << 20];
    let mut time_write = |df: &DataFrame| {
        sink.clear();
        let t = Instant::now();
        df.encode_to("parquet", &mut sink).expect("encodes");
        t.elapsed().as_secs_f64()
    };
    let (mut after, mut alone) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        // Each pair new (new series, nothing remembered of them): stored first, the featured
        // frame encodes every column; after the cleaned one, only its own three.
        let (_, featured) = cleaned_and_featured(&raw);
        alone.push(time_write(&featured));
        let (cleaned, featured) = cleaned_and_featured(&raw);
        time_write(&cleaned);
        after.push(time_write(&featured));
    }
    let (after, alone) = (crate::median(after), crate::median(alone));
    println!("weft featured_after_cleaned_s {after:.4}");
    println!("weft featured_alone_s {alone:.4}");
    println!(
        "frames-shared: storing featured after cleaned {after:.4} s, alone {alone:.4} s ({:.0}% less)",
        100.0 * (1.0 - after / alone)
    );
}
