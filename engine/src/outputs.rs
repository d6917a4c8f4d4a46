//! The results of a run, with typed access.

use std::any::Any;
use std::collections::BTreeMap;

use crate::error::{suggest, ExecuteError};
use crate::type_name::short_type_name_pair;
use crate::value::Value;

/// The requested outputs of a run.
#[derive(Debug, Clone)]
pub struct Outputs {
    values: BTreeMap<String, Option<Value>>,
}

impl Outputs {
    pub(crate) fn new(values: BTreeMap<String, Option<Value>>) -> Self {
        Outputs { values }
    }

    /// Reads every output that is a stored result not read yet (a cache hit), so the run hands
    /// its caller values in memory. The driver calls it before the run ends: a run holds its
    /// lease on the cache directory until then, so no gc of another process removes a result
    /// between the run's lookup and this read. An output that cannot be read is left as it is
    /// ([`get`](Self::get) reports why).
    pub(crate) fn read_all(&self) {
        for value in self.values.values().flatten() {
            if !value.is_loaded() {
                let _ = value.data();
            }
        }
    }

    /// The output `name` as a `T`. Errors name the output and both types.
    pub fn get<T: Any>(&self, name: &str) -> Result<&T, ExecuteError> {
        let value = self.value(name)?;
        let data = value.data().map_err(|e| {
            ExecuteError::Output(format!("output `{name}` could not be loaded: {e}"))
        })?;
        data.downcast_ref::<T>().ok_or_else(|| {
            let (is, asked) =
                short_type_name_pair(value.value_type().name(), std::any::type_name::<T>());
            ExecuteError::Output(format!(
                "output `{name}` is a `{is}`, not a `{asked}`; ask for it as `get::<{is}>`"
            ))
        })
    }

    /// The output `name` as a [`Value`] (with its data version).
    pub fn value(&self, name: &str) -> Result<&Value, ExecuteError> {
        match self.values.get(name) {
            Some(Some(v)) => Ok(v),
            Some(None) => Err(ExecuteError::Output(format!(
                "output `{name}` is an optional input that was not given"
            ))),
            None => {
                let hint = suggest(name, self.values.keys().map(String::as_str))
                    .map(|h| format!(" (did you mean `{h}`?)"))
                    .unwrap_or_default();
                Err(ExecuteError::Output(format!(
                    "`{name}` was not requested in this run{hint}"
                )))
            }
        }
    }

    /// The names of the outputs.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_type_mismatch_names_both_types_shortly() {
        let value = Value::new(Arc::new(vec![1u64, 2]), crate::value_type!(Vec<u64>));
        let outputs = Outputs::new(BTreeMap::from([("ids".to_string(), Some(value))]));
        assert_eq!(outputs.get::<Vec<u64>>("ids").ok(), Some(&vec![1, 2]));
        let text = outputs.get::<String>("ids").unwrap_err().to_string();
        assert_eq!(
            text,
            "output `ids` is a `Vec<u64>`, not a `String`; ask for it as `get::<Vec<u64>>`"
        );
    }
}
