//! Values flowing through the graph: type-erased, shared, fingerprinted, optionally lazy.

use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use crate::fingerprint::DataVersion;

/// A type-erased node value.
pub type AnyValue = Arc<dyn Any + Send + Sync>;

/// Fingerprinting function for an erased value of a known type.
pub type FingerprintFn = fn(&(dyn Any + Send + Sync)) -> Option<DataVersion>;

/// The memory a value of a known type holds ([`MemorySize`](crate::MemorySize), else its
/// `size_of`).
pub type SizeFn = fn(&(dyn Any + Send + Sync)) -> usize;

/// Parses a value of a known type from text (command-line inputs).
pub type ParseFn = fn(&str) -> Result<AnyValue, String>;

/// Serialization of an erased value of a known type, by format name.
#[derive(Clone, Copy)]
pub struct Codec {
    /// Encodes a value in the named format.
    pub encode: fn(&(dyn Any + Send + Sync), &str) -> Result<Vec<u8>, String>,
    /// Decodes bytes in the named format.
    pub decode: fn(&[u8], &str) -> Result<AnyValue, String>,
    /// The formats this type can be stored in; the first is the type's own default.
    pub formats: &'static [&'static str],
    /// Whether decoding what `encode` gave always yields a value of the same data version
    /// ([`CacheFormats::EXACT`]): the cache then stores values without decoding them again to
    /// prove it. (Every stored value is still checked against its version when read back.)
    pub exact: bool,
    /// The data version of the value stored bytes decode to, when the stored form tells it
    /// ([`CacheFormats::stored_version`]); `None` to fingerprint the decoded value.
    pub stored_version: fn(&[u8], &str) -> Option<DataVersion>,
    /// Why a value has no stored form by its nature, when it has none
    /// ([`CacheFormats::no_stored_form`]).
    pub no_stored_form: fn(&(dyn Any + Send + Sync)) -> Option<String>,
}

impl Codec {
    /// Whether values of the type can be stored in `format`.
    pub fn supports(&self, format: &str) -> bool {
        self.formats.contains(&format)
    }
}

/// A type with cache formats of its own (data frames: `parquet`, `ipc`), preferred over serde
/// by [`value_type!`](crate::value_type). Implement it for a type that has a better stored form
/// than postcard or JSON.
///
/// ```
/// use weft::CacheFormats;
/// struct Celsius(f64);
/// impl CacheFormats for Celsius {
///     const FORMATS: &'static [&'static str] = &["postcard"];
///     fn encode(&self, _format: &str) -> Result<Vec<u8>, String> {
///         Ok(self.0.to_le_bytes().to_vec())
///     }
///     fn decode(bytes: &[u8], _format: &str) -> Result<Self, String> {
///         let raw: [u8; 8] = bytes.try_into().map_err(|_| "not 8 bytes".to_string())?;
///         Ok(Celsius(f64::from_le_bytes(raw)))
///     }
/// }
/// let c = weft::value_type!(Celsius).codec().unwrap();
/// assert_eq!(c.formats, ["postcard"]);
/// ```
pub trait CacheFormats: Sized + Send + Sync + 'static {
    /// The formats values can be stored in, the type's default first.
    const FORMATS: &'static [&'static str];
    /// Encodes the value in `format` (one of [`FORMATS`](Self::FORMATS)).
    fn encode(&self, format: &str) -> Result<Vec<u8>, String>;
    /// Decodes a value stored in `format`.
    fn decode(bytes: &[u8], format: &str) -> Result<Self, String>;
    /// Decodes a value stored in `format` into the `Arc` its value will be held in (what the
    /// cache calls). Defaults to [`decode`](Self::decode); a type that keeps facts about a
    /// value by its address overrides it (a Spark frame read back as local rows keeps the
    /// rows, so collecting it needs no request).
    fn decode_shared(bytes: &[u8], format: &str) -> Result<std::sync::Arc<Self>, String> {
        Self::decode(bytes, format).map(std::sync::Arc::new)
    }
    /// `true` when every value `encode` accepts decodes to a value of the same data version
    /// (the format keeps the type's whole content and the fingerprint reads only that), as
    /// parquet does for a data frame. The cache then skips the round-trip proof it makes of
    /// other types' values as it stores them (decoding each and fingerprinting it again: a
    /// cold run's largest cost with big frames). Stored values are still checked against
    /// their data version when read back, so a wrong `true` costs recomputation and a warning,
    /// never a wrong value. Defaults to `false`.
    const EXACT: bool = false;
    /// The data version of the value `bytes` (stored in `format`) decode to, when the stored
    /// form can tell it for less than fingerprinting the decoded value: a Spark frame's
    /// fingerprint is two requests to the server, while the directory its stored form names
    /// is checked on disk. The cache checks a stored result read back against this version
    /// instead of the decoded value's fingerprint, so it must be the version the value was
    /// stored under whenever the stored content is unchanged, and another one whenever it
    /// changed. Defaults to `None`: the decoded value is fingerprinted.
    fn stored_version(bytes: &[u8], format: &str) -> Option<DataVersion> {
        let _ = (bytes, format);
        None
    }
    /// Why this value has no stored form by its nature, when it has none: a Spark frame that
    /// is only a plan (its node is not tagged to be written out) is not data to store. The
    /// cache then records the node as not stored, with this reason, and does **not** warn:
    /// nothing went wrong, and the node reruns (cheaply) next time. A value that should have
    /// been storable but could not be encoded is still a warning ([`encode`](Self::encode)'s
    /// error). Defaults to `None`: every value is stored.
    fn no_stored_form(&self) -> Option<String> {
        None
    }
}

