//! Watch mode: rerun a request whenever a file it reads changes on disk.
//!
//! A [`Watcher`] takes a driver, the outputs to compute and their inputs. It finds every
//! [`FileInput`](crate::FileInput) and [`FileSet`](crate::FileSet) among the inputs the
//! outputs depend on, watches them with the operating system's file events (debounced, so a
//! burst of writes or an editor's atomic save is one change), and on each change executes the
//! request again. Only the nodes downstream of a file whose **content** changed run again; a
//! touch or a save without changes runs nothing. A change that arrives while a run is in flight
//! cancels that run (between two nodes) and starts a new one. After each run it hands you a
//! [`RunReport`]: what ran, why, what was reused, how long it took. An example is on [`Watcher`].
//!
//! Paths in events are only hints: on every event batch the watcher re-hashes the watched
//! files and compares the data versions with the last run's. It watches each file's parent
//! directory (an atomic save replaces the file, so a watch on the file itself would be lost)
//! and each set's root recursively; when a directory is missing it watches the nearest
//! existing ancestor and moves down as directories appear.
//!
//! The reports ([`RunReport`] and its parts) are in the core: a [`Session`](crate::Session)
//! gives them too. The watcher itself needs the `watch` feature (on by default).

mod report;
#[cfg(feature = "watch")]
mod targets;
#[cfg(feature = "watch")]
mod watcher;

pub use report::{Change, ChangeKind, NodeRun, Reason, RunReport, RunStatus, Trigger};
pub(crate) use report::{Reporter, Versions};
#[cfg(feature = "watch")]
#[cfg_attr(docsrs, doc(cfg(feature = "watch")))]
pub use watcher::{StopHandle, Update, WatchError, Watcher, DEFAULT_DEBOUNCE};
