//! A change during a run cancels it; the next run reads the new content.

use super::*;

/// Lets the test know when the slow node starts, and with what.
static SLOW_STARTED: Mutex<Option<Sender<String>>> = Mutex::new(None);
/// The slow node finishes when the test says so.
static SLOW_RELEASE: Mutex<Option<Receiver<()>>> = Mutex::new(None);
/// Every value `shout` computed.
static SHOUTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

pub mod slow {
    use weft::files::FileError;
    use weft::prelude::*;
    use weft::FileInput;

    #[node]
    pub fn content(text_file: &FileInput) -> Result<String, FileError> {
        Ok(text_file.read_to_string()?.trim().to_string())
    }

    /// Takes as long as the test wants.
    #[node]
    pub fn slow(content: &str) -> String {
        if let Some(tx) = super::SLOW_STARTED.lock().unwrap().as_ref() {
            let _ = tx.send(content.to_string());
        }
        if let Some(rx) = super::SLOW_RELEASE.lock().unwrap().as_ref() {
            let _ = rx.recv_timeout(super::PATIENCE);
        }
        content.to_string()
    }

    #[node]
    pub fn shout(slow: &str) -> String {
        let s = slow.to_uppercase();
        super::SHOUTED.lock().unwrap().push(s.clone());
        s
    }
}

#[test]
fn a_change_during_a_run_cancels_it_and_the_new_run_uses_the_new_content() {
    let dir = temp_dir("cancel");
    let file = dir.join("text.txt");
    std::fs::write(&file, "a").unwrap();
    let (started_tx, started) = channel();
    *SLOW_STARTED.lock().unwrap() = Some(started_tx);
    let (release, release_rx) = channel();
    *SLOW_RELEASE.lock().unwrap() = Some(release_rx);
    let dr = Builder::new()
        .with_modules(weft::modules![crate::cancel::slow])
        .build()
        .unwrap();
    let inputs = inputs! { "text_file" => FileInput::new(&file) };
    let watcher = Watcher::new(&dr, &["shout"], inputs).debounce(Duration::from_millis(20));
    std::thread::scope(|s| {
        let (updates, stop, handle) = spawn(s, watcher);
        assert!(matches!(updates.next(), Update::Watching(_)));
        assert_eq!(started.recv_timeout(PATIENCE).unwrap(), "a");
        release.send(()).unwrap();
        let (report, outputs) = updates.next_run();
        assert!(report.is_completed());
        assert_eq!(outputs.unwrap().get::<String>("shout").unwrap(), "A");

        // "b" starts a run; while its slow node runs, "c" arrives. (Saved atomically: a plain
        // write empties the file first, and a run could start on the empty file.)
        atomic_save(&file, "b");
        assert_eq!(started.recv_timeout(PATIENCE).unwrap(), "b");
        atomic_save(&file, "c");
        match updates.next_change() {
            Update::Cancelling { run, paths } => {
                assert_eq!(run, 2);
                assert!(paths.iter().any(|p| p.ends_with("text.txt")), "{paths:?}");
            }
            other => panic!("expected the stale run to be cancelled, got: {other}"),
        }
        // The slow node finishes; the run stops before the next node.
        release.send(()).unwrap();
        let (stale, _) = updates.next_run();
        assert!(stale.is_cancelled(), "{stale:#}");
        assert_eq!(stale.number, 2);
        assert!(stale.to_string().contains("cancelled"), "{stale}");
        assert_eq!(started.recv_timeout(PATIENCE).unwrap(), "c");
        release.send(()).unwrap();
        let (fresh, outputs) = updates.next_run();
        assert!(fresh.is_completed(), "{fresh:#}");
        assert_eq!(fresh.executed_names(), ["content", "slow", "shout"]);
        assert_eq!(outputs.unwrap().get::<String>("shout").unwrap(), "C");

        stop.stop();
        handle.join().unwrap().unwrap();
    });
    // The stale run never got as far as `shout`: nothing computed from "b" went downstream.
    assert_eq!(*SHOUTED.lock().unwrap(), ["A", "C"]);
    *SLOW_STARTED.lock().unwrap() = None;
    let _ = std::fs::remove_dir_all(&dir);
}
