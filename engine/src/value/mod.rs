//! Values flowing through the graph: type-erased, shared, fingerprinted, optionally lazy.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use crate::fingerprint::DataVersion;

mod codec;
mod value_type;

pub use codec::{CacheFormats, Codec, EncodeTo};
pub use value_type::{FingerprintFn, ParseFn, SizeFn, ValueType};

/// A type-erased node value.
pub type AnyValue = Arc<dyn Any + Send + Sync>;

/// Loads a lazily-held value (e.g. a cache hit) when something first needs it.
pub type Loader = Box<dyn Fn() -> Result<AnyValue, String> + Send + Sync>;

/// Computes a lazy value's data from the values it was computed from, when loading fails.
pub(crate) type Fallback = Box<dyn Fn(&[Option<Value>]) -> Result<AnyValue, String> + Send + Sync>;

/// A node's value: shared, with its data version. Cheap to clone.
///
/// Equality is by data version. A value whose type cannot be fingerprinted gets a version no
/// other value has, so it is never equal to anything but its own clones.
#[derive(Clone)]
pub struct Value(Arc<Inner>);

struct Inner {
    /// The data version and whether it is a real fingerprint: given when the value is made
    /// from a version (a cache hit, a frame read back), else found on first use (see
    /// [`Value::new`]).
    version: OnceLock<(DataVersion, bool)>,
    ty: ValueType,
    data: OnceLock<AnyValue>,
    /// How a lazy value gets its data (`None` for a value made in memory: most of them, so
    /// this is boxed — a million-node run holds a million values).
    lazy: Option<Box<Lazy>>,
}

/// Where a lazy value's data comes from.
struct Lazy {
    loader: Loader,
    fallback: Option<Fallback>,
    /// What `fallback` computes from; let go once the data is in.
    held: Mutex<Vec<Option<Value>>>,
}

impl Lazy {
    fn held(&self) -> std::sync::MutexGuard<'_, Vec<Option<Value>>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

thread_local! {
    /// Values whose last owner is going, dropped one at a time (see `Drop for Inner`).
    static DOOMED: RefCell<Vec<Value>> = const { RefCell::new(Vec::new()) };
    static DRAINING: Cell<bool> = const { Cell::new(false) };
}

/// Drops values without recursing: a lazy value holds the values it was computed from, which
/// hold theirs, so dropping the last of a 100,000-node chain would otherwise recurse 100,000
/// deep.
fn drop_all(values: Vec<Option<Value>>) {
    if values.is_empty() {
        return;
    }
    let _ = DOOMED.try_with(|d| d.borrow_mut().extend(values.into_iter().flatten()));
    if DRAINING.try_with(|d| d.replace(true)).unwrap_or(true) {
        return; // an outer call is draining
    }
    while let Some(v) = DOOMED.try_with(|d| d.borrow_mut().pop()).ok().flatten() {
        drop(v);
    }
    let _ = DRAINING.try_with(|d| d.set(false));
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(lazy) = self.lazy.as_mut() {
            let held = std::mem::take(lazy.held.get_mut().unwrap_or_else(|p| p.into_inner()));
            drop_all(held);
        }
    }
}

impl Value {
    /// Wraps a value of type `ty`. It is fingerprinted when its version is first asked for
    /// ([`version`](Self::version), [`is_fingerprinted`](Self::is_fingerprinted), equality),
    /// not here: a run that never asks (no cache, no long-lived driver) never pays for it, and
    /// a value that a node's adapter replaces before anyone asks (a Spark frame written out
    /// for the cache, whose version is made from the files Spark wrote) is never fingerprinted
    /// at all.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::Value;
    ///
    /// let a = Value::new(Arc::new(7_u64), weft::value_type!(u64));
    /// let b = Value::new(Arc::new(7_u64), weft::value_type!(u64));
    /// assert!(a.is_fingerprinted());
    /// assert_eq!(a.version(), b.version()); // the same content, the same version
    /// ```
    pub fn new(data: AnyValue, ty: ValueType) -> Value {
        Value::with_cell(data, ty, OnceLock::new())
    }

