//! The web view's assets, embedded in the binary (it works offline: no CDN, no files read at
//! run time): one stylesheet, one script, and the outcome colours, generated from the engine's
//! picture styles ([`VizRole::colours`]) so that every view of an outcome has the same colour.

use weft::viz::VizRole;

/// The stylesheet (light and dark themes).
pub(crate) const STYLE: &str = include_str!("assets/style.css");

/// The script: links in pictures, the slowest path, live updates.
pub(crate) const SCRIPT: &str = include_str!("assets/app.js");

/// The roles of a run's outcomes, with the CSS names the stylesheet uses.
const OUTCOMES: [(&str, VizRole); 5] = [
    ("hit", VizRole::Hit),
    ("executed", VizRole::Executed),
    ("recomputed", VizRole::Recomputed),
    ("disabled", VizRole::Disabled),
    ("failed", VizRole::Failed),
];

/// `:root { --hit-fill: …; --hit-stroke: …; … }` from the engine's picture styles.
pub(crate) fn outcome_colours() -> String {
    let mut css = String::from(":root {\n");
    for (name, role) in OUTCOMES {
        let (fill, stroke) = role.colours();
        css.push_str(&format!(
            "  --{name}-fill: {fill}; --{name}-stroke: {stroke};\n"
        ));
    }
    css.push_str("}\n");
    css
}

/// The outcome a record's status is drawn as (a CSS class of the stylesheet).
pub(crate) fn outcome_class(status: weft::cache::Status) -> &'static str {
    match status.viz_role() {
        VizRole::Hit => "hit",
        VizRole::Recomputed => "recomputed",
        VizRole::Disabled => "disabled",
        VizRole::Failed => "failed",
        _ => "executed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_colours_are_the_pictures() {
        let css = outcome_colours();
        let (fill, stroke) = VizRole::Hit.colours();
        assert!(
            css.contains(&format!("--hit-fill: {fill}; --hit-stroke: {stroke};")),
            "{css}"
        );
        for (name, _) in OUTCOMES {
            assert!(
                STYLE.contains(&format!("var(--{name}-fill)")),
                "{name} unused"
            );
        }
    }
}
