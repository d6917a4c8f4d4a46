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
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

use crate::fingerprint::{DataVersion, Fingerprint, FingerprintHasher};

/// What a fingerprint saw on disk for one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileState {
    Missing,
    Content([u8; 32]),
    /// Exists but cannot be read (a directory, no permission): the error's kind.
    Unreadable(io::ErrorKind),
}

impl FileState {
    fn of(path: &Path) -> FileState {
        match std::fs::File::open(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => FileState::Missing,
            Err(e) => FileState::Unreadable(e.kind()),
            Ok(mut f) => {
                let mut h = blake3::Hasher::new();
                match io::copy(&mut f, &mut h) {
                    Ok(_) => FileState::Content(*h.finalize().as_bytes()),
                    Err(e) => FileState::Unreadable(e.kind()),
                }
            }
        }
    }

    fn write(&self, h: &mut FingerprintHasher) {
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

/// A set of files: every file under a directory, or the files matching a glob. Its data version
/// covers the sorted relative paths and each file's content, so adding, removing, renaming or
/// editing a member is a change, and touching one is not.
///
/// Patterns are matched against paths relative to the root, with `/` separators: `*` matches
/// within one path segment, `?` one character, `**` any number of segments (including none).
/// As in a shell, wildcards do not match names starting with `.`: hidden files and directories
/// (editor swap files, `.git`) are left out unless the pattern spells the dot.
///
/// ```
/// use weft::FileSet;
/// let csvs = FileSet::glob("data/**/*.csv");
/// assert_eq!(csvs.root(), std::path::Path::new("data"));
/// assert_eq!(csvs.pattern(), "**/*.csv");
/// assert!(csvs.matches("data/2024/jan.csv"));
/// assert!(!csvs.matches("data/2024/.jan.csv.swp"));
/// assert_eq!(FileSet::dir("data").pattern(), "**/*");
/// ```
///
/// It serializes as `root/pattern` and parses from the same text ([`FromStr`]): text with a
/// wildcard is a glob, text without one a directory.
pub struct FileSet {
    root: PathBuf,
    pattern: String,
    seen: Mutex<Option<DataVersion>>,
}

impl FileSet {
    /// Every (non-hidden) file under `root`, at any depth.
    pub fn dir(root: impl Into<PathBuf>) -> FileSet {
        FileSet::new(root, "**/*")
    }

    /// The files under `root` whose relative path matches `pattern` (see the type's docs).
    pub fn new(root: impl Into<PathBuf>, pattern: impl Into<String>) -> FileSet {
        FileSet {
            root: root.into(),
            pattern: pattern.into().replace('\\', "/"),
            seen: Mutex::new(None),
        }
    }

    /// A glob such as `data/**/*.csv`: the root is the part before the first segment with a
    /// wildcard (`data`), the pattern the rest. A glob without wildcards names one file.
    pub fn glob(glob: &str) -> FileSet {
        let glob = glob.replace('\\', "/");
        let segments: Vec<&str> = glob.split('/').collect();
        let first_wild = segments
            .iter()
            .position(|s| s.contains(['*', '?']))
            .unwrap_or(segments.len().saturating_sub(1));
        let root = segments[..first_wild].join("/");
        let root = if root.is_empty() && glob.starts_with('/') {
            "/".to_string()
        } else if root.is_empty() {
            ".".to_string()
        } else {
            root
        };
        FileSet::new(root, segments[first_wild..].join("/"))
    }

    /// The directory the set lives under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The pattern, relative to the root.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether `path` (a path under the root, as the root is spelt) belongs to the set by name.
    pub fn matches(&self, path: impl AsRef<Path>) -> bool {
        match path.as_ref().strip_prefix(&self.root) {
            Ok(rel) => self.matches_relative(rel),
            Err(_) => false,
        }
    }

    fn matches_relative(&self, rel: &Path) -> bool {
        let segs: Vec<String> = rel
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let pat: Vec<&str> = self.pattern.split('/').filter(|s| !s.is_empty()).collect();
        match_segments(&pat, &segs)
    }

    /// Whether a change at `path` (under the root) could concern the set: not inside a hidden
    /// directory or a hidden file, unless the pattern names hidden entries.
    pub(crate) fn may_concern(&self, path: &Path) -> bool {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return false;
        };
        if self.pattern.starts_with('.') || self.pattern.contains("/.") {
            return true;
        }
        !rel.components()
            .any(|c| matches!(c, Component::Normal(s) if s.to_string_lossy().starts_with('.')))
    }

    /// The members, sorted by path. A root that does not exist is an empty set.
    pub fn files(&self) -> Result<Vec<PathBuf>, FileError> {
        let mut out = Vec::new();
        if !self.root.is_dir() {
            return Ok(out);
        }
        let unlimited = self.pattern.contains("**");
        let depth = self.pattern.split('/').filter(|s| !s.is_empty()).count();
        let mut stack = vec![(self.root.clone(), 0usize)];
        while let Some((dir, level)) = stack.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|e| FileError::read(&dir, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| FileError::read(&dir, e))?;
                let path = entry.path();
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                // Symlinked directories are not followed (no loops); symlinked files count.
                if kind.is_dir() {
                    if (unlimited || level + 1 < depth) && self.may_concern(&path) {
                        stack.push((path, level + 1));
                    }
                } else if (kind.is_file() || path.is_file()) && self.matches(&path) {
                    out.push(path);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Every member's path and bytes, sorted by path. Fails naming the file that cannot be read,
    /// or with [`FileError::Changed`] if the set is not what the run fingerprinted.
    pub fn read_all(&self) -> Result<Vec<(PathBuf, Vec<u8>)>, FileError> {
        let mut out = Vec::new();
        for path in self.files()? {
            let bytes = std::fs::read(&path).map_err(|e| FileError::read(&path, e))?;
            out.push((path, bytes));
        }
        let expected = *self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(expected) = expected {
            let mut h = FingerprintHasher::new();
            if self.root.is_dir() {
                write_members(
                    self,
                    out.iter().map(|(p, b)| {
                        (p.as_path(), FileState::Content(*blake3::hash(b).as_bytes()))
                    }),
                    &mut h,
                );
            } else {
                h.write(b"missing");
            }
            if h.finish() != expected {
                return Err(FileError::Changed {
                    path: self.root.join(&self.pattern),
                });
            }
        }
        Ok(out)
    }

    fn state_digest(&self) -> DataVersion {
        let mut h = FingerprintHasher::new();
        match self.files() {
            Ok(files) if self.root.is_dir() => {
                let states: Vec<(PathBuf, FileState)> = files
                    .into_iter()
                    .map(|p| {
                        let s = FileState::of(&p);
                        (p, s)
                    })
                    .collect();
                write_members(self, states.iter().map(|(p, s)| (p.as_path(), *s)), &mut h);
            }
            Ok(_) => h.write(b"missing"),
            Err(FileError::Read { source, .. }) => {
                h.write(b"unreadable");
                format!("{:?}", source.kind()).fingerprint(&mut h);
            }
            Err(_) => h.write(b"unreadable"),
        }
        h.finish()
    }

    /// The data version of what is on disk now, without recording it for the read check.
    pub(crate) fn current_version(&self) -> DataVersion {
        let mut h = FingerprintHasher::new();
        h.write(std::any::type_name::<FileSet>().as_bytes());
        h.write(&[0xff]);
        h.write(self.state_digest().as_bytes());
        h.finish()
    }
}

/// Sorted relative paths and content states, hashed.
fn write_members<'a>(
    set: &FileSet,
    members: impl Iterator<Item = (&'a Path, FileState)>,
    h: &mut FingerprintHasher,
) {
    h.write(b"set");
    for (path, state) in members {
        let rel = path.strip_prefix(&set.root).unwrap_or(path);
        rel.to_string_lossy().replace('\\', "/").fingerprint(h);
        state.write(h);
    }
}

impl Fingerprint for FileSet {
    /// Reads what is outside the value: fingerprinted as soon as its node finishes.
    const IN_MEMORY: bool = false;

    /// Hashes the members' relative paths and contents (a missing root is its own state).
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        let digest = self.state_digest();
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(digest);
        h.write(digest.as_bytes());
    }
}

impl Clone for FileSet {
    fn clone(&self) -> Self {
        FileSet {
            root: self.root.clone(),
            pattern: self.pattern.clone(),
            seen: Mutex::new(*self.seen.lock().unwrap_or_else(|p| p.into_inner())),
        }
    }
}

impl fmt::Debug for FileSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSet")
            .field("root", &self.root)
            .field("pattern", &self.pattern)
            .finish()
    }
}