    /// Wraps a value of type `ty` whose version its maker gives: a Spark frame read back from
    /// the directory Spark wrote, whose version is made from the directory's files on disk
    /// (its fingerprint would be two requests to the server).
    #[cfg(feature = "spark")]
    pub(crate) fn with_version(data: AnyValue, ty: ValueType, version: DataVersion) -> Value {
        Value::with_cell(data, ty, OnceLock::from((version, true)))
    }

    /// A value in memory whose version is `version` (set, or found on first use).
    fn with_cell(data: AnyValue, ty: ValueType, version: OnceLock<(DataVersion, bool)>) -> Value {
        Value(Arc::new(Inner {
            version,
            ty,
            data: OnceLock::from(data),
            lazy: None,
        }))
    }

    /// The version and whether it is a fingerprint, found now if it was not yet: the
    /// fingerprint of the data, or a version no other value has when its type has none.
    ///
    /// A `Fingerprint` that panics leaves the value unfingerprinted, like a type with none:
    /// the panic is caught (not printed by the panic hook), and its message is what
    /// [`unfingerprinted_because`](Self::unfingerprinted_because) says.
    fn versioned(&self) -> (DataVersion, bool) {
        *self.0.version.get_or_init(|| {
            let fingerprint =
                (self.0.data.get()).map(|d| crate::panics::catch(|| self.0.ty.fingerprint(&**d)));
            match fingerprint {
                Some(Ok(Some(version))) => (version, true),
                Some(Err(panic)) => {
                    let version = DataVersion::unique();
                    panicked::remember(version, panic);
                    (version, false)
                }
                _ => (DataVersion::unique(), false),
            }
        })
    }

    /// Why the value has no fingerprint, when it is not its type's lack of one: its
    /// `Fingerprint` panicked, with this message (`None` otherwise).
    pub(crate) fn unfingerprinted_because(&self) -> Option<String> {
        let (version, fingerprinted) = self.versioned();
        if fingerprinted {
            return None;
        }
        panicked::why(&version)
    }

    /// A value known only by its version until first read (a cache hit, for instance).
    pub fn lazy(version: DataVersion, ty: ValueType, loader: Loader) -> Value {
        Value(Arc::new(Inner {
            version: OnceLock::from((version, true)),
            ty,
            data: OnceLock::new(),
            lazy: Some(Box::new(Lazy {
                loader,
                fallback: None,
                held: Mutex::default(),
            })),
        }))
    }

    /// Gives a lazy value a second way to obtain its data when the first fails: `fallback`
    /// computes it from `inputs`, which the value holds until its data is in (the engine uses
    /// it to recompute a node whose stored result turned out unusable).
    pub(crate) fn with_fallback(mut self, fallback: Fallback, inputs: Vec<Option<Value>>) -> Value {
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            if let (None, Some(lazy)) = (inner.data.get(), inner.lazy.as_mut()) {
                lazy.fallback = Some(fallback);
                *lazy.held.get_mut().unwrap_or_else(|p| p.into_inner()) = inputs;
            }
        }
        self
    }

    /// The value's data version.
    pub fn version(&self) -> DataVersion {
        self.versioned().0
    }

    /// Whether the version is a real content fingerprint.
    pub fn is_fingerprinted(&self) -> bool {
        self.versioned().1
    }

    /// Whether the version was taken already (asking for it now costs nothing).
    #[cfg(feature = "cache")]
    pub(crate) fn is_versioned(&self) -> bool {
        self.0.version.get().is_some()
    }

    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        self.0.ty
    }

    /// Whether the data is in memory (false for a lazy value not yet read).
    pub fn is_loaded(&self) -> bool {
        self.0.data.get().is_some()
    }

    /// The bytes the value holds in memory ([`ValueType::size_of`]); 0 for a lazy value not
    /// read yet.
    pub(crate) fn resident_size(&self) -> usize {
        self.0.data.get().map_or(0, |d| self.0.ty.size_of(&**d))
    }

    /// The erased data, loading it first if the value is lazy.
    pub fn data(&self) -> Result<&AnyValue, String> {
        if let Some(d) = self.0.data.get() {
            return Ok(d);
        }
        let Some(lazy) = &self.0.lazy else {
            return Err("value has neither data nor loader".to_string());
        };
        let loaded = match ((lazy.loader)(), &lazy.fallback) {
            (Ok(v), _) => v,
            (Err(_), Some(fallback)) => {
                let inputs = lazy.held().clone();
                fallback(&inputs)?
            }
            (Err(e), None) => return Err(e),
        };
        if (*loaded).type_id() != self.0.ty.id() {
            return Err(format!(
                "loaded value is not a `{}` as recorded",
                self.0.ty.short_name()
            ));
        }
        let data = self.0.data.get_or_init(|| loaded);
        // The inputs kept for a recomputation are not needed any more.
        drop_all(std::mem::take(&mut *lazy.held()));
        Ok(data)
    }

    /// Typed access; `None` when the value is of another type or cannot be loaded.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.data().ok()?.downcast_ref::<T>()
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.version() == other.version()
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Value<{}>({})", self.0.ty.name(), self.version().short())
    }
}

