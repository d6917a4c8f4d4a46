//! Pictures: a failed run's picture (`Cache::run_picture` / `view_run`) shows every requested
//! node, greys the ones that never ran and carries the error's text; optional inputs are drawn
//! apart from required ones.

use weft::prelude::*;
use weft::viz::VizRole;
use weft::CacheConfig;

pub mod flow {
    use weft::prelude::*;

    #[node]
    pub fn rows(n: &u64) -> u64 {
        *n
    }

    #[node]
    pub fn saved(rows: &u64) -> Result<u64, String> {
        if *rows > 10 {
            Err(format!("disk full after {rows} rows"))
        } else {
            Ok(*rows)
        }
    }

    #[node]
    pub fn report(saved: &u64, title: Option<&String>) -> String {
        format!("{}: {saved}", title.map_or("rows", |t| t.as_str()))
    }

    #[node]
    pub fn other(rows: &u64) -> u64 {
        rows + 1
    }
}

fn role_of(viz: &weft::viz::Viz, name: &str) -> Option<VizRole> {
    viz.nodes.iter().find(|n| n.name == name).map(|n| n.role)
}

#[test]
fn a_failed_runs_picture_shows_every_requested_node_and_the_error() {
    let dir = weft_tests::temp_dir("pictures", "failed");
    let dr = Builder::new()
        .with_modules(weft::modules![crate::flow])
        .with_cache_config(CacheConfig::at(&dir))
        .build()
        .unwrap();
    let err = dr
        .execute(&["report", "other"], inputs! { "n" => 50u64 })
        .unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    let viz = dr.cache().unwrap().run_picture(None).unwrap();

    assert_eq!(role_of(&viz, "rows"), Some(VizRole::Executed));
    assert_eq!(role_of(&viz, "saved"), Some(VizRole::Failed));
    // `report` was requested but never ran: it is there, greyed.
    assert_eq!(role_of(&viz, "report"), Some(VizRole::NotRun));
    let saved = viz.nodes.iter().find(|n| n.name == "saved").unwrap();
    assert!(
        saved.note.contains("disk full after 50 rows"),
        "{}",
        saved.note
    );
    assert!(viz.title.contains("failed"), "{}", viz.title);
    assert!(
        viz.title.contains("disk full after 50 rows"),
        "{}",
        viz.title
    );

    // The SVG carries the same words and the legend names the grey boxes.
    let svg = viz.to_svg().unwrap();
    assert!(svg.contains("disk full after 50 rows"));
    assert!(svg.contains("not run"));
    drop(dr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn optional_inputs_are_drawn_apart_from_required_ones() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::flow])
        .build()
        .unwrap();
    let viz = dr.visualize_execution(&["report"], &[]).unwrap();
    assert_eq!(role_of(&viz, "n"), Some(VizRole::Input));
    assert_eq!(role_of(&viz, "title"), Some(VizRole::OptionalInput));
    let dot = viz.to_dot().unwrap();
    let title_line = dot
        .lines()
        .find(|l| l.contains("tooltip=\"title\""))
        .unwrap();
    assert!(title_line.contains("dotted"), "{title_line}");
    let n_line = dot.lines().find(|l| l.contains("tooltip=\"n\"")).unwrap();
    assert!(
        n_line.contains("dashed") && !n_line.contains("dotted"),
        "{n_line}"
    );
}

#[test]
fn an_absent_optional_input_is_dotted_in_a_runs_picture() {
    let dir = weft_tests::temp_dir("pictures", "optional");
    let dr = Builder::new()
        .with_modules(weft::modules![crate::flow])
        .with_cache_config(CacheConfig::at(&dir))
        .build()
        .unwrap();
    dr.execute(&["report"], inputs! { "n" => 5u64 }).unwrap();
    let viz = dr.cache().unwrap().run_picture(None).unwrap();
    assert_eq!(role_of(&viz, "title"), Some(VizRole::OptionalInput));
    assert_eq!(role_of(&viz, "n"), Some(VizRole::Input));
    assert_eq!(role_of(&viz, "report"), Some(VizRole::Executed));
    assert!(!viz.title.contains("failed"));
    drop(dr);
    let _ = std::fs::remove_dir_all(&dir);
}
