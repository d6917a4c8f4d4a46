//! Dynamic fan-out: `Parallel<T>` items run the nodes up to a `Collect<T>` once per item.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use weft::cache::Status;
use weft::executors::MultiThreading;
use weft::prelude::*;
use weft::{CacheConfig, ExecuteError, Problem};

pub mod sizes {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use weft::prelude::*;

    pub static SIZE_CALLS: AtomicUsize = AtomicUsize::new(0);
    /// Items of `size` that ran at once.
    pub static OVERLAP: weft_tests::Overlap = weft_tests::Overlap::new();

    /// Fan out over the names.
    #[node]
    pub fn files(names: &[String]) -> Parallel<String> {
        names.iter().cloned().collect()
    }
    /// Runs once per file; waits until two items have run at once (the first run has eight).
    #[node]
    pub fn size(files: &str, unit: &u64) -> u64 {
        SIZE_CALLS.fetch_add(1, Ordering::SeqCst);
        OVERLAP.meet(2);
        files.len() as u64 * unit
    }
    /// Also once per file, after `size`.
    #[node]
    pub fn labelled(files: &str, size: &u64) -> String {
        format!("{files}={size}")
    }
    /// Fan in, in item order.
    #[node]
    pub fn total(size: Collect<u64>) -> u64 {
        size.iter().sum()
    }
    /// A second collect of the same fan-out.
    #[node]
    pub fn listing(labelled: Collect<String>) -> Vec<String> {
        labelled.to_vec()
    }
    /// Collecting the fan-out's own items.
    #[node]
    pub fn names_back(files: Collect<String>) -> Vec<String> {
        files.to_vec()
    }
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn items_run_once_each_concurrently_and_collect_in_order() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::sizes])
        .with_local_executor(MultiThreading::new(4))
        .build()
        .unwrap();
    let list = names(&["a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g", "hh"]);
    let before = sizes::SIZE_CALLS.load(Ordering::SeqCst);
    let out = dr
        .execute(
            &["total", "listing", "names_back"],
            inputs! { "names" => list.clone(), "unit" => 10u64 },
        )
        .unwrap();
    assert_eq!(
        *out.get::<u64>("total").unwrap(),
        (1 + 2 + 3 + 4 + 5 + 6 + 1 + 2) * 10
    );
    assert_eq!(
        out.get::<Vec<String>>("listing").unwrap()[..3],
        ["a=10", "bb=20", "ccc=30"]
    );
    assert_eq!(out.get::<Vec<String>>("names_back").unwrap(), &list);
    assert_eq!(
        sizes::SIZE_CALLS.load(Ordering::SeqCst) - before,
        8,
        "once per item, though two collects use it"
    );
    assert!(sizes::OVERLAP.peak() > 1, "items ran concurrently");

    // One item changed: only its nodes run again; the order is kept.
    let mut changed = list.clone();
    changed[2] = "zz".into();
    let before = sizes::SIZE_CALLS.load(Ordering::SeqCst);
    let out = dr
        .execute(
            &["listing"],
            inputs! { "names" => changed, "unit" => 10u64 },
        )
        .unwrap();
    assert_eq!(sizes::SIZE_CALLS.load(Ordering::SeqCst) - before, 1);
    assert_eq!(out.get::<Vec<String>>("listing").unwrap()[2], "zz=20");

    // Reversed items: the collect is order-sensitive (Hamilton returns the old order here).
    let mut reversed = list.clone();
    reversed.reverse();
    let out = dr
        .execute(
            &["names_back"],
            inputs! { "names" => reversed.clone(), "unit" => 10u64 },
        )
        .unwrap();
    assert_eq!(out.get::<Vec<String>>("names_back").unwrap(), &reversed);
}

/// Its own nodes, so that other tests' counters are not disturbed.
pub mod cached_sizes {
    use weft::prelude::*;
    #[node]
    pub fn files(names: &[String]) -> Parallel<String> {
        names.iter().cloned().collect()
    }
    #[node]
    pub fn size(files: &str, unit: &u64) -> u64 {
        files.len() as u64 * unit
    }
    #[node]
    pub fn total(size: Collect<u64>) -> u64 {
        size.iter().sum()
    }
}

