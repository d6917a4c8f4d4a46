//! Whether `build`/`watch` can store results in the cache directory, checked before the run: a
//! cache that cannot be written still answers hits, but would silently store nothing.

use std::fs::OpenOptions;
use std::path::Path;

use crate::error::CliError;

/// Creates `dir` if missing (failing that is an error naming it: no cache could be opened
/// there), then warns on stderr, naming it, when it cannot be written.
pub(super) fn check(dir: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        CliError::usage(format!(
            "cannot create the cache directory `{}`: {e}; pass another --cache, or \
             --no-cache to run without a cache",
            dir.display()
        ))
    })?;
    if let Err(why) = writable(dir) {
        eprintln!("{}", not_writable(dir, &why));
    }
    Ok(())
}

/// The warning for a cache directory that cannot be written.
fn not_writable(dir: &Path, why: &str) -> String {
    format!(
        "warning: the cache directory `{}` is not writable ({why}): stored results are still \
         used, but nothing this run computes will be stored; make it writable, or pass another \
         --cache, or --no-cache",
        dir.display()
    )
}

/// Whether a file can be created in `dir` (a probe file, created new and removed) and its files
/// (the stores) opened for writing; otherwise why not, naming the file.
fn writable(dir: &Path) -> Result<(), String> {
    let probe = dir.join(format!(".weft-write-check-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| format!("cannot create a file in it: {e}"))?;
    let _ = std::fs::remove_file(&probe);
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list it: {e}"))?;
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            // Opening for writing neither truncates nor changes the file.
            OpenOptions::new()
                .write(true)
                .open(entry.path())
                .map_err(|e| {
                    format!(
                        "cannot write `{}`: {e}",
                        entry.file_name().to_string_lossy()
                    )
                })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writable_directory_passes_and_keeps_no_probe() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("meta.sqlite"), b"x").unwrap();
        assert_eq!(writable(dir.path()), Ok(()));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["meta.sqlite"], "the probe file is removed");
        assert_eq!(std::fs::read(dir.path().join("meta.sqlite")).unwrap(), b"x");
    }

    #[test]
    fn a_directory_that_cannot_be_created_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let e = check(&file.join("cache")).unwrap_err();
        assert_eq!(e.exit, crate::Exit::Usage);
        assert!(
            e.message.starts_with(&format!(
                "cannot create the cache directory `{}`",
                file.join("cache").display()
            )),
            "{}",
            e.message
        );
    }

    #[test]
    fn the_warning_names_the_directory_and_says_what_to_do() {
        let w = not_writable(Path::new("c"), "cannot create a file in it: denied");
        assert!(
            w.starts_with("warning: the cache directory `c` is not writable"),
            "{w}"
        );
        assert!(
            w.contains("nothing this run computes will be stored"),
            "{w}"
        );
        assert!(w.contains("--no-cache"), "{w}");
    }
}
