//! The persistent cache: the first run executes, a second driver (as a new process would)
//! hits everything, an edit to one input reruns only what depends on it, and `explain` says why.
//!
//! Run with `cargo run --example caching` (twice, to see the second process hit too).

use weft::cache::Status;
use weft::prelude::*;
use weft::CacheConfig;

mod pipeline {
    use weft::prelude::*;

    /// Raw rows, "loaded" from somewhere slow.
    #[node]
    pub fn raw_rows(n_rows: &u64) -> Vec<u64> {
        std::thread::sleep(std::time::Duration::from_millis(200));
        (0..*n_rows).collect()
    }

    /// Rows above a threshold.
    #[node]
    pub fn filtered(raw_rows: &[u64], threshold: &u64) -> Vec<u64> {
        raw_rows.iter().copied().filter(|x| x > threshold).collect()
    }

    /// Their sum: an expensive model, say.
    #[node]
    pub fn total(filtered: &[u64]) -> u64 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        filtered.iter().sum()
    }

    /// A random sample is never cached.
    #[node(cache = "disable")]
    pub fn sample_size(filtered: &[u64]) -> usize {
        filtered.len().min(3)
    }
}

fn build(dir: &std::path::Path) -> Result<Driver, weft::BuildError> {
    Builder::new()
        .with_modules(weft::modules![crate::pipeline])
        .with_cache_config(CacheConfig::at(dir))
        .build()
}

fn show(label: &str, dr: &Driver) -> Result<(), Box<dyn std::error::Error>> {
    let cache = dr.cache().ok_or("no cache")?;
    let records = cache.records(None)?;
    let line: Vec<String> = records
        .iter()
        .map(|r| format!("{}={}", r.node, r.status.as_str()))
        .collect();
    println!("{label:<28} {}", line.join("  "));
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join("weft-example-cache");
    let outputs = ["total", "sample_size"];
    let inputs = |threshold: u64| inputs! { "n_rows" => 1000u64, "threshold" => threshold };

    let dr = build(&dir)?;
    let t = std::time::Instant::now();
    let out = dr.execute(&outputs, inputs(10))?;
    println!("total = {} ({:?})", out.get::<u64>("total")?, t.elapsed());
    show("first run:", &dr)?;
    drop(dr);

    // A new driver is what a new process sees: everything comes from the cache, lazily.
    let dr = build(&dir)?;
    let t = std::time::Instant::now();
    let out = dr.execute(&outputs, inputs(10))?;
    println!("total = {} ({:?})", out.get::<u64>("total")?, t.elapsed());
    show("new driver, same inputs:", &dr)?;

    // Change one input: raw_rows still hits, filtered and total rerun.
    dr.execute(&outputs, inputs(500))?;
    show("threshold changed:", &dr)?;
    let cache = dr.cache().ok_or("no cache")?;
    println!("{}", cache.explain("total", None)?);

    let hits = cache
        .records(None)?
        .iter()
        .filter(|r| r.status == Status::Hit)
        .count();
    println!("hits in the last run: {hits}");
    let svg = std::env::temp_dir().join("weft-example-cache-run.svg");
    cache.view_run(None, &svg)?;
    println!("picture of the last run: {}", svg.display());
    Ok(())
}
