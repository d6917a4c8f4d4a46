//! A run's timings: nodes sorted by time taken (the bar chart), and the slowest path — the
//! chain of dependencies whose times add up to the most, which bounds how fast the run could
//! go with any number of threads.

use std::collections::HashMap;

use weft::cache::NodeRecord;

/// The slowest path through a run's records: names from the first node to the last, and the
/// total of their times (microseconds). Dependencies that are not records of the run (inputs)
/// take no time. Iterative over the records in execution order (a dependency is recorded
/// before the nodes that use it), so any depth works.
pub(crate) fn slowest_path(records: &[NodeRecord]) -> (Vec<String>, u64) {
    // For each node: the slowest total ending with it, and the dependency it came through.
    let mut best: HashMap<&str, (u64, Option<&str>)> = HashMap::with_capacity(records.len());
    for r in records {
        let mut through: (u64, Option<&str>) = (0, None);
        for (dep, _) in &r.deps {
            if let Some(&(total, _)) = best.get(dep.as_str()) {
                if total > through.0 || through.1.is_none() {
                    through = (total, Some(dep.as_str()));
                }
            }
        }
        let total = through.0 + r.duration_us;
        // A node recorded twice (items) keeps its slowest record.
        let entry = best.entry(r.node.as_str()).or_insert((0, None));
        if total >= entry.0 {
            *entry = (total, through.1);
        }
    }
    let Some((&end, &(total, _))) = best
        .iter()
        .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then_with(|| b.0.cmp(a.0)))
    else {
        return (Vec::new(), 0);
    };
    let mut path = vec![end.to_string()];
    let mut at = end;
    while let Some(&(_, Some(prev))) = best.get(at) {
        if path.len() > records.len() {
            break; // only a damaged record set could loop
        }
        path.push(prev.to_string());
        at = prev;
    }
    path.reverse();
    (path, total)
}

/// One bar of the chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bar {
    pub(crate) node: String,
    pub(crate) status: weft::cache::Status,
    pub(crate) us: u64,
    /// Share of the longest bar, 0 to 100.
    pub(crate) percent: f64,
}

/// The nodes by time taken, slowest first (ties by name).
pub(crate) fn bars(records: &[NodeRecord]) -> Vec<Bar> {
    let mut rows: Vec<&NodeRecord> = records.iter().collect();
    rows.sort_by(|a, b| {
        b.duration_us
            .cmp(&a.duration_us)
            .then_with(|| a.node.cmp(&b.node))
    });
    let top = rows.first().map_or(1, |r| r.duration_us.max(1)) as f64;
    rows.into_iter()
        .map(|r| Bar {
            node: r.node.clone(),
            status: r.status,
            us: r.duration_us,
            percent: (r.duration_us as f64 / top * 100.0).clamp(0.0, 100.0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use weft::cache::Status;

    use super::*;

    fn rec(node: &str, deps: &[&str], us: u64) -> NodeRecord {
        NodeRecord {
            run_id: "r".into(),
            node: node.into(),
            status: Status::Executed,
            behavior: "default".into(),
            cache_key: None,
            data_version: None,
            code_version: String::new(),
            deps: deps.iter().map(|d| (d.to_string(), None)).collect(),
            ignored: Vec::new(),
            reason: None,
            duration_us: us,
            error: None,
            type_name: "i64".into(),
        }
    }

    #[test]
    fn the_slowest_path_follows_the_heaviest_dependencies() {
        // a(5) -> b(1) -> d(1); a -> c(10) -> d; input x feeds a.
        let records = [
            rec("a", &["x"], 5),
            rec("b", &["a"], 1),
            rec("c", &["a"], 10),
            rec("d", &["b", "c"], 1),
        ];
        let (path, total) = slowest_path(&records);
        assert_eq!(path, ["a", "c", "d"]);
        assert_eq!(total, 16);
        assert_eq!(slowest_path(&[]), (Vec::new(), 0));
    }

    #[test]
    fn bars_are_sorted_slowest_first_relative_to_the_slowest() {
        let bars = bars(&[rec("a", &[], 5), rec("b", &[], 20), rec("c", &[], 0)]);
        let names: Vec<&str> = bars.iter().map(|b| b.node.as_str()).collect();
        assert_eq!(names, ["b", "a", "c"]);
        assert_eq!(bars[0].percent, 100.0);
        assert_eq!(bars[1].percent, 25.0);
    }

    #[test]
    fn a_long_chain_is_walked_without_recursion() {
        let names: Vec<String> = (0..50_000).map(|i| format!("n{i}")).collect();
        let records: Vec<NodeRecord> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let deps: Vec<&str> = if i == 0 { vec![] } else { vec![&names[i - 1]] };
                rec(n, &deps, 1)
            })
            .collect();
        let (path, total) = slowest_path(&records);
        assert_eq!(path.len(), 50_000);
        assert_eq!(total, 50_000);
    }
}
