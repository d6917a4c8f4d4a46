//! Values handed to a run by name: inputs, overrides, config.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::value::AnyValue;

/// Named values of any type: the inputs (or overrides, or config) of a run.
///
/// ```
/// let inputs = weft::inputs! { "spend" => 10.0, "signups" => 4u64 };
/// assert_eq!(inputs.len(), 2);
/// ```
#[derive(Clone, Default)]
pub struct Inputs {
    values: BTreeMap<String, (AnyValue, &'static str)>,
}

impl Inputs {
    /// No values.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a value.
    pub fn with<T: Any + Send + Sync>(mut self, name: impl Into<String>, value: T) -> Self {
        self.insert(name, value);
        self
    }

    /// Adds (or replaces) a value. A `&'static str` is stored as a `String`, the type a
    /// `&str` or `String` parameter receives.
    pub fn insert<T: Any + Send + Sync>(&mut self, name: impl Into<String>, value: T) {
        let any: &dyn Any = &value;
        if let Some(s) = any.downcast_ref::<&'static str>() {
            let owned = s.to_string();
            self.values.insert(
                name.into(),
                (Arc::new(owned), std::any::type_name::<String>()),
            );
            return;
        }
        self.values
            .insert(name.into(), (Arc::new(value), std::any::type_name::<T>()));
    }

    /// Adds an already-erased value with its type name.
    pub fn insert_erased(
        &mut self,
        name: impl Into<String>,
        value: AnyValue,
        type_name: &'static str,
    ) {
        self.values.insert(name.into(), (value, type_name));
    }

    /// Removes a value.
    pub fn remove(&mut self, name: &str) -> bool {
        self.values.remove(name).is_some()
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Whether `name` has a value.
    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Typed read.
    pub fn get<T: Any>(&self, name: &str) -> Option<&T> {
        self.values.get(name).and_then(|(v, _)| v.downcast_ref())
    }

    /// The names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    pub(crate) fn entries(&self) -> &BTreeMap<String, (AnyValue, &'static str)> {
        &self.values
    }
}

impl std::fmt::Debug for Inputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.values.iter().map(|(k, (_, t))| (k, t)))
            .finish()
    }
}

/// Builds [`Inputs`]: `inputs! { "spend" => 10.0, "region" => "eu".to_string() }`.
#[macro_export]
macro_rules! inputs {
    () => { $crate::Inputs::new() };
    ($($name:expr => $value:expr),+ $(,)?) => {
        $crate::Inputs::new()$(.with($name, $value))+
    };
}
