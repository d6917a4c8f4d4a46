//! `Session`: notebook-style iteration on a long-lived driver. Real graphs, real files.

use std::sync::atomic::{AtomicUsize, Ordering};

use weft::prelude::*;
use weft::watch::Reason;
use weft::{ExecuteError, FileInput, Session};

pub mod shop {
    use weft::prelude::*;

    #[node]
    pub fn revenue(price: &f64, units: &u64) -> f64 {
        price * *units as f64
    }

    #[node]
    pub fn margin(revenue: &f64, cost: &f64) -> f64 {
        revenue - cost
    }

    #[node]
    pub fn headline(margin: &f64, region: &str) -> String {
        format!("{region}: {margin:.1}")
    }
}

fn session() -> Session {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::shop])
        .build()
        .unwrap();
    let mut s = Session::new(dr);
    s.set("price", 2.0)
        .set("units", 10u64)
        .set("cost", 5.0)
        .set("region", "EU");
    s
}

#[test]
fn only_dependents_of_changed_inputs_rerun_and_every_node_can_be_inspected() {
    let mut s = session();
    assert_eq!(*s.get::<String>("headline").unwrap(), "EU: 15.0");
    let first = s.report().unwrap();
    assert_eq!(first.executed_names(), ["revenue", "margin", "headline"]);
    assert!(first.executed.iter().all(|n| n.reason == Reason::New));

    // Asking again runs nothing.
    s.get::<String>("headline").unwrap();
    assert!(s.report().unwrap().executed.is_empty());

    // `cost` feeds `margin` and, through it, `headline`; `revenue` is reused.
    s.set("cost", 8.0);
    assert_eq!(*s.get::<String>("headline").unwrap(), "EU: 12.0");
    let run = s.report().unwrap();
    assert_eq!(run.executed_names(), ["margin", "headline"]);
    assert_eq!(run.reused, ["revenue"]);
    assert_eq!(
        run.reason("margin"),
        Some(&Reason::Changed(vec!["cost".into()]))
    );
    let line = run.to_string();
    assert!(
        line.starts_with("run 3: `cost` changed; ran margin, headline; reused 1; "),
        "{line}"
    );
    let verbose = format!("{run:#}");
    assert_eq!(verbose.lines().count(), 4, "{verbose}");

    // Any node's last value, typed, without running anything.
    assert_eq!(s.last::<f64>("revenue").as_deref(), Some(&20.0));
    assert_eq!(s.last::<f64>("margin").as_deref(), Some(&12.0));
    assert_eq!(s.last::<f64>("cost").as_deref(), Some(&8.0));
    assert!(s.value("margin").unwrap().is_fingerprinted());
    assert_eq!(
        s.computed().collect::<Vec<_>>(),
        ["cost", "headline", "margin", "price", "region", "revenue", "units"]
    );
    // The wrong type, or a node never computed: `None` (and `get` says why).
    assert!(s.last::<String>("margin").is_none());
    let err = s.get::<String>("margin").unwrap_err();
    assert!(matches!(err, ExecuteError::Output(_)), "{err:?}");
    assert_eq!(err.to_string(), "`margin` is a `f64`, not a `String`");
}

#[test]
fn unset_inputs_overrides_and_mistakes_give_clear_errors() {
    let mut s = session();
    s.get::<String>("headline").unwrap();

    // An override pins a node: it does not run, and what only it needed is not needed.
    s.set_override("margin", 100.0);
    s.unset("cost");
    assert_eq!(*s.get::<String>("headline").unwrap(), "EU: 100.0");
    assert_eq!(s.report().unwrap().executed_names(), ["headline"]);
    assert_eq!(
        s.report().unwrap().reason("headline"),
        Some(&Reason::Changed(vec!["margin".into()]))
    );
    assert!(s.unset_override("margin"));

    // Without the override `cost` is needed again.
    let err = s.get::<String>("headline").unwrap_err();
    assert!(matches!(err, ExecuteError::BadInputs(_)));
    assert!(
        err.to_string()
            .contains("missing input `cost: f64` (needed by `margin`)"),
        "{err}"
    );
    // The failed call has a report too.
    assert!(matches!(
        s.report().unwrap().error(),
        Some(ExecuteError::BadInputs(_))
    ));
    assert!(s.report().unwrap().to_string().contains("failed"));

    s.set("cost", 5.0);
    assert_eq!(*s.get::<String>("headline").unwrap(), "EU: 15.0");

    let err = s.get::<String>("headlin").unwrap_err();
    assert!(
        matches!(&err, ExecuteError::UnknownOutputs(o) if o[..] == [("headlin".into(), Some("headline".into()))]),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("did you mean `headline`?"),
        "{err}"
    );
    let err = s.get::<f64>("nope").unwrap_err();
    assert!(
        matches!(&err, ExecuteError::UnknownOutputs(o) if o.len() == 1 && o[0].0 == "nope"),
        "{err:?}"
    );
    assert!(err.to_string().contains("unknown output"), "{err}");
}

static READS: AtomicUsize = AtomicUsize::new(0);

pub mod notes {
    use weft::files::FileError;
    use weft::prelude::*;
    use weft::FileInput;

    #[node]
    pub fn words(notes: &FileInput) -> Result<Vec<String>, FileError> {
        super::READS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(notes
            .read_to_string()?
            .split_whitespace()
            .map(str::to_string)
            .collect())
    }

    #[node]
    pub fn word_count(words: &[String]) -> usize {
        words.len()
    }

    #[node]
    pub fn shout(greeting: &str) -> String {
        greeting.to_uppercase()
    }
}

#[test]
fn a_session_sees_edits_to_its_files() {
    let dir = std::env::temp_dir().join(format!("weft-session-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("notes.md");
    std::fs::write(&path, "one two").unwrap();
    let dr = Builder::new()
        .with_modules(weft::modules![crate::notes])
        .build()
        .unwrap();
    let mut s = Session::new(dr);
    s.set("notes", FileInput::new(&path)).set("greeting", "hi");
    s.run(&["word_count", "shout"]).unwrap();
    assert_eq!(*s.last::<usize>("word_count").unwrap(), 2);
    assert_eq!(READS.load(Ordering::SeqCst), 1);

    // Same content: not even read again.
    std::fs::write(&path, "one two").unwrap();
    assert_eq!(*s.get::<usize>("word_count").unwrap(), 2);
    assert_eq!(READS.load(Ordering::SeqCst), 1);

    std::fs::write(&path, "one two three").unwrap();
    assert_eq!(*s.get::<usize>("word_count").unwrap(), 3);
    let run = s.report().unwrap();
    assert_eq!(run.executed_names(), ["words", "word_count"]);
    assert!(run.to_string().contains("notes.md changed"), "{run}");
    // `shout` was computed earlier and is still there.
    assert_eq!(
        s.last::<String>("shout").as_deref().map(String::as_str),
        Some("HI")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
