//! Where results go: stdout or a file, with every write and the flush checked, so that a full
//! disk or `> /dev/full` is an error naming the destination rather than an empty file and exit
//! code 0; a file is written whole, so a failed write leaves the previous results. A reader that went away (`flow build | head -1`) is not an error.

use std::io::{ErrorKind, Write};
use std::path::Path;

use crate::error::CliError;

/// Writes `text` to stdout and flushes it; `what` names the text in the error ("the results").
pub(crate) fn to_stdout(what: &str, text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::failure(format!(
            "cannot write {what} to {}: {e}",
            stdout_name()
        ))),
    }
}

/// `stdout`, and the file it is redirected to when that is known (`stdout (/dev/full)`).
fn stdout_name() -> String {
    // Linux names the open file of each descriptor; pipes and sockets are not paths.
    match std::fs::read_link("/proc/self/fd/1") {
        Ok(target) if target.is_absolute() => format!("stdout ({})", target.display()),
        _ => "stdout".to_string(),
    }
}

/// Writes `text` to the file at `path` whole ([`weft::files::write_whole`]: a new file synced to
/// disk, then renamed over the old one), so a full disk or a crash leaves the previous results
/// as they were, never a truncated file. A link is followed (its target is replaced). What is
/// not a regular file — a device or a pipe (`-o /dev/stdout`) — is written in place.
pub(crate) fn to_file(path: &Path, text: &str) -> Result<(), CliError> {
    let cannot = |e: std::io::Error| {
        CliError::failure(format!(
            "cannot write the results to `{}`: {e}",
            path.display()
        ))
    };
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() && !m.is_dir() => return in_place(path, text).map_err(cannot),
        Ok(m) if m.is_file() => {
            let target = std::fs::canonicalize(path).map_err(cannot)?;
            return weft::files::write_whole(&target, text.as_bytes()).map_err(cannot);
        }
        _ => {}
    }
    weft::files::write_whole(path, text.as_bytes()).map_err(cannot)
}

/// Writes `text` into the device or pipe at `path`.
fn in_place(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
    match file.write_all(text.as_bytes()).and_then(|()| file.flush()) {
        // `-o /dev/stdout | head -1`: the reader went away.
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use std::os::unix::fs::FileTypeExt;

    #[test]
    fn a_file_that_cannot_be_written_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        to_file(&path, "{}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
        to_file(&path, "[]\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[]\n");
        // Nothing else is left beside the results.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        // A directory where the file should be: fails for every user, root included.
        let e = to_file(dir.path(), "{}\n").unwrap_err();
        assert_eq!(e.exit, crate::Exit::Failure);
        assert!(
            e.message.starts_with(&format!(
                "cannot write the results to `{}`",
                dir.path().display()
            )),
            "{}",
            e.message
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_followed_and_a_device_is_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        to_file(&link, "new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        // A device is not replaced (no file could be renamed over it): written in place.
        to_file(Path::new("/dev/null"), "into the void").unwrap();
        assert!(std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
    }
}