#[test]
fn per_item_results_are_cached_across_processes() {
    let dir = std::env::temp_dir().join(format!("weft-fanout-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let build = || {
        Builder::new()
            .with_modules(weft::modules![crate::cached_sizes])
            .with_cache_config(CacheConfig::at(&dir))
            .build()
            .unwrap()
    };
    let list = names(&["x", "yy", "zzz"]);
    let dr = build();
    dr.execute(
        &["total"],
        inputs! { "names" => list.clone(), "unit" => 1u64 },
    )
    .unwrap();
    drop(dr);
    let dr = build();
    let mut more = list.clone();
    more.push("wwww".into());
    let out = dr
        .execute(&["total"], inputs! { "names" => more, "unit" => 1u64 })
        .unwrap();
    assert_eq!(*out.get::<u64>("total").unwrap(), 10);
    let mut by_status: BTreeMap<(String, Status), usize> = BTreeMap::new();
    for r in dr.cache().unwrap().records(None).unwrap() {
        *by_status.entry((r.node, r.status)).or_default() += 1;
    }
    assert_eq!(by_status[&("size".into(), Status::Hit)], 3, "{by_status:?}");
    assert_eq!(
        by_status[&("size".into(), Status::Executed)],
        1,
        "{by_status:?}"
    );
    assert_eq!(
        by_status[&("total".into(), Status::Executed)],
        1,
        "{by_status:?}"
    );
}

pub mod nested {
    use weft::prelude::*;

    /// Groups of numbers: fan out over groups.
    #[node]
    pub fn groups(n_groups: &u64) -> Parallel<u64> {
        (1..=*n_groups).collect()
    }
    /// Inside each group, fan out again over its members.
    #[node]
    pub fn members(groups: &u64) -> Parallel<u64> {
        (1..=*groups).map(|m| m * 100 + groups).collect()
    }
    #[node]
    pub fn squared(members: &u64) -> u64 {
        members * members
    }
    /// Collect inside the outer fan-out: one sum per group.
    #[node]
    pub fn group_sum(squared: Collect<u64>) -> u64 {
        squared.iter().sum()
    }
    /// Collect the groups.
    #[node]
    pub fn per_group(group_sum: Collect<u64>) -> Vec<u64> {
        group_sum.to_vec()
    }
}

#[test]
fn nested_fan_outs() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::nested])
        .with_local_executor(MultiThreading::new(2))
        .build()
        .unwrap();
    let out = dr
        .execute(&["per_group"], inputs! { "n_groups" => 3u64 })
        .unwrap();
    let expected: Vec<u64> = (1..=3u64)
        .map(|g| (1..=g).map(|m| (m * 100 + g) * (m * 100 + g)).sum())
        .collect();
    assert_eq!(out.get::<Vec<u64>>("per_group").unwrap(), &expected);
}

pub mod failing_item {
    use weft::prelude::*;
    #[node]
    pub fn numbers(count: &u64) -> Parallel<u64> {
        (0..*count).collect()
    }
    #[node]
    pub fn inverse(numbers: &u64) -> Result<f64, String> {
        if *numbers == 3 {
            return Err(format!("cannot invert item value {numbers}"));
        }
        Ok(1.0 / (*numbers as f64 + 1.0))
    }
    #[node]
    pub fn sum_inverse(inverse: Collect<f64>) -> f64 {
        inverse.iter().sum()
    }
}

#[test]
fn a_failing_item_names_node_and_item() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::failing_item])
        .build()
        .unwrap();
    let err = dr
        .execute(&["sum_inverse"], inputs! { "count" => 6u64 })
        .unwrap_err();
    let ExecuteError::NodeFailed { node, path, source } = &err else {
        panic!("{err}")
    };
    assert_eq!(node, "inverse");
    assert_eq!(path.last().unwrap(), "inverse (item 3)");
    assert!(source.to_string().contains("cannot invert item value 3"));
    assert!(
        err.to_string().contains("sum_inverse <- inverse (item 3)"),
        "{err}"
    );
    // Fine again with fewer items.
    let out = dr
        .execute(&["sum_inverse"], inputs! { "count" => 3u64 })
        .unwrap();
    assert!((*out.get::<f64>("sum_inverse").unwrap() - (1.0 + 0.5 + 1.0 / 3.0)).abs() < 1e-9);
}

pub mod misuse {
    use weft::prelude::*;
    #[node]
    pub fn plain(x: &u64) -> u64 {
        *x
    }
    #[node]
    pub fn bad_collect(plain: Collect<u64>) -> u64 {
        plain.iter().sum()
    }
    #[node]
    pub fn left(x: &u64) -> Parallel<u64> {
        (0..*x).collect()
    }
    #[node]
    pub fn right(x: &u64) -> Parallel<u64> {
        (0..*x).collect()
    }
    #[node]
    pub fn mixed(left: &u64, right: &u64) -> u64 {
        left + right
    }
}

#[test]
fn misuse_is_reported_at_build() {
    let err = Builder::new()
        .with_modules(weft::modules![crate::misuse])
        .build()
        .err()
        .unwrap();
    let text = err.to_string();
    assert_eq!(err.problems.len(), 2, "{text}");
    assert!(err.problems.iter().all(|p| matches!(p, Problem::FanOut(_))));
    assert!(
        text.contains("`bad_collect` collects `plain`, which is not inside a fan-out"),
        "{text}"
    );
    assert!(
        text.contains("`mixed` combines items of the fan-outs"),
        "{text}"
    );
}

#[test]
fn a_node_inside_a_fan_out_is_not_an_output() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::sizes])
        .build()
        .unwrap();
    let err = dr
        .execute(
            &["size"],
            inputs! { "names" => names(&["a"]), "unit" => 1u64 },
        )
        .unwrap_err();
    assert!(matches!(err, ExecuteError::Output(_)), "{err:?}");
    let err = err.to_string();
    assert!(
        err.contains("`size` runs once per item of the fan-out `files`"),
        "{err}"
    );
    let _ = AtomicUsize::new(0);
}
