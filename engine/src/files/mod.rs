//! File inputs: a node that depends on a file sees the file's **content**, not its path.
//!
//! Pass a [`FileInput`] (one file) or a [`FileSet`] (a directory, or a glob) as an input. Its
//! data version is the blake3 hash of what is on disk when a run starts, so running again after
//! the file was edited re-executes exactly the nodes that depend on it, and a touch (or a save
//! without changes) re-executes nothing. The persistent cache keys results by the same content
//! hash.
//!
//! ```
//! use weft::prelude::*;
//! use weft::FileInput;
//!
//! /// The file's lines, trimmed.
//! #[node]
//! pub fn lines(data_path: &FileInput) -> Result<Vec<String>, weft::files::FileError> {
//!     Ok(data_path.read_to_string()?.lines().map(|l| l.trim().to_string()).collect())
//! }
//!
//! #[node]
//! pub fn line_count(lines: &[String]) -> usize { lines.len() }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let dir = std::env::temp_dir().join(format!("weft-files-doc-{}", std::process::id()));
//!     std::fs::create_dir_all(&dir)?;
//!     let file = dir.join("data.csv");
//!     std::fs::write(&file, "a\nb\n")?;
//!
//!     let dr = Builder::new().with_modules(weft::modules![crate]).build()?;
//!     let inputs = inputs! { "data_path" => FileInput::new(&file) };
//!     let run = |inputs: &Inputs| dr.execute_recorded(&["line_count"], inputs.clone(), Inputs::new());
//!
//!     assert_eq!(run(&inputs)?.1.executed, ["lines", "line_count"]);
//!     // Same path, same content: nothing runs.
//!     std::fs::write(&file, "a\nb\n")?;
//!     assert!(run(&inputs)?.1.executed.is_empty());
//!     // Same path, new content: the nodes that read it run again.
//!     std::fs::write(&file, "a\nb\nc\n")?;
//!     let (out, record) = run(&inputs)?;
//!     assert_eq!(record.executed, ["lines", "line_count"]);
//!     assert_eq!(*out.get::<usize>("line_count")?, 3);
//!     # std::fs::remove_dir_all(&dir)?;
//!     Ok(())
//! }
//! ```
//!
//! **Missing files.** A file that does not exist has a data version of its own ("missing"), so a
//! file that disappears, or comes back, counts as a change. Reading it with
//! [`FileInput::read`] or [`FileInput::read_to_string`] fails with a [`FileError`] that names the
//! file and says where a relative path was looked for; a fallible node turns that into a run
//! error naming the node and the file. Nothing panics.
//!
//! **Reading.** The data version is taken when the run starts; the node reads the file later.
//! `read`/`read_to_string` check that what they read is what was fingerprinted, and fail with
//! [`FileError::Changed`] otherwise, so a result computed from newer content is never stored
//! under the older content's key (the next run, or the watcher, picks the new content up). Code
//! that opens `path()` itself gets no such check.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

mod digest;
#[cfg(feature = "cache")]
mod direct;
mod set;
mod whole;
pub(crate) use digest::content_digest;
#[cfg(feature = "cache")]
pub(crate) use direct::DirectWriter;
pub use set::FileSet;
pub use whole::write_whole;
#[cfg(feature = "cache")]
pub(crate) use whole::{write_whole_with, Durability};

use crate::fingerprint::{DataVersion, Fingerprint, FingerprintHasher};

/// What a fingerprint saw on disk for one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileState {
    Missing,
    Content([u8; 32]),
    /// Exists but cannot be read (a directory, no permission): the error's kind.
    Unreadable(io::ErrorKind),
}

impl FileState {
    pub(crate) fn of(path: &Path) -> FileState {
        match std::fs::File::open(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => FileState::Missing,
            Err(e) => FileState::Unreadable(e.kind()),
            Ok(mut f) => match content_digest(&mut f) {
                Ok(digest) => FileState::Content(digest),
                Err(e) => FileState::Unreadable(e.kind()),
            },
        }
    }

    pub(crate) fn write(&self, h: &mut FingerprintHasher) {
        match self {
            FileState::Missing => h.write(&[0]),
            FileState::Content(d) => {
                h.write(&[1]);
                h.write(d);
            }
            FileState::Unreadable(kind) => {
                h.write(&[2]);
                format!("{kind:?}").fingerprint(h);
            }
        }
    }
}

/// A file that a node reads, identified for incrementality and caching by its **content**.
///
/// It is a path (it derefs to [`Path`]) whose [`Fingerprint`] is the blake3 hash of the file's
/// bytes, taken when a run starts. Two `FileInput`s naming different files with the same bytes
/// have the same data version: a node that needs the path's text itself should take a `String`
/// or `PathBuf` input instead. See the [module docs](self).
///
/// Relative paths resolve against the process's current directory when the file is read.
/// It serializes as its path (so the CLI and JSON inputs can give one as a string), parses from
/// one with [`FromStr`], and converts from `&str`, `String`, `&Path` and `PathBuf`.
pub struct FileInput {
    path: PathBuf,
    /// What the last fingerprint taken through [`Fingerprint`] saw: reads are checked against it.
    seen: Mutex<Option<FileState>>,
}

