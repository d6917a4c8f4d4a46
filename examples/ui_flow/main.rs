//! A flow to look at in the browser: `watch --ui` serves the web view, live.
//!
//! ```sh
//! echo "to be or not to be" > notes.txt
//! cargo run --example ui_flow -- watch summary --input notes=notes.txt --input name=Ada --ui
//! # open the printed address (http://127.0.0.1:7878/live), then edit notes.txt and save:
//! # `text`, `word_count` and `summary` rerun (orange); `greeting` is reused (green).
//! cargo run --example ui_flow -- ui   # afterwards: every run in .weft/cache
//! ```
//!
//! The web view's browser tests (`cli/tests/ui_browser.rs`) run this example.

mod nodes {
    use weft::files::FileError;
    use weft::prelude::*;
    use weft::FileInput;

    use std::path::Path;
    use std::time::{Duration, Instant};

    /// The notes' text (the file is watched: saving it reruns what depends on it).
    #[node]
    pub fn text(notes: &FileInput) -> Result<String, FileError> {
        notes.read_to_string()
    }

    /// How many words the notes have.
    #[node]
    pub fn word_count(text: &str) -> usize {
        text.split_whitespace().count()
    }

    /// A greeting; it does not read the notes, so a save of them reuses it.
    #[node]
    pub fn greeting(name: &str) -> String {
        format!("Hello, {name}")
    }

    /// One line about the notes.
    #[node]
    pub fn summary(greeting: &str, word_count: &usize) -> String {
        format!("{greeting}: your notes have {word_count} words")
    }

    /// The word count, once the file named by `gate` exists: a run held in flight until
    /// someone opens the gate (the web view's tests edit the notes meanwhile, which cancels
    /// the run). Gives up after two minutes.
    #[node]
    pub fn held(word_count: &usize, gate: &str) -> Result<usize, std::io::Error> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !Path::new(gate).exists() {
            if Instant::now() > deadline {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("the gate `{gate}` was not opened within two minutes"),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(*word_count)
    }

    /// The summary, once the gate was open.
    #[node]
    pub fn held_summary(summary: &str, held: &usize) -> String {
        format!("{summary} (held until {held} words were counted)")
    }
}

fn main() {
    weft_cli::main(weft::modules![crate::nodes])
}
