//! [`FileSet`]: the files under a directory, or matching a glob, as one input whose data version
//! covers their names and contents. Matching is the `glob` crate's (shell rules: a wildcard
//! never matches a leading `.`); walking is `walkdir`'s.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

use glob::{MatchOptions, Pattern};
use walkdir::WalkDir;

use super::{FileError, FileState};
use crate::fingerprint::{DataVersion, Fingerprint, FingerprintHasher};

/// How patterns match, as in a shell: `*` and `?` stay within one path segment, and no
/// wildcard (`**` included) matches a name that starts with `.`.
const SHELL: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

/// The characters that make text a glob rather than a directory, as before character classes
/// came: a directory named `data[2024]` stays a directory. A class (`[abc]`) works inside a
/// glob's pattern, after its first `*` or `?` segment.
const WILDCARDS: [char; 2] = ['*', '?'];

/// A set of files: every file under a directory, or the files matching a glob. Its data version
/// covers the sorted relative paths and each file's content, so adding, removing, renaming or
/// editing a member is a change, and touching one is not.
///
/// Patterns are matched against paths relative to the root, with `/` separators: `*` matches
/// within one path segment, `?` one character, `[abc]` / `[a-z]` / `[!abc]` one character of
/// (or not of) a set, `**` any number of segments (including none). As in a shell, wildcards do
/// not match names starting with `.`: hidden files and directories (editor swap files, `.git`)
/// are left out unless the pattern spells the dot.
///
/// ```
/// use weft::FileSet;
/// let csvs = FileSet::glob("data/**/*.csv");
/// assert_eq!(csvs.root(), std::path::Path::new("data"));
/// assert_eq!(csvs.pattern(), "**/*.csv");
/// assert!(csvs.matches("data/2024/jan.csv"));
/// assert!(csvs.matches("data/jan.csv"));
/// assert!(!csvs.matches("data/2024/.jan.csv.swp"));
/// assert!(!csvs.matches("data/.git/x.csv"));
/// assert_eq!(FileSet::dir("data").pattern(), "**/*");
/// // A pattern that is not a glob is an error naming it when the set is listed.
/// let bad = FileSet::glob("data/*[.csv");
/// assert!(bad.files().unwrap_err().to_string().contains("`*[.csv`"));
/// // Without `*` or `?` a glob names one file, brackets and all.
/// assert!(FileSet::glob("data/x[1].csv").matches("data/x[1].csv"));
/// ```
///
/// It serializes as `root/pattern` and parses from the same text ([`FromStr`]): text with a
/// wildcard is a glob, text without one a directory; a malformed glob does not parse.
pub struct FileSet {
    root: PathBuf,
    pattern: String,
    /// The pattern compiled, or why it is not a glob.
    matcher: Result<Pattern, String>,
    seen: Mutex<Option<DataVersion>>,
}

impl FileSet {
    /// Every (non-hidden) file under `root`, at any depth.
    pub fn dir(root: impl Into<PathBuf>) -> FileSet {
        FileSet::new(root, "**/*")
    }

    /// The files under `root` whose relative path matches `pattern` (see the type's docs). A
    /// malformed pattern makes [`files`](Self::files) (so a run that reads the set) fail
    /// naming it.
    pub fn new(root: impl Into<PathBuf>, pattern: impl Into<String>) -> FileSet {
        let pattern = pattern.into().replace('\\', "/");
        let matcher = Pattern::new(&pattern).map_err(|e| e.msg.to_string());
        FileSet {
            root: root.into(),
            pattern,
            matcher,
            seen: Mutex::new(None),
        }
    }

