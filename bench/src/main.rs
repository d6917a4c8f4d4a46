//! `weft-bench CASE`: weft's side of `bench/compare.sh`. Prints one `key value` line per figure.

mod cluster;
#[cfg(feature = "polars")]
mod frames;
mod incremental;
mod parallel;
mod remote;
mod shapes;
#[cfg(feature = "spark")]
mod spark;
mod ui_cache;

use std::time::Instant;

use weft::{inputs, Builder};

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Builds a fresh driver `reps` times and times the build and the first (cold) execution.
/// Returns (median build ms, median execution µs per node).
fn measure(make: &dyn Fn() -> shapes::Shape, reps: usize) -> (f64, f64) {
    let mut builds = Vec::new();
    let mut execs = Vec::new();
    for _ in 0..reps {
        let shape = make();
        let n = shape.nodes.len() as f64;
        let outputs: Vec<&str> = shape.outputs.iter().map(String::as_str).collect();
        let t = Instant::now();
        let dr = Builder::new()
            .with_nodes(shape.nodes)
            .build()
            .expect("valid graph");
        builds.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let out = dr
            .execute(&outputs, inputs! { "seed" => 1u64 })
            .expect("runs");
        execs.push(t.elapsed().as_secs_f64() * 1e6 / n);
        assert!(out.get::<u64>(outputs[0]).is_ok());
        drop(dr);
    }
    (median(builds), median(execs))
}

fn overhead() {
    type MakeShape = Box<dyn Fn() -> shapes::Shape>;
    // (name, generator, repetitions, also run by Hamilton)
    let cases: Vec<(&str, MakeShape, usize, bool)> = vec![
        ("chain1000", Box::new(|| shapes::chain(1000)), 31, true),
        ("fanin1000", Box::new(|| shapes::fan_in(1000)), 31, true),
        ("grid10x100", Box::new(|| shapes::grid(10, 100)), 31, true),
        ("chain10000", Box::new(|| shapes::chain(10_000)), 9, false),
        ("fanin10000", Box::new(|| shapes::fan_in(10_000)), 9, false),
        ("chain100000", Box::new(|| shapes::chain(100_000)), 3, false),
    ];
    let mut common = Vec::new();
    for (name, make, reps, shared) in &cases {
        let (build_ms, us) = measure(make.as_ref(), *reps);
        println!("weft {name} exec_us_per_node {us:.3} build_ms {build_ms:.2}");
        if *shared {
            common.push(us);
        }
    }
    // Incremental: a long-lived driver; a no-op rerun and a one-input rerun of a 10k fan-in.
    let shape = shapes::fan_in(10_000);
    let dr = Builder::new()
        .with_nodes(shape.nodes)
        .build()
        .expect("valid graph");
    dr.execute(&["sink"], inputs! { "seed" => 1u64 })
        .expect("runs");
    let mut noop = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        dr.execute(&["sink"], inputs! { "seed" => 1u64 })
            .expect("runs");
        noop.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!("weft fanin10000 noop_rerun_ms {:.3}", median(noop));
    // The median of the three shapes Hamilton runs too (as on the Hamilton side).
    println!("weft overall_us_per_node {:.3}", median(common));
}

/// One whole run with the cache at `dir`: `weft-bench cache-run DIR|URL chain1000|fanin1000`
/// (a directory, or with feature `object-store` an object-store URL: `compare.sh team`).
/// Timed from outside, process start included. With `WEFT_BENCH_EXECUTE_US` set it also prints
/// the in-process time of the run as Hamilton's `execute` is timed: `execute`, reading every
/// requested output (a lazy cache hit loads here) and committing the run (`Cache::flush`: a run
/// of hits only is otherwise committed in the background after `execute` returns).
fn cache_run(dir: &str, shape: &str) {
    let t0 = Instant::now();
    let shape = match shape {
        "fanin1000" => shapes::fan_in(1000),
        // chain1000, chain50000, chain1000000, …
        other => match other.strip_prefix("chain").and_then(|n| n.parse().ok()) {
            Some(n) if n > 0 => shapes::chain(n),
            _ => {
                eprintln!("unknown shape {other} (chainN or fanin1000)");
                std::process::exit(2);
            }
        },
    };
    let outputs: Vec<&str> = shape.outputs.iter().map(String::as_str).collect();
    let t = Instant::now();
    let builder = Builder::new().with_nodes(shape.nodes);
    // `-`: the same run without a cache (the baseline of the cache's own cost).
    let builder = match dir {
        "-" => builder,
        dir => builder.with_cache_config(weft::CacheConfig::locate(dir).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(2)
        })),
    };
    let dr = builder.build().expect("valid graph");
    let built = t.elapsed();
    let out = dr
        .execute(&outputs, inputs! { "seed" => 1u64 })
        .expect("runs");
    let executed = t.elapsed();
    for name in &outputs {
        assert!(out.get::<u64>(name).is_ok(), "output {name} reads as a u64");
    }
    let read = t.elapsed();
    if let Some(cache) = dr.cache() {
        cache.flush();
    }
    let committed = t.elapsed();
    if std::env::var_os("WEFT_BENCH_EXECUTE_US").is_some() {
        // Execute, read the outputs, commit: what Hamilton's `execute` does before it returns.
        let nodes = dr.graph().nodes().len().saturating_sub(1).max(1);
        println!(
            "run_read_commit_us_per_node {:.3}",
            (committed - built).as_secs_f64() * 1e6 / nodes as f64
        );
    }
    drop(dr);
    // Values read lazily from the cache hold it open: the cache's writer finishes when the
    // last of them goes.
    drop(out);
    drop(outputs);
    if std::env::var_os("WEFT_BENCH_PHASES").is_some() {
        let wall = |d: std::time::Duration| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|n| (n - d).as_secs_f64())
                .unwrap_or(0.0)
        };
        eprintln!(
            "main_at {:.6} end_at {:.6}",
            wall(t0.elapsed()),
            wall(Default::default())
        );
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        eprintln!(
            "shape {:.2} ms, build {:.2} ms, execute {:.2} ms, read {:.2} ms, commit {:.2} ms, drop {:.2} ms",
            ms(t - t0),
            ms(built),
            ms(executed - built),
            ms(read - executed),
            ms(committed - read),
            ms(t.elapsed() - committed)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("overhead") => overhead(),
        Some("parallel") => parallel::run(),
        Some("incremental") => incremental::run(),
        Some("remote") => remote::run(),
        Some("cluster") if args.len() == 5 => cluster::run(&args[2], &args[3], &args[4]),
        Some(weft::remote::WORKER_ARG) if args.len() == 3 => remote::serve(&args[2]),
        Some("cache-run") if args.len() == 4 => cache_run(&args[2], &args[3]),
        Some("ui-cache") if args.len() == 3 => ui_cache::run(&args[2]),
        #[cfg(feature = "polars")]
        Some("frames-run") if args.len() == 4 => frames::run(&args[2], &args[3]),
        #[cfg(feature = "polars")]
        Some("frames-shared") if args.len() == 3 => frames::shared(&args[2]),
        #[cfg(feature = "spark")]
        Some("spark-run") if args.len() == 5 => spark::run(&args[2], &args[3], &args[4]),
        other => {
            eprintln!(
                "usage: weft-bench overhead | cache-run DIR|- SHAPE | ui-cache DIR (got {other:?})"
            );
            std::process::exit(2);
        }
    }
}
