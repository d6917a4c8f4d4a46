//! A run's page (`/runs/{run}`): the engine's picture of the run (nodes coloured by outcome,
//! each a link to its page, the slowest path outlined), the nodes by time taken as bars, and
//! the run's facts. `/runs/{run}/picture.svg` is the picture alone (live pages swap it in).

use std::fmt::Write as _;

use weft::cache::{RunMeta, Status};
use weft::viz::VizRole;

use super::{badge, esc, frame, live_panel, micros, seg, short_id, Page, PageError};
use crate::ui::assets::outcome_class;
use crate::ui::site::Site;
use crate::ui::timing::{bars, slowest_path};

/// Bars shown before the rest are folded away.
const BARS_SHOWN: usize = 40;

/// The run `id`, or a 404 page.
pub(crate) fn find(site: &Site, id: &str) -> Result<RunMeta, PageError> {
    site.run(id)
        .map_err(PageError::store)?
        .ok_or_else(|| PageError::not_found(format!("no run `{id}` in this cache")))
}

/// The picture alone.
pub(crate) fn picture(site: &Site, id: &str) -> Page {
    let run = find(site, id)?;
    site.picture(&run)
        .map(|svg| svg.to_string())
        .map_err(PageError::store)
}

/// The run page.
pub(crate) fn render(site: &Site, id: &str) -> Page {
    let run = find(site, id)?;
    let records = site
        .cache
        .records(Some(&run.run_id))
        .map_err(PageError::store)?;
    let svg = site.picture(&run).map_err(PageError::store)?;
    let (path, path_us) = slowest_path(&records);
    let tally = site.tally(&run).map_err(PageError::store)?;
    let short = short_id(&run.run_id);

    let mut body = String::new();
    body.push_str(&live_panel(site));
    let _ = write!(
        body,
        "<h1>Run <span class=\"mono\">{}</span></h1>",
        esc(&run.run_id)
    );

    // Facts.
    let duration = run.finished_at.map_or("—".to_string(), |end| {
        micros(((end - run.started_at).max(0.0) * 1e6) as u64)
    });
    let failed = tally.count(Status::Failed);
    let _ = write!(
        body,
        "<div class=\"panel\"><dl class=\"facts\">\
         <dt>started</dt><dd>{} UTC</dd><dt>duration</dt><dd>{duration}</dd>\
         <dt>status</dt><dd>{}</dd><dt>outputs</dt><dd class=\"mono\">{}</dd>\
         <dt>nodes</dt><dd><span class=\"counts\">{}{}{}</span></dd>\
         <dt>slowest path</dt><dd>{} <span class=\"muted\">({} in all)</span></dd></dl></div>",
        crate::text::utc(run.started_at),
        badge(&run.status, &run.status),
        run.outputs
            .iter()
            .map(|o| esc(o))
            .collect::<Vec<_>>()
            .join(", "),
        badge(
            "executed",
            &format!("{} executed", tally.executed() - failed)
        ),
        badge("hit", &format!("{} hits", tally.reused())),
        if failed > 0 {
            badge("failed", &format!("{failed} failed"))
        } else {
            String::new()
        },
        path.iter()
            .map(|n| node_link(&run.run_id, n))
            .collect::<Vec<_>>()
            .join(" → "),
        micros(path_us),
    );

    // The picture and the bars, side by side on a wide screen.
    body.push_str("<div class=\"grid\"><section><h2>Graph</h2>");
    body.push_str(&legend());
    let _ = write!(
        body,
        "<div class=\"picture\" data-run=\"{}\" data-path=\"{}\">{}</div>",
        esc(&run.run_id),
        esc(&serde_json::to_string(&path).unwrap_or_default()),
        svg
    );
    body.push_str("<p class=\"muted\">Click a node for its explanation, value and history; the slowest path is outlined.</p></section>");

    body.push_str("<section><h2>Time per node</h2><div class=\"bars\">");
    let all = bars(&records);
    for (i, bar) in all.iter().enumerate() {
        if i == BARS_SHOWN {
            let _ = write!(
                body,
                "</div><details><summary>{} more nodes</summary><div class=\"bars\">",
                all.len() - BARS_SHOWN
            );
        }
        let on_path = if path.contains(&bar.node) {
            " on-path"
        } else {
            ""
        };
        let _ = write!(
            body,
            "<a class=\"mono{on_path}\" href=\"/runs/{}/nodes/{}\" title=\"{}\">{}</a>\
             <div class=\"bar {}\" style=\"width:{:.1}%\" title=\"{}\"></div>\
             <span class=\"num mono\">{}</span>",
            seg(&run.run_id),
            seg(&bar.node),
            esc(&bar.node),
            esc(&bar.node),
            outcome_class(bar.status),
            bar.percent,
            bar.status.as_str(),
            micros(bar.us),
        );
    }
    if all.len() > BARS_SHOWN {
        body.push_str("</div></details>");
    } else {
        body.push_str("</div>");
    }
    body.push_str("</section></div>");

    Ok(frame(
        site,
        &format!("Run {short}"),
        &[(format!("run {short}"), String::new())],
        &body,
    ))
}

/// A link to a node's page in a run.
pub(crate) fn node_link(run: &str, node: &str) -> String {
    format!(
        "<a class=\"mono\" href=\"/runs/{}/nodes/{}\">{}</a>",
        seg(run),
        seg(node),
        esc(node)
    )
}

/// The outcome legend, in the pictures' colours.
fn legend() -> String {
    let mut s = String::from("<div class=\"legend\">");
    for (class, role) in [
        ("executed", VizRole::Executed),
        ("hit", VizRole::Hit),
        ("recomputed", VizRole::Recomputed),
        ("disabled", VizRole::Disabled),
        ("failed", VizRole::Failed),
    ] {
        s.push_str(&badge(class, role.label()));
    }
    s.push_str("</div>");
    s
}