/// The messages of `Fingerprint`s that panicked, by the version their value got instead (a
/// version no other value has). A few are kept: they are there to be said once, by the cache or
/// the driver, right after the value was versioned.
mod panicked {
    use std::sync::Mutex;

    use crate::fingerprint::DataVersion;

    const KEPT: usize = 64;

    static PANICKED: Mutex<Vec<(DataVersion, String)>> = Mutex::new(Vec::new());

    pub(super) fn remember(version: DataVersion, message: String) {
        let mut table = PANICKED.lock().unwrap_or_else(|p| p.into_inner());
        if table.len() >= KEPT {
            table.remove(0);
        }
        table.push((version, message));
    }

    pub(super) fn why(version: &DataVersion) -> Option<String> {
        let table = PANICKED.lock().unwrap_or_else(|p| p.into_inner());
        (table.iter().rev())
            .find(|(v, _)| v == version)
            .map(|(_, m)| m.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_fingerprinted_once_and_only_when_its_version_is_asked_for() {
        use crate::fingerprint::{Fingerprint, FingerprintHasher};
        use std::sync::atomic::{AtomicUsize, Ordering};
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        struct Counted(u64);
        impl Fingerprint for Counted {
            fn fingerprint(&self, h: &mut FingerprintHasher) {
                CALLS.fetch_add(1, Ordering::SeqCst);
                self.0.fingerprint(h);
            }
        }
        let ty = crate::value_type!(Counted);
        let a = Value::new(Arc::new(Counted(3)), ty);
        let twin = a.clone();
        assert_eq!(a.downcast_ref::<Counted>().map(|c| c.0), Some(3));
        assert_eq!(CALLS.load(Ordering::SeqCst), 0, "made and read, not hashed");
        assert!(a.is_fingerprinted());
        assert_eq!(a.version(), twin.version());
        assert_eq!(
            CALLS.load(Ordering::SeqCst),
            1,
            "hashed once, for every clone"
        );
        let b = Value::new(Arc::new(Counted(3)), ty);
        assert_eq!(a, b, "the same content, the same version");
        let c = Value::new(Arc::new(Counted(4)), ty);
        assert_ne!(a, c);
        assert_eq!(CALLS.load(Ordering::SeqCst), 3);

        // A type without a fingerprint: a version of its own, the same for every clone.
        struct Opaque;
        let o = Value::new(Arc::new(Opaque), crate::value_type!(Opaque));
        assert!(!o.is_fingerprinted());
        assert_eq!(o.version(), o.clone().version());
        assert_ne!(o, Value::new(Arc::new(Opaque), crate::value_type!(Opaque)));
    }
}
