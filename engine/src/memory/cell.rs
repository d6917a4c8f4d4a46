//! [`Cell`]: a memoized value that can be released and computed again from its provenance.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::fingerprint::DataVersion;
use crate::graph::NodeId;
use crate::incremental::Engine;
use crate::value::{Value, ValueType};

/// A node's memoized value: resident, or released and recomputable from `deps`.
pub(crate) struct Cell {
    pub(crate) id: NodeId,
    /// The value's version: taken when the cell is made, or, for a value never released whose
    /// fingerprint reads only the value ([`ValueType::fingerprints_in_memory`]), when it is
    /// first asked for (a one-shot run without a cache never asks).
    version: OnceLock<DataVersion>,
    ty: ValueType,
    /// Whether the value may be let go: it has a real fingerprint (a recomputation is
    /// recognised) and `deps` are everything it was computed from.
    releasable: bool,
    value: Mutex<Option<Value>>,
    /// The cells of the node's arguments, in parameter order (`None`: an absent optional
    /// input).
    deps: Vec<Option<Arc<Cell>>>,
}

impl std::fmt::Debug for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let version = self
            .version
            .get()
            .map_or_else(|| "?".to_string(), |v| v.short());
        write!(f, "Cell({}, {version})", self.id)
    }
}

thread_local! {
    /// Cells whose last owner is going, dropped one at a time (a cell owns its provenance:
    /// dropping the last of a long chain would otherwise recurse once per link).
    static DOOMED: RefCell<Vec<Arc<Cell>>> = const { RefCell::new(Vec::new()) };
    static DRAINING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Drop for Cell {
    fn drop(&mut self) {
        let deps = std::mem::take(&mut self.deps);
        let _ = DOOMED.try_with(|d| d.borrow_mut().extend(deps.into_iter().flatten()));
        if DRAINING.try_with(|d| d.replace(true)).unwrap_or(true) {
            return; // an outer drop is draining
        }
        while let Some(c) = DOOMED.try_with(|d| d.borrow_mut().pop()).ok().flatten() {
            drop(c);
        }
        let _ = DRAINING.try_with(|d| d.set(false));
    }
}

impl Cell {
    /// A value that is never released (inputs, config, overrides, fan-out collections).
    pub(crate) fn fixed(id: NodeId, value: Value) -> Arc<Cell> {
        let version = OnceLock::new();
        if !value.value_type().fingerprints_in_memory() {
            // Taken now: later, what it reads (a file, a server) may have changed.
            let _ = version.set(value.version());
        }
        Arc::new(Cell {
            id,
            version,
            ty: value.value_type(),
            releasable: false,
            value: Mutex::new(Some(value)),
            deps: Vec::new(),
        })
    }

    /// A node's value computed from the values in `deps`.
    pub(crate) fn computed(id: NodeId, value: Value, deps: Vec<Option<Arc<Cell>>>) -> Arc<Cell> {
        Arc::new(Cell {
            id,
            // Taken now: the value may be released, and is recognised by it when made again.
            version: OnceLock::from(value.version()),
            ty: value.value_type(),
            releasable: value.is_fingerprinted(),
            value: Mutex::new(Some(value)),
            deps,
        })
    }

    pub(crate) fn is_releasable(&self) -> bool {
        self.releasable
    }

    pub(crate) fn version(&self) -> DataVersion {
        *self.version.get_or_init(|| {
            // Only a cell that is never released waits to be asked: its value is here.
            (self.resident()).map_or_else(DataVersion::unique, |v| v.version())
        })
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Value>> {
        self.value.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value if it is in memory.
    pub(crate) fn resident(&self) -> Option<Value> {
        self.slot().clone()
    }

    /// The bytes the value holds now (0 when released, or a stored result not read yet).
    pub(crate) fn size(&self) -> u64 {
        match &*self.slot() {
            Some(v) if v.is_loaded() => (v.resident_size() as u64).max(1),
            _ => 0,
        }
    }

    /// Lets the value go (if it may); returns it so that the caller drops it.
    pub(crate) fn release(&self) -> Option<Value> {
        if self.releasable {
            self.slot().take()
        } else {
            None
        }
    }

    pub(crate) fn put(&self, value: Value) {
        *self.slot() = Some(value);
    }

    /// The value: the resident one, or a lazy one that computes it again when read.
    pub(crate) fn value(self: &Arc<Self>, engine: &Weak<Engine>) -> Value {
        if let Some(v) = self.resident() {
            return v;
        }
        let (cell, engine) = (self.clone(), engine.clone());
        Value::lazy(
            self.version(),
            self.ty,
            Box::new(move || {
                let engine = engine
                    .upgrade()
                    .ok_or_else(|| "the driver that made this value is gone".to_string())?;
                restore(&cell, &engine).and_then(|v| v.data().cloned())
            }),
        )
    }
}

/// Computes a released cell's value again: first the released cells of its provenance that it
/// needs, dependencies first (iteratively: chains can be long), each through `run_node`.
fn restore(cell: &Arc<Cell>, engine: &Engine) -> Result<Value, String> {
    if let Some(v) = cell.resident() {
        return Ok(v);
    }
    type Key = *const Cell;
    // Values at hand (held here so that nothing evicts them midway), and how many cells still
    // to compute read each one.
    let mut known: HashMap<Key, Value> = HashMap::new();
    let mut uses: HashMap<Key, usize> = HashMap::new();
    let mut order: Vec<Arc<Cell>> = Vec::new();
    let mut stack: Vec<(Arc<Cell>, bool)> = vec![(cell.clone(), false)];
    let mut seen: std::collections::HashSet<Key> = Default::default();
    while let Some((c, expanded)) = stack.pop() {
        if expanded {
            order.push(c);
            continue;
        }
        if !seen.insert(Arc::as_ptr(&c)) {
            continue;
        }
        stack.push((c.clone(), true));
        for d in c.deps.iter().flatten() {
            *uses.entry(Arc::as_ptr(d)).or_default() += 1;
            match d.resident() {
                Some(v) => {
                    known.insert(Arc::as_ptr(d), v);
                }
                None => stack.push((d.clone(), false)),
            }
        }
    }
    for c in &order {
        let name = engine.graph.get(c.id).name();
        let mut args = Vec::with_capacity(c.deps.len());
        for d in &c.deps {
            let Some(d) = d else {
                args.push(None);
                continue;
            };
            let key = Arc::as_ptr(d);
            let v = known.get(&key).cloned().ok_or_else(|| {
                format!("`{name}` was released and an argument of it could not be computed again")
            })?;
            args.push(Some(v));
            if let Some(n) = uses.get_mut(&key) {
                *n -= 1;
                if *n == 0 && key != Arc::as_ptr(cell) {
                    known.remove(&key);
                }
            }
        }
        let v = engine
            .run_node_blocking(c.id, args)
            .map_err(|e| format!("computing `{name}` again (it was released) failed: {e}"))?;
        v.data()
            .map_err(|e| format!("computing `{name}` again (it was released) failed: {e}"))?;
        if v.version() != c.version() {
            return Err(format!(
                "`{name}` gave another value when computed again after its release (its body is \
                 not deterministic); cache it, or give the driver a memory budget that keeps it"
            ));
        }
        engine.memory.restored(c, v.clone());
        known.insert(Arc::as_ptr(c), v);
    }
    known
        .remove(&Arc::as_ptr(cell))
        .ok_or_else(|| "a released value could not be computed again".to_string())
}