impl FileInput {
    /// The file at `path` (which need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> FileInput {
        FileInput {
            path: path.into(),
            seen: Mutex::new(None),
        }
    }

    /// The path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file exists now.
    pub fn exists(&self) -> bool {
        self.path.is_file()
    }

    /// The file's bytes. Fails with an error naming the file if it cannot be read, or with
    /// [`FileError::Changed`] if its content is not what the run fingerprinted.
    pub fn read(&self) -> Result<Vec<u8>, FileError> {
        let bytes = std::fs::read(&self.path).map_err(|e| FileError::read(&self.path, e))?;
        let expected = *self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(expected) = expected {
            let now = FileState::Content(*blake3::hash(&bytes).as_bytes());
            if now != expected {
                return Err(FileError::Changed {
                    path: self.path.clone(),
                });
            }
        }
        Ok(bytes)
    }

    /// The file's text (UTF-8). Same checks as [`read`](Self::read).
    pub fn read_to_string(&self) -> Result<String, FileError> {
        let bytes = self.read()?;
        String::from_utf8(bytes).map_err(|e| FileError::NotUtf8 {
            path: self.path.clone(),
            valid_up_to: e.utf8_error().valid_up_to(),
        })
    }

    /// The data version of what is on disk now, without recording it for the read check.
    pub(crate) fn current_version(&self) -> DataVersion {
        version_of::<FileInput>(&FileState::of(&self.path))
    }
}

fn version_of<T>(state: &FileState) -> DataVersion {
    let mut h = FingerprintHasher::new();
    h.write(std::any::type_name::<T>().as_bytes());
    h.write(&[0xff]);
    state.write(&mut h);
    h.finish()
}

impl Fingerprint for FileInput {
    /// Reads what is outside the value: fingerprinted as soon as its node finishes.
    const IN_MEMORY: bool = false;

    /// Hashes the file's content (or the fact that it is missing or unreadable), never its path.
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        let state = FileState::of(&self.path);
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(state);
        state.write(h);
    }
}

impl Clone for FileInput {
    fn clone(&self) -> Self {
        FileInput {
            path: self.path.clone(),
            seen: Mutex::new(*self.seen.lock().unwrap_or_else(|p| p.into_inner())),
        }
    }
}

impl fmt::Debug for FileInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FileInput").field(&self.path).finish()
    }
}

impl fmt::Display for FileInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())
    }
}

/// Equal when the paths are equal (the content is compared by data version).
impl PartialEq for FileInput {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}
impl Eq for FileInput {}
impl std::hash::Hash for FileInput {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.path.hash(state);
    }
}

impl std::ops::Deref for FileInput {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for FileInput {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl From<&str> for FileInput {
    fn from(p: &str) -> Self {
        FileInput::new(p)
    }
}
impl From<String> for FileInput {
    fn from(p: String) -> Self {
        FileInput::new(p)
    }
}
impl From<&Path> for FileInput {
    fn from(p: &Path) -> Self {
        FileInput::new(p)
    }
}
impl From<PathBuf> for FileInput {
    fn from(p: PathBuf) -> Self {
        FileInput::new(p)
    }
}

impl FromStr for FileInput {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(FileInput::new(s))
    }
}

impl serde::Serialize for FileInput {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.path.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for FileInput {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PathBuf::deserialize(d).map(FileInput::new)
    }
}

/// Reading a file input failed. The message names the file and suggests a fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file could not be read (it does not exist, is a directory, no permission, ...).
    #[error("{}", read_message(path, source))]
    Read {
        /// The file, as given.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("`{}` is not UTF-8 text (invalid byte at offset {valid_up_to}); read it with `read()` for bytes", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Where the invalid data starts.
        valid_up_to: usize,
    },
    /// The file changed between the start of the run and the read.
    #[error("`{}` changed while the run was reading it; run again (a watcher does so by itself) to use the new content", path.display())]
    Changed {
        /// The file (or the set's glob).
        path: PathBuf,
    },
    /// A [`FileSet`]'s pattern is not a glob.
    #[error("`{pattern}` (the pattern of the file set under `{}`) is not a glob: {why}; wildcards are `*`, `?`, `[abc]`, and `**` as a whole path segment", root.display())]
    Pattern {
        /// The pattern.
        pattern: String,
        /// The directory it is relative to.
        root: PathBuf,
        /// What is wrong with it.
        why: String,
    },
}

impl FileError {
    pub(crate) fn read(path: &Path, source: io::Error) -> FileError {
        FileError::Read {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn read_message(path: &Path, source: &io::Error) -> String {
    let shown = path.display();
    match source.kind() {
        io::ErrorKind::NotFound => {
            let where_ = if path.is_relative() {
                std::env::current_dir()
                    .map(|d| format!(" (looked for it in {})", d.display()))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            format!(
                "cannot read `{shown}`: the file does not exist{where_}; create it, or pass the \
                 right path as the input"
            )
        }
        io::ErrorKind::PermissionDenied => {
            format!("cannot read `{shown}`: permission denied; check the file's permissions")
        }
        _ if path.is_dir() => format!(
            "cannot read `{shown}`: it is a directory; pass a file, or use a `FileSet` for the \
             files in a directory"
        ),
        _ => format!("cannot read `{shown}`: {source}"),
    }
}