/// What weft knows about a Rust type: its name and identity, and how (if at all) its values
/// are fingerprinted and serialized. Built by [`value_type!`](crate::value_type) at a concrete
/// type, so it picks the best available strategy without specialization.
///
/// A pointer-sized handle: every spec, parameter and value carries one, and the description
/// it points to is made once per distinct type (a million-node graph held 96 bytes of it
/// three times per node).
#[derive(Clone, Copy)]
pub struct ValueType(&'static TypeInfo);

/// What a [`ValueType`] points to.
#[derive(Clone, Copy)]
struct TypeInfo {
    type_name: fn() -> &'static str,
    type_id: fn() -> TypeId,
    fingerprint: Option<FingerprintFn>,
    codec: Option<Codec>,
    parse: Option<ParseFn>,
    size: SizeFn,
    /// Whether the fingerprint reads only the value ([`Fingerprint::IN_MEMORY`]).
    ///
    /// [`Fingerprint::IN_MEMORY`]: crate::Fingerprint::IN_MEMORY
    in_memory: bool,
}

impl TypeInfo {
    /// What tells two descriptions apart: their functions' addresses (the same type described
    /// twice alike is one description).
    fn identity(&self) -> [usize; 14] {
        let codec = self.codec.map_or([0; 8], |c| {
            [
                c.encode as usize,
                c.decode as usize,
                c.formats.as_ptr() as usize,
                c.formats.len(),
                usize::from(c.exact),
                c.stored_version as usize,
                c.no_stored_form as usize,
                1,
            ]
        });
        let [c0, c1, c2, c3, c4, c5, c6, c7] = codec;
        [
            self.type_name as usize,
            self.type_id as usize,
            self.fingerprint.map_or(0, |f| f as usize),
            c0,
            c1,
            c2,
            c3,
            c4,
            c5,
            c6,
            c7,
            self.parse.map_or(0, |f| f as usize),
            self.size as usize,
            usize::from(self.in_memory),
        ]
    }

    /// The one `'static` copy of this description (made the first time it is asked for).
    fn intern(self) -> ValueType {
        type Table = std::collections::HashMap<[usize; 14], &'static TypeInfo>;
        static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
        let mut table = TABLE
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        ValueType(
            table
                .entry(self.identity())
                .or_insert_with(|| Box::leak(Box::new(self))),
        )
    }
}

impl ValueType {
    #[doc(hidden)]
    pub fn new<T: Any>(fingerprint: Option<FingerprintFn>, codec: Option<Codec>) -> Self {
        Self::of::<T>(fingerprint, codec, None, None, false)
    }

    /// A type's description from all its parts at once (what [`value_type!`] builds).
    #[doc(hidden)]
    pub fn of<T: Any>(
        fingerprint: Option<FingerprintFn>,
        codec: Option<Codec>,
        parse: Option<ParseFn>,
        size: Option<SizeFn>,
        in_memory: bool,
    ) -> Self {
        TypeInfo {
            type_name: std::any::type_name::<T>,
            type_id: TypeId::of::<T>,
            fingerprint,
            codec,
            parse,
            size: size.unwrap_or(|_| std::mem::size_of::<T>()),
            in_memory: in_memory && fingerprint.is_some(),
        }
        .intern()
    }

    /// Whether a value's fingerprint reads only the value, so that it may be taken any time
    /// ([`Fingerprint::IN_MEMORY`](crate::Fingerprint::IN_MEMORY); serde fingerprints do).
    pub fn fingerprints_in_memory(&self) -> bool {
        self.0.in_memory
    }

    #[doc(hidden)]
    pub fn with_size(self, size: Option<SizeFn>) -> Self {
        match size {
            Some(size) => TypeInfo { size, ..*self.0 }.intern(),
            None => self,
        }
    }

    /// How many bytes `v` (a value of this type) holds in memory: its
    /// [`MemorySize`](crate::MemorySize) when the type has one, else its `size_of`.
    pub fn size_of(&self, v: &(dyn Any + Send + Sync)) -> usize {
        (self.0.size)(v)
    }

    #[doc(hidden)]
    pub fn with_parser(self, parse: Option<ParseFn>) -> Self {
        TypeInfo { parse, ..*self.0 }.intern()
    }

    /// How to parse a value of this type from text: `FromStr` when the type has it, else JSON
    /// through serde.
    pub fn parser(&self) -> Option<ParseFn> {
        self.0.parse
    }

    /// The Rust type name (`alloc::string::String`, `f64`, …): the type's identity in cache
    /// keys and stored results.
    pub fn name(&self) -> &'static str {
        (self.0.type_name)()
    }

    /// The type name without module paths (`String`, `Vec<u64>`), for messages and listings;
    /// see [`short_type_name`](crate::short_type_name).
    pub fn short_name(&self) -> String {
        crate::type_name::short_type_name(self.name())
    }

    /// The type's identity.
    pub fn id(&self) -> TypeId {
        (self.0.type_id)()
    }

    /// Whether values of this type get a content fingerprint.
    pub fn is_fingerprintable(&self) -> bool {
        self.0.fingerprint.is_some()
    }

    /// How values of this type are serialized, if they can be.
    pub fn codec(&self) -> Option<Codec> {
        self.0.codec
    }

    /// Fingerprints an erased value of this type; `None` when the type has no fingerprint.
    pub fn fingerprint(&self, v: &(dyn Any + Send + Sync)) -> Option<DataVersion> {
        self.0.fingerprint.and_then(|f| f(v))
    }

    /// The data version of `decoded`, decoded from `bytes` in `format`: what the stored form
    /// tells ([`CacheFormats::stored_version`]), else the decoded value's fingerprint. What a
    /// stored result read back is checked against.
    #[cfg(feature = "cache")]
    pub(crate) fn decoded_version(
        &self,
        bytes: &[u8],
        format: &str,
        decoded: &(dyn Any + Send + Sync),
    ) -> Option<DataVersion> {
        self.0
            .codec
            .and_then(|c| (c.stored_version)(bytes, format))
            .or_else(|| self.fingerprint(decoded))
    }
}

impl fmt::Debug for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

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
    fn a_type_is_described_once_and_its_handle_is_a_pointer() {
        assert_eq!(size_of::<ValueType>(), size_of::<usize>());
        let (a, b) = (crate::value_type!(u64), crate::value_type!(u64));
        assert!(std::ptr::eq(a.0, b.0), "one description per type");
        let parsed = a.with_parser(None);
        assert!(
            !std::ptr::eq(a.0, parsed.0),
            "another description is another copy"
        );
        assert!(parsed.parser().is_none() && a.parser().is_some());
        assert!(std::ptr::eq(parsed.0, b.with_parser(None).0));
        assert!(!std::ptr::eq(a.0, crate::value_type!(String).0));
        assert_eq!(a.name(), "u64");
    }

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
