//! Sync I/O and CPU work on threads: the same flow run by `Sequential` and by
//! `MultiThreading::new(10)`.
//!
//! Five nodes call "blocking clients" (`std::thread::sleep` stands in for a database driver or
//! an HTTP library without async); one node is CPU-bound. None depends on another, so with
//! threads they all overlap; `report` waits for all of them. Results are identical; only the
//! wall time differs.
//!
//! Run with `cargo run --release --example multithreading` (or without `--release`: the
//! CPU-bound node is then slower, the point the same).

use std::time::{Duration, Instant};

use weft::executors::{Executor, MultiThreading, Sequential};
use weft::prelude::*;

mod warehouse {
    use std::time::Duration;

    use weft::prelude::*;

    /// A blocking call to a legacy service: 300 ms.
    fn blocking_call(what: &str, region: &str) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(300));
        vec![format!("{what}@{region}")]
    }

    /// Customers, from a blocking database driver.
    #[node]
    pub fn customers(region: &str) -> Vec<String> {
        blocking_call("customers", region)
    }

    /// Orders, from the same database.
    #[node]
    pub fn orders(region: &str) -> Vec<String> {
        blocking_call("orders", region)
    }

    /// Stock levels, from a SOAP service.
    #[node]
    pub fn inventory(region: &str) -> Vec<String> {
        blocking_call("inventory", region)
    }

    /// Prices, from a blocking HTTP client.
    #[node]
    pub fn prices(region: &str) -> Vec<String> {
        blocking_call("prices", region)
    }

    /// Shipping rates, from an FTP drop.
    #[node]
    pub fn shipping_rates(region: &str) -> Vec<String> {
        blocking_call("shipping_rates", region)
    }

    /// CPU-bound: a checksum over `rounds` rounds of mixing. Rust has no global interpreter
    /// lock, so this uses a core while the blocking calls wait.
    #[node]
    pub fn risk_score(rounds: &u64) -> u64 {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..*rounds {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x = x.wrapping_add(i);
        }
        x % 1000
    }

    /// Waits for everything.
    #[node]
    pub fn report(
        customers: &[String],
        orders: &[String],
        inventory: &[String],
        prices: &[String],
        shipping_rates: &[String],
        risk_score: &u64,
    ) -> String {
        let sources = [customers, orders, inventory, prices, shipping_rates].concat();
        format!(
            "{} sources, risk {risk_score}: {}",
            sources.len(),
            sources.join(", ")
        )
    }
}

/// Calibrates `rounds` so that `risk_score` takes about `target` on this machine.
fn rounds_for(target: Duration) -> u64 {
    let probe = 2_000_000u64;
    let t = Instant::now();
    std::hint::black_box(warehouse::risk_score(&probe));
    let per_round = t.elapsed().as_secs_f64() / probe as f64;
    (target.as_secs_f64() / per_round.max(1e-12)) as u64
}

/// Builds a driver with `executor`, runs the flow once, and returns the report and the time.
fn run(
    executor: impl Executor,
    rounds: u64,
) -> Result<(String, Duration), Box<dyn std::error::Error>> {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::warehouse])
        .with_local_executor(executor)
        .build()?;
    let name = dr.executor_name();
    let t = Instant::now();
    let (out, record) = dr.execute_recorded(
        &["report"],
        inputs! { "region" => "eu-west", "rounds" => rounds },
        Inputs::new(),
    )?;
    let wall = t.elapsed();
    let busy: Duration = record.durations.values().sum();
    println!(
        "{name:<12} {:>6.0} ms wall  ({:.0} ms of node time, {} nodes)",
        wall.as_secs_f64() * 1e3,
        busy.as_secs_f64() * 1e3,
        record.executed.len()
    );
    Ok((out.get::<String>("report")?.clone(), wall))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds = rounds_for(Duration::from_millis(300));
    println!("5 blocking calls of 300 ms and one CPU-bound node of ~300 ms, all independent:");
    println!("one after another ~1800 ms; all at once ~300 ms (the longest node)\n");
    let (seq_report, seq) = run(Sequential, rounds)?;
    let (thr_report, thr) = run(MultiThreading::new(10), rounds)?;
    assert_eq!(seq_report, thr_report, "the executor never changes results");
    println!(
        "\nsame report either way: {thr_report}\nspeed-up with threads: {:.1}x",
        seq.as_secs_f64() / thr.as_secs_f64()
    );
    Ok(())
}
