//! The live page (`/live`, during `watch --ui` / `dev --ui`): the picture of the latest run,
//! recoloured as the run in flight goes (nodes pending, running, then coloured by outcome),
//! with the run's reason — the file that changed — and a cancelled run shown as cancelled. The
//! script does the updating, from the server-sent events at `/events`.

use std::fmt::Write as _;

use super::{frame, live_panel, Page, PageError};
use crate::ui::site::Site;

/// The live page.
pub(crate) fn render(site: &Site) -> Page {
    if site.live.is_none() {
        return Err(PageError::not_found(
            "the live page is served by `watch --ui` and `dev --ui`; this view shows a cache \
             without a watch session",
        ));
    }
    let latest = site.runs().map_err(PageError::store)?.into_iter().next();
    let mut body = String::new();
    body.push_str(&live_panel(site));
    body.push_str("<h1>Live</h1>");
    match latest {
        Some(run) => {
            let svg = site.picture(&run).map_err(PageError::store)?;
            let _ = write!(
                body,
                "<div class=\"picture\" data-live=\"1\" data-run=\"{}\" data-path=\"[]\">{svg}</div>",
                super::esc(&run.run_id),
            );
        }
        None => body.push_str(
            "<div class=\"picture\" data-live=\"1\" data-path=\"[]\"><p class=\"muted\">The first run's picture appears when it ends.</p></div>",
        ),
    }
    body.push_str(
        "<p class=\"muted\">Save a watched file: the nodes that rerun are outlined while they \
         run and coloured as they finish; click a node for its page in the latest run.</p>",
    );
    Ok(frame(
        site,
        "Live",
        &[("live".into(), String::new())],
        &body,
    ))
}
