//! A node in a run (`/runs/{run}/nodes/{node}`): its doc and module (when the flow's binary
//! serves the view), type, code version, behaviour, its inputs' data versions (each a link),
//! why it ran or hit (the text of `explain`), its stored value (size, format, a preview), and
//! its data versions across runs up to this one.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use weft::cache::NodeRecord;

use super::run::{find, node_link};
use super::{badge, esc, frame, live_panel, micros, seg, short_id, Page, PageError};
use crate::ui::assets::outcome_class;
use crate::ui::preview;
use crate::ui::site::Site;

/// Runs of the history table.
pub(crate) const HISTORY: usize = 50;

/// The node page.
pub(crate) fn render(site: &Site, run_id: &str, node: &str) -> Page {
    let run = find(site, run_id)?;
    let history = site
        .cache
        .node_history(node, Some(&run.run_id), HISTORY)
        .map_err(PageError::store)?;
    let Some(this) = history.first().filter(|r| r.run_id == run.run_id) else {
        return Err(PageError::not_found(format!(
            "node `{node}` did not take part in run {}",
            run.run_id
        )));
    };
    let explanation = site
        .cache
        .explain(node, Some(&run.run_id))
        .map_err(PageError::store)?;
    let short = short_id(&run.run_id);

    let mut body = String::new();
    body.push_str(&live_panel(site));
    let _ = write!(
        body,
        "<h1><span class=\"mono\">{}</span> {}</h1>",
        esc(node),
        badge(outcome_class(this.status), this.status.as_str())
    );

    // What the node is.
    let (module, doc) = match site.doc(node) {
        Some((m, d)) => (esc(m), if d.is_empty() { "<span class=\"muted\">(no doc comment)</span>".into() } else { esc(d) }),
        None => (
            "<span class=\"muted\">—</span>".into(),
            "<span class=\"muted\">docs are shown when the flow's own binary serves the view (<code>FLOW ui</code>); the cache keeps names, types and versions only</span>".into(),
        ),
    };
    let _ = write!(
        body,
        "<div class=\"grid\"><section><div class=\"panel\"><dl class=\"facts\">\
         <dt>doc</dt><dd>{doc}</dd><dt>module</dt><dd class=\"mono\">{module}</dd>\
         <dt>type</dt><dd class=\"mono\">{}</dd><dt>code version</dt><dd class=\"mono\">{}</dd>\
         <dt>behaviour</dt><dd>{}</dd><dt>time</dt><dd>{}</dd>\
         <dt>data version</dt><dd class=\"mono\">{}</dd><dt>cache key</dt><dd class=\"mono\">{}</dd>\
         </dl></div>",
        esc(&weft::short_type_name(&this.type_name)),
        esc(&this.code_version.chars().take(16).collect::<String>()),
        esc(&this.behavior),
        micros(this.duration_us),
        this.data_version.map_or("—".into(), |v| esc(&v.to_string())),
        this.cache_key.map_or("—".into(), |k| esc(&k.to_string())),
    );

    // Why.
    let _ = write!(
        body,
        "<h2>Why it {}</h2><div class=\"panel\" id=\"explain\"><p class=\"mono\">{}</p>",
        if this.status.executed() {
            "ran"
        } else {
            "did not run"
        },
        esc(&format!(
            "`{}` in run {}: {}",
            explanation.node,
            explanation.run_id,
            explanation.status.as_str()
        ))
    );
    if !explanation.reasons.is_empty() {
        body.push_str("<ul class=\"reasons\">");
        for r in &explanation.reasons {
            let _ = write!(body, "<li>{}</li>", esc(r));
        }
        body.push_str("</ul>");
    }
    if let Some(e) = &this.error {
        let _ = write!(body, "<pre class=\"preview\">{}</pre>", esc(e));
    }
    body.push_str("</div>");

    // Inputs.
    body.push_str("<h2>Inputs</h2>");
    if this.deps.is_empty() {
        body.push_str("<p class=\"muted\">none</p>");
    } else {
        body.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th>dependency</th><th>data version</th></tr></thead><tbody>",
        );
        // Dependencies with a record in the run are nodes (links); the others are inputs.
        let nodes: HashSet<String> = site
            .cache
            .records(Some(&run.run_id))
            .map_err(PageError::store)?
            .into_iter()
            .map(|r| r.node)
            .collect();
        for (dep, version) in &this.deps {
            let ignored = this.ignored.iter().any(|d| d == dep);
            let name = if nodes.contains(dep) {
                node_link(&run.run_id, dep)
            } else {
                format!(
                    "<span class=\"mono\">{}</span> <span class=\"muted\">input</span>",
                    esc(dep)
                )
            };
            let _ = write!(
                body,
                "<tr><td>{}</td><td class=\"mono\">{}{}</td></tr>",
                name,
                version.map_or("—".into(), |v| esc(&v.short())),
                if ignored {
                    " <span class=\"muted\">(ignored)</span>"
                } else {
                    ""
                }
            );
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</section><section>");

    // The value.
    body.push_str("<h2>Stored value</h2><div class=\"panel\" id=\"value\">");
    match this.data_version {
        None => body.push_str("<p class=\"muted\">no value stored for this record</p>"),
        Some(v) => match preview::summary(&site.cache.result_store(), &v) {
            Ok(Some(s)) => {
                // Values stored in a file format (frames) name no type: the record does.
                let type_name = match s.type_name.as_str() {
                    "" => weft::short_type_name(&this.type_name),
                    named => named.to_string(),
                };
                let _ = write!(
                    body,
                    "<dl class=\"facts\"><dt>type</dt><dd class=\"mono\">{}</dd><dt>format</dt><dd>{}</dd>\
                     <dt>size</dt><dd>{}</dd></dl>",
                    esc(&type_name),
                    esc(&s.format),
                    crate::text::size(s.bytes as u64)
                );
                match &s.preview {
                    Ok(text) => {
                        let _ = write!(body, "<pre class=\"preview\">{}</pre>", esc(text));
                    }
                    Err(why) => {
                        let _ = write!(body, "<p class=\"muted\">{}</p>", esc(why));
                    }
                }
            }
            Ok(None) => body.push_str(
                "<p class=\"muted\">not stored (any more): gc may have removed it, or the node's behaviour keeps no value</p>",
            ),
            Err(e) => {
                let _ = write!(body, "<p>cannot read the stored value: {}</p>", esc(&e));
            }
        },
    }
    body.push_str("</div>");

    // History.
    history_table(site, node, &history, &mut body)?;
    body.push_str("</section></div>");

    Ok(frame(
        site,
        &format!("{node} in run {short}"),
        &[
            (
                format!("run {short}"),
                format!("/runs/{}", seg(&run.run_id)),
            ),
            (node.to_string(), String::new()),
        ],
        &body,
    ))
}

/// The node's records in this run and the runs before it, newest first.
fn history_table(
    site: &Site,
    node: &str,
    history: &[NodeRecord],
    body: &mut String,
) -> Result<(), PageError> {
    // Each run of the history read alone (the history is short; the cache may hold many runs).
    let mut started: HashMap<&str, f64> = HashMap::new();
    for r in history {
        if let Some(run) = site.run(&r.run_id).map_err(PageError::store)? {
            started.insert(&r.run_id, run.started_at);
        }
    }
    let _ = write!(
        body,
        "<h2>History</h2><div class=\"table-wrap\"><table id=\"history\"><thead><tr><th>run</th><th>started (UTC)</th>\
         <th>outcome</th><th>data version</th><th class=\"num\">time</th></tr></thead><tbody>"
    );
    for (i, r) in history.iter().enumerate() {
        // A data version different from the older record's is a change.
        let changed = history
            .get(i + 1)
            .is_some_and(|older| older.data_version != r.data_version);
        let _ = write!(
            body,
            "<tr><td><a class=\"mono\" href=\"/runs/{}/nodes/{}\">{}</a></td><td>{}</td><td>{}</td>\
             <td class=\"mono\">{}{}</td><td class=\"num\">{}</td></tr>",
            seg(&r.run_id),
            seg(node),
            esc(short_id(&r.run_id)),
            started
                .get(r.run_id.as_str())
                .map_or("—".into(), |t| crate::text::utc(*t)),
            badge(outcome_class(r.status), r.status.as_str()),
            r.data_version.map_or("—".into(), |v| esc(&v.short())),
            if changed { " <strong>changed</strong>" } else { "" },
            micros(r.duration_us),
        );
    }
    let _ = write!(
        body,
        "</tbody></table></div><p class=\"muted\">The last {} records up to this run.</p>",
        history.len()
    );
    Ok(())
}
