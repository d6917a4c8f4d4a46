//! Why a node executed (or hit) in a run: its record compared with its previous keyed record
//! (`weft cache explain`).

use std::collections::BTreeMap;
use std::fmt;

use super::store::{NodeRecord, Status, StoreError};
use super::Cache;
use crate::fingerprint::DataVersion;

/// How far back [`Cache::explain`] looks for a node's previous keyed record.
const EXPLAIN_HISTORY: usize = 10_000;

/// Why a node executed (or hit) in a run, compared with its previous record.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The node.
    pub node: String,
    /// The run explained.
    pub run_id: String,
    /// What happened in that run.
    pub status: Status,
    /// The reasons, in words (empty for a hit that needs none).
    pub reasons: Vec<String>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` in run {}: {}",
            self.node,
            self.run_id,
            self.status.as_str()
        )?;
        for r in &self.reasons {
            write!(f, "\n  - {r}")?;
        }
        Ok(())
    }
}

impl Cache {
    /// Why `node` executed (or hit) in `run` (`None`: the last run that has it), compared
    /// with the node's previous record: which dependency's data version, or the code version,
    /// changed.
    pub fn explain(&self, node: &str, run: Option<&str>) -> Result<Explanation, StoreError> {
        self.flush();
        let run = run.map(|r| self.run_or_last(Some(r))).transpose()?;
        // The previous record that had a key (memo records carry none): usually among the
        // few before this one, so a few are read first, and the long history only if not.
        let keyed = |h: &&NodeRecord| h.cache_key.is_some() || h.status == Status::Hit;
        let mut history = Vec::new();
        for limit in [16, EXPLAIN_HISTORY] {
            history = self.node_history(node, run.as_deref(), limit)?;
            if history.len() < limit || history[1..].iter().any(|h| keyed(&h)) {
                break;
            }
        }
        if history.is_empty() {
            return Err(StoreError::Other(format!(
                "no record of node `{node}` in {}",
                self.location()
            )));
        }
        if let Some(run) = &run {
            if history[0].run_id != *run {
                return Err(StoreError::Other(format!(
                    "node `{node}` did not take part in run {run}"
                )));
            }
        }
        let this = &history[0];
        let prev = history[1..].iter().find(keyed);
        let mut reasons = Vec::new();
        match this.status {
            Status::Hit => reasons.push(format!(
                "key {} matched a stored result",
                short(&this.cache_key)
            )),
            Status::Memo => {
                reasons.push("reused from the driver's memory; the cache was not consulted".into())
            }
            Status::Disabled => {
                reasons.push("behaviour DISABLE: always executes, never stored".into())
            }
            Status::Ignored => {
                reasons.push("behaviour IGNORE: always executes, not part of keys".into())
            }
            Status::Recomputed => {
                reasons.push("behaviour RECOMPUTE: always executes, then stored".into())
            }
            Status::Failed => reasons.push(format!(
                "failed: {}",
                this.error.clone().unwrap_or_default()
            )),
            Status::Uncached | Status::Executed => {}
        }
        for dep in &this.ignored {
            reasons.push(format!(
                "dependency `{dep}` is ignored: left out of the key, so a change to it does not \
                 make this node run again, and a hit may hold a value computed from an older \
                 `{dep}` (recompute this node, or stop ignoring `{dep}`, if that matters)"
            ));
        }
        if matches!(
            this.status,
            Status::Executed | Status::Uncached | Status::Recomputed
        ) {
            if let Some(r) = &this.reason {
                reasons.push(r.clone());
            }
            match prev {
                None => reasons.push("no earlier record of this node: first run".into()),
                Some(prev) => {
                    let changes = diff(prev, this);
                    if changes.is_empty() && this.status == Status::Executed {
                        reasons.push(format!(
                            "same code and inputs as run {}, whose result is no longer stored",
                            prev.run_id
                        ));
                    }
                    reasons.extend(changes);
                }
            }
        }
        Ok(Explanation {
            node: node.to_string(),
            run_id: this.run_id.clone(),
            status: this.status,
            reasons,
        })
    }
}

fn short<T: std::fmt::Display>(digest: &Option<T>) -> String {
    digest.as_ref().map_or("none".into(), |d| {
        let mut s = d.to_string();
        s.truncate(12);
        s
    })
}
/// What changed between two records of a node.
fn diff(prev: &NodeRecord, this: &NodeRecord) -> Vec<String> {
    let mut out = Vec::new();
    if prev.code_version != this.code_version {
        out.push(format!(
            "code version changed: {} -> {}",
            &prev.code_version.chars().take(12).collect::<String>(),
            &this.code_version.chars().take(12).collect::<String>()
        ));
    }
    let before: BTreeMap<&str, &Option<DataVersion>> =
        prev.deps.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let after: BTreeMap<&str, &Option<DataVersion>> =
        this.deps.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let ignored = |r: &NodeRecord, dep: &str| r.ignored.iter().any(|d| d == dep);
    for (dep, v) in &after {
        match (ignored(prev, dep), ignored(this, dep)) {
            (false, true) if before.contains_key(dep) => {
                out.push(format!("dependency `{dep}` is now ignored"));
                continue;
            }
            (true, false) if before.contains_key(dep) => {
                out.push(format!("dependency `{dep}` is no longer ignored"));
                continue;
            }
            (true, true) => continue,
            _ => {}
        }
        match before.get(dep) {
            None => out.push(format!("new dependency `{dep}`")),
            Some(old) if old != v => out.push(format!(
                "dependency `{dep}` changed data version: {} -> {}",
                short(old),
                short(v)
            )),
            _ => {}
        }
    }
    for dep in before.keys() {
        if !after.contains_key(dep) {
            out.push(format!("dependency `{dep}` was removed"));
        }
    }
    out
}
