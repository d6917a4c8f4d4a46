//! Files written whole or not at all: the bytes go to a new temporary file beside the target
//! (created exclusively under a random name by `tempfile`, so whatever is at a name already is
//! never opened, followed or overwritten), which is renamed over the target once complete. A
//! reader sees the old file or the new one, never a part; a crash or a full disk leaves the
//! old file as it was and, at worst, a `.<name>.<random>.tmp` beside it.

use std::io::{self, Write};
use std::path::Path;

/// Whether [`write_whole_with`] syncs the file to disk before its rename.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "cache"), allow(dead_code))]
pub(crate) enum Durability {
    /// Synced to disk before the rename (a full disk or an I/O error the file system reports
    /// late is an error here, and the new file survives a power loss once renamed).
    Synced,
    /// Not synced: what reads it checks it (the cache's stored results are verified on read),
    /// and a cold run would otherwise wait on the disk for every result.
    Unsynced,
}

/// Writes `bytes` to `path` whole: a reader never sees part of them, and if writing fails
/// (a full disk, no permission, a crash) the file at `path` is left as it was. The new file
/// is synced to disk before it replaces the old one, and has the permissions of the file it
/// replaces, or for a new file those a plain `File::create` gives (0666 less the umask), not
/// a temporary file's 0600.
///
/// `path` must be a regular file's path (or a new one): a device or a pipe (`/dev/stdout`)
/// cannot be replaced; write to it directly.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("weft-doc-whole-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("results.json");
/// weft::files::write_whole(&path, b"{\"total\": 42}\n")?;
/// assert_eq!(std::fs::read(&path)?, b"{\"total\": 42}\n");
/// // Nothing but the file itself is left in the directory.
/// assert_eq!(std::fs::read_dir(&dir)?.count(), 1);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_whole_with(path, Durability::Synced, |f| f.write_all(bytes))
}

/// [`write_whole`], the content written by `write` into the temporary file, synced as
/// `durability` says. The temporary file is removed when anything fails.
pub(crate) fn write_whole_with(
    path: &Path,
    durability: Durability,
    write: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{}` names no file", path.display()),
        )
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The mode `open` is given: the umask still applies, as for `File::create`.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    // A file replaced keeps its permissions, as an editor's save does.
    if let Ok(old) = std::fs::metadata(path) {
        tmp.as_file().set_permissions(old.permissions())?;
    }
    write(tmp.as_file_mut())?;
    if durability == Durability::Synced {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_whole(&path, b"old").unwrap();
        let e = write_whole_with(&path, Durability::Synced, |f| {
            f.write_all(b"half of the new")?;
            Err(io::Error::other("the disk is full"))
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "the disk is full");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        write_whole(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_has_a_created_ones_permissions_and_a_replaced_one_keeps_its_own() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let created = dir.path().join("created");
        std::fs::File::create(&created).unwrap();
        let whole = dir.path().join("whole");
        write_whole(&whole, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&whole), mode(&created));
        // A file replaced keeps its own.
        std::fs::set_permissions(&whole, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_whole(&whole, b"y").unwrap();
        assert_eq!(mode(&whole), 0o640);
        assert_eq!(std::fs::read(&whole).unwrap(), b"y");
    }

    #[test]
    fn a_path_without_a_file_name_is_an_error_naming_it() {
        let e = write_whole(Path::new("/"), b"x").unwrap_err();
        assert!(e.to_string().contains("`/` names no file"), "{e}");
    }
}
