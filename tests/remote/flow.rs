//! The flow of the remote suite (`tests/remote.rs`), compiled into the test and into the worker
//! binary `remote_flow` (`tests/bin/remote_flow.rs`), so both have the same nodes and code
//! versions. Nodes that wait or count attempts coordinate with the test through files in the
//! directory given as input `dir`.

use std::path::Path;

use weft::prelude::*;

/// Waits (bounded) until `path` exists.
fn wait_for(path: &Path) {
    let start = std::time::Instant::now();
    while !path.exists() && start.elapsed() < std::time::Duration::from_secs(120) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[node]
pub fn doubled(x: &u64) -> u64 {
    x * 2
}

#[node]
pub fn squared(x: &u64) -> u64 {
    x * x
}

#[node]
pub fn total(doubled: &u64, squared: &u64, bonus: Option<&u64>) -> u64 {
    doubled + squared + bonus.copied().unwrap_or(0)
}

#[node]
pub fn label(total: &u64, prefix: &String) -> String {
    format!("{prefix}{total}")
}

/// A fan-out: one item per number up to `x`.
#[node]
pub fn numbers(x: &u64) -> Parallel<u64> {
    Parallel::new(1..=*x)
}

/// Per item.
#[node]
pub fn cubed(numbers: &u64) -> u64 {
    numbers * numbers * numbers
}

/// The items collected.
#[node]
pub fn cubes_sum(cubed: Collect<u64>) -> u64 {
    cubed.iter().sum()
}

/// A chain of three nodes in one task group.
#[node(task = "chain")]
pub fn step_one(x: &u64) -> u64 {
    x + 1
}

#[node(task = "chain")]
pub fn step_two(step_one: &u64) -> u64 {
    step_one * 10
}

#[node(task = "chain", resources(cpus = 2, memory = "1GB", custom(ssd = 1)))]
pub fn step_three(step_two: &u64) -> u64 {
    step_two + 7
}

/// Fails with its own error chain.
#[node]
pub fn refused(x: &u64) -> Result<u64, std::io::Error> {
    Err(std::io::Error::other(format!("no thanks for {x}")))
}

/// Panics.
#[node]
pub fn panicky(x: &u64) -> u64 {
    if *x > 0 {
        panic!("boom at {x}");
    }
    0
}

/// Kills its process.
#[node]
pub fn aborts(x: &u64) -> u64 {
    if *x > 0 {
        std::process::abort();
    }
    0
}

/// Exhausts memory: an allocation no machine can give aborts the process.
#[node]
pub fn hog(x: &u64) -> usize {
    let v: Vec<u8> = Vec::with_capacity((1usize << 62) + *x as usize);
    v.capacity()
}

/// Depends on a node that crashes its worker.
#[node]
pub fn after_abort(aborts: &u64) -> u64 {
    aborts + 1
}

/// Fails on its first two attempts (counted in files under `dir`), then succeeds.
#[node(retries = 2)]
pub fn flaky(dir: &String, x: &u64) -> Result<u64, String> {
    let dir = Path::new(dir);
    let attempt = (0..)
        .find(|i| !dir.join(format!("flaky-{i}")).exists())
        .unwrap_or(0);
    std::fs::write(dir.join(format!("flaky-{attempt}")), b"").map_err(|e| e.to_string())?;
    if attempt < 2 {
        Err(format!("attempt {attempt} fails"))
    } else {
        Ok(x + 100)
    }
}

/// Never finishes within its time limit: it waits for a file nobody writes.
#[node(timeout = "100ms")]
pub fn stuck(dir: &String) -> u64 {
    wait_for(&Path::new(dir).join("never"));
    0
}

/// Says it started (file `started`), then waits for `go`.
#[node]
pub fn gate(dir: &String, x: &u64) -> u64 {
    let dir = Path::new(dir);
    let _ = std::fs::write(dir.join("started"), b"");
    wait_for(&dir.join("go"));
    x + 1
}

/// Runs after the gate.
#[node]
pub fn after_gate(gate: &u64) -> u64 {
    gate + 1
}

/// CPU work, for the benchmark and the speed-up: `spin` rounds of hashing.
#[node]
pub fn busy(x: &u64, spin: &u64) -> u64 {
    let mut h = *x;
    for i in 0..*spin {
        h = h
            .wrapping_mul(6364136223846793005)
            .wrapping_add(i ^ (h >> 33));
    }
    h
}

/// Asks for CPUs as a custom resource named `CPU`: a cluster has that much, but Ray refuses
/// such a task as it is submitted (its CPUs are asked for with `num_cpus`).
#[node(resources(custom(CPU = 1)))]
pub fn misdeclared(x: &u64) -> u64 {
    *x
}
