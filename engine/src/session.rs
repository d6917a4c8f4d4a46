//! A long-lived session for notebook-style iteration: set inputs, ask for outputs, look at any
//! node's last value. Only what a change affects runs again.

use std::any::Any;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use crate::driver::Driver;
use crate::error::ExecuteError;
use crate::graph::NodeId;
use crate::inputs::Inputs;
use crate::memory::Cell;
use crate::plan::Plan;
use crate::value::Value;
use crate::watch::{Reporter, RunReport, Trigger, Versions};

/// A driver plus the current inputs, driven one step at a time: the shape of a notebook.
///
/// Each [`get`](Self::get) executes what the output needs; since the driver remembers every
/// node, only the nodes downstream of inputs that changed since the last call run again. Every
/// node computed along the way is kept, so [`last`](Self::last) shows any node's latest value
/// without running anything, and [`report`](Self::report) says what the last call did. A driver
/// built with a memory budget ([`Builder::with_memory_budget`](crate::Builder::with_memory_budget))
/// keeps the session within it: a value released meanwhile is computed again (or read from the
/// cache) when `last` asks for it.
///
/// ```
/// use weft::prelude::*;
/// use weft::Session;
///
/// #[node]
/// pub fn spend_per_signup(spend: &f64, signups: &u64) -> f64 { spend / *signups as f64 }
///
/// #[node]
/// pub fn report(spend_per_signup: &f64, region: &str) -> String {
///     format!("{region}: {spend_per_signup:.2}")
/// }
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let dr = Builder::new().with_modules(weft::modules![crate]).build()?;
///     let mut s = Session::new(dr);
///     s.set("spend", 10.0).set("signups", 4u64).set("region", "EU");
///     assert_eq!(*s.get::<String>("report")?, "EU: 2.50");
///
///     s.set("region", "US"); // only `report` depends on it
///     assert_eq!(*s.get::<String>("report")?, "US: 2.50");
///     let run = s.report().unwrap();
///     assert_eq!(run.executed_names(), ["report"]);
///     assert_eq!(run.reused, ["spend_per_signup"]);
///
///     // Any node's latest value, without running anything.
///     assert_eq!(s.last::<f64>("spend_per_signup").as_deref(), Some(&2.5));
///     println!("{}", s.report().unwrap()); // run 2: `region` changed; ran report; reused 1; ...
///     Ok(())
/// }
/// ```
pub struct Session {
    driver: Driver,
    inputs: Inputs,
    overrides: Inputs,
    /// Each computed node's memoized value (which the driver's memory budget may release: it
    /// then comes back when read).
    values: BTreeMap<String, Arc<Cell>>,
    reporter: Reporter,
    last: Option<RunReport>,
}

impl Session {
    /// A session on `driver`, with no inputs yet.
    pub fn new(driver: Driver) -> Session {
        Session {
            driver,
            inputs: Inputs::new(),
            overrides: Inputs::new(),
            values: BTreeMap::new(),
            reporter: Reporter::default(),
            last: None,
        }
    }

    /// The driver.
    pub fn driver(&self) -> &Driver {
        &self.driver
    }

    /// The current inputs.
    pub fn inputs(&self) -> &Inputs {
        &self.inputs
    }

    /// Sets (or replaces) an input. Nothing runs until a value is asked for.
    pub fn set<T: Any + Send + Sync>(&mut self, name: &str, value: T) -> &mut Self {
        self.inputs.insert(name, value);
        self
    }

    /// Removes an input; returns whether it was set.
    pub fn unset(&mut self, name: &str) -> bool {
        self.inputs.remove(name)
    }

    /// Replaces a node's value (an override) until [`unset_override`](Self::unset_override):
    /// the node does not run, and what only it needed is not required.
    pub fn set_override<T: Any + Send + Sync>(&mut self, node: &str, value: T) -> &mut Self {
        self.overrides.insert(node, value);
        self
    }

    /// Removes an override; returns whether there was one.
    pub fn unset_override(&mut self, node: &str) -> bool {
        self.overrides.remove(node)
    }

