//! Watch mode: rerun a flow whenever the file it reads changes.
//!
//! ```sh
//! cargo run --example watch                 # a scripted tour: edits a file for you, then stops
//! cargo run --example watch -- sales.csv    # watches your file until Ctrl-C (-v: per node)
//! ```
//!
//! The tour saves the file the ways editors do (atomic rename, plain write, a save without
//! changes), deletes it and brings it back, and prints what each save made run, and why.

use std::path::{Path, PathBuf};
use std::sync::mpsc::channel;
use std::time::Duration;

use weft::files::FileError;
use weft::prelude::*;
use weft::watch::Update;
use weft::{FileInput, Watcher};

/// `region,amount` rows (header skipped).
#[node]
pub fn sales(data_path: &FileInput) -> Result<Vec<(String, f64)>, FileError> {
    Ok(data_path
        .read_to_string()?
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (region, amount) = line.split_once(',')?;
            Some((region.trim().to_string(), amount.trim().parse().ok()?))
        })
        .collect())
}

/// All sales.
#[node]
pub fn total(sales: &[(String, f64)]) -> f64 {
    sales.iter().map(|(_, amount)| amount).sum()
}

/// The number of regions.
#[node]
pub fn regions(sales: &[(String, f64)]) -> usize {
    let mut names: Vec<&str> = sales.iter().map(|(r, _)| r.as_str()).collect();
    names.sort();
    names.dedup();
    names.len()
}

/// A line for a dashboard; `currency` does not come from the file.
#[node]
pub fn headline(total: &f64, regions: &usize, currency: &str) -> String {
    format!("{total:.2} {currency} over {regions} regions")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "-v" || a == "--verbose");
    let file = args.iter().find(|a| !a.starts_with('-')).map(PathBuf::from);
    let dr = Builder::new().with_modules(weft::modules![crate]).build()?;
    match file {
        Some(path) => watch_forever(&dr, &path, verbose),
        None => tour(&dr),
    }
}

fn inputs(path: &Path) -> Inputs {
    inputs! { "data_path" => FileInput::new(path), "currency" => "EUR" }
}

/// Watches the user's file until the process is stopped.
fn watch_forever(
    dr: &Driver,
    path: &Path,
    verbose: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    Watcher::new(dr, &["headline"], inputs(path)).run(|update| {
        if verbose {
            println!("{update:#}");
        } else {
            println!("{update}");
        }
        if let Some(out) = update.outputs() {
            if let Ok(line) = out.get::<String>("headline") {
                println!("  => {line}");
            }
        }
    })?;
    Ok(())
}

/// Edits a file in a temporary directory while a watcher runs, printing every update.
fn tour(dr: &Driver) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("weft-watch-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let data = dir.join("sales.csv");
    std::fs::write(&data, "region,amount\nEU,10\nUS,5\n")?;

    let watcher = Watcher::new(dr, &["headline"], inputs(&data));
    let stop = watcher.stop_handle();
    let (tx, updates) = channel::<Update>();
    std::thread::scope(|s| -> Result<(), Box<dyn std::error::Error>> {
        let running = s.spawn(move || {
            watcher.run(|update| {
                println!("{update:#}");
                if let Some(line) = update
                    .outputs()
                    .and_then(|o| o.get::<String>("headline").ok())
                {
                    println!("  => {line}");
                }
                let _ = tx.send(update.clone());
            })
        });
        // Waits for the watcher to react to the last edit (a run, or "unchanged").
        let settle = || loop {
            match updates.recv_timeout(Duration::from_secs(30)) {
                Ok(Update::Ran { .. } | Update::Unchanged(_)) => break,
                Ok(_) => continue,
                Err(_) => {
                    eprintln!("no update from the watcher in 30 s");
                    break;
                }
            }
        };
        settle(); // the first run

        println!("\n# an editor's atomic save: write a temporary file, rename it over");
        let tmp = dir.join(".sales.csv.tmp");
        std::fs::write(&tmp, "region,amount\nEU,10\nUS,5\nJP,7\n")?;
        std::fs::rename(&tmp, &data)?;
        settle();

        println!("\n# saved without changes: nothing runs");
        std::fs::write(&data, "region,amount\nEU,10\nUS,5\nJP,7\n")?;
        settle();

        println!("\n# the file disappears: the error names it, the watcher keeps going");
        std::fs::remove_file(&data)?;
        settle();

        println!("\n# it comes back");
        std::fs::write(&data, "region,amount\nEU,12\n")?;
        settle();

        stop.stop();
        running.join().expect("the watcher thread")?;
        Ok(())
    })?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