impl fmt::Display for FileSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let root = self.root.to_string_lossy();
        if root.ends_with('/') {
            write!(f, "{root}{}", self.pattern)
        } else {
            write!(f, "{root}/{}", self.pattern)
        }
    }
}

impl PartialEq for FileSet {
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root && self.pattern == other.pattern
    }
}
impl Eq for FileSet {}

impl FromStr for FileSet {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(if s.contains(['*', '?']) {
            FileSet::glob(s)
        } else {
            FileSet::dir(s)
        })
    }
}

impl serde::Serialize for FileSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for FileSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(s.parse().unwrap_or_else(|never| match never {}))
    }
}

/// Matches path segments against pattern segments (`**` spans any number of segments).
fn match_segments(pat: &[&str], path: &[&str]) -> bool {
    match pat.first() {
        None => path.is_empty(),
        Some(&"**") => {
            // `**` never crosses a hidden directory (or matches a hidden file).
            (0..=path.len()).any(|skip| {
                path[..skip].iter().all(|s| !s.starts_with('.'))
                    && match_segments(&pat[1..], &path[skip..])
            })
        }
        Some(p) => match path.first() {
            Some(s) => match_segment(p, s) && match_segments(&pat[1..], &path[1..]),
            None => false,
        },
    }
}

/// Matches one segment: `*` any run of characters, `?` one; a leading `.` must be literal.
fn match_segment(pat: &str, name: &str) -> bool {
    if name.starts_with('.') && !pat.starts_with('.') {
        return false;
    }
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut i, mut j) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == '*' {
        i += 1;
    }
    i == p.len()
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
}

