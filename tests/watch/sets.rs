//! File sets under watch: new, edited and removed members rerun their readers; other files
//! do not.

use super::*;

pub mod tables {
    use weft::files::FileError;
    use weft::prelude::*;
    use weft::FileSet;

    /// `name=bytes` for each member.
    #[node]
    pub fn listing(tables: &FileSet) -> Result<String, FileError> {
        let files = tables.read_all()?;
        Ok(files
            .iter()
            .map(|(p, b)| format!("{}={}", p.file_name().unwrap().to_string_lossy(), b.len()))
            .collect::<Vec<_>>()
            .join(" "))
    }

    #[node]
    pub fn summary(listing: &str) -> String {
        format!("[{listing}]")
    }
}

#[test]
fn file_sets_follow_new_edited_and_removed_members_but_not_other_files() {
    let dir = temp_dir("sets");
    let tables = dir.join("tables");
    std::fs::create_dir_all(tables.join("2024")).unwrap();
    std::fs::write(tables.join("a.csv"), "1").unwrap();
    let dr = Builder::new()
        .with_modules(weft::modules![crate::sets::tables])
        .build()
        .unwrap();
    let glob = format!("{}/**/*.csv", tables.display());
    let inputs = inputs! { "tables" => FileSet::glob(&glob) };
    let watcher = Watcher::new(&dr, &["summary"], inputs).debounce(Duration::from_millis(30));
    std::thread::scope(|s| {
        let (updates, stop, handle) = spawn(s, watcher);
        assert!(matches!(updates.next(), Update::Watching(p) if p == [glob.clone()]));
        updates.until_summary("[a.csv=1]");

        // A new member in a subdirectory.
        std::fs::write(tables.join("2024/b.csv"), "22").unwrap();
        updates.until_summary("[b.csv=2 a.csv=1]");

        // Files outside the pattern, hidden files: no rerun.
        std::fs::write(tables.join("notes.txt"), "x").unwrap();
        std::fs::write(tables.join(".a.csv.swp"), "x").unwrap();
        // An edited member, then a removed one: they run.
        std::fs::write(tables.join("a.csv"), "111").unwrap();
        let report = updates.until_summary("[b.csv=2 a.csv=3]");
        assert!(report.ran("listing"));
        std::fs::remove_file(tables.join("2024/b.csv")).unwrap();
        updates.until_summary("[a.csv=3]");

        // The directory disappears and comes back.
        std::fs::remove_dir_all(&tables).unwrap();
        updates.until_summary("[]");
        std::fs::create_dir_all(&tables).unwrap();
        std::fs::write(tables.join("c.csv"), "4444").unwrap();
        updates.until_summary("[c.csv=4]");

        stop.stop();
        handle.join().unwrap().unwrap();
    });
    let _ = std::fs::remove_dir_all(&dir);
}