    /// A glob such as `data/**/*.csv`: the root is the part before the first segment with a
    /// wildcard, `*` or `?` (`data`), the pattern the rest. A glob without wildcards names one
    /// file (its name taken literally, brackets included).
    pub fn glob(glob: &str) -> FileSet {
        let glob = glob.replace('\\', "/");
        let segments: Vec<&str> = glob.split('/').collect();
        let Some(first_wild) = segments.iter().position(|s| s.contains(WILDCARDS)) else {
            let last = segments.len().saturating_sub(1);
            return FileSet::new(
                root_of(&glob, &segments[..last]),
                Pattern::escape(segments[last]),
            );
        };
        FileSet::new(
            root_of(&glob, &segments[..first_wild]),
            segments[first_wild..].join("/"),
        )
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
        let (Ok(rel), Ok(pattern)) = (path.as_ref().strip_prefix(&self.root), &self.matcher) else {
            return false;
        };
        let rel: Vec<String> = rel
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        pattern.matches_with(&rel.join("/"), SHELL)
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

    /// The members, sorted by path. A root that does not exist is an empty set; a malformed
    /// pattern is [`FileError::Pattern`].
    pub fn files(&self) -> Result<Vec<PathBuf>, FileError> {
        if let Err(why) = &self.matcher {
            return Err(FileError::Pattern {
                pattern: self.pattern.clone(),
                root: self.root.clone(),
                why: why.clone(),
            });
        }
        let mut out = Vec::new();
        if !self.root.is_dir() {
            return Ok(out);
        }
        let mut walk = WalkDir::new(&self.root).min_depth(1);
        if !self.pattern.contains("**") {
            walk = walk.max_depth(self.pattern.split('/').filter(|s| !s.is_empty()).count());
        }
        // Symlinked directories are not followed (no loops); symlinked files count.
        let entries = walk
            .into_iter()
            .filter_entry(|e| !e.file_type().is_dir() || self.may_concern(e.path()));
        for entry in entries {
            let entry = entry.map_err(|e| walk_error(&self.root, e))?;
            let path = entry.path();
            let file = entry.file_type().is_file() || (entry.path_is_symlink() && path.is_file());
            if file && self.matches(path) {
                out.push(entry.into_path());
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

/// The directory a glob's leading `segments` name (`.` for none, `/` for an absolute glob's).
fn root_of(glob: &str, segments: &[&str]) -> String {
    let root = segments.join("/");
    if root.is_empty() && glob.starts_with('/') {
        "/".to_string()
    } else if root.is_empty() {
        ".".to_string()
    } else {
        root
    }
}

/// A walk that failed, as a read error naming the directory it could not list.
fn walk_error(root: &Path, e: walkdir::Error) -> FileError {
    let path = e.path().unwrap_or(root).to_path_buf();
    let source = e
        .into_io_error()
        .unwrap_or_else(|| std::io::Error::other("a file-system loop"));
    FileError::read(&path, source)
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
            matcher: self.matcher.clone(),
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

/// Text with a wildcard (`*`, `?`) is a glob ([`FileSet::glob`]), text without one a
/// directory ([`FileSet::dir`]); a malformed glob is [`FileError::Pattern`].
impl FromStr for FileSet {
    type Err = FileError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let set = if s.contains(WILDCARDS) {
            FileSet::glob(s)
        } else {
            FileSet::dir(s)
        };
        match &set.matcher {
            Ok(_) => Ok(set),
            Err(why) => Err(FileError::Pattern {
                pattern: set.pattern.clone(),
                root: set.root.clone(),
                why: why.clone(),
            }),
        }
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
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pattern: &str) -> FileSet {
        FileSet::new("r", pattern)
    }

    #[test]
    fn patterns_match_like_a_shell() {
        assert!(set("*.csv").matches("r/a.csv"));
        assert!(!set("*.csv").matches("r/a.csv.bak"));
        assert!(!set("*.csv").matches("r/x/a.csv"));
        assert!(set("a?c").matches("r/abc"));
        assert!(set("[ab].csv").matches("r/b.csv"));
        assert!(!set("[!ab].csv").matches("r/b.csv"));
        assert!(!set("*").matches("r/.hidden"));
        assert!(set(".*").matches("r/.hidden"));
        assert!(set("*a*b*").matches("r/xxaybzz"));
        assert!(set("**/*.csv").matches("r/a.csv"));
        assert!(set("**/*.csv").matches("r/x/y/a.csv"));
        assert!(!set("**/*.csv").matches("r/.git/a.csv"));
        assert!(!set("**/*.csv").matches("elsewhere/a.csv"));
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
        // Brackets before the first `*` or `?` are part of a directory's name.
        let g = FileSet::glob("data/[ab]/*.csv");
        assert_eq!(g.root(), Path::new("data/[ab]"));
        let dir: FileSet = "data[2024]".parse().unwrap();
        assert_eq!(dir, FileSet::dir("data[2024]"));
        // Without a wildcard, one file, named literally.
        let one = FileSet::glob("data/x[1].csv");
        assert!(one.matches("data/x[1].csv") && !one.matches("data/x1.csv"));
    }

    #[test]
    fn members_on_disk_leave_out_hidden_entries_and_do_not_follow_linked_directories() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        for sub in ["2024/q1", ".git", "other"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        for file in [
            "a.csv",
            "b.txt",
            ".a.csv.swp",
            "2024/c.csv",
            "2024/q1/d.csv",
            ".git/e.csv",
        ] {
            std::fs::write(root.join(file), file).unwrap();
        }
        std::fs::write(dir.path().join("outside.csv"), "x").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::symlink;
            // A linked file counts; a linked directory is not entered (a loop here).
            symlink(
                dir.path().join("outside.csv"),
                root.join("other/linked.csv"),
            )
            .unwrap();
            symlink(&root, root.join("other/loop")).unwrap();
        }
        let names = |set: FileSet| -> Vec<String> {
            (set.files().unwrap().iter())
                .map(|p| {
                    p.strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect()
        };
        let mut all = vec!["2024/c.csv", "2024/q1/d.csv", "a.csv"];
        if cfg!(unix) {
            all.push("other/linked.csv");
        }
        assert_eq!(names(FileSet::new(&root, "**/*.csv")), all);
        assert_eq!(names(FileSet::new(&root, "*.csv")), ["a.csv"]);
        let one_down: Vec<&str> = (all.iter().copied())
            .filter(|n| n.matches('/').count() == 1)
            .collect();
        assert_eq!(names(FileSet::new(&root, "*/*.csv")), one_down);
        assert_eq!(names(FileSet::new(&root, ".git/*")), [".git/e.csv"]);
        assert!(names(FileSet::dir(&root)).contains(&"b.txt".to_string()));
        assert!(FileSet::dir(dir.path().join("none"))
            .files()
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_malformed_pattern_is_an_error_naming_it() {
        let e = "data/**x/*.csv".parse::<FileSet>().unwrap_err().to_string();
        assert!(e.contains("`**x/*.csv`") && e.contains("data"), "{e}");
        let bad = FileSet::new("data", "[.csv");
        assert!(!bad.matches("data/[.csv"));
        let e = bad.files().unwrap_err().to_string();
        assert!(e.contains("`[.csv`"), "{e}");
    }
}
