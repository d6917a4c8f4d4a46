//! The driver's one warnings channel: things weft did not do as asked but that do not stop a
//! run (an input nothing reads, an input whose consumers must re-execute on every run, a value
//! the persistent cache cannot store). Each warning is given once per driver, logged as a
//! `tracing` warning when first given, and kept in order for [`Driver::warnings`]
//! (the CLI prints them to stderr, even with `--quiet`).
//!
//! [`Driver::warnings`]: crate::Driver::warnings

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};

/// One warning. Its `Display` says what happened and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Warning {
    /// An input that no node of the graph reads, and whose name is not close to one that is
    /// read (a close name is an error, [`InputProblem::Unknown`](crate::InputProblem::Unknown)
    /// with "did you mean"): one set of inputs may serve several graphs.
    UnusedInput {
        /// The input's name.
        input: String,
    },
    /// An input whose type can be neither fingerprinted nor serialized: it counts as changed
    /// on every run, so the nodes reading it re-execute every time (reported once per driver).
    Unfingerprintable {
        /// The input's name.
        input: String,
        /// Its type (short name).
        ty: String,
        /// The nodes that read it.
        consumers: Vec<String>,
    },
    /// An input whose type's `Fingerprint` panicked: it counts as changed on this run, like an
    /// input that cannot be fingerprinted (the panic is caught, and said here instead of by the
    /// panic hook).
    FingerprintPanicked {
        /// The input's name.
        input: String,
        /// Its type (short name).
        ty: String,
        /// The panic's message.
        message: String,
    },
    /// From the persistent cache: a value kept in memory only, a stored result found corrupt
    /// or missing, metadata that could not be read or written.
    Cache(String),
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnusedInput { input } => write!(
                f,
                "input `{input}` is not read by any node of this graph; it is ignored"
            ),
            Warning::Unfingerprintable {
                input,
                ty,
                consumers,
            } => write!(
                f,
                "input `{input}` (`{ty}`) can be neither fingerprinted nor serialized, so it \
                 counts as changed on every run and {} re-execute{} every time; implement \
                 `weft::Fingerprint` for `{ty}` (or derive `serde::Serialize`), or pass \
                 something that identifies it (a URL, a path) and build the value in a node",
                consumers
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if consumers.len() == 1 { "s" } else { "" },
            ),
            Warning::FingerprintPanicked { input, ty, message } => write!(
                f,
                "the `weft::Fingerprint` of `{ty}` panicked on input `{input}` ({message}), so \
                 the input counts as changed and the nodes reading it re-execute; fix the \
                 `Fingerprint` impl of `{ty}`"
            ),
            Warning::Cache(message) => f.write_str(message),
        }
    }
}

/// Warnings given so far, each once, in the order given; shared by a driver's handles and its
/// cache.
#[derive(Clone, Default)]
pub(crate) struct Warnings(Arc<Mutex<Log>>);

#[derive(Default)]
struct Log {
    list: Vec<Warning>,
    seen: HashSet<Warning>,
}

impl Warnings {
    /// Gives `warning` unless it was given before.
    pub(crate) fn give(&self, warning: Warning) {
        let mut log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if log.seen.insert(warning.clone()) {
            tracing::warn!("weft: {warning}");
            log.list.push(warning);
        }
    }

    /// A cache warning, given once.
    #[cfg(feature = "cache")]
    pub(crate) fn once(&self, message: String) {
        self.give(Warning::Cache(message));
    }

    /// Every warning given so far.
    pub(crate) fn all(&self) -> Vec<Warning> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .list
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_warning_is_given_once_in_order() {
        let w = Warnings::default();
        w.give(Warning::UnusedInput { input: "b".into() });
        w.give(Warning::UnusedInput { input: "a".into() });
        w.give(Warning::UnusedInput { input: "b".into() });
        let all = w.all();
        assert_eq!(all.len(), 2);
        assert_eq!(
            all[0].to_string(),
            "input `b` is not read by any node of this graph; it is ignored"
        );
    }
}