    /// Computes `output` (running only what changed) and returns it as a `T`.
    ///
    /// Errors name the output, node or input: an unknown output (with a suggestion), a missing
    /// input, a failing node, or a `T` that is not the output's type.
    pub fn get<T: Any + Send + Sync>(&mut self, output: &str) -> Result<Arc<T>, ExecuteError> {
        self.run(&[output])?;
        self.last_or_error::<T>(output)
    }

    /// Computes several outputs at once (running only what changed) and returns the report.
    pub fn run(&mut self, outputs: &[&str]) -> Result<&RunReport, ExecuteError> {
        let graph = self.driver.graph();
        let override_ids: HashSet<NodeId> = self
            .overrides
            .names()
            .filter_map(|n| graph.id(n))
            .filter(|&id| graph.get(id).spec().is_some())
            .collect();
        let plan = Plan::new(graph, outputs, &override_ids)?;
        // Every node of the closure is requested, so that `last` can show it: same plan, no
        // extra work.
        let mut requested: Vec<&str> = outputs.to_vec();
        for &id in &plan.order {
            let name = graph.get(id).name();
            if !requested.contains(&name) {
                requested.push(name);
            }
        }
        let versions = Versions::of(&self.driver, &plan, &self.inputs, &self.overrides);
        let number = self.reporter.next_number();
        let trigger = if number == 1 {
            Trigger::Start
        } else {
            Trigger::Request
        };
        let started = Instant::now();
        let result =
            self.driver
                .execute_recorded(&requested, self.inputs.clone(), self.overrides.clone());
        let report = self.reporter.report(
            &self.driver,
            number,
            trigger,
            versions,
            &self.inputs,
            &self.overrides,
            &result,
            started.elapsed(),
        );
        self.last = Some(report);
        let (out, _) = result?;
        self.values.extend(self.driver.cells(out.names()));
        Ok(self.last.as_ref().expect("set above"))
    }

    /// The value `node` had after the last call that computed it, as a `T`; `None` if it was
    /// never computed (or is not a `T`). Runs nothing.
    pub fn last<T: Any + Send + Sync>(&self, node: &str) -> Option<Arc<T>> {
        self.last_or_error(node).ok()
    }

    /// The last value of `node` with its data version; `None` if it was never computed. With a
    /// memory budget ([`Builder::with_memory_budget`](crate::Builder::with_memory_budget)) the
    /// value may have been released: reading its data computes it again (or reads it from the
    /// cache).
    pub fn value(&self, node: &str) -> Option<Value> {
        let engine = self.driver.engine();
        self.values.get(node).map(|c| c.value(&engine))
    }

    /// The nodes (and inputs) with a last value, sorted.
    pub fn computed(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// What the last call did: which nodes ran and why, which were reused, how long it took.
    /// Failed calls have a report too.
    pub fn report(&self) -> Option<&RunReport> {
        self.last.as_ref()
    }

    fn last_or_error<T: Any + Send + Sync>(&self, node: &str) -> Result<Arc<T>, ExecuteError> {
        let value = self.value(node).ok_or_else(|| {
            let known = self.driver.graph().node(node).is_some();
            ExecuteError::Output(if known {
                format!("`{node}` has not been computed in this session; ask for it with `get`")
            } else {
                let hint = crate::error::suggest(
                    node,
                    self.driver.graph().nodes().iter().map(|n| n.name()),
                )
                .map(|h| format!(" (did you mean `{h}`?)"))
                .unwrap_or_default();
                format!("no node is called `{node}`{hint}")
            })
        })?;
        let data = value.data().map_err(|e| {
            ExecuteError::Output(format!("the value of `{node}` could not be loaded: {e}"))
        })?;
        data.clone().downcast::<T>().map_err(|_| {
            let (is, asked) = crate::type_name::short_type_name_pair(
                value.value_type().name(),
                std::any::type_name::<T>(),
            );
            ExecuteError::Output(format!("`{node}` is a `{is}`, not a `{asked}`"))
        })
    }
}
