//! What the web view accepts and what it opens. It reads one cache directory and nothing else:
//! no URL names a file (assets are embedded, pages come from the cache's database), and the
//! two values a URL carries — a run id and a node name — are checked against what ids and
//! names can be before anything looks them up, so `..`, slashes and other encoded tricks are
//! refused with a 400 page. The directory is checked at start: one that does not exist, or is
//! not a weft cache, is a clear error then rather than a broken page later (and opening it
//! does not create it).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::CliError;

/// The metadata database every weft cache directory has.
const META: &str = "meta.sqlite";

/// The first bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Checks that `dir` is a weft cache directory (it exists, and holds a SQLite `meta.sqlite`)
/// and returns its canonical path.
pub(crate) fn cache_dir(dir: &Path) -> Result<PathBuf, CliError> {
    let shown = dir.display();
    let canonical = dir.canonicalize().map_err(|e| {
        CliError::usage(format!(
            "cache directory {shown} cannot be opened: {e}; give the directory a flow's runs \
             wrote with --cache DIR (a flow writes .weft/cache by default)"
        ))
    })?;
    if !canonical.is_dir() {
        return Err(CliError::usage(format!(
            "{shown} is not a directory; --cache takes a weft cache directory (such as \
             .weft/cache)"
        )));
    }
    let meta = canonical.join(META);
    let mut magic = [0u8; 16];
    let is_sqlite = std::fs::File::open(&meta)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == SQLITE_MAGIC;
    if !is_sqlite {
        return Err(CliError::usage(format!(
            "{shown} is not a weft cache: it has no {META} (a weft cache directory holds \
             {META}, results.sqlite and results/); run a flow with this --cache first, or \
             give the directory it used"
        )));
    }
    Ok(canonical)
}

/// Whether `id` can be a run id: 1 to 64 letters, digits, `-` or `_`.
pub(crate) fn run_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `name` can be a node name: 1 to 200 letters, digits, `_`, or `.` between two
/// parts (namespaced nodes, `ns.node`), never `..` nor a leading or trailing `.`.
pub(crate) fn node_name(name: &str) -> bool {
    (1..=200).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_plain_tokens() {
        assert!(run_id("3f2a9c01-aa"));
        for bad in ["", "..", "../x", "a/b", "a%2e", "a b", &"x".repeat(65)] {
            assert!(!run_id(bad), "{bad}");
        }
    }

    #[test]
    fn node_names_are_identifiers_with_namespaces() {
        assert!(node_name("spend_per_signup"));
        assert!(node_name("features.spend"));
        for bad in [
            "", ".", "..", "../etc", "a/b", ".a", "a.", "a..b", "a%2e", "a\\b",
        ] {
            assert!(!node_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_missing_or_foreign_directory_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let e = cache_dir(&missing).unwrap_err();
        assert!(e.message.contains("cannot be opened"), "{}", e.message);
        assert!(!missing.exists(), "checking must not create it");
        let e = cache_dir(tmp.path()).unwrap_err();
        assert!(e.message.contains("is not a weft cache"), "{}", e.message);
        std::fs::write(tmp.path().join(META), b"not a database").unwrap();
        let e = cache_dir(tmp.path()).unwrap_err();
        assert!(e.message.contains("is not a weft cache"), "{}", e.message);
    }
}
