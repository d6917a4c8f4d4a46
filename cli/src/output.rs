//! Where results go: stdout or a file, with every write and the flush checked, so that a full
//! disk or `> /dev/full` is an error naming the destination rather than an empty file and exit
//! code 0. A reader that went away (`flow build | head -1`) is not an error.

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

/// Writes `text` to the file at `path` (created or truncated) and syncs it to disk, so that an
/// error the file system reports late (a full disk) is still seen.
pub(crate) fn to_file(path: &Path, text: &str) -> Result<(), CliError> {
    let cannot = |e: std::io::Error| {
        CliError::failure(format!(
            "cannot write the results to `{}`: {e}",
            path.display()
        ))
    };
    let mut file = std::fs::File::create(path).map_err(cannot)?;
    match file.write_all(text.as_bytes()).and_then(|()| file.flush()) {
        // `-o /dev/stdout | head -1`: the reader went away.
        Err(e) if e.kind() == ErrorKind::BrokenPipe => return Ok(()),
        other => other.map_err(cannot)?,
    }
    match file.sync_all() {
        // Devices and pipes (`-o /dev/stdout`) cannot be synced; what was written is written.
        Err(e) if matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::Unsupported) => Ok(()),
        other => other.map_err(cannot),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_cannot_be_written_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        to_file(&path, "{}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");

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
}
