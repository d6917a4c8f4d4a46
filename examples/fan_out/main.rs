//! Dynamic fan-out: list the files of a directory, measure each one in parallel, collect.
//! Add a file and only its item runs.
//!
//! Run with `cargo run --example fan_out`.

use std::path::PathBuf;

use weft::executors::MultiThreading;
use weft::prelude::*;

mod files {
    use std::path::{Path, PathBuf};
    use weft::prelude::*;

    /// Fan out: one item per file, in name order. The directory's listing is not an input
    /// weft can see change, so this node always re-lists it (`recompute`); its items are
    /// compared with the last run's, and only new or changed items run downstream.
    #[node(cache = "recompute")]
    pub fn files(dir: &PathBuf) -> Result<Parallel<PathBuf>, std::io::Error> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        paths.sort();
        Ok(paths.into_iter().collect())
    }

    /// Runs once per file.
    #[node]
    pub fn size(files: &Path) -> Result<u64, std::io::Error> {
        std::thread::sleep(std::time::Duration::from_millis(20)); // a slow stat, say
        Ok(std::fs::metadata(files)?.len())
    }

    /// Also once per file: a line of the report.
    #[node]
    pub fn line(files: &Path, size: &u64) -> String {
        let name = files
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        format!("{name:>10} {size:>6} bytes")
    }

    /// Fan in, in item order.
    #[node]
    pub fn total(size: Collect<u64>) -> u64 {
        size.iter().sum()
    }

    /// A second collect of the same fan-out.
    #[node]
    pub fn report(line: Collect<String>, total: &u64) -> String {
        let mut out = line.to_vec().join("\n");
        out.push_str(&format!("\n{:>10} {total:>6} bytes", "total"));
        out
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("weft-fan-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for i in 0..12 {
        std::fs::write(
            dir.join(format!("file{i:02}.txt")),
            "x".repeat(100 * (i + 1)),
        )?;
    }
    let dr = Builder::new()
        .with_modules(weft::modules![crate::files])
        .with_local_executor(MultiThreading::new(4))
        .build()?;
    let inputs = || inputs! { "dir" => PathBuf::from(&dir) };

    let t = std::time::Instant::now();
    let (out, run) = dr.execute_recorded(&["report"], inputs(), Inputs::new())?;
    println!("{}", out.get::<String>("report")?);
    println!(
        "first run: {:?} for 12 files x 20 ms on 4 threads; ran {:?}",
        t.elapsed(),
        run.executed
    );

    // A new file: one more item; only its nodes run, the other twelve are remembered.
    std::fs::write(dir.join("file12.txt"), "z".repeat(50))?;
    let t = std::time::Instant::now();
    let out = dr.execute(&["total"], inputs())?;
    println!(
        "after adding file12: total {} bytes in {:?} (one 20 ms item, not thirteen)",
        out.get::<u64>("total")?,
        t.elapsed()
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
