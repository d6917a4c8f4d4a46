//! The runs page (`/`): every run in the cache, newest first, a page at a time: when it
//! started, how long it took, how many nodes executed, hit and failed, its requested outputs;
//! filtered by node name (`?node=NAME`: runs that requested a node whose name contains NAME, or
//! in which a node named NAME took part).

use std::collections::HashSet;
use std::fmt::Write as _;

use weft::cache::{RunMeta, Status};

use super::{badge, esc, frame, live_panel, seg, short_id, Page, PageError};
use crate::ui::site::Site;

/// Runs per page.
pub(crate) const PER_PAGE: usize = 100;

/// The query of the runs page.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct RunsQuery {
    /// Show runs involving this node.
    pub(crate) node: Option<String>,
    /// 0-based page.
    pub(crate) page: Option<usize>,
}

/// The runs page.
pub(crate) fn render(site: &Site, q: &RunsQuery) -> Page {
    let filter = q.node.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let mut runs = site.runs().map_err(PageError::store)?;
    if let Some(name) = filter {
        if name.len() > 200 {
            return Err(PageError::bad_request(
                "a node name has at most 200 characters",
            ));
        }
        // Runs where a node of exactly this name took part, newest first, however far back.
        let took_part: HashSet<String> = if crate::ui::safety::node_name(name) {
            site.cache
                .node_history(name, None, runs.len().max(1))
                .map_err(PageError::store)?
                .into_iter()
                .map(|r| r.run_id)
                .collect()
        } else {
            HashSet::new()
        };
        runs.retain(|r| {
            took_part.contains(&r.run_id) || r.outputs.iter().any(|o| o.contains(name))
        });
    }
    let total = runs.len();
    let pages = total.div_ceil(PER_PAGE).max(1);
    let page = q.page.unwrap_or(0).min(pages - 1);
    let shown = &runs[(page * PER_PAGE).min(total)..((page + 1) * PER_PAGE).min(total)];

    let mut body = String::new();
    body.push_str(&live_panel(site));
    let _ = write!(
        body,
        "<h1>Runs</h1><form class=\"filter\" method=\"get\" action=\"/\">\
         <input type=\"search\" name=\"node\" placeholder=\"filter by node name\" value=\"{}\" \
         aria-label=\"node name\"><button type=\"submit\">Filter</button>{}</form>",
        esc(filter.unwrap_or("")),
        if filter.is_some() {
            "<a href=\"/\">clear</a>"
        } else {
            ""
        }
    );
    body.push_str("<div id=\"runs\">");
    if shown.is_empty() {
        let what = match filter {
            Some(n) => format!("No run involves a node named like `{n}`."),
            None => "No runs yet: run a flow with this cache, and reload.".into(),
        };
        let _ = write!(body, "<div class=\"panel\"><p>{}</p></div>", esc(&what));
    } else {
        body.push_str(
            "<div class=\"table-wrap\"><table class=\"runs\"><thead><tr><th>run</th><th>started (UTC)</th>\
             <th class=\"num\">duration</th><th>status</th><th>nodes</th><th>outputs</th>\
             </tr></thead><tbody>",
        );
        for run in shown {
            row(site, run, &mut body)?;
        }
        body.push_str("</tbody></table></div>");
    }
    let _ = write!(
        body,
        "<p class=\"muted\">{total} run{} in the cache{}.</p>",
        if total == 1 { "" } else { "s" },
        if pages > 1 {
            format!(", page {} of {pages}", page + 1)
        } else {
            String::new()
        }
    );
    if pages > 1 {
        let link = |p: usize, label: &str| {
            let mut href = format!("/?page={p}");
            if let Some(n) = filter {
                let _ = write!(href, "&node={}", seg(n));
            }
            format!("<a href=\"{}\">{label}</a>", esc(&href))
        };
        body.push_str("<div class=\"pager\">");
        if page > 0 {
            body.push_str(&link(page - 1, "← newer"));
        }
        if page + 1 < pages {
            body.push_str(&link(page + 1, "older →"));
        }
        body.push_str("</div>");
    }
    body.push_str("</div>");
    Ok(frame(site, "Runs", &[], &body))
}

/// One run's row.
fn row(site: &Site, run: &RunMeta, out: &mut String) -> Result<(), PageError> {
    let tally = site.tally(run).map_err(PageError::store)?;
    let duration = match run.finished_at {
        Some(end) => crate::text::micros(((end - run.started_at).max(0.0) * 1e6) as u64),
        None => "—".into(),
    };
    let status = match run.status.as_str() {
        "ok" => badge("ok", "ok"),
        "failed" => badge("failed", "failed"),
        "running" => badge("running", "running"),
        "cancelled" => badge("cancelled", "cancelled"),
        other => badge("", other),
    };
    let mut counts = String::from("<span class=\"counts\">");
    let executed = tally.executed() - tally.count(Status::Failed);
    counts.push_str(&badge("executed", &format!("{executed} executed")));
    counts.push_str(&badge("hit", &format!("{} hits", tally.reused())));
    if tally.count(Status::Failed) > 0 {
        counts.push_str(&badge(
            "failed",
            &format!("{} failed", tally.count(Status::Failed)),
        ));
    }
    counts.push_str("</span>");
    let outputs: Vec<String> = run.outputs.iter().take(6).map(|o| esc(o)).collect();
    let more = run.outputs.len().saturating_sub(6);
    let _ = write!(
        out,
        "<tr data-run=\"{id}\"><td><a class=\"mono\" href=\"/runs/{href}\">{short}</a></td>\
         <td>{started}</td><td class=\"num\">{duration}</td><td>{status}</td><td>{counts}</td>\
         <td class=\"mono\">{outputs}{more}</td></tr>",
        id = esc(&run.run_id),
        href = seg(&run.run_id),
        short = esc(short_id(&run.run_id)),
        started = crate::text::utc(run.started_at),
        outputs = outputs.join(", "),
        more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        },
    );
    Ok(())
}