impl FileError {
    fn read(path: &Path, source: io::Error) -> FileError {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_match_like_a_shell() {
        assert!(match_segment("*.csv", "a.csv"));
        assert!(!match_segment("*.csv", "a.csv.bak"));
        assert!(match_segment("a?c", "abc"));
        assert!(!match_segment("*", ".hidden"));
        assert!(match_segment(".*", ".hidden"));
        assert!(match_segment("*a*b*", "xxaybzz"));
        assert!(match_segments(&["**", "*.csv"], &["a.csv"]));
        assert!(match_segments(&["**", "*.csv"], &["x", "y", "a.csv"]));
        assert!(!match_segments(&["**", "*.csv"], &[".git", "a.csv"]));
        assert!(!match_segments(&["*.csv"], &["x", "a.csv"]));
    }

    #[test]
    fn globs_split_into_root_and_pattern() {
        let g = FileSet::glob("data/2024/*.csv");
        assert_eq!(g.root(), Path::new("data/2024"));
        assert_eq!(g.pattern(), "*.csv");
        let g = FileSet::glob("*.csv");
        assert_eq!(g.root(), Path::new("."));
        let g = FileSet::glob("/abs/**/x");
        assert_eq!(g.root(), Path::new("/abs"));
        assert_eq!(g.pattern(), "**/x");
        assert_eq!(g.to_string(), "/abs/**/x");
        let parsed: FileSet = g.to_string().parse().unwrap();
        assert_eq!(parsed, g);
    }
}
